"""The change-tracking upsert of a staged step, in SQL.

A table step's records are staged as rows of a temporary table shaped like
the cache table they go to (``cache/stage.py``, ``cache/stage_rows.py``), on
the cache's own connection. Applying them is then set-based: one keyed join of
the staged rows with the stored ones finds what is new and what changed (only
those rows reach Python, to be counted and listed for the history, as
``cache/upsert.py`` lists them), one ``INSERT ... SELECT ... ON CONFLICT``
writes every row that differs in any column (the update stamp included) and
nothing else, and what is unchanged is counted, not read. A first read into an
empty table is one ``INSERT ... SELECT``.

The results are those of :func:`recon_tui.cache.upsert.apply_rows` over the same
rows in the same order (``tests/test_apply_staged.py`` holds them equal); a stage
holding one id twice (a read that listed a record twice) goes through that
function itself, row by row, so the later copy wins exactly as it did.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cache

from recon_tui.cache.records import ApplyResult, Change, TableSpec, column_field, display_value
from recon_tui.cache.schema import MAX_CHANGES_PER_RUN
from recon_tui.cache.upsert import apply_rows


@dataclass(frozen=True, slots=True)
class _Sql:
    """One table's statements over a staged table ``{stage}``."""

    columns: str
    differ: str  # a stored row ``m`` differs from the staged ``s`` (but for the stamp)
    write: str
    first_write: str


@cache
def _sql(spec: TableSpec) -> _Sql:
    cols = spec.columns
    compared = [c for c in cols if c not in ("id", "updated_at")]
    updates = ", ".join(f"{c}=excluded.{c}" for c in cols if c != "id")
    target = f"INSERT INTO main.{spec.table} ({', '.join(cols)}) "
    conflict = f" ON CONFLICT(id) DO UPDATE SET {updates}"
    same = " AND ".join(f"m.{c} IS s.{c}" for c in cols if c != "id")
    return _Sql(
        columns=", ".join(cols),
        differ=" OR ".join(f"s.{c} IS NOT m.{c}" for c in compared),
        # Every row that differs from the stored one in any column, in staged order.
        write=(target + f"SELECT {', '.join(f's.{c}' for c in cols)} FROM {{stage}} s "
               f"WHERE NOT EXISTS (SELECT 1 FROM main.{spec.table} m WHERE m.id = s.id "
               f"AND {same}) ORDER BY s.rowid" + conflict),
        first_write=target + f"SELECT {', '.join(cols)} FROM {{stage}} WHERE true "
                    "ORDER BY rowid" + conflict,
    )


class _Tracker:
    """Counts, lists and touches what each new or changed row is (as
    ``upsert._Chunks`` does for rows compared in Python)."""

    def __init__(self, spec: TableSpec, track_created: bool, touch: bool) -> None:
        at = {c: i for i, c in enumerate(spec.columns)}
        self.spec, self.track_created, self.touch = spec, track_created, touch
        self.id_at, self.label_at = at["id"], at[spec.label_column]
        self.owner_at = at.get("customer_id", at.get("company_id"))
        self.compared = tuple((i, c) for i, c in enumerate(spec.columns)
                              if c not in ("id", "updated_at"))
        self.result = ApplyResult()

    def _touch(self, row: tuple[object, ...]) -> None:
        self.result.touched.add(str(row[self.id_at]))
        if self.owner_at is not None:
            self.result.owners.add(str(row[self.owner_at]))

    def _listing(self) -> bool:
        return len(self.result.changes) < MAX_CHANGES_PER_RUN

    def created(self, row: tuple[object, ...]) -> None:
        self.result.created += 1
        if self.touch:
            self._touch(row)
        if self.track_created and self._listing():
            self.result.changes.append(Change(self.spec.record_type, row[self.id_at],  # type: ignore[arg-type]
                                              str(row[self.label_at]), "created"))

    def updated(self, old: tuple[object, ...], row: tuple[object, ...]) -> None:
        diffs = [(i, c) for i, c in self.compared if old[i] != row[i]]
        self.result.updated += 1
        if self.touch:
            self._touch(row)
            self._touch(old)  # a record that moved leaves its old owner too
        if self._listing():
            record_id, label = row[self.id_at], str(row[self.label_at])
            self.result.changes.extend(
                Change(self.spec.record_type, record_id, label, "updated",  # type: ignore[arg-type]
                       column_field(c), display_value(c, old[i]), display_value(c, row[i]))
                for i, c in diffs)


def _has_duplicates(cursor: sqlite3.Cursor, stage: str) -> bool:
    return cursor.execute(f"SELECT 1 FROM {stage} GROUP BY id HAVING count(*) > 1 "
                          "LIMIT 1").fetchone() is not None


def apply_staged(conn: sqlite3.Connection, spec: TableSpec, stage: str, *, staged: int,
                 track_created: bool, touch: bool = True) -> ApplyResult:
    """Upsert the ``staged`` rows of ``stage`` (a table of ``conn``) into
    ``spec``'s table, inside the caller's transaction, counting and listing what
    each changes; creations are listed only with ``track_created``, and the ids
    and owners of what changed are kept only with ``touch`` (a complete read
    refreshes everything, so it needs none)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    sql = _sql(spec)
    if _has_duplicates(cursor, stage):
        rows = cursor.execute(f"SELECT {sql.columns} FROM {stage} ORDER BY rowid")
        return apply_rows(conn, spec, rows, track_created=track_created)
    tracker = _Tracker(spec, track_created, touch)
    width = len(spec.columns)
    first = cursor.execute(f"SELECT 1 FROM main.{spec.table} LIMIT 1").fetchone() is None
    if first and not (track_created or touch):
        tracker.result.created = staged
    elif not first:
        # New rows reach Python only when listed or touched; else they are counted.
        new = "m.id IS NULL OR " if track_created or touch else ""
        if not new:
            tracker.result.created = cursor.execute(
                f"SELECT count(*) FROM {stage} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM main.{spec.table} m WHERE m.id = s.id)").fetchone()[0]
        for row in cursor.execute(
                f"SELECT {', '.join(f's.{c}' for c in spec.columns)}, "
                f"{', '.join(f'm.{c}' for c in spec.columns)} FROM {stage} s "
                f"LEFT JOIN main.{spec.table} m ON m.id = s.id "
                f"WHERE {new}(m.id IS NOT NULL AND ({sql.differ})) ORDER BY s.rowid"):
            if row[width + tracker.id_at] is None:
                tracker.created(row[:width])
            else:
                tracker.updated(row[width:], row[:width])
    else:
        for row in cursor.execute(f"SELECT {sql.columns} FROM {stage} ORDER BY rowid"):
            tracker.created(row)
    result = tracker.result
    result.unchanged = staged - result.created - result.updated
    cursor.execute((sql.first_write if first else sql.write).format(stage=stage))
    return result
