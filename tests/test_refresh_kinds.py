"""The incremental refresh pairs ledger documents by their kind wherever the
cache keeps them, as the full recompute does, and re-rolls clients in SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from recon_tui.cache import Cache
from recon_tui.cache.pairing_sql import PAIR_COLUMNS
from recon_tui.models import (
    CompanyMapping,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.refresh import refresh_documents, refresh_reconciliation
from tests.test_pairing_sql import NOW, books, python_recompute, replace, twin_caches


def one_mapped_client(cache: Cache) -> None:
    """PSA company 1 mapped to ledger customer 58: client key psa:1."""
    cache.records.upsert_companies([PsaCompany("1", "C1", "Co")])
    cache.records.upsert_customers([LedgerCustomer("58", "Co")])
    cache.records.add_mappings([CompanyMapping("58", "1", MappingMethod.MANUAL)])


def snapshot(cache: Cache) -> tuple[list, list]:
    pairs = sorted(tuple(r)[1:] for r in cache.conn.execute("SELECT * FROM invoice_pair"))
    summaries = sorted(tuple(r) for r in cache.conn.execute("SELECT * FROM client_summary"))
    return pairs, summaries


def test_a_credit_memo_kept_among_the_ledger_invoices_refreshes_like_a_full_recompute(
        tmp_path: Path) -> None:
    """A ledger that lists a credit memo among its invoices leaves a
    ``ledger_invoice`` row of kind credit memo; the full recompute pairs it as a
    credit memo. The incremental refresh used to look for credit memos in
    ``ledger_credit_memo`` only: the matched memo became Expected but not Found,
    and re-rolling a client holding a ledger-only one crashed (a row with no side).
    """
    with Cache(tmp_path / "memo.db") as cache:
        one_mapped_client(cache)
        memo = DocKind.CREDIT_MEMO
        cache.records.upsert_psa_invoices([PsaInvoice("p1", "CM-1", "1", date(2026, 1, 5),
                                                      Decimal("-10"), Decimal("-10"), kind=memo)])
        cache.records.upsert_ledger_invoices([
            LedgerInvoice("9", "CM-1", "58", date(2026, 1, 5), Decimal("-10"), Decimal("-10"),
                          kind=memo),
            LedgerInvoice("10", "CM-2", "58", date(2026, 1, 6), Decimal("-5"), Decimal("-5"),
                          kind=memo)])
        # The same credit memo read again by the credit-memo step: the later read
        # replaces the copy kept among the invoices (one document per kind and id).
        cache.records.upsert_ledger_credit_memos([LedgerInvoice(
            "10", "CM-3", "58", date(2026, 1, 7), Decimal("-7"), Decimal("-7"), kind=memo)])
        assert cache.records.ledger_invoice("10") is None
        refresh_reconciliation(cache)
        full = snapshot(cache)
        stored = [tuple(r) for r in cache.conn.execute(
            "SELECT client_key, status, kind, psa_invoice_id, ledger_invoice_id "
            "FROM invoice_pair")]
        assert ("psa:1", "Matched", "credit memo", "p1", "9") in stored
        refresh_documents(cache, clients=["psa:1"])  # re-rolled only: used to crash
        assert snapshot(cache) == full
        refresh_documents(cache, psa_ids=["p1"], ledger_ids={memo: ["9", "10"]},
                          clients=["psa:1"])
        assert snapshot(cache) == full
        assert _ordered(cache)  # every row updated in its place
        rows = cache.conn.execute("SELECT status, ledger_number FROM invoice_pair "
                                  "ORDER BY ledger_number").fetchall()
        assert [tuple(r) for r in rows] == [("Matched", "CM-1"), ("Not in PSA", "CM-3")]
        assert cache.recon.client("psa:1").discrepant_count == 1


def test_one_credit_memo_id_names_one_document_in_the_cache(tmp_path: Path) -> None:
    """The later read of a credit memo replaces a copy of it in the other ledger
    table; an invoice sharing the id is another document and stays."""
    memo = DocKind.CREDIT_MEMO
    with Cache(tmp_path / "one.db") as cache:
        copy = LedgerInvoice("7", "CM-7", "58", date(2026, 1, 5), Decimal("-5"),
                             Decimal("-5"), kind=memo)
        cache.records.upsert_ledger_credit_memos([copy])
        result = cache.records.upsert_ledger_invoices([replace(copy, doc_number="CM-7b")])
        assert cache.records.ledger_credit_memo("7") is None
        assert cache.records.ledger_invoice("7").doc_number == "CM-7b"
        assert (result.created, result.deleted) == (1, 1)
        cache.records.upsert_ledger_credit_memos([copy])
        assert cache.records.ledger_invoice("7") is None
        assert cache.records.ledger_credit_memo("7").doc_number == "CM-7"
        cache.records.upsert_ledger_invoices([LedgerInvoice("7", "INV-7", "58", date(2026, 1, 5),
                                                            Decimal("9"), Decimal("9"))])
        assert cache.records.ledger_credit_memo("7").doc_number == "CM-7"
        assert cache.records.ledger_invoice("7").doc_number == "INV-7"


# Found on 2026-12-03 (seed 4): one credit memo id held by both ledger tables with
# different numbers. A PSA memo matched one copy by number, was remembered as a link
# to the id, and the next recompute followed the link to the other copy, so neither
# path was a fixed point. The cache now keeps one document per kind and id.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), pick=st.integers(min_value=0, max_value=9), owing=st.integers(0, 900))
def test_an_incremental_refresh_equals_a_full_recompute_on_random_books(
        book: dict, pick: int, owing: int) -> None:
    """Random colliding books (credit memos among the ledger's invoices, one id in
    both ledger tables, links to missing or shared targets): a day's edit to one
    ledger document and one PSA document, refreshed incrementally, leaves the rows
    and client rows a full recompute gives."""
    with twin_caches(book) as (cache, _):
        refresh_reconciliation(cache)
        ledger_ids: dict[DocKind, list[str]] = {}
        documents = [*book["ledger"], *book["memos"]]
        if documents:
            doc = documents[pick % len(documents)]
            changed = replace(doc, balance=doc.balance + Decimal(owing).scaleb(-2))
            if doc in book["memos"]:
                cache.records.upsert_ledger_credit_memos([changed])
            else:
                cache.records.upsert_ledger_invoices([changed])
            ledger_ids[doc.kind] = [doc.id]
        psa_ids = []
        if book["psa"]:
            invoice = book["psa"][pick % len(book["psa"])]
            cache.records.upsert_psa_invoices([replace(invoice, owing=Decimal(owing).scaleb(-2))])
            psa_ids.append(invoice.id)
        refresh_documents(cache, psa_ids=psa_ids, ledger_ids=ledger_ids)
        incremental = snapshot(cache)
        refresh_reconciliation(cache)
        assert snapshot(cache) == incremental


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), pick=st.integers(min_value=0, max_value=9), owing=st.integers(1, 900))
def test_a_balance_refreshed_in_place_keeps_the_rows_in_order(book: dict, pick: int,
                                                               owing: int) -> None:
    """A day's payment moves a balance, not a row's place: the incremental refresh
    updates the row under its id, so the rows stay numbered as the Python engine
    numbers them and the next full recompute inserts and deletes no row."""
    documents = [*book["ledger"], *book["memos"]]
    assume(documents)
    with twin_caches(book) as (cache, python):
        cache.recon.recompute_reconciliation(now=NOW)
        python_recompute(python)  # the same links remembered on both sides
        doc = documents[pick % len(documents)]
        changed = replace(doc, balance=doc.balance + Decimal(owing).scaleb(-2))
        for each in (cache, python):
            if doc in book["memos"]:
                each.records.upsert_ledger_credit_memos([changed])
            else:
                each.records.upsert_ledger_invoices([changed])
        refresh_documents(cache, ledger_ids={doc.kind: [doc.id]})
        python_recompute(python)
        # Rows sharing one place are deleted and appended instead (not guessed at).
        in_place = _ordered(cache)
        if in_place:
            assert _pairs(cache) == _pairs(python)
        with _rows_written(cache) as written:
            cache.recon.recompute_reconciliation(now=NOW)
        assert written() == 0 or not in_place
        assert _pairs(cache) == _pairs(python)


def _ordered(cache: Cache) -> bool:
    return cache.conn.execute(
        "SELECT 1 FROM meta WHERE key = 'pairs_in_order'").fetchone() is not None


def _pairs(cache: Cache) -> list[tuple]:
    """Every row with its id, its cause left out (the diagnosis's, not the pairing's)."""
    return [tuple(r) for r in cache.conn.execute(
        f"SELECT id, {PAIR_COLUMNS} FROM invoice_pair ORDER BY id")]


@contextmanager
def _rows_written(cache: Cache) -> Iterator[Callable[[], int]]:
    """Rows inserted into or deleted from invoice_pair meanwhile."""
    conn = cache.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS pair_written (n INTEGER)")
    conn.execute("DELETE FROM temp.pair_written")
    for event in ("INSERT", "DELETE"):
        conn.execute(f"CREATE TEMP TRIGGER pair_{event} AFTER {event} ON main.invoice_pair "
                     "BEGIN INSERT INTO pair_written VALUES (1); END")
    try:
        yield lambda: conn.execute("SELECT count(*) FROM temp.pair_written").fetchone()[0]
    finally:
        for event in ("INSERT", "DELETE"):
            conn.execute(f"DROP TRIGGER temp.pair_{event}")


def test_a_renumbered_ledger_memo_padded_with_spaces_refreshes_like_a_full_recompute(
        tmp_path: Path) -> None:
    """Pairing compares stripped numbers ("CM-2" pairs with " CM-2 "), so the
    incremental refresh must find the competitors of a renumbered document by
    stripped number too; it used to look them up by the raw number and leave the
    PSA memo and the ledger memo apart where a full recompute matches them (found
    by the refresh property test)."""
    with Cache(tmp_path / "padded.db") as cache:
        one_mapped_client(cache)
        memo = DocKind.CREDIT_MEMO
        cache.records.upsert_psa_invoices([PsaInvoice("p7", "CM-2", "1", date(2026, 1, 5),
                                                      Decimal("2.90"), Decimal("1.45"), kind=memo)])
        cache.records.upsert_ledger_credit_memos([LedgerInvoice(
            "m1", "CM-1", "58", date(2026, 1, 5), Decimal("1.53"), Decimal("498.12"),
            kind=memo)])
        refresh_reconciliation(cache)
        cache.records.upsert_ledger_credit_memos([LedgerInvoice(
            "m1", " CM-2 ", "58", date(2026, 1, 5), Decimal("1.53"), Decimal("498.12"),
            kind=memo)])
        refresh_documents(cache, ledger_ids={memo: ["m1"]})  # as a sync names the change
        incremental = snapshot(cache)
        refresh_reconciliation(cache)
        assert snapshot(cache) == incremental
        pairs = [tuple(r) for r in cache.conn.execute(
            "SELECT psa_invoice_id, ledger_invoice_id FROM invoice_pair")]
        assert pairs == [("p7", "m1")]
