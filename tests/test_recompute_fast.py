"""The full recompute compares the rows it makes with the stored ones as it makes
them, and writes only when some differ (``cache/pair_store``): any stored row
that is not what the rules give (a column changed, a row gone or added) is still
found and rewritten; and a cache of schema 6 gains the client index that lets
the clients be summed from the index alone."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.cache import SCHEMA_VERSION, Cache
from recon_tui.cache.pair_store import ORDERED, PAIR_COLUMNS
from recon_tui.refresh import refresh_reconciliation
from tests.books import seed_book
from tests.test_pairing_sql import books, python_recompute, sql_recompute, state, twin_caches

_COLUMNS = [c.strip() for c in PAIR_COLUMNS.split(",")]


def _tamper(cache: Cache, row: int, column: str) -> None:
    """Make one stored row's column something the rules did not give it, the
    rows still marked as stored in order (nothing else says they changed)."""
    with cache.transaction():
        cache.conn.execute(
            f"UPDATE invoice_pair SET {column} = CASE WHEN {column} IS NULL THEN 'x' "
            f"WHEN typeof({column}) = 'integer' THEN {column} + 1 ELSE {column} || '~' END "
            "WHERE id = ?", (row,))
    assert cache.get_meta(ORDERED)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), pick=st.integers(min_value=0, max_value=10_000),
       column=st.sampled_from(_COLUMNS))
def test_a_stored_row_changed_behind_the_recompute_is_rewritten(book: dict, pick: int,
                                                                 column: str) -> None:
    with twin_caches(book) as (sql, python):
        sql_recompute(sql)
        python_recompute(python)
        count = sql.recon.count_pairs()
        if not count:
            return
        _tamper(sql, pick % count + 1, column)
        assert state(sql) != state(python)
        sql_recompute(sql)
        assert state(sql) == state(python)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), pick=st.integers(min_value=0, max_value=10_000))
def test_a_stored_row_gone_or_doubled_is_found(book: dict, pick: int) -> None:
    """A row deleted, or one row's copy put in place of another (as many rows as
    the rules give, and every new row with an equal stored row but one)."""
    with twin_caches(book) as (sql, python):
        sql_recompute(sql)
        python_recompute(python)
        count = sql.recon.count_pairs()
        if count < 2:
            return
        victim = pick % count + 1
        with sql.transaction():
            sql.conn.execute("DELETE FROM invoice_pair WHERE id = ?", (victim,))
        sql_recompute(sql)
        assert state(sql) == state(python)
        ledger_only = [r[0] for r in sql.conn.execute(
            "SELECT id FROM invoice_pair WHERE psa_invoice_id IS NULL ORDER BY id")]
        if len(ledger_only) >= 2:
            copied, replaced = ledger_only[pick % len(ledger_only)], ledger_only[0]
            if copied == replaced:
                replaced = ledger_only[1]
            with sql.transaction():
                sql.conn.execute("DELETE FROM invoice_pair WHERE id = ?", (replaced,))
                sql.conn.execute(f"INSERT INTO invoice_pair (id, {PAIR_COLUMNS}) SELECT ?, "
                                 f"{PAIR_COLUMNS} FROM invoice_pair WHERE id = ?",
                                 (replaced, copied))
            sql_recompute(sql)
            assert state(sql) == state(python)


def _client_index(cache: Cache) -> list[str]:
    return [r[2] for r in cache.conn.execute("PRAGMA index_info(idx_pair_client)")]


def test_a_schema_6_cache_gains_the_covering_client_index(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Cache(path) as cache:
        seed_book(cache)
        refresh_reconciliation(cache)
        with cache.transaction():
            cache.conn.execute("DROP INDEX idx_pair_client")
            cache.conn.execute("CREATE INDEX idx_pair_client ON invoice_pair(client_key, "
                               "discrepant)")
        cache.set_meta("schema_version", "6")
        before = state(cache)
    with Cache(path) as again:
        assert again.schema_version == SCHEMA_VERSION >= 7
        assert _client_index(again) == ["client_key", "discrepant", "kind",
                                        "psa_owing_cents", "ledger_owing_cents"]
        assert state(again) == before
        plan = " ".join(str(r[-1]) for r in again.conn.execute(
            "EXPLAIN QUERY PLAN SELECT client_key, sum(psa_owing_cents), "
            "sum(ledger_owing_cents), sum(kind = 'invoice') FROM invoice_pair "
            "GROUP BY client_key"))
        assert "COVERING INDEX idx_pair_client" in plan
        refresh_reconciliation(again)
        assert state(again) == before
