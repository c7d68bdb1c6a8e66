"""The demo book loaded through the connectors and the sync, end to end."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.backend import open_backend
from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.demo import demo_is_loaded, demo_state_path, load_demo, reset_demo_cache
from recon_tui.models import CreditKind, DocKind, ReconStatus, SyncStatus
from recon_tui.reconcile import pair_documents, report_totals
from recon_tui.resync import resync_invoice
from recon_tui.tui.app import ReconApp
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app


@pytest.fixture(scope="module")
def scenarios() -> dict:
    return json.loads((sample_data_dir() / "scenarios.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory: pytest.TempPathFactory):
    """The demo book as the app loads it: emulator, real connectors, the sync."""
    cache = Cache(tmp_path_factory.mktemp("demo") / "demo.db")
    backend = open_backend(Config.default(), demo=True)
    try:
        run = load_demo(cache, backend)
    finally:
        backend.close()
    assert run.status is SyncStatus.SUCCEEDED, run.error
    yield cache
    cache.close()


def test_load_records_a_successful_run_with_counts(demo_cache: Cache, scenarios: dict) -> None:
    [run] = demo_cache.history.sync_runs()
    assert run.kind == "demo" and run.status is SyncStatus.SUCCEEDED
    steps = {f"{s.system} {s.name}": s for s in run.steps}
    assert steps["psa invoices"].created == (scenarios["counts"]["cw_invoices"]
                                             + scenarios["counts"]["cw_credit_memos"])
    assert steps["ledger credit memos"].created == scenarios["counts"]["qbo_credit_memos"]
    assert steps["ledger invoices"].created == scenarios["counts"]["qbo_invoices"]
    assert [s.system for s in run.steps][:3] == ["psa", "psa", "psa"]  # PSA first
    assert demo_is_loaded(demo_cache)
    assert set(demo_cache.history.sync_states()) == {"psa", "ledger"}


def test_auto_mapping_matches_only_with_certainty(demo_cache: Cache, scenarios: dict) -> None:
    mapping = demo_cache.records.mapping()
    for expected in scenarios["expected_mapping"]["auto"]:
        assert mapping.get(expected["qbo_customer_id"]) == expected["cw_company_id"], expected
    for unmapped in scenarios["expected_mapping"]["unmapped"]:
        assert unmapped["qbo_customer_id"] not in mapping, unmapped


def test_reconciliation_matches_the_manifest(demo_cache: Cache, scenarios: dict) -> None:
    expected = scenarios["expected_report"]
    every = pair_documents(demo_cache.records.iter_psa_invoices(),
                           demo_cache.records.iter_ledger_documents())
    pairs = [p for p in every if p.kind is DocKind.INVOICE]
    counts: dict[str, int] = {}
    for pair in pairs:
        counts[pair.status.value] = counts.get(pair.status.value, 0) + 1
    assert counts == {k: v for k, v in expected["counts"].items() if v}
    memo_counts: dict[str, int] = {}
    for pair in every:
        if pair.kind is DocKind.CREDIT_MEMO:
            memo_counts[pair.status.value] = memo_counts.get(pair.status.value, 0) + 1
    assert memo_counts == {k: v for k, v in scenarios["expected_credit_memo_report"]["counts"]
                           .items() if v}
    totals = report_totals(pairs)
    assert totals.total_psa == Decimal(expected["total_psa"])
    assert totals.total_ledger == Decimal(expected["total_ledger"])
    assert totals.invoice_difference == Decimal(expected["invoice_difference"])
    assert totals.residual == Decimal("0.00")
    stored = demo_cache.conn.execute("SELECT count(*) FROM invoice_pair").fetchone()[0]
    assert stored == len(every)


def test_seed_000_at_the_first_sync_both_systems_show_the_ten_dollars(
        demo_cache: Cache, scenarios: dict) -> None:
    seed = scenarios["seed_000_payment_reversed"]
    [row] = demo_cache.recon.pairs_for_number(seed["invoice_number"])
    assert row.status is ReconStatus.MATCHED
    assert (row.psa_owing, row.ledger_owing, row.difference_owing) == (
        Decimal("40.00"), Decimal("40.00"), Decimal("0.00"))
    assert not row.discrepant
    # The second half: a portal payment the ledger never got, same client.
    portal = scenarios["seed_000_portal_payment"]
    [other] = demo_cache.recon.pairs_for_number(portal["invoice_number"])
    assert other.client_key == row.client_key and other.discrepant
    assert (other.psa_owing, other.ledger_owing) == (Decimal("0.00"),
                                                     Decimal(portal["ledger_total"]))
    client = demo_cache.recon.client(row.client_key)
    assert client.name == seed["cw_company_name"] and client.discrepant_count >= 1


@pytest.fixture
def launched_demo(tmp_path: Path):
    """A first launch of the demo with its world kept beside the cache."""
    cache_path = tmp_path / "demo.db"
    cache = Cache(cache_path)
    backend = open_backend(Config.default(), demo=True,
                           demo_state=demo_state_path(cache_path))
    run = load_demo(cache, backend)
    assert run.status is SyncStatus.SUCCEEDED, run.error
    yield cache, backend, cache_path
    backend.close()
    cache.close()


def test_after_the_load_the_cache_says_40_and_both_systems_hold_50(launched_demo,
                                                                  scenarios: dict) -> None:
    cache, backend, cache_path = launched_demo
    number = scenarios["seed_000_payment_reversed"]["invoice_number"]
    [row] = cache.recon.pairs_for_number(number)
    assert (row.psa_owing, row.ledger_owing) == (Decimal("40.00"), Decimal("40.00"))
    psa, ledger = backend.psa.invoice_by_number(number), backend.ledger.invoice_by_doc_number(
        number)
    assert (psa.owing, ledger.balance) == (Decimal("50.00"), Decimal("50.00"))
    state = json.loads(demo_state_path(cache_path).read_text(encoding="utf-8"))
    assert state["events_applied"] == scenarios["events"]
    result = resync_invoice(cache, backend.psa, backend.ledger, number)
    assert result.changed
    [after] = cache.recon.pairs_for_number(number)
    assert (after.psa_owing, after.ledger_owing, after.discrepant) == (
        Decimal("50.00"), Decimal("50.00"), False)


def test_a_second_launch_keeps_the_world_and_applies_nothing_again(launched_demo,
                                                                  scenarios: dict) -> None:
    _cache, backend, cache_path = launched_demo
    # A write in the first launch: seed 001's credit applied in QBO.
    backend.ledger.apply_credit("97", "9065", CreditKind.CREDIT_MEMO, "11261",
                                Decimal("10.00"), "demo-second-launch")
    backend.close()  # quit and launch again
    second = open_backend(Config.default(), demo=True, demo_state=demo_state_path(cache_path))
    try:
        assert second.after_demo_load() == []
        assert second.ledger.invoice_by_doc_number("10040").balance == Decimal("110.00")
        seed = scenarios["seed_000_payment_reversed"]["invoice_number"]
        assert second.ledger.invoice_by_doc_number(seed).balance == Decimal("50.00")
        assert second.psa.invoice_by_number(seed).owing == Decimal("50.00")
        gone = scenarios["payment_deleted_in_ledger_after_sync"]
        assert second.ledger.invoice_by_doc_number(gone["doc_number"]).balance == Decimal(
            gone["after_events"]["ledger_balance"])
        state = json.loads(demo_state_path(cache_path).read_text(encoding="utf-8"))
        assert state["events_applied"] == scenarios["events"]  # each once
        deleted = [d for d in state["qbo_deleted"]
                   if d["Id"] == scenarios["seed_000_payment_reversed"]["qbo_payment_id"]]
        assert len(deleted) == 1
    finally:
        second.close()


def test_reset_demo_removes_the_emulator_world_with_the_cache(
        launched_demo, monkeypatch: pytest.MonkeyPatch) -> None:
    from recon_tui.cli import main

    cache, backend, cache_path = launched_demo
    backend.close()
    cache.close()
    state = demo_state_path(cache_path)
    assert state.exists()
    reset_demo_cache(cache_path)  # what the TUI's stale-cache reset calls too
    assert not state.exists() and not cache_path.exists()
    state.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(ReconApp, "run", lambda self: None)  # the CLI, without the TUI
    assert main(["--demo", "--reset-demo", "--db", str(cache_path)]) == 0
    assert not state.exists()


async def test_demo_opens_in_the_app_and_shows_real_figures(tmp_path: Path,
                                                            scenarios: dict) -> None:
    app = recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                    sample_dir=sample_data_dir())
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.load_error is None
        text = screen_text(app)
        assert "Loading" not in text
        assert scenarios["names"]["markup_and_unicode"][0] in text or "Refund [/] pending" \
            in text or app.cache.recon.count_clients() > 30
        assert app.cache.recon.count_clients() >= 30
        await pilot.press("slash", *"redwood", "enter", "enter")
        await pilot.pause()
        detail = screen_text(app)
        row = next(line for line in detail.splitlines() if "110273" in line)
        assert "40.00" in row and "50.00" in row  # 50.00 total, 40.00 owing on both sides
        assert (tmp_path / "demo.db.emulator.json").exists()
