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

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import msgspec

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
    """Pages per step (``step`` is the plan's "system name" key), in read order."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect("", check_same_thread=False)
        self.conn.executescript(
            """
            PRAGMA journal_mode=OFF;
            PRAGMA synchronous=OFF;
            CREATE TABLE page(step TEXT, seq INTEGER, size INTEGER, body BLOB,
                              PRIMARY KEY (step, seq));
            CREATE TABLE record(step TEXT, id TEXT, listed INTEGER, number TEXT, link TEXT,
                                total TEXT, owing TEXT);
            """)
        self._indexed = False
        self._pages: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self._decoders: dict[str, msgspec.msgpack.Decoder[Any]] = {}
        self._encoder = msgspec.msgpack.Encoder()
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> SyncStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing, as pages arrive
    def declare(self, step: str, record_type: Any) -> None:
        """Name what the step's records are (a dataclass of ours, ``str``, a tuple
        type), so its pages decode back to exactly those: MessagePack through
        msgspec keeps Decimal, dates and enums exact, several times faster than
        pickling dataclasses."""
        decoder = msgspec.msgpack.Decoder(list[record_type])  # type: ignore[valid-type]
        with self._lock:
            self._decoders[step] = decoder
            self._pages.setdefault(step, 0)
            self._sizes.setdefault(step, 0)

    def add_page(self, step: str, items: Sequence[Any], *, ids: Iterable[str] = (),
                 docs: Iterable[DocFigures] = ()) -> None:
        """Keep one page of a declared step with the ids and figures it holds (a
        step stages each record once, as the connectors' reads yield them)."""
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
        with self._lock, self.conn:
            seq = self._pages.get(step, 0)
            self.conn.execute("INSERT INTO page VALUES (?, ?, ?, ?)",
                              (step, seq, len(items), body))
            self.conn.executemany("INSERT INTO record VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  rows.values())
            self._pages[step] = seq + 1
            self._sizes[step] = self._sizes.get(step, 0) + len(items)

    # -- reading back
    def _index(self) -> None:
        """The lookups' indexes, built at the first lookup (under the lock): built
        once over the rows staged so far, they cost less than kept up row by row
        as each page arrives (a full sync's steps are all read by then, but a
        page staged later is indexed as it comes, so nothing is missed)."""
        if not self._indexed:
            self.conn.executescript(
                "CREATE INDEX record_id ON record(step, id);"
                "CREATE INDEX record_number ON record(step, number);")
            self._indexed = True

    def count(self, step: str) -> int:
        """Records the step read."""
        return self._sizes.get(step, 0)

    def pages(self, step: str) -> Iterator[list[Any]]:
        """The step's pages in the order they were read, one in memory at a time."""
        for seq in range(self._pages.get(step, 0)):
            with self._lock:
                row = self.conn.execute("SELECT body FROM page WHERE step=? AND seq=?",
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
                "SELECT id FROM record WHERE step=? AND listed", (step,))}

    def has_ids(self, step: str, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` the step read."""
        found: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start:start + _CHUNK])
            marks = ", ".join("?" for _ in chunk)
            with self._lock:
                self._index()
                found.update(r[0] for r in self.conn.execute(
                    f"SELECT id FROM record WHERE step=? AND listed AND id IN ({marks})",
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
            yield [(_figure(row[0:5]), _figure(row[5:10]), _figure(row[10:15]))
                   for row in rows]
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
                        f"SELECT id, number, link, total, owing FROM record INDEXED BY "
                        f"record_{column} WHERE step=? AND {column} IN ({marks}) "
                        "AND total IS NOT NULL", [step, *chunk]).fetchall()
                for row in rows:
                    if row[0] not in found:  # found by its id and by its number
                        found[row[0]] = DocFigures(row[0], row[1], row[2], Decimal(row[3]),
                                                   Decimal(row[4]))
        return list(found.values())


def _figures(rows: Iterable[tuple[Any, ...]]) -> list[DocFigures]:
    """``record`` rows (id, number, link, total, owing) as figures."""
    return [DocFigures(i, number, link, Decimal(total), Decimal(owing))
            for i, number, link, total, owing in rows]


def _figure(row: tuple[Any, ...]) -> DocFigures | None:
    """One joined document's columns as figures; None where the join found none."""
    if row[0] is None:
        return None
    return DocFigures(row[0], row[1], row[2], Decimal(row[3]), Decimal(row[4]))


_FIGURES = "{0}.id, {0}.number, {0}.link, {0}.total, {0}.owing"
#: A page of ``step``'s documents (?1, after id ?3, ?4 of them), each with the
#: ``other`` document (?2) its link names and the last one staged bearing its number.
_MATCHED = (
    f"SELECT {_FIGURES.format('p')}, {_FIGURES.format('k')}, {_FIGURES.format('n')} "
    "FROM record p INDEXED BY record_id "
    "LEFT JOIN record k INDEXED BY record_id "
    "ON k.step = ?2 AND k.id = p.link AND k.total IS NOT NULL "
    "LEFT JOIN record n ON n.rowid = (SELECT rowid FROM record INDEXED BY record_number "
    "WHERE step = ?2 AND number = p.number AND total IS NOT NULL "
    "ORDER BY rowid DESC LIMIT 1) "
    "WHERE p.step = ?1 AND p.id > ?3 AND p.total IS NOT NULL "
    "ORDER BY p.id LIMIT ?4")
#: A page of ``step``'s documents (?1) no ``other`` document (?2) bears the number of.
_UNMATCHED = (
    f"SELECT {_FIGURES.format('l')} FROM record l INDEXED BY record_id "
    "WHERE l.step = ?1 AND l.id > ?3 AND l.total IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM record p INDEXED BY record_number WHERE p.step = ?2 "
    "AND p.number = l.number AND p.total IS NOT NULL) ORDER BY l.id LIMIT ?4")
