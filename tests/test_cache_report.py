"""``cache.report``: what the report reads of the materialised pairs, on its own
over the small shared book (no writer, no CLI)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recon_tui.cache import Cache
from recon_tui.cache.report import ReportReads
from recon_tui.models import DocKind, ReconStatus
from recon_tui.refresh import refresh_reconciliation
from tests.books import psa_invoice, seed_book

START, END = date(2026, 1, 1), date(2026, 12, 31)


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.report, ReportReads)
    assert cache.report.conn is cache.conn
    assert not hasattr(cache, "report_date_range")


def test_the_period_covers_the_book_or_one_client(cache: Cache) -> None:
    assert cache.report.date_range() is None  # nothing materialised yet
    seed_book(cache)
    day = date(2026, 3, 1)
    assert cache.report.date_range() == (day, day)
    assert cache.report.date_range("psa:1") == (day, day)
    assert cache.report.date_range("psa:nobody") is None


def test_rows_are_counted_per_period_and_client(cache: Cache) -> None:
    seed_book(cache)
    assert cache.report.pair_count(START, END) == 3
    assert cache.report.pair_count(START, END, "psa:1") == 1
    assert cache.report.pair_count(date(2027, 1, 1), date(2027, 2, 1)) == 0


def test_discrepant_rows_are_summed_per_kind_cause_and_status(cache: Cache) -> None:
    seed_book(cache)
    groups = {(g.kind, g.cause, g.status): g for g in cache.report.cause_groups(START, END)}
    assert set(groups) == {
        (DocKind.INVOICE, "never exported", ReconStatus.NOT_IN_LEDGER),
        (DocKind.INVOICE, "payment in PSA only", ReconStatus.MATCHED)}  # 10040 agrees
    never = groups[DocKind.INVOICE, "never exported", ReconStatus.NOT_IN_LEDGER]
    assert (never.count, never.difference_total, never.psa_total) == (
        1, Decimal("-99.00"), Decimal("99.00"))
    paid = groups[DocKind.INVOICE, "payment in PSA only", ReconStatus.MATCHED]
    assert (paid.difference_total, paid.difference_owing) == (Decimal("0.00"), Decimal("10.00"))
    assert cache.report.cause_groups(START, END, "psa:2") == []


def test_pairs_stream_with_their_names_and_cause(cache: Cache) -> None:
    seed_book(cache)
    rows = {pair.psa.number: (client, company, customer, cause)
            for pair, client, company, customer, cause in cache.report.iter_pairs(START, END)
            if pair.psa is not None}
    assert rows == {
        "110273": ("psa:1", "Northwind Traders", "Northwind Traders", "payment in PSA only"),
        "10040": ("psa:2", "Atomars Best Tackle LLC", "Atomar's Best Tackle", None),
        "10050": ("psa:3", "Quiet Co", None, "never exported"),
    }


def test_the_spool_holds_the_periods_rows(cache: Cache) -> None:
    seed_book(cache)
    seen: list[int] = []
    spool = cache.report.spool(START, END, progress=seen.append)
    try:
        assert (spool.count("invoice"), spool.count("invoice", discrepant_only=True),
                spool.count("memo")) == (3, 2, 0)
    finally:
        spool.close()
    assert seen == [3]  # the last call says every row was read


def test_a_view_reads_one_state_of_the_cache(cache: Cache) -> None:
    """What another connection commits meanwhile is not seen until the view ends."""
    seed_book(cache)
    with cache.report.view():
        before = cache.report.pair_count(START, END)
        with Cache(cache.path) as other:
            other.records.upsert_psa_invoices([psa_invoice("777", "3", "1.00", "1.00")])
            refresh_reconciliation(other)
        assert cache.report.pair_count(START, END) == before
        with cache.report.view():  # nested: joins the open one
            assert cache.report.pair_count(START, END) == before
    assert cache.report.pair_count(START, END) == before + 1
