"""One connection to one cache file: lifecycle, transactions, the integrity
check, migrations and the meta values. Every query is a part's (``cache.records``,
``cache.recon``, ...; see the package docstring)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Self

from recon_tui.cache.files import (
    CacheDamaged,
    CacheError,
    open_connection,
    translate,
    way_out,
)
from recon_tui.cache.schema import (
    CHUNK,
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLES,
)

if TYPE_CHECKING:
    import sqlite_utils


def _environmental(exc: BaseException) -> bool:
    """Failures of the file or the machine (locked, full, read-only, damaged), not
    of our own statements (a constraint, a bad parameter), which stay as raised."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


class CacheCore:
    """One connection to one cache file. Open one per thread."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """Open (creating a private file if need be) and migrate; ``read_only``
        creates nothing, writes nothing and needs a cache of the current schema."""
        self.path = Path(path)
        self.read_only = read_only
        conn = open_connection(self.path, read_only=read_only)
        try:
            conn.row_factory = sqlite3.Row
            if not read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # 32 MB of page cache (the default is 2 MB): rewriting the materialised
            # pairs of a 200,000-invoice book touches every index, and a small cache
            # makes each insert re-read index pages from disk.
            conn.execute("PRAGMA cache_size=-32000")
        except sqlite3.Error as exc:
            conn.close()
            raise translate(exc, self.path) from None
        self.conn = conn
        self._lock = threading.RLock()
        try:
            self._migrate()
            self._check_tables()
        except BaseException:
            conn.close()
            raise

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite_utils over the same connection, for tests and tools that inspect
        the schema; imported on first use, as it costs a launch a quarter second."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    # -- lifecycle
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: BEGIN IMMEDIATE takes the write lock up front so two
        writers never interleave. An SQLite failure anywhere inside (locked, disk
        full, damaged) rolls back and becomes a CacheError of one line."""
        with self._lock:
            if self.conn.in_transaction:
                # Nested use becomes a savepoint so an inner failure rolls back alone.
                name = f"sp_{id(object())}"
                try:  # the SAVEPOINT inside: a signal right after it still rolls back
                    self.conn.execute(f"SAVEPOINT {name}")
                    yield
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute(f"ROLLBACK TO {name}")
                        self.conn.execute(f"RELEASE {name}")
                    raise
                self.conn.execute(f"RELEASE {name}")
                return
            # BEGIN inside the try: a Ctrl+C or signal landing between BEGIN and the
            # body used to leave the transaction open, so the cancelled run's own
            # "cancelled" record went into it as a savepoint and was never committed.
            try:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise translate(exc, self.path) from None
                yield
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                if _environmental(exc):
                    raise translate(exc, self.path) from None
                raise

    @contextmanager
    def read_view(self) -> Iterator[None]:
        """One consistent view of the cache for a whole read (a report): a deferred
        read transaction, so every query sees the database as of the first one
        (WAL), whatever a sync commits meanwhile. Nested use joins the open
        transaction (a write's or another view's)."""
        with self._lock:
            if self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN DEFERRED")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    def check_integrity(self) -> None:
        """``PRAGMA quick_check`` of the whole file before a sync writes: a damaged
        file is reported (one line) with the way out rather than written into.

        The largest fixed cost of a daily sync (it reads every page), kept whole
        because nothing cheaper proves the same (tests/test_daily_damage.py):

        * SQLite finds damage only in what a statement decodes. A broken page
          header fails that statement (SQLITE_CORRUPT; the sync's transaction
          rolls back), but a write beside a broken cell commits, and so does one
          that takes its page from a broken freelist, which can name a page
          another table still uses: that table is overwritten, without an error.
        * ``PRAGMA quick_check(TABLE)`` checks that table's and its indexes'
          b-trees only: a partial check skips the freelist and the "every page
          used once" checks (btree.c, sqlite3BtreeIntegrityCheck), the very ones
          that find the freelist case, which passes every table's check. The
          tables a sync writes are most of the file anyway.
        * A fingerprint of the file (size, times) proves it was not touched since
          the last check, not that it is whole: a disk's damage changes neither.
        * Mapping the file into memory for the check saves only the copy of each
          page (0.215 -> 0.163 s CPU at 100,000 invoices a side, 5% at 20,000)
          and turns a disk's read error into SIGBUS, a crash, where the check
          should say "damaged".
        """
        try:
            rows = [row[0] for row in self.conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None
        if rows != ["ok"]:
            found = "; ".join(line for row in rows for line in row.splitlines()
                              if not line.startswith("*** in database"))
            raise CacheDamaged(f"{self.path}: the cache is damaged (SQLite quick_check: "
                               f"{found[:200]}); " + way_out(self.path))

    def _check_tables(self) -> None:
        """Every table of the schema is there (a dropped table is damage, found at
        open rather than as 'no such table' halfway through a command)."""
        present = {row[0] for row in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        missing = sorted(set(TABLES) - present)
        if missing:
            raise CacheDamaged(f"{self.path}: the cache is damaged (table "
                               f"{', '.join(missing)} missing); " + way_out(self.path))

    @property
    def schema_version(self) -> int:
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' "
                             "AND name='meta'").fetchone() is None:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        try:
            current = self.schema_version
        except sqlite3.DatabaseError as exc:
            raise translate(exc, self.path) from None
        if current > SCHEMA_VERSION:
            raise CacheError(
                f"{self.path}: cache schema {current} is newer than this recon-tui "
                f"understands ({SCHEMA_VERSION}); upgrade recon-tui or use another --db"
            )
        if current < SCHEMA_VERSION and self.read_only:
            what = ("not a recon-tui cache (no schema)" if current == 0
                    else f"cache schema {current} needs upgrading to {SCHEMA_VERSION}")
            raise CacheError(f"{self.path}: {what}; run `recon-tui sync` once to "
                             "prepare it (this command only reads)")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[version - 1]:
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(version),)
                )

    def check_book(self, side: str, book: str, *, claim: bool = False) -> None:
        """One cache, one PSA's and one ledger company's books: refuse another's (the
        demo's emulator, a second QBO company) before anything is written, and with
        ``claim`` bind an unbound cache (done inside a successful sync's transaction,
        so a first sync against the wrong company binds nothing)."""
        key = f"book_{side}"
        held = self.get_meta(key)
        if held is None and claim:
            self.set_meta(key, book)
        elif held is not None and held != book:
            raise CacheError(
                f"{self.path}: this cache holds the {side} books of {held}, not {book}; "
                "nothing was written. Use another --db for a different company (the demo "
                "has its own cache when --db is not given)")

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def _in(self, sql: str, values: Sequence[str]) -> list[sqlite3.Row]:
        """Run ``sql`` (containing ``{marks}``) over ``values`` in chunks."""
        rows: list[sqlite3.Row] = []
        values = list(values)
        for start in range(0, len(values), CHUNK):
            chunk = values[start:start + CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows.extend(self.conn.execute(sql.format(marks=marks), chunk))
        return rows

