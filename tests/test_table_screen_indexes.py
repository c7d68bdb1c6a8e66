"""The screens' indexes (client_sql.SCREEN_INDEXES, issue 12): made when a cache
opens without them, never on a read-only cache or by waiting for another writer;
the clients list's filter counts and pages through its index, and a client's
invoices come in the screen's order from theirs, without a sort."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.cache.client_sql import SCREEN_INDEXES
from tests.test_tui import make_app


def _indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        conn.close()


def _drop_screen_indexes(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        for name in SCREEN_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
    finally:
        conn.close()


def _plan(cache: Cache, sql: str, params: tuple = ()) -> str:
    return " | ".join(r[3] for r in cache.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_a_cache_opened_without_them_gets_them(tmp_path: Path) -> None:
    make_app(tmp_path)
    path = tmp_path / "book.db"
    _drop_screen_indexes(path)
    Cache(path, read_only=True).close()  # a read-only open writes nothing
    assert not set(SCREEN_INDEXES) & _indexes(path)
    Cache(path).close()
    assert set(SCREEN_INDEXES) <= _indexes(path)


def test_a_cache_another_connection_is_writing_opens_at_once_without_them(
        tmp_path: Path) -> None:
    make_app(tmp_path)
    path = tmp_path / "book.db"
    _drop_screen_indexes(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a sync's write transaction
    try:
        cache = Cache(path)  # does not wait 30 s for the lock, does not fail
        assert cache.conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0  # put back
        assert cache.recon.count_clients() > 0
        cache.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert not set(SCREEN_INDEXES) & _indexes(path)
    Cache(path).close()  # the next open makes them
    assert set(SCREEN_INDEXES) <= _indexes(path)


def test_the_filter_and_the_client_rows_are_read_through_them(tmp_path: Path) -> None:
    make_app(tmp_path)
    with Cache(tmp_path / "book.db") as cache:
        count = _plan(cache, "SELECT count(*) FROM client_summary WHERE instr(search, ?) > 0",
                      ("north",))
        assert "COVERING INDEX idx_summary_worst_search" in count
        page = _plan(cache, "SELECT * FROM client_summary WHERE instr(search, ?) > 0 "
                     "ORDER BY abs_difference_cents DESC, discrepant_count DESC, name_sort "
                     "LIMIT 50", ("north",))
        assert "idx_summary_worst_search" in page and "TEMP B-TREE" not in page
        pairs = _plan(cache, "SELECT * FROM invoice_pair WHERE client_key=? AND kind=? "
                      "ORDER BY discrepant DESC, abs(diff_owing_cents) DESC, "
                      "abs(diff_total_cents) DESC, invoice_date DESC, id LIMIT 20",
                      ("psa:1", "invoice"))
        assert "idx_pair_client_order" in pairs and "TEMP B-TREE" not in pairs
