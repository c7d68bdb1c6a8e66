"""Knowing that a full recompute has nothing to do: nothing it reads or writes
has changed since the last one, and the code is the same.

A full recompute that changed no link leaves its inputs as it found them (it
writes only its outputs, and those are made from the inputs alone: the stored
rows are only compared with the new ones), so a second recompute would give
exactly the same rows, causes, client rows and links. It then marks the cache so
(``mark``: a row in ``recon_clean``, schema 8) and, in the same transaction,
puts three triggers on every table a full recompute reads (both books, the
links, mappings, names, contacts, credits, checklists, payments) or writes (the
rows, the client rows), each of which takes the mark away on any insert, update
or delete, whoever writes: recon-tui's own code, another version of it, or the
sqlite3 shell. The next recompute that finds the mark, every trigger in place and
the code unchanged returns at once (``unchanged``). A recompute that wrote links
is not marked, and the next one runs in full.

The triggers are there only while a mark may be: a full recompute that runs
drops them first (``unmark``), so its own writes, and a first sync's hundreds of
thousands of rows before any mark, are not slowed by them (a table with a
trigger makes SQLite keep a statement journal for every row written inside a
savepoint: up to three times the cost of a row upserted one at a time).
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from pathlib import Path

from recon_tui.cache.pair_store import ORDERED

#: The tables whose rows a full recompute (its diagnosis and client rows too) reads or writes.
WATCHED = ("psa_invoice", "ledger_invoice", "ledger_credit_memo", "invoice_link",
           "company_mapping", "psa_company", "ledger_customer", "psa_contact",
           "ledger_credit", "checklist", "invoice_txn", "invoice_pair", "client_summary")
_EVENTS = ("insert", "update", "delete")


def _trigger(table: str, event: str) -> tuple[str, str]:
    name = f"recon_dirty_{table}_{event}"
    return name, (f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
                  "WHEN EXISTS (SELECT 1 FROM recon_clean) "
                  "BEGIN DELETE FROM recon_clean; END")


#: name -> CREATE TRIGGER statement, for every watched table and event.
TRIGGERS = dict(_trigger(table, event) for table in WATCHED for event in _EVENTS)

#: Schema 8's statements: the mark's table (no row: not known unchanged, no trigger
#: yet). Dropped first if there: losing a mark costs one full recompute, and a
#: cache told it is older than it is (as tests do) migrates again.
MIGRATION = ("DROP TABLE IF EXISTS recon_clean",
             "CREATE TABLE recon_clean (token TEXT NOT NULL, pairs INTEGER NOT NULL)")


@functools.cache
def code_token() -> str | None:
    """A digest of recon-tui's own source (once a process, about 10 ms): new
    rules, a new diagnosis, anything changed, and a marked cache is recomputed in
    full. None when a source file cannot be read (nothing is then marked)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    try:
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def _triggers(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                             "AND name GLOB 'recon_dirty_*'"))


def unchanged(conn: sqlite3.Connection, token: str | None) -> int | None:
    """The row count of the last full recompute when nothing has changed since it
    (marked with this code's ``token``, every trigger as schema 8 made it, the rows
    still said to be in order), else None."""
    if token is None:
        return None
    row = conn.execute("SELECT token, pairs FROM recon_clean").fetchall()
    if len(row) != 1 or row[0][0] != token or _triggers(conn) != TRIGGERS:
        return None
    if conn.execute("SELECT 1 FROM meta WHERE key = ?", (ORDERED,)).fetchone() is None:
        return None
    return row[0][1]


def unmark(conn: sqlite3.Connection) -> None:
    """Take the mark and the triggers away: the first statements of a full
    recompute's transaction (its own writes need not fire them)."""
    conn.execute("DELETE FROM recon_clean")
    for name in _triggers(conn):
        conn.execute(f"DROP TRIGGER {name}")


def mark(conn: sqlite3.Connection, token: str | None, pairs: int) -> None:
    """Say that the cache is as a full recompute by this code left it, with
    ``pairs`` rows, and put the triggers that take that back on any later write;
    the last statements of the recompute's transaction."""
    unmark(conn)
    if token is None:
        return
    for statement in TRIGGERS.values():
        conn.execute(statement)
    conn.execute("INSERT INTO recon_clean (token, pairs) VALUES (?, ?)", (token, pairs))
