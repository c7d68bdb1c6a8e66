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
import functools
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


#: The spool's columns held in integer cents (read as exact two-place strings).
MONEY_COLUMNS = ("psa_total", "psa_owing", "ledger_total", "ledger_owing", "diff_total",
                 "diff_owing", "contribution")
_MONEY_COLUMNS = frozenset(MONEY_COLUMNS)
#: What :meth:`ReportSpool.values_page` can read: a stored column, or the row's fill.
READABLE = frozenset(COLUMNS) | {"fill"}


def _money_text(column: str) -> str:
    """Integer cents as the exact two-place string ``money_str`` gives ("-0.05")."""
    return (f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} < 0 "
            f"THEN printf('-%d.%02d', -{column} / 100, -{column} % 100) "
            f"ELSE printf('%d.%02d', {column} / 100, {column} % 100) END")


def _json_token(text: str) -> str:
    return f"coalesce('\"' || {text} || '\"', 'null')"


_FILL = (f"CASE WHEN status != '{MATCHED}' THEN 'bad' WHEN discrepant THEN 'warn' "
         "ELSE '' END")
#: The columns ``quoted`` reads as JSON tokens: digits and the four status names
#: need no escaping (the other text is the writer's to encode).
QUOTED_COLUMNS = frozenset({"invoice_date", "status", *MONEY_COLUMNS})


@functools.lru_cache(maxsize=8)
def _select(columns: tuple[str, ...], quoted: bool) -> str:
    """The SELECT list of :meth:`ReportSpool.values_page` for ``columns``."""
    unknown = set(columns) - READABLE
    if unknown:
        raise ValueError(f"not a spool column: {sorted(unknown)}")

    def read(column: str) -> str:
        if column == "fill":
            return _FILL
        text = _money_text(column) if column in _MONEY_COLUMNS else column
        return _json_token(text) if quoted and column in QUOTED_COLUMNS else text

    return ", ".join(read(column) for column in columns)


#: What names a snapshot: when and which invoices, their amounts and statuses.
IDENTITY_COLUMNS = ("invoice_date", "psa_invoice_id", "psa_number", "psa_status",
                    "psa_total", "psa_owing", "ledger_invoice_id", "ledger_number",
                    "ledger_total", "ledger_owing", "status")
_IDENTITY = " || char(31) || ".join(
    f"coalesce({_money_text(c) if c in _MONEY_COLUMNS else c}, '')"
    for c in IDENTITY_COLUMNS) + " || char(30)"


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

    def values_page(self, table: str, columns: tuple[str, ...], after: int, limit: int,
                    discrepant_only: bool = False, *, quoted: bool = False) -> list[tuple]:
        """Up to ``limit`` rows after ``after`` as the writers print them, with no row
        object in between: the ``columns`` the report's column table names (money
        as exact two-place strings, NULL for a missing side; ``fill`` "bad" off
        Matched, "warn" when only the amounts differ), ``seq`` last. ``quoted``
        gives the :data:`QUOTED_COLUMNS` as JSON tokens already (``"3717.00"`` or
        ``null``)."""
        where = " AND discrepant" if discrepant_only else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT {_select(columns, quoted)}, seq FROM {self._table(table)} "
                f"WHERE seq > ?{where} ORDER BY seq LIMIT ?", (after, limit)).fetchall()

    def identity_pages(self, size: int = PAGE) -> Iterator[str]:
        """The invoice rows' identity text, a page at a time: per row the
        :data:`IDENTITY_COLUMNS` as the report prints them (a missing value empty)
        joined by U+001F, each row ended by U+001E. Hashed, it names the snapshot."""
        after = 0
        while True:
            with self._lock:
                batch = self._conn.execute(
                    f"SELECT {_IDENTITY}, seq FROM invoice WHERE seq > ? ORDER BY seq "
                    "LIMIT ?", (after, size)).fetchall()
            if not batch:
                return
            yield "".join([text for text, _seq in batch])
            after = batch[-1][1]

    def currency_counts(self) -> dict[str, int]:
        """Invoice rows per currency, in the order each currency first appears."""
        with self._lock:
            return dict(self._conn.execute(
                "SELECT currency, count(*) FROM invoice GROUP BY currency ORDER BY min(seq)"))

    def suspect_page(self, after: int, limit: int, number_max: int, main: str | None
                     ) -> list[tuple]:
        """Invoice rows (as :meth:`page`) a hygiene check could flag: a PSA number
        maybe longer than ``number_max`` (its UTF-8 bytes are: never fewer than its
        characters), a voided ledger side with PSA money owing, or a currency other
        than ``main`` (None: one currency, nothing to flag)."""
        foreign = " OR currency != :main" if main is not None else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT seq, {_DDL} FROM invoice WHERE seq > :after AND ("
                "(psa_invoice_id IS NOT NULL AND length(CAST(psa_number AS BLOB)) > :max) "
                "OR (ledger_total IS NOT NULL AND ledger_voided AND psa_invoice_id IS NOT NULL "
                f"AND psa_owing != 0){foreign}) ORDER BY seq LIMIT :limit",
                {"after": after, "limit": limit, "max": number_max, "main": main}).fetchall()

    def money_bounds(self, table: str, columns: tuple[str, ...],
                     discrepant_only: bool = False) -> list[tuple[int | None, int | None]]:
        """The least and greatest cents of each money column of ``columns``, in that
        order (the widest amount a sheet shows is one of the two)."""
        unknown = set(columns) - _MONEY_COLUMNS
        if unknown:
            raise ValueError(f"not a money column of the spool: {sorted(unknown)}")
        where = " WHERE discrepant" if discrepant_only else ""
        bounds = ", ".join(f"min({c}), max({c})" for c in columns)
        with self._lock:
            found = self._conn.execute(
                f"SELECT {bounds} FROM {self._table(table)}{where}").fetchone()
        return [(found[i], found[i + 1]) for i in range(0, len(found), 2)]

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
