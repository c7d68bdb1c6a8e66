"""``cache.records``: the records the cache holds, their reads and a sync's
change-tracking writes, on their own over a small book."""

from __future__ import annotations

import inspect
import sqlite3
from decimal import Decimal

import pytest

from recon_tui.cache import Cache
from recon_tui.cache.held import HeldRecords
from recon_tui.cache.part import CachePart
from recon_tui.models import CompanyMapping, MappingMethod, PsaCompany
from recon_tui.refresh import refresh_reconciliation
from tests.books import ledger_invoice, psa_invoice, seed_book


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.records, HeldRecords)
    assert cache.records.conn is cache.conn
    moved = {name for name, _ in inspect.getmembers(HeldRecords, inspect.isfunction)
             if name not in dir(CachePart)}
    assert {name for name in moved if name in dir(Cache)} == set()  # no delegation left
    assert {"companies", "mapping", "add_mappings", "unmapped_customer_count",
            "upsert_psa_invoices", "mark_unexported", "psa_invoice_ids"} <= moved


def test_what_a_sync_writes_is_read_back_and_counted_as_changes(cache: Cache) -> None:
    seed_book(cache)
    records = cache.records
    assert records.company("1") == PsaCompany("1", "NORTH", "Northwind Traders")
    assert set(records.customers()) == {"58", "59"}
    assert records.psa_invoice_ids() == {"p110273", "p10040", "p10050"}
    before = records.psa_invoice("p110273")
    assert before is not None and before.owing == Decimal("40.00")
    paid = psa_invoice("110273", "1", "50.00", "35.00")  # as the PSA lists it now
    result = records.upsert_psa_invoices([paid])
    assert (result.updated, result.unchanged, result.touched) == (1, 0, {"p110273"})
    assert [(c.field, c.old, c.new) for c in result.changes] == [
        ("owing", "40.00", "35.00")]
    again = records.upsert_psa_invoices([paid])
    assert (again.updated, again.unchanged, again.changes) == (0, 1, [])


def test_a_deletion_is_a_change_and_leaves_the_held_ids(cache: Cache) -> None:
    seed_book(cache)
    gone = cache.records.delete_ledger_invoices(["l10040", "never-held"])
    assert gone.deleted == 1 and [c.action for c in gone.changes] == ["deleted"]
    assert cache.records.ledger_invoice_ids() == {"l110273"}
    assert cache.records.ledger_invoice("l10040") is None


def test_only_the_export_flags_that_flip_are_written(cache: Cache) -> None:
    seed_book(cache)
    first = cache.records.mark_unexported({"10050"})
    assert first.touched == {"p110273", "p10040"}  # exported now, as the PSA says
    assert cache.records.mark_unexported({"10050"}).updated == 0


def test_the_unmapped_count_is_the_records_and_the_totals_ask_it(cache: Cache) -> None:
    seed_book(cache)
    unmapped = cache.records.unmapped_customer_count()
    cache.records.add_mappings([CompanyMapping("59", "2", MappingMethod.MANUAL)])
    assert cache.records.unmapped_customer_count() == unmapped - 1
    refresh_reconciliation(cache)
    assert cache.recon.book_totals().unmapped_customers == unmapped - 1
    cache.records.remove_mapping("59")
    assert cache.recon.book_totals().unmapped_customers == unmapped


def test_a_write_inside_a_failed_transaction_leaves_nothing(cache: Cache) -> None:
    """The part's writes are savepoints of the caller's transaction: they go with it."""
    with pytest.raises(sqlite3.IntegrityError), cache.transaction():
        cache.records.upsert_psa_invoices([psa_invoice("1", "1", "5.00", "5.00")])
        cache.records.upsert_ledger_invoices([ledger_invoice("1", "58", "5.00", "5.00")])
        cache.conn.execute("INSERT INTO checklist(id) VALUES (NULL)")  # NOT NULL columns
    assert cache.records.counts()["psa_invoice"] == 0
    assert list(cache.records.iter_ledger_documents()) == []
