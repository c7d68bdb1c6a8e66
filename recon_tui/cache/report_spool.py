"""The report's rows, copied once into a private temporary SQLite file.

A report reads its rows several times (the hash that names the snapshot, the
hygiene checks, then each sheet or section of the writer) and must see one state
of the cache every time, even after the cache is closed or a sync commits. Copying
the rows of one read transaction into a spool file, already in report order, gives
every later pass a frozen copy to page through: memory stays a page of rows,
whatever the size of the book, and the sorting and summing happen in SQLite.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

#: Rows copied or read per page.
PAGE = 2_000

#: The spool's columns, in :class:`~recon_tui.report.snapshot.ReportRow` order
#: (money in integer cents), then what the views filter on.
COLUMNS = (
    "invoice_date", "customer", "psa_company", "psa_number", "psa_status",
    "psa_total", "psa_owing", "ledger_number", "ledger_total", "ledger_owing",
    "diff_total", "diff_owing", "status", "cause", "client_key", "psa_invoice_id",
    "ledger_invoice_id", "ledger_customer_id", "ledger_voided", "currency", "contribution",
    "kind", "discrepant",
)
_DDL = ", ".join(COLUMNS)

MATCHED = "Matched"
CREDIT_MEMO = "credit memo"
EXPECTED_NOT_FOUND = "Ledger Invoice Expected but not Found"

#: The tables of the spool: every invoice row, every credit-memo row, and the
#: invoice rows making up the Invoice Difference (biggest contribution first).
TABLES = ("invoice", "memo", "diff")


class StatusSums(NamedTuple):
    """One status of one table counted and summed in SQL (cents)."""

    count: int
    discrepant: int
    psa_total: int
    ledger_total: int
    diff_total: int


def _close(conn: sqlite3.Connection, path: str) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.close()
    with contextlib.suppress(OSError):
        os.unlink(path)


class ReportSpool:
    """A frozen copy of one report's rows, read page by page from any thread.
    Deleted on :meth:`close` or when garbage-collected."""

    def __init__(self) -> None:
        fd, path = tempfile.mkstemp(prefix="recon-report-", suffix=".sqlite")  # 0600
        os.close(fd)
        self.path = Path(path)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE"):
            self._conn.execute(f"PRAGMA {pragma}")
        for table in TABLES:
            self._conn.execute(f"CREATE TABLE {table} (seq INTEGER PRIMARY KEY, {_DDL})")
        self._finalizer = weakref.finalize(self, _close, self._conn, path)

    def close(self) -> None:
        self._finalizer()

    # -- filling (the cache's report view calls these)
    def fill(self, rows: Iterator[tuple], progress: Callable[[int], None] | None = None
             ) -> None:
        """Copy rows already in report order; credit memos to their own table, then
        the Invoice Difference's rows ordered by what they add to it."""
        marks = ", ".join("?" * len(COLUMNS))
        kind_at = COLUMNS.index("kind")
        done = 0
        with self._lock:
            self._conn.execute("BEGIN")
            page: dict[str, list[tuple]] = {"invoice": [], "memo": []}
            for row in rows:
                page["memo" if row[kind_at] == CREDIT_MEMO else "invoice"].append(row)
                done += 1
                if done % PAGE == 0:
                    self._flush(page, marks)
                    if progress is not None:
                        progress(done)
            self._flush(page, marks)
            self._conn.execute(
                f"INSERT INTO diff ({_DDL}) SELECT {_DDL} FROM invoice "
                "WHERE status = ? OR (status = ? AND diff_total != 0) "
                "ORDER BY abs(contribution) DESC, seq", (EXPECTED_NOT_FOUND, MATCHED))
            self._conn.execute("COMMIT")
        if progress is not None:
            progress(done)

    def _flush(self, page: dict[str, list[tuple]], marks: str) -> None:
        for table, rows in page.items():
            if rows:
                self._conn.executemany(f"INSERT INTO {table} ({_DDL}) VALUES ({marks})", rows)
                rows.clear()

    # -- reading
    def _table(self, table: str) -> str:
        if table not in TABLES:
            raise ValueError(f"no spool table {table!r}")
        return table

    def count(self, table: str, discrepant_only: bool = False) -> int:
        where = " WHERE discrepant" if discrepant_only else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT count(*) FROM {self._table(table)}{where}").fetchone()[0]

    def page(self, table: str, after: int, limit: int, discrepant_only: bool = False
             ) -> list[tuple]:
        """Up to ``limit`` rows after sequence number ``after``, in report order; each
        row is ``(seq, *COLUMNS)``."""
        where = " AND discrepant" if discrepant_only else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT seq, {_DDL} FROM {self._table(table)} WHERE seq > ?{where} "
                "ORDER BY seq LIMIT ?", (after, limit)).fetchall()

    def slice(self, table: str, offset: int, limit: int, discrepant_only: bool = False
              ) -> list[tuple]:
        where = " WHERE discrepant" if discrepant_only else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT seq, {_DDL} FROM {self._table(table)}{where} ORDER BY seq "
                "LIMIT ? OFFSET ?", (limit, offset)).fetchall()

    def status_sums(self, table: str) -> dict[str, StatusSums]:
        """Per status: rows, discrepant rows and the sums the totals block needs."""
        with self._lock:
            return {status: StatusSums(*sums) for status, *sums in self._conn.execute(
                "SELECT status, count(*), coalesce(sum(discrepant), 0), "
                "coalesce(sum(psa_total), 0), coalesce(sum(ledger_total), 0), "
                f"coalesce(sum(diff_total), 0) FROM {self._table(table)} GROUP BY status")}

    def customer_counts(self) -> dict[str, int]:
        """Invoice rows per ledger customer (the unmapped-customers section)."""
        with self._lock:
            return dict(self._conn.execute(
                "SELECT ledger_customer_id, count(*) FROM invoice "
                "WHERE ledger_customer_id IS NOT NULL GROUP BY ledger_customer_id"))
