"""Cache schema 8's indexes (issue 12): the clients list's filter counts and pages
through its index, a client's invoices come in the screen's order from theirs
without a sort, and a daily sync's re-pair finds documents by trimmed number
through an index instead of walking the table; a schema 7 cache gains them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from recon_tui.cache import SCHEMA_VERSION, Cache
from recon_tui.cache.pairing_sql import WHITESPACE
from tests.test_tui import make_app

SCHEMA_8 = ("idx_psa_invoice_trimmed", "idx_ledger_invoice_trimmed",
            "idx_ledger_credit_memo_trimmed", "idx_summary_worst_search",
            "idx_pair_client_order")


def _indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        conn.close()


def _plan(cache: Cache, sql: str, params: tuple = ()) -> str:
    return " | ".join(r[3] for r in cache.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_a_schema_7_cache_migrates_to_them(tmp_path: Path) -> None:
    make_app(tmp_path)
    path = tmp_path / "book.db"
    conn = sqlite3.connect(path)
    for name in SCHEMA_8:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    assert not set(SCHEMA_8) & _indexes(path)
    with Cache(path) as cache:
        assert cache.schema_version == SCHEMA_VERSION == 8
        assert cache.recon.count_clients() > 0
    assert set(SCHEMA_8) <= _indexes(path)


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


def test_a_re_pair_finds_documents_by_trimmed_number_and_psa_id_through_an_index(
        tmp_path: Path) -> None:
    make_app(tmp_path)
    with Cache(tmp_path / "book.db") as cache:
        psa = _plan(cache, f"SELECT * FROM psa_invoice p WHERE p.kind = 'invoice' AND "
                    f"trim(p.number, '{WHITESPACE}') IN (?, ?)", ("1", "2"))
        assert "idx_psa_invoice_trimmed" in psa, psa
        for table in ("ledger_invoice", "ledger_credit_memo"):
            ledger = _plan(cache, f"SELECT rowid, * FROM {table} WHERE kind = 'invoice' AND "
                           f"trim(doc_number, '{WHITESPACE}') IN (?, ?)", ("1", "2"))
            assert f"idx_{table}_trimmed" in ledger, ledger
        pairs = _plan(cache, "SELECT client_key FROM invoice_pair WHERE +kind = 'invoice' "
                      "AND psa_invoice_id IN (?, ?)", ("1", "2"))
        assert "SCAN" not in pairs and "idx_pair_kind_ledger" not in pairs, pairs
