"""What a real book does to a sync, end to end over loopback sockets: the real
connectors against the emulator, edited through the APIs' own write calls
(QBO ``?operation=delete``, ConnectWise ``DELETE``) wherever the APIs offer them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from recon_tui.cache import Cache
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import DocKind, ReconStatus, SyncRun, SyncStatus
from recon_tui.refresh import refresh_reconciliation
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.server import SandboxServer
from recon_tui.sync import default_since, run_full_sync
from tests.emulator import backend_for, running_emulator

MANIFEST = json.loads((sample_data_dir() / "scenarios.json").read_text(encoding="utf-8"))
ONE_DAY = timedelta(days=1)
M, NIL, NIP, ENF = (ReconStatus.MATCHED, ReconStatus.NOT_IN_LEDGER, ReconStatus.NOT_IN_PSA,
                    ReconStatus.EXPECTED_NOT_FOUND)


@pytest.fixture
def world(cache: Cache) -> Iterator[tuple[Cache, SandboxServer, SandboxBook]]:
    with running_emulator() as (server, book, _plan):
        first = sync(cache, server)
        assert first.status is SyncStatus.SUCCEEDED, first.error
        yield cache, server, book


def sync(cache: Cache, server: SandboxServer, *, full: bool = False) -> SyncRun:
    with backend_for(server) as backend:
        return run_full_sync(cache, backend.psa, backend.ledger,
                             since=None if full else default_since(cache))


def now_qbo() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def both_refreshes(cache: Cache) -> list[tuple]:
    """The materialised pairs, and proof that a full recompute agrees with them."""
    def rows() -> list[tuple]:
        return sorted(tuple(r)[1:] for r in cache.conn.execute("SELECT * FROM invoice_pair"))

    incremental = rows()
    refresh_reconciliation(cache)
    assert rows() == incremental
    return incremental


def delete_in_qbo(server: SandboxServer, book: SandboxBook, entity: str, record_id: str) -> None:
    record = book.qbo[entity][record_id]
    with backend_for(server) as backend:
        body, _ = backend.ledger.api.post_json(
            entity.lower(), {"Id": record["Id"], "SyncToken": record["SyncToken"]},
            operation=f"delete {entity}", params={"operation": "delete", "minorversion": "75"})
    assert body[entity]["status"] == "Deleted"


# --------------------------------------------------------------------------- the first sync
def test_a_first_sync_reads_every_document_whatever_its_date(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    """config.example.toml keeps default_since = 2026-01-01 in older files; no first sync
    is dated any more: last year's unpaid invoices arrive (10040 among them)."""
    cache, _server, _book = world
    counts, book = cache.records.counts(), MANIFEST["counts"]
    assert counts["psa_invoice"] == book["cw_invoices"] + book["cw_credit_memos"]
    assert counts["ledger_invoice"] == book["qbo_invoices"]
    older = MANIFEST["updated_before_2026"]
    assert len(older["psa_invoices"]) == 56
    for number in older["open_psa_invoices"]:
        [row] = cache.recon.pairs_for_number(number)
        assert row.psa_owing and row.psa_owing > 0
    totals = cache.recon.book_totals()  # credit memos are credit on account, not owing
    assert totals.psa_owing == Decimal(book["psa_balance_sum"])
    assert totals.ledger_balance == Decimal(book["ledger_balance_sum"])
    assert default_since(cache) == datetime.now(UTC).date() - ONE_DAY


def test_statuses_after_a_first_sync_are_the_manifests(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    cache, _server, _book = world
    for kind, report in ((DocKind.INVOICE, MANIFEST["expected_report"]),
                         (DocKind.CREDIT_MEMO, MANIFEST["expected_credit_memo_report"])):
        counts = dict(cache.conn.execute(
            "SELECT status, count(*) FROM invoice_pair WHERE kind = ? GROUP BY status",
            (kind.value,)).fetchall())
        assert {k: v for k, v in report["counts"].items() if v} == counts


# --------------------------------------------------------------------------- links
def test_a_ledger_invoice_deleted_after_pairing_by_number_is_expected_but_not_found(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    """Real ConnectWise has no link field: the link is the one the cache remembered
    when it paired 10040 by number. Both refresh paths agree."""
    cache, server, book = world
    [row] = cache.recon.pairs_for_number("10040")
    assert row.status is M and cache.recon.links()[row.psa_invoice_id] == (row.ledger_invoice_id,
                                                                     "number")
    delete_in_qbo(server, book, "Invoice", row.ledger_invoice_id)
    run = sync(cache, server)
    assert {s.name: s.deleted for s in run.steps}["deletions"] == 1
    [after] = cache.recon.pairs_for_number("10040")
    assert after.status is ENF and after.psa_total == Decimal("120.00")
    both_refreshes(cache)
    [still] = cache.recon.pairs_for_number("10040")
    assert still.status is ENF
    # A complete reload agrees too: the remembered link outlives the ledger copy.
    assert sync(cache, server, full=True).status is SyncStatus.SUCCEEDED
    assert [r.status for r in cache.recon.pairs_for_number("10040")] == [ENF]


def test_a_renumbered_ledger_invoice_stays_paired(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    cache, server, book = world
    [row] = cache.recon.pairs_for_number("10040")
    invoice = book.qbo["Invoice"][row.ledger_invoice_id]
    invoice["DocNumber"], invoice["MetaData"]["LastUpdatedTime"] = "10040-R", now_qbo()
    assert sync(cache, server).status is SyncStatus.SUCCEEDED
    [after] = cache.recon.pairs_for_number("10040")
    assert (after.status, after.ledger_number) == (M, "10040-R")
    assert cache.recon.pairs_for_number("10040-R") == [after]
    both_refreshes(cache)


# --------------------------------------------------------------------------- deletions
def test_a_deleted_qbo_credit_memo_and_payment_leave_the_cache(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    cache, server, book = world
    memo = next(m["credit_memo_id"] for m in MANIFEST["credit_memos_remaining"]
                if m["doc_number"] == "CM-1001")
    payment = next(p["payment_id"] for p in MANIFEST["unapplied_payments"]
                   if Decimal(p["unapplied"]) == Decimal(p["total"]))
    assert cache.records.ledger_credit_memo(memo) is not None
    assert payment in cache.records.payment_credit_ids()
    delete_in_qbo(server, book, "CreditMemo", memo)
    delete_in_qbo(server, book, "Payment", payment)
    run = sync(cache, server)
    assert {s.name: s.deleted for s in run.steps if s.system == "ledger"}["deletions"] == 3
    assert cache.records.ledger_credit_memo(memo) is None  # the memo and the credit it carried
    assert payment not in cache.records.payment_credit_ids()
    assert all(c.id not in (memo, payment) for c in cache.records.credits())
    deleted = {(c.record_type, c.record_id) for c in cache.history.sync_changes(run.id)
               if c.action == "deleted"}
    assert ("ledger credit memo", memo) in deleted
    # The PSA's CM-1001 has lost its ledger copy, which it was linked to.
    [pair] = cache.recon.pairs_for_number("CM-1001")
    assert (pair.kind, pair.status) == (DocKind.CREDIT_MEMO, ENF)
    both_refreshes(cache)


def test_a_deleted_connectwise_invoice_leaves_the_cache(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    cache, server, _book = world
    [row] = cache.recon.pairs_for_number("10005")
    with backend_for(server) as backend:
        response = backend.psa.api.request("DELETE", f"finance/invoices/{row.psa_invoice_id}",
                                           operation="delete invoice")
    assert response.status_code == 204
    run = sync(cache, server)
    assert {f"{s.system} {s.name}": s.deleted
            for s in run.steps}["psa deleted invoices"] == 1
    assert cache.records.psa_invoice(row.psa_invoice_id) is None
    [after] = cache.recon.pairs_for_number("10005")  # the ledger copy remains, alone
    assert (after.status, after.psa_invoice_id) == (NIP, None)
    assert row.psa_invoice_id not in cache.recon.links()
    both_refreshes(cache)


def test_a_psa_count_that_matches_needs_no_id_list(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    """The daily deletion check costs one count request when nothing went."""
    cache, server, _book = world
    with backend_for(server) as backend:
        sent = backend.psa.requests_sent
        assert backend.psa.missing_invoice_ids(cache.records.psa_invoice_ids()) == set()
        assert backend.psa.requests_sent == sent + 1


# --------------------------------------------------------------------------- credit memos
def test_connectwise_credit_memos_pair_with_qbo_credit_memos(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    cache, _server, _book = world
    rows = {r.psa_number: r for n in ("CM-1001", "CM-1002", "CM-1003", "CM-1004", "CM-1005")
            for r in cache.recon.pairs_for_number(n)}
    assert all(r.kind is DocKind.CREDIT_MEMO for r in rows.values())
    silver = rows["CM-1001"]
    assert (silver.status, silver.psa_total, silver.ledger_total) == (
        M, Decimal("75.00"), Decimal("75.00"))
    assert not silver.discrepant
    # Applied in QBO, not yet synced to the PSA: 10.00 left in the PSA, 0.00 in QBO.
    harbor = rows["CM-1002"]
    assert (harbor.status, harbor.psa_owing, harbor.ledger_owing) == (
        M, Decimal("10.00"), Decimal("0.00"))
    assert harbor.discrepant and harbor.difference_owing == Decimal("-10.00")
    assert rows["CM-1005"].status is NIL  # issued this week, not exported yet
    # Credit memos never pair with an invoice of the same number, nor count as owing.
    assert cache.conn.execute("SELECT count(*) FROM invoice_pair WHERE kind = 'invoice' "
                              "AND psa_number LIKE 'CM-%'").fetchone()[0] == 0


# --------------------------------------------------------------------------- export status
def test_exported_comes_from_the_unposted_list(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    cache, server, book = world
    unposted = book.connectwise["unpostedinvoices"]
    numbers = {u["invoiceNumber"] for u in unposted.values()}
    flags = dict(cache.conn.execute("SELECT number, exported FROM psa_invoice").fetchall())
    assert {n for n, exported in flags.items() if not exported} == numbers
    # The accounting interface exports one of them: no invoice record changed, yet
    # the next sync sees it.
    key, record = next(iter(unposted.items()))
    del unposted[key]
    run = sync(cache, server)
    [change] = [c for c in cache.history.sync_changes(run.id) if c.field == "exported"]
    assert (change.label, change.old, change.new) == (record["invoiceNumber"], "0", "1")


# --------------------------------------------------------------------------- the since date
def test_a_dated_sync_after_the_complete_point_does_not_move_it(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    """Looking again from a late date must not let the next sync skip the gap."""
    cache, server, _book = world
    before = cache.get_meta("complete_through")
    with backend_for(server) as backend:
        run = run_full_sync(cache, backend.psa, backend.ledger,
                            since=date.today())
    assert run.status is SyncStatus.SUCCEEDED
    # The complete point moves only if that date is not later than it minus a day.
    moved = cache.get_meta("complete_through") != before
    assert moved == (date.today() <= datetime.fromisoformat(before).date() - ONE_DAY)
    with backend_for(server) as backend:
        earlier = run_full_sync(cache, backend.psa, backend.ledger, since=date(2025, 1, 1))
    assert earlier.status is SyncStatus.SUCCEEDED
    assert cache.get_meta("complete_through") == earlier.started_at.isoformat()


# --------------------------------------------------------------------------- portal access
def test_a_contact_with_portal_login_disabled_cannot_see_invoices(
        world: tuple[Cache, SandboxServer, SandboxBook]) -> None:
    cache, _server, _book = world
    scenario = MANIFEST["portal_login_disabled"]
    [contact] = [c for c in cache.recon.company_contacts(scenario["cw_company_id"])
                 if c.id == scenario["contact_id"]]
    assert contact.portal_login_disabled and contact.portal_security_level == 6
    assert not contact.inactive
    levels = cache.recon.max_portal_levels()
    assert (levels.get(scenario["cw_company_id"]) or 0) < 6
    flagged = {s.psa_company_id for s in cache.recon.client_page(portal_below=6, limit=10_000)}
    assert scenario["cw_company_id"] in flagged
    expected = {c["cw_company_id"]
                for c in MANIFEST["contacts"]["no_contact_who_can_log_in_at_level_6"]}
    assert flagged == expected


def test_the_optional_link_field_pairs_across_numbers(cache: Cache, tmp_path) -> None:
    """With [psa] ledger_link_field naming the custom field an integration fills in,
    a first sync pairs 220399-1 with QBO's 220370-5 and the two invoices deleted in
    QBO are Expected but not Found from the start."""
    from dataclasses import replace

    from recon_tui.backend import connect, sandbox_configs

    with running_emulator() as (server, _book, _plan):
        ledger_config, psa_config = sandbox_configs(server.url)
        psa, ledger = connect(ledger_config,
                              replace(psa_config, ledger_link_field="Ledger Invoice Id"),
                              token_path=tmp_path / "qbo.json")
        try:
            run = run_full_sync(cache, psa, ledger, since=None)
        finally:
            psa.close()
            ledger.close()
    assert run.status is SyncStatus.SUCCEEDED, run.error
    [row] = cache.recon.pairs_for_number("220399-1")
    assert (row.status, row.ledger_number) == (M, "220370-5")
    assert cache.recon.links()[row.psa_invoice_id][1] == "custom field"
    for gone in MANIFEST["expected_not_found"]:
        [pair] = cache.recon.pairs_for_number(gone["invoice_number"])
        assert pair.status is ENF
