"""What a sync has read but not yet applied, page by page, outside the cache.

A full sync reads every step before it writes anything (a fault or a cancel
while reading must leave the cache as it was), but holding 200,000 invoices a
side in memory until the write costs most of a gigabyte. So each page read is
put here as it arrives, in a private temporary SQLite database (an empty file
name: SQLite deletes it when the connection closes, and it is on disk, not in
memory), and the apply phase streams the pages back, one at a time, into the
cache's single write transaction. The cache itself is untouched until then, so
the TUI keeps reading the previous state and a killed sync leaves nothing.

Beside the pages, the stage keeps what later steps ask of the earlier ones: the
ids each step read (the deletion steps compare them with the cache) and, for
the invoice steps, the figures the PSA-payments step compares (number, link,
total, what is open), looked up by id or number without loading the book.

The PSA and the ledger are read at the same time, each step in a thread of its
own, so every method takes the stage's lock: one SQLite connection, used by one
thread at a time, and each step's pages still numbered in the order they came.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from recon_tui.cache.stage_rows import StagedTable

if TYPE_CHECKING:
    from recon_tui.cache.core import CacheCore

#: Lookups are split so no statement exceeds SQLite's parameter limit.
_CHUNK = 500


class DocFigures(msgspec.Struct, frozen=True):
    """One invoice as read this sync, as the PSA-payments choice compares it:
    ``owing`` is the PSA's amount owing or the ledger's open balance. A Struct:
    a full sync builds one per invoice read and more per lookup (a frozen
    dataclass's constructor was most of the cost of the lookups)."""

    id: str
    number: str
    link: str | None
    total: Decimal
    owing: Decimal


class SyncStage:
    """Pages per step (``step`` is the plan's "system name" key), in read order.

    Built over a cache (``SyncStage(cache)``), the stage is temporary tables of
    the cache's own connection (SQLite's temp schema: a file of its own, deleted
    when the connection closes, even by a killed process; never the cache file),
    so a step staged as rows (:meth:`declare_table`) is applied by SQL from
    there; its lock is the cache's. Without one (tests), a private connection."""

    def __init__(self, cache: CacheCore | None = None) -> None:
        if cache is None:
            self.conn = sqlite3.connect("", check_same_thread=False, isolation_level=None)
            self._lock: threading.RLock = threading.RLock()
        else:
            self.conn, self._lock = cache.conn, cache._lock
        self._own = cache is None
        with self._writing():
            for table in ("stage_page", "stage_record"):
                self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
            self.conn.execute("CREATE TEMP TABLE stage_page(step TEXT, seq INTEGER, "
                              "size INTEGER, body BLOB, PRIMARY KEY (step, seq))")
            # total and owing: a Decimal's text, or integer cents (a table step's)
            self.conn.execute("CREATE TEMP TABLE stage_record(step TEXT, id TEXT, "
                              "listed INTEGER, number TEXT, link TEXT, total, owing)")
        self._indexed = False
        self._pages: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self._decoders: dict[str, msgspec.msgpack.Decoder[Any]] = {}
        #: Table steps: their table's name and how they stage, and how far the
        #: lookups' ``stage_record`` holds their figures (a rowid).
        self._tables: dict[str, tuple[str, StagedTable]] = {}
        self._copied: dict[str, int] = {}
        self._encoder = msgspec.msgpack.Encoder()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write to the stage's tables, under the lock: its own transaction
        (a page is one commit, not one per row), or the one already open."""
        with self._lock:
            began = not self.conn.in_transaction
            if began:
                self.conn.execute("BEGIN")
            try:
                yield
            except BaseException:
                if began and self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise
            if began:
                self.conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._own:
                self.conn.close()
                return
            with contextlib.suppress(sqlite3.Error):  # the cache's connection lives on
                for table in ("stage_page", "stage_record",
                              *(name for name, _ in self._tables.values())):
                    self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")

    def __enter__(self) -> SyncStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing, as pages arrive
    def declare(self, step: str, record_type: Any) -> None:
        """Name what the step's records are (a dataclass of ours, ``str``, a tuple
        type), so its pages decode back to exactly those: MessagePack through
        msgspec keeps Decimal, dates and enums exact, several times faster than
        pickling dataclasses. A :class:`StagedTable` makes it a table step
        (:meth:`declare_table`)."""
        if isinstance(record_type, StagedTable):
            self.declare_table(step, record_type)
            return
        decoder = msgspec.msgpack.Decoder(list[record_type])  # type: ignore[valid-type]
        with self._lock:
            self._decoders[step] = decoder
            self._pages.setdefault(step, 0)
            self._sizes.setdefault(step, 0)

    def declare_table(self, step: str, staged: StagedTable) -> None:
        """Stage the step's records as rows of a table shaped like the cache table
        they go to (its columns and their types), applied from there by SQL
        (``cache/apply_staged.py``); needs a stage built over a cache."""
        with self._writing():
            name = f"stage_{len(self._tables)}"
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
            self.conn.execute(f"CREATE TEMP TABLE {name} AS SELECT "
                              f"{', '.join(staged.spec.columns)} FROM main.{staged.spec.table} "
                              "WHERE 0")
            self._tables[step] = (name, staged)
            self._copied[step] = 0
            self._sizes.setdefault(step, 0)

    def add_rows(self, step: str, records: Sequence[Any]) -> None:
        """Keep one page of a table step, each record as its staged row."""
        name, staged = self._tables[step]
        rows, texts = staged.rows(records)  # outside the lock, as pages are encoded
        with self._writing():
            self.conn.executemany(
                f"INSERT INTO temp.{name} VALUES ({staged.values(texts=texts)})", rows)
            self._sizes[step] += len(rows)

    def table(self, step: str) -> str:
        """A table step's staged rows (a table of the cache's connection)."""
        return f"temp.{self._tables[step][0]}"

    def staged(self, step: str) -> Staged:
        return Staged(self, step)

    def add_page(self, step: str, items: Sequence[Any], *, ids: Iterable[str] = (),
                 docs: Iterable[DocFigures] = ()) -> None:
        """Keep one page of a declared step with the ids and figures it holds (a
        step stages each record once, as the connectors' reads yield them); a
        table step's page is its rows (:meth:`add_rows`), which hold its ids."""
        if step in self._tables:
            self.add_rows(step, items)
            return
        if step not in self._decoders:
            raise KeyError(f"stage step {step!r} was not declared")
        # Encoded outside the lock: the other system's thread may stage meanwhile.
        body = self._encoder.encode(list(items))
        # One row per record: its id (listed: one of ``ids``) and its figures.
        rows = {i: (step, i, 1, None, None, None, None) for i in ids}
        listed = set(rows)
        for d in docs:
            rows[d.id] = (step, d.id, int(d.id in listed), d.number, d.link, str(d.total),
                          str(d.owing))
        with self._writing():
            seq = self._pages.get(step, 0)
            self.conn.execute("INSERT INTO temp.stage_page VALUES (?, ?, ?, ?)",
                              (step, seq, len(items), body))
            self.conn.executemany("INSERT INTO temp.stage_record VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  rows.values())
            self._pages[step] = seq + 1
            self._sizes[step] = self._sizes.get(step, 0) + len(items)

    # -- reading back
    def _index(self) -> None:
        """Ready for a lookup (under the lock): the table steps' figures copied
        into ``stage_record`` (by SQL, as far as they are staged), and the
        lookups' indexes, built at the first lookup: built once over the rows
        staged so far, they cost less than kept up row by row as each page
        arrives (a full sync's steps are all read by then, but a page staged
        later is indexed as it comes, so nothing is missed)."""
        with self._writing():
            for step, (name, staged) in self._tables.items():
                if staged.figures is None:
                    continue
                last = self.conn.execute(f"SELECT max(rowid) FROM temp.{name}").fetchone()[0]
                if last is not None and last > self._copied[step]:
                    self.conn.execute(
                        f"INSERT INTO temp.stage_record SELECT ?, {staged.figures} "
                        f"FROM temp.{name} WHERE rowid > ? ORDER BY rowid",
                        (step, self._copied[step]))
                    self._copied[step] = last
            if not self._indexed:
                for column in ("id", "number"):
                    self.conn.execute(f"CREATE INDEX temp.stage_record_{column} "
                                      f"ON stage_record(step, {column})")
                self._indexed = True

    def count(self, step: str) -> int:
        """Records the step read."""
        return self._sizes.get(step, 0)

    def pages(self, step: str) -> Iterator[list[Any]]:
        """The step's pages in the order they were read, one in memory at a time."""
        if step in self._tables:
            raise TypeError(f"stage step {step!r} is staged as rows: apply its table")
        for seq in range(self._pages.get(step, 0)):
            with self._lock:
                row = self.conn.execute("SELECT body FROM temp.stage_page WHERE step=? AND seq=?",
                                        (step, seq)).fetchone()
            yield self._decoders[step].decode(row[0])

    def items(self, step: str) -> Iterator[Any]:
        for page in self.pages(step):
            yield from page

    def ids(self, step: str) -> set[str]:
        """Every id the step read (the deletion steps need the whole set)."""
        with self._lock:
            self._index()
            return {r[0] for r in self.conn.execute(
                "SELECT id FROM temp.stage_record WHERE step=? AND listed", (step,))}

    def listed(self, step: str) -> tuple[str, tuple[str, ...]]:
        """A SELECT of every id the step read, with its parameters, for SQL of the
        cache's own connection (a complete read's deletion check compares the
        cache with it without loading either side's ids)."""
        if step in self._tables:
            return f"SELECT id FROM temp.{self._tables[step][0]}", ()
        return "SELECT id FROM temp.stage_record WHERE step = ? AND listed", (step,)

    def has_ids(self, step: str, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` the step read."""
        found: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start:start + _CHUNK])
            marks = ", ".join("?" for _ in chunk)
            with self._lock:
                self._index()
                found.update(r[0] for r in self.conn.execute(
                    "SELECT id FROM temp.stage_record WHERE step=? AND listed "
                    f"AND id IN ({marks})",
                    [step, *chunk]))
        return found

    def matched_pages(self, step: str, other: str, size: int = 1000
                      ) -> Iterator[list[tuple[DocFigures, DocFigures | None,
                                               DocFigures | None]]]:
        """Each document ``step`` staged, ``size`` at a time in id order, with the
        document ``other`` staged that its own link names and one that bears its
        number (None where there is none): the PSA-payments choice's lookups of
        the other side, done in one join per page instead of a query per chunk
        of ids and numbers."""
        after = ""
        while True:
            with self._lock:
                self._index()
                rows = self.conn.execute(_MATCHED, (step, other, after, size)).fetchall()
            if not rows:
                return
            yield _matched(rows)
            after = rows[-1][0]

    def unmatched_pages(self, step: str, other: str,
                        size: int = 1000) -> Iterator[list[DocFigures]]:
        """The documents ``step`` staged that no document ``other`` staged bears
        the number of, ``size`` at a time in id order."""
        after = ""
        while True:
            with self._lock:
                self._index()
                rows = self.conn.execute(_UNMATCHED, (step, other, after, size)).fetchall()
            if not rows:
                return
            yield _figures(rows)
            after = rows[-1][0]

    def docs(self, step: str, *, ids: Sequence[str] = (),
             numbers: Sequence[str] = ()) -> list[DocFigures]:
        """The figures of the documents read with these ids or numbers."""
        found: dict[str, DocFigures] = {}
        # Each lookup names its index (SQLite could otherwise walk the other one
        # over the whole step for each chunk).
        for column, values in (("id", ids), ("number", numbers)):
            values = list(values)
            for start in range(0, len(values), _CHUNK):
                chunk = values[start:start + _CHUNK]
                marks = ", ".join("?" for _ in chunk)
                with self._lock:
                    self._index()
                    rows = self.conn.execute(
                        f"SELECT id, number, link, total, owing FROM temp.stage_record INDEXED BY "
                        f"stage_record_{column} WHERE step=? AND {column} IN ({marks}) "
                        "AND total IS NOT NULL", [step, *chunk]).fetchall()
                for row in rows:
                    if row[0] not in found:  # found by its id and by its number
                        found[row[0]] = DocFigures(row[0], row[1], row[2], _money(row[3]),
                                                   _money(row[4]))
        return list(found.values())


class Staged:
    """One step's staged records as its apply takes them: called, its pages (a
    fresh pass from the first each call); ``table``, a table step's rows."""

    def __init__(self, stage: SyncStage, step: str) -> None:
        self._stage, self.step = stage, step

    def __call__(self) -> Iterator[list[Any]]:
        return self._stage.pages(self.step)

    @property
    def table(self) -> str:
        return self._stage.table(self.step)

    @property
    def count(self) -> int:
        return self._stage.count(self.step)


def _figures(rows: Iterable[tuple[Any, ...]]) -> list[DocFigures]:
    """``record`` rows (id, number, link, total, owing) as figures."""
    money = _money
    return [DocFigures(i, number, link, money(total), money(owing))
            for i, number, link, total, owing in rows]


def _matched(rows: Iterable[tuple[Any, ...]]) -> list[tuple[DocFigures, DocFigures | None,
                                                             DocFigures | None]]:
    """``_MATCHED``'s rows as figures: a document, the one its link names, the
    one bearing its number (None where the join found none). The hot loop of the
    PSA-payments choice (a row per PSA invoice of the book): built inline, and
    an amount the other side states alike (the usual case: the books agree) is
    the same Decimal, not converted again."""
    figures, money = DocFigures, _money
    matched = []
    for r in rows:
        total, owing = money(r[3]), money(r[4])
        found = [None if r[at] is None else figures(
            r[at], r[at + 1], r[at + 2], total if r[at + 3] == r[3] else money(r[at + 3]),
            owing if r[at + 4] == r[4] else money(r[at + 4])) for at in (5, 10)]
        matched.append((figures(r[0], r[1], r[2], total, owing), found[0], found[1]))
    return matched


def _money(value: str | int) -> Decimal:
    """A staged figure: a table step's integer cents (as ``from_cents`` reads
    them, one call fewer), or a Decimal's text."""
    return Decimal(value).scaleb(-2) if type(value) is int else Decimal(value)


_FIGURES = "{0}.id, {0}.number, {0}.link, {0}.total, {0}.owing"
#: A page of ``step``'s documents (?1, after id ?3, ?4 of them), each with the
#: ``other`` document (?2) its link names and the last one staged bearing its number.
_MATCHED = (
    f"SELECT {_FIGURES.format('p')}, {_FIGURES.format('k')}, {_FIGURES.format('n')} "
    "FROM temp.stage_record p INDEXED BY stage_record_id "
    "LEFT JOIN temp.stage_record k INDEXED BY stage_record_id "
    "ON k.step = ?2 AND k.id = p.link AND k.total IS NOT NULL "
    "LEFT JOIN temp.stage_record n ON n.rowid = (SELECT rowid FROM temp.stage_record "
    "INDEXED BY stage_record_number "
    "WHERE step = ?2 AND number = p.number AND total IS NOT NULL "
    "ORDER BY rowid DESC LIMIT 1) "
    "WHERE p.step = ?1 AND p.id > ?3 AND p.total IS NOT NULL "
    "ORDER BY p.id LIMIT ?4")
#: A page of ``step``'s documents (?1) no ``other`` document (?2) bears the number of.
_UNMATCHED = (
    f"SELECT {_FIGURES.format('l')} FROM temp.stage_record l INDEXED BY stage_record_id "
    "WHERE l.step = ?1 AND l.id > ?3 AND l.total IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM temp.stage_record p INDEXED BY stage_record_number WHERE p.step = ?2 "
    "AND p.number = l.number AND p.total IS NOT NULL) ORDER BY l.id LIMIT ?4")
