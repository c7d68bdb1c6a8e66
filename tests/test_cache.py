"""The cache: schema, transactions, upserts with change tracking, screen queries."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.cache import SCHEMA_VERSION, Cache, CacheError
from recon_tui.models import (
    CompanyMapping,
    CreditKind,
    MappingMethod,
    OrganizationalCredit,
    PsaCompany,
)
from recon_tui.refresh import refresh_reconciliation
from tests.books import ledger_invoice, psa_invoice, seed_book


def test_new_cache_has_schema_wal_and_foreign_keys(cache: Cache) -> None:
    assert cache.schema_version == SCHEMA_VERSION
    assert cache.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert cache.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    indexes = {r[0] for r in cache.conn.execute(
        "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_summary_worst", "idx_pair_client", "idx_psa_invoice_number"} <= indexes


def test_reopening_keeps_data_and_does_not_migrate_twice(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Cache(path) as first:
        first.records.upsert_companies([PsaCompany("1", "A", "Alpha")])
    with Cache(path) as again:
        assert again.schema_version == SCHEMA_VERSION
        assert again.records.company("1") == PsaCompany("1", "A", "Alpha")


def test_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Cache(path) as c:
        c.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(CacheError, match="newer than this recon-tui understands"):
        Cache(path)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="damaged or not a recon-tui cache"):
        Cache(path)


def test_upsert_counts_and_records_old_and_new_values(cache: Cache) -> None:
    first = cache.records.upsert_psa_invoices([psa_invoice("110273", "1", "50.00", "40.00"),
                                               psa_invoice("110274", "1", "10.00", "10.00")])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    second = cache.records.upsert_psa_invoices([psa_invoice("110273", "1", "50.00", "50.00"),
                                                psa_invoice("110274", "1", "10.00", "10.00")])
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    [change] = second.changes
    assert (change.label, change.field, change.old, change.new) == (
        "110273", "owing", "40.00", "50.00")
    assert cache.records.psa_invoice("p110273").owing == Decimal("50.00")


def test_money_round_trips_exactly_as_integer_cents(cache: Cache) -> None:
    cache.records.upsert_ledger_invoices([ledger_invoice("1", "58", "7030.80", "0.10")])
    stored = cache.conn.execute(
        "SELECT total_cents, balance_cents, typeof(total_cents) FROM ledger_invoice").fetchone()
    assert tuple(stored) == (703080, 10, "integer")
    got = cache.records.ledger_invoice("l1")
    assert got.total == Decimal("7030.80") and got.balance == Decimal("0.10")


def test_a_failed_write_leaves_nothing_behind(cache: Cache) -> None:
    with pytest.raises(RuntimeError), cache.transaction():
        cache.records.upsert_companies([PsaCompany("1", "A", "Alpha")])
        raise RuntimeError("boom")
    assert cache.records.companies() == {}


def test_used_up_credits_are_removed(cache: Cache) -> None:
    memo = OrganizationalCredit("11261", CreditKind.CREDIT_MEMO, "59", date(2026, 2, 1),
                                Decimal("10.00"), Decimal("10.00"))
    cache.records.upsert_credits([memo])
    assert [c.id for c in cache.records.credits()] == ["11261"]
    result = cache.records.upsert_credits([OrganizationalCredit(
        "11261", CreditKind.CREDIT_MEMO, "59", date(2026, 2, 1), Decimal("0"),
        Decimal("10.00"))])
    # Used up is a change of the credit (it was applied), not a deletion.
    assert (result.updated, result.deleted) == (1, 0)
    assert [(c.action, c.old, c.new) for c in result.changes] == [("used up", "10.00", "0.00")]
    assert cache.records.credits() == []


def test_mapping_requires_known_records(cache: Cache) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        cache.records.add_mappings([CompanyMapping("nope", "nope", MappingMethod.MANUAL)])
    assert cache.records.mapping() == {}


def test_clients_worst_first_with_filters_and_totals(cache: Cache) -> None:
    seed_book(cache)
    rows = cache.recon.client_page()
    # Quiet Co: 99.00 not in the ledger; Northwind: 10.00 gap; Atomar's sides unmapped.
    assert [r.name for r in rows][:2] == ["Quiet Co", "Northwind Traders"]
    assert rows[0].difference == Decimal("-99.00")
    north = cache.recon.client("psa:1")
    assert (north.psa_owing, north.ledger_balance, north.difference) == (
        Decimal("40.00"), Decimal("50.00"), Decimal("10.00"))
    assert north.mapped and north.ledger_name == "Northwind Traders"
    # The unmapped ledger customer carries its own credit.
    atom_ledger = cache.recon.client("ledger:59")
    assert atom_ledger is None or atom_ledger.unapplied_credits == Decimal("10.00")
    assert cache.recon.count_clients("north") == 1
    assert [r.name for r in cache.recon.client_page("TACKLE")] == ["Atomars Best Tackle LLC"] or \
        "Atomars Best Tackle LLC" in [r.name for r in cache.recon.client_page("tackle")]
    assert cache.recon.count_clients(unmapped_only=True) == cache.recon.count_clients() - 1
    totals = cache.recon.book_totals()
    assert totals.unmapped_customers == 1
    assert totals.psa_owing == Decimal("259.00")
    assert totals.ledger_balance == Decimal("170.00")


def test_portal_filter_finds_clients_nobody_can_see(cache: Cache) -> None:
    seed_book(cache)
    blind = {r.name for r in cache.recon.client_page(portal_below=5)}
    assert blind == {"Atomars Best Tackle LLC", "Quiet Co"}


def test_client_pairs_put_discrepant_rows_first(cache: Cache) -> None:
    seed_book(cache)
    cache.records.upsert_psa_invoices([psa_invoice("110275", "1", "20.00", "20.00",
                                                   day=date(2026, 9, 1))])
    cache.records.upsert_ledger_invoices([ledger_invoice("110275", "58", "20.00", "20.00",
                                                         day=date(2026, 9, 1))])
    refresh_reconciliation(cache)
    rows = cache.recon.client_pairs("psa:1")
    assert [r.psa_number for r in rows] == ["110273", "110275"]
    assert rows[0].discrepant and rows[0].difference_owing == Decimal("10.00")
    assert not rows[1].discrepant


def test_the_diagnosis_pages_through_the_undiagnosed_rows_alone(cache: Cache) -> None:
    seed_book(cache)
    # Every discrepant row loses its cause; the agreeing ones never had one.
    cache.conn.execute("UPDATE invoice_pair SET cause = NULL")
    discrepant = [r[0] for r in cache.conn.execute(
        "SELECT id FROM invoice_pair WHERE discrepant ORDER BY id")]
    assert discrepant and discrepant != [r[0] for r in cache.conn.execute(
        "SELECT id FROM invoice_pair ORDER BY id")]
    assert cache.txns.undiagnosed_pair_ids() == discrepant
    assert cache.txns.undiagnosed_pair_ids(limit=1) == discrepant[:1]
    cache.txns.set_causes([(discrepant[0], "unknown")])
    assert cache.txns.undiagnosed_pair_ids() == discrepant[1:]
    plan = " ".join(str(r[-1]) for r in cache.conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM invoice_pair INDEXED BY idx_pair_undiagnosed "
        "WHERE discrepant AND cause IS NULL ORDER BY id LIMIT 5"))
    assert "idx_pair_undiagnosed" in plan and "TEMP B-TREE" not in plan


def test_a_schema_5_cache_gains_the_undiagnosed_index(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Cache(path) as cache:
        seed_book(cache)
        cache.conn.execute("DROP INDEX idx_pair_undiagnosed")
        cache.set_meta("schema_version", "5")
    with Cache(path) as again:
        assert again.schema_version == SCHEMA_VERSION >= 6
        assert again.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' "
                                  "AND name = 'idx_pair_undiagnosed'").fetchone()
        assert again.records.company("1") == PsaCompany("1", "NORTH", "Northwind Traders")


def test_a_row_read_by_position_is_the_row_read_by_name(cache: Cache) -> None:
    from recon_tui.cache.records import PAIR_ROW_COLUMNS, pair_row_from, pair_row_from_values

    seed_book(cache)
    by_name = [pair_row_from(r) for r in cache.conn.execute(
        "SELECT * FROM invoice_pair ORDER BY id")]
    by_position = [pair_row_from_values(r) for r in cache.conn.execute(
        f"SELECT {PAIR_ROW_COLUMNS} FROM invoice_pair ORDER BY id")]
    assert by_name == by_position and len(by_name) >= 3
    assert any(r.cause for r in by_name) and any(r.ledger_total is None for r in by_name)
    assert cache.recon.pair_rows([r.pair_id for r in by_name]) == {r.pair_id: r for r in by_name}
