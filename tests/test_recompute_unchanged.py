"""A recompute of a book nothing has touched since the last one returns at once
(``cache/unchanged.py``), and is then exactly what a recompute in full gives:
any write to what a recompute reads or writes, by any writer (the cache's own
methods or plain SQL), makes the next one run in full; so do new code, a dropped
trigger, and a recompute that wrote links. A schema 7 cache gains the triggers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.cache import SCHEMA_VERSION, Cache
from recon_tui.cache.schema import TABLES
from recon_tui.cache.unchanged import TRIGGERS, WATCHED, code_token, unchanged
from recon_tui.refresh import refresh_reconciliation
from tests.books import seed_book
from tests.test_pairing_sql import books, state, twin_caches, writes_counted

# One meaningful edit of each table a recompute reads or writes, in plain SQL
# (no method of the cache: the triggers must see every writer).
EDITS = {
    "psa_invoice": "UPDATE psa_invoice SET total_cents = total_cents + 7 "
                   "WHERE rowid = (SELECT max(rowid) FROM psa_invoice)",
    "psa_invoice_number": "UPDATE psa_invoice SET number = number || '0' "
                          "WHERE rowid = (SELECT min(rowid) FROM psa_invoice)",
    "ledger_invoice": "UPDATE ledger_invoice SET balance_cents = balance_cents - 3 "
                      "WHERE rowid = (SELECT min(rowid) FROM ledger_invoice)",
    "ledger_invoice_gone": "DELETE FROM ledger_invoice "
                           "WHERE rowid = (SELECT max(rowid) FROM ledger_invoice)",
    "ledger_credit_memo": "UPDATE ledger_credit_memo SET total_cents = total_cents + 1",
    "invoice_link": "DELETE FROM invoice_link "
                    "WHERE rowid = (SELECT min(rowid) FROM invoice_link)",
    "company_mapping": "DELETE FROM company_mapping "
                       "WHERE rowid = (SELECT min(rowid) FROM company_mapping)",
    "psa_company": "UPDATE psa_company SET name = name || ' Ltd'",
    "ledger_customer": "UPDATE ledger_customer SET display_name = display_name || '!'",
    "psa_contact": "INSERT INTO psa_contact (id, company_id, first_name, last_name, "
                   "portal_security_level) SELECT 'x' || id, id, 'A', 'B', 9 FROM psa_company",
    "ledger_credit": "UPDATE ledger_credit SET amount_cents = amount_cents + 100",
    "checklist": "DELETE FROM checklist",
    "invoice_txn": "INSERT INTO invoice_txn (side, invoice_id, txn_id, kind, date, "
                   "amount_cents) SELECT 'ledger', id, 't' || id, 'payment', date, 5 "
                   "FROM ledger_invoice",
    "invoice_pair": "UPDATE invoice_pair SET diff_total_cents = diff_total_cents + 1 "
                    "WHERE id = (SELECT max(id) FROM invoice_pair)",
    "invoice_pair_cause": "UPDATE invoice_pair SET cause = 'rounding' WHERE discrepant",
    "client_summary": "DELETE FROM client_summary "
                      "WHERE rowid = (SELECT min(rowid) FROM client_summary)",
}


def triggers(cache: Cache) -> set[str]:
    return {r[0] for r in cache.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")}


def undo_schema_8(cache: Cache) -> None:
    """Make a cache as schema 7 left it (no mark table, no triggers)."""
    with cache.transaction():
        for name in triggers(cache) & set(TRIGGERS):
            cache.conn.execute(f"DROP TRIGGER {name}")
        cache.conn.execute("DROP TABLE recon_clean")


def same(cache: Cache) -> tuple[list, list, list]:
    """``state`` with each link's first-seen time left out (twin caches recompute
    at different moments)."""
    pairs, clients, links = state(cache)
    return pairs, clients, [(psa, ledger, method) for psa, ledger, _, method in links]


def marked(cache: Cache) -> bool:
    return unchanged(cache.conn, code_token()) is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), edits=st.lists(st.sampled_from(sorted(EDITS)), max_size=2))
def test_a_recompute_that_finds_its_mark_is_the_full_recompute(book: dict,
                                                               edits: list[str]) -> None:
    with twin_caches(book) as (quick, full):
        for cache in (quick, full):
            refresh_reconciliation(cache)  # remembers the links (then not marked)
            refresh_reconciliation(cache)
            assert marked(cache)
        with writes_counted(quick) as writes:
            assert refresh_reconciliation(quick) == quick.recon.count_pairs()
        assert writes() == 0 and marked(quick)
        for cache in (quick, full):
            with cache.transaction():
                for edit in edits:
                    cache.conn.execute(EDITS[edit])
        refresh_reconciliation(quick)
        refresh_reconciliation(full, force=True)
        assert same(quick) == same(full)
        refresh_reconciliation(quick)
        refresh_reconciliation(full, force=True)
        assert same(quick) == same(full)


def test_every_table_a_recompute_touches_is_watched(tmp_path: Path) -> None:
    """What a recompute in full reads or writes (SQLite's authorizer names every
    table a statement uses), on a book with payments on both sides: nothing
    outside the watched tables but the mark, meta, SQLite's own and the systems'
    names (read for the diagnosis's wording, which is not stored: only the cause)."""
    used: set[str] = set()

    def note(action: int, arg1: str | None, arg2: str | None, db: str | None,
             _trigger: str | None) -> int:
        if db == "main" and action in (sqlite3.SQLITE_READ, sqlite3.SQLITE_INSERT,
                                       sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE):
            used.add(arg1 or "")
        return sqlite3.SQLITE_OK

    with Cache(tmp_path / "c.db") as cache:
        seed_book(cache)
        with cache.transaction():
            cache.conn.execute(EDITS["invoice_txn"])
            cache.conn.execute("INSERT INTO invoice_txn (side, invoice_id, txn_id, kind, date, "
                               "amount_cents) SELECT 'psa', id, 'p' || id, 'payment', date, 10 "
                               "FROM psa_invoice")
            cache.conn.execute("UPDATE psa_invoice SET payments_read_at = date")
        cache.conn.set_authorizer(note)
        try:
            refresh_reconciliation(cache, force=True)
        finally:
            cache.conn.set_authorizer(None)
    assert "invoice_txn" in used and "psa_contact" in used
    assert used - set(WATCHED) <= {"meta", "recon_clean", "sqlite_master", "json_each",
                                   "sync_state"}
    assert set(WATCHED) <= set(TABLES)


def test_new_code_a_dropped_trigger_or_new_links_recompute_in_full(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.db") as cache:
        seed_book(cache)  # its recompute wrote the links: no mark, and no trigger
        assert not marked(cache) and not triggers(cache)
        refresh_reconciliation(cache)
        assert marked(cache) and triggers(cache) == set(TRIGGERS)
        assert len(TRIGGERS) == 3 * len(WATCHED)
        assert unchanged(cache.conn, "another version") is None
        assert unchanged(cache.conn, None) is None
        with cache.transaction():
            cache.conn.execute("DROP TRIGGER recon_dirty_psa_invoice_update")
        assert not marked(cache)
        with cache.transaction():
            cache.conn.execute(TRIGGERS["recon_dirty_psa_invoice_update"])
        assert marked(cache)
        with cache.transaction():
            cache.conn.execute("DELETE FROM meta WHERE key = 'pairs_in_order'")
        assert not marked(cache)


def test_the_triggers_stand_only_while_a_mark_may(tmp_path: Path) -> None:
    """A write takes the mark and leaves the triggers; the recompute that runs
    then drops them before its own writes, and puts them back with its mark."""
    with Cache(tmp_path / "c.db") as cache:
        seed_book(cache)
        refresh_reconciliation(cache)
        before = state(cache)
        cache.records.upsert_psa_invoices(cache.recon.psa_invoices_by_id(["110273"]).values())
        assert marked(cache)  # the same row: nothing written
        with cache.transaction():
            cache.conn.execute(EDITS["psa_company"])
        assert not marked(cache) and triggers(cache) == set(TRIGGERS)
        fired: list[str] = []
        cache.conn.set_trace_callback(fired.append)
        try:
            refresh_reconciliation(cache)
        finally:
            cache.conn.set_trace_callback(None)
        assert marked(cache) and state(cache) != before
        dropped = max(i for i, sql in enumerate(fired) if sql.startswith("DROP TRIGGER"))
        assert not any("INSERT INTO invoice_pair" in sql or "UPDATE invoice_pair" in sql
                       for sql in fired[:dropped])


def test_a_schema_7_cache_gains_the_mark(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Cache(path) as cache:
        seed_book(cache)
        refresh_reconciliation(cache)
        undo_schema_8(cache)
        cache.set_meta("schema_version", "7")
        before = state(cache)
    with Cache(path) as again:
        assert again.schema_version == SCHEMA_VERSION == 8
        assert "recon_clean" in TABLES and not triggers(again)
        assert state(again) == before and not marked(again)
        refresh_reconciliation(again)
        assert state(again) == before and marked(again)
        with again.transaction():
            again.conn.execute(EDITS["psa_invoice"])
        assert not marked(again)
        refresh_reconciliation(again)
        assert state(again) != before
