"""The change-tracking upsert every record write goes through.

Rows (tuples in ``TableSpec.columns`` order) are written in chunks; each chunk's
stored rows are read back as tuples in the same order, so an unchanged row (the
common case of a later sync) costs one tuple comparison and is not written.
What each written row changes is counted, and listed for the sync history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from recon_tui.cache.records import (
    ApplyResult,
    Change,
    Row,
    TableSpec,
    column_field,
    display_value,
)
from recon_tui.cache.schema import CHUNK, MAX_CHANGES_PER_RUN


@dataclass(frozen=True, slots=True)
class _Plan:
    """One table's statements and column positions, worked out once per table."""

    upsert: str
    select: str
    id_at: int
    label_at: int
    stamp_at: int
    owner_at: int | None
    #: The columns whose change is news (all but the id and the update stamp).
    compared: tuple[tuple[int, str], ...]


@cache
def _plan(spec: TableSpec) -> _Plan:
    cols = spec.columns
    at = {c: i for i, c in enumerate(cols)}
    placeholders = ", ".join("?" for _ in cols)
    updates = ", ".join(f"{c}=excluded.{c}" for c in cols if c != "id")
    return _Plan(
        upsert=(f"INSERT INTO {spec.table} ({', '.join(cols)}) VALUES ({placeholders}) "
                f"ON CONFLICT(id) DO UPDATE SET {updates}"),
        select=f"SELECT {', '.join(cols)} FROM {spec.table} WHERE id IN ",
        id_at=at["id"], label_at=at[spec.label_column], stamp_at=at["updated_at"],
        owner_at=at.get("customer_id", at.get("company_id")),
        compared=tuple((i, c) for i, c in enumerate(cols) if c not in ("id", "updated_at")),
    )


class _Chunks:
    """One upsert's running result, a chunk of rows at a time."""

    def __init__(self, conn: sqlite3.Connection, spec: TableSpec, track_created: bool) -> None:
        self.conn, self.spec, self.track_created = conn, spec, track_created
        self.plan = _plan(spec)
        self.result = ApplyResult()

    def _touch(self, row: Row) -> None:
        plan, result = self.plan, self.result
        result.touched.add(str(row[plan.id_at]))
        if plan.owner_at is not None:
            result.owners.add(str(row[plan.owner_at]))

    def _stored(self, batch: list[Row]) -> dict[object, Row]:
        """The stored rows of this chunk's ids, as plain tuples in column order."""
        ids = [r[self.plan.id_at] for r in batch]
        cursor = self.conn.cursor()
        cursor.row_factory = None
        sql = self.plan.select + f"({', '.join('?' for _ in ids)})"
        return {row[self.plan.id_at]: row for row in cursor.execute(sql, ids)}

    def write(self, batch: list[Row]) -> None:
        """Compare the chunk with what is stored and write what differs."""
        plan, result = self.plan, self.result
        existing = self._stored(batch)
        to_write = []
        for row in batch:
            old = existing.get(row[plan.id_at])
            if old is not None and old == row:
                result.unchanged += 1
            elif old is None:
                self._created(row)
                to_write.append(row)
            elif self._updated(old, row) or old[plan.stamp_at] != row[plan.stamp_at]:
                to_write.append(row)  # changed, or the same with a newer stamp
        if to_write:
            self.conn.executemany(plan.upsert, to_write)

    def _listing(self) -> bool:
        # The history keeps at most this many changes of a run: a reload that
        # changes a whole book counts every row but lists only the first ones.
        return len(self.result.changes) < MAX_CHANGES_PER_RUN

    def _created(self, row: Row) -> None:
        plan = self.plan
        self.result.created += 1
        self._touch(row)
        if self.track_created and self._listing():
            self.result.changes.append(Change(self.spec.record_type, row[plan.id_at],
                                              str(row[plan.label_at]), "created"))

    def _updated(self, old: Row, row: Row) -> bool:
        """Count and list what changed; False when only the stamp differs."""
        plan, result = self.plan, self.result
        diffs = [(i, c) for i, c in plan.compared if old[i] != row[i]]
        if not diffs:
            result.unchanged += 1
            return False
        result.updated += 1
        self._touch(row)
        self._touch(old)  # a record that moved leaves its old owner too
        if self._listing():
            record_id, label = row[plan.id_at], str(row[plan.label_at])
            result.changes.extend(
                Change(self.spec.record_type, record_id, label, "updated", column_field(c),
                       display_value(c, old[i]), display_value(c, row[i]))
                for i, c in diffs)
        return True


def apply_rows(conn: sqlite3.Connection, spec: TableSpec, rows: Iterable[Row], *,
               track_created: bool) -> ApplyResult:
    """Upsert ``rows`` into ``spec``'s table (inside the caller's transaction),
    counting and listing what each changes against the row it replaces;
    creations are listed only with ``track_created`` (a first read is not news)."""
    chunks = _Chunks(conn, spec, track_created)
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            chunks.write(batch)
            batch = []
    if batch:
        chunks.write(batch)
    return chunks.result
