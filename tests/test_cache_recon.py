"""``cache.recon``: the materialised reconciliation, on its own over a small book."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from recon_tui.cache import Cache
from recon_tui.cache.part import CachePart
from recon_tui.cache.reconciliation import Reconciliation
from tests.books import psa_invoice, seed_book


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.recon, Reconciliation)
    assert cache.recon.conn is cache.conn
    moved = {name for name, _ in inspect.getmembers(Reconciliation, inspect.isfunction)
             if name not in dir(CachePart)}
    on_cache = {name for name in moved if name in dir(Cache)}
    assert on_cache == set()  # asked of the part alone: no delegation left on Cache
    assert {"recompute_reconciliation", "replace_pairs_for", "max_portal_levels"} <= moved


def test_the_header_totals_are_the_clients_summed(cache: Cache) -> None:
    seed_book(cache)
    rows = cache.recon.client_page(limit=1000)
    totals = cache.recon.book_totals()
    assert totals.clients == len(rows) == cache.recon.count_clients()
    assert totals.psa_owing == sum((r.psa_owing for r in rows), Decimal(0))
    assert totals.ledger_balance == sum((r.ledger_balance for r in rows), Decimal(0))
    assert totals.unmapped_customers == 1  # Atomar's ledger customer


def test_a_row_reads_back_by_number_and_by_id(cache: Cache) -> None:
    seed_book(cache)
    [row] = cache.recon.pairs_for_number("110273")
    assert (row.psa_number, row.ledger_number, row.client_key) == ("110273", "110273", "psa:1")
    assert cache.recon.pair_row(row.pair_id) == row
    assert cache.recon.pair_rows([row.pair_id]) == {row.pair_id: row}
    assert cache.recon.pair_row(10**9) is None


def test_a_recompute_inside_a_failed_transaction_leaves_the_old_reconciliation(
        cache: Cache) -> None:
    """The part writes in the core's transaction: the caller's failure undoes it."""
    seed_book(cache)
    before = (cache.recon.count_pairs(), cache.recon.client_page(limit=1000))
    with pytest.raises(RuntimeError), cache.transaction():
        cache.records.upsert_psa_invoices([psa_invoice("777", "3", "5.00", "5.00")])
        assert cache.recon.recompute_reconciliation() == before[0] + 1
        raise RuntimeError("the sync failed after its recompute")
    assert (cache.recon.count_pairs(), cache.recon.client_page(limit=1000)) == before
    assert cache.recon.pairs_for_number("777") == []


def test_refreshing_some_clients_re_sums_only_them(cache: Cache) -> None:
    seed_book(cache)
    quiet = cache.recon.client("psa:3")
    assert quiet is not None and quiet.difference == Decimal("-99.00")
    cache.conn.execute("UPDATE invoice_pair SET psa_owing_cents = 0 WHERE client_key = 'psa:3'")
    assert cache.recon.client("psa:3") == quiet  # stored, not summed on read
    [fresh] = cache.recon.refresh_client_rows(["psa:3"])
    assert fresh.psa_owing == Decimal("0.00") and fresh.difference == Decimal("0.00")
    assert cache.recon.client("psa:1") is not None
