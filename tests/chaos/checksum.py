"""What "the cache is as it was" means: a stable hash of every row of the cache's
data tables, read straight from the SQLite file."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

#: The sync's own history: written by every run, failed or not, by design.
HISTORY_TABLES = frozenset({"sync_run", "sync_step", "sync_change"})
#: Columns a sync stamps with its own clock (not data read from a system): two
#: clean syncs of one book differ only there. Left out of the *loose* checksum.
CLOCK_COLUMNS = {
    "company_mapping": {"created_at"},
    "invoice_link": {"first_seen"},
    "sync_state": {"last_synced_at"},
    "psa_invoice": {"payments_read_at"},
    "invoice_txn": {"removed_at"},
}
#: meta rows holding a moment (the rest, e.g. schema_version, are data).
CLOCK_META_KEYS = frozenset({"complete_through"})


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def data_tables(conn: sqlite3.Connection) -> list[str]:
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    return sorted(name for name in names if name not in HISTORY_TABLES)


def checksum(path: Path, *, strict: bool) -> str:
    """SHA-256 over every data table's rows (sorted, so row order is irrelevant).
    ``strict`` hashes every column (for "byte-identical to before"); otherwise the
    clock columns are left out (for "the same data as a clean sync")."""
    digest = hashlib.sha256()
    with closing(_connect(path)) as conn:
        for table in data_tables(conn):
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            if not strict:
                columns = [c for c in columns if c not in CLOCK_COLUMNS.get(table, ())]
            rows = conn.execute(f'SELECT {", ".join(columns)} FROM "{table}"').fetchall()
            if table == "meta" and not strict:
                rows = [r for r in rows if r[0] not in CLOCK_META_KEYS]
            digest.update(f"{table}({','.join(columns)})".encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
                digest.update(b"\n")
    return digest.hexdigest()


def integrity_ok(path: Path) -> bool:
    with closing(_connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def run_errors(path: Path) -> list[str]:
    """Every error text the history holds (runs and steps), for leak checks."""
    with closing(_connect(path)) as conn:
        runs = [r[0] for r in conn.execute("SELECT error FROM sync_run WHERE error IS NOT NULL")]
        steps = [r[0] for r in conn.execute("SELECT error FROM sync_step WHERE error IS NOT NULL")]
    return runs + steps
