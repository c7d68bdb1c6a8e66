"""``cache.txns``: each invoice's payment and credit lines on both sides, and the
rows' causes, on their own over a small book."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from recon_tui.cache import Cache
from recon_tui.cache.part import CachePart
from recon_tui.cache.transactions import InvoiceTxns
from recon_tui.transactions import InvoiceTxn, Side, TxnKind
from tests.books import seed_book

GONE = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)


def pay(side: Side, invoice_id: str, txn_id: str, amount: str) -> InvoiceTxn:
    return InvoiceTxn(side, invoice_id, txn_id, TxnKind.PAYMENT, date(2026, 3, 10),
                      Decimal(amount))


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.txns, InvoiceTxns)
    assert cache.txns.conn is cache.conn
    moved = {name for name, _ in inspect.getmembers(InvoiceTxns, inspect.isfunction)
             if name not in dir(CachePart)}
    assert {name for name in moved if name in dir(Cache)} == set()  # no delegation left
    assert {"invoice_txns", "set_causes", "cause_counts", "undiagnosed_pair_ids"} <= moved


def test_a_payment_no_longer_listed_is_kept_and_marked_removed(cache: Cache) -> None:
    seed_book(cache)
    assert not cache.txns.has_txns(Side.PSA)
    first = cache.txns.replace_txns(Side.PSA, "invoice_id", ["p110273"],
                                    [pay(Side.PSA, "p110273", "501", "10.00")],
                                    removed_how="no longer listed in the PSA")
    assert first.touched == {"p110273"} and cache.txns.has_txns(Side.PSA)
    assert cache.txns.psa_payments_read(["p110273", "p10040"]) == {"p110273"}
    assert cache.txns.psa_invoices_with_live_payments(["p110273"]) == {"p110273"}
    cache.txns.replace_txns(Side.PSA, "invoice_id", ["p110273"], [],
                            removed_how="no longer listed in the PSA", now=GONE)
    [txn] = cache.txns.invoice_txns(Side.PSA, "p110273")
    assert (txn.txn_id, txn.amount, txn.removed_at, txn.removed_how) == (
        "501", Decimal("10.00"), GONE, "no longer listed in the PSA")
    assert cache.txns.psa_invoices_with_live_payments(["p110273"]) == set()
    assert cache.txns.txns_for_invoices(Side.PSA, ["p110273"]) == {"p110273": [txn]}


def test_causes_are_set_counted_and_cleared_when_the_evidence_moves(cache: Cache) -> None:
    seed_book(cache)
    cache.conn.execute("UPDATE invoice_pair SET cause = NULL")
    waiting = cache.txns.undiagnosed_pair_ids()
    assert waiting and cache.txns.cause_counts() == {}
    cache.txns.set_causes([(pair_id, "unknown") for pair_id in waiting])
    assert cache.txns.undiagnosed_pair_ids() == []
    assert cache.txns.cause_counts() == {"unknown": len(waiting)}
    [row] = cache.recon.pairs_for_number("110273")
    cache.txns.clear_causes_for(Side.PSA, [row.psa_invoice_id or ""])
    assert cache.txns.undiagnosed_pair_ids() == [row.pair_id]


def test_a_write_inside_a_failed_transaction_leaves_nothing(cache: Cache) -> None:
    seed_book(cache)
    with pytest.raises(RuntimeError), cache.transaction():
        cache.txns.replace_txns(Side.PSA, "invoice_id", ["p110273"],
                                [pay(Side.PSA, "p110273", "501", "10.00")], removed_how="x")
        raise RuntimeError("the sync failed after its payment lines")
    assert cache.txns.invoice_txns(Side.PSA, "p110273") == []
    assert cache.txns.psa_payments_read(["p110273"]) == set()
