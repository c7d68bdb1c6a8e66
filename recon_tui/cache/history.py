"""Sync runs, their steps and changed records, and each side's last sync.

Error texts are scrubbed of secrets before they are stored: the cache file
outlives the process and is copied around, so a token a server echoed into an
error must not land in ``sync_run.error`` or ``sync_step.error``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from recon_tui.cache.part import CachePart
from recon_tui.cache.records import (
    Change,
    SystemSyncState,
    iso_text,
    parse_date,
    parse_datetime,
)
from recon_tui.cache.schema import MAX_CHANGES_PER_RUN
from recon_tui.models import (
    SyncRun,
    SyncStatus,
    SyncStep,
)
from recon_tui.scrub import scrub


def _clean(error: str | None) -> str | None:
    """An error text as it may be stored: no secret in it."""
    return scrub(error) if error else error


class SyncHistory(CachePart):
    """Sync runs, their steps and changed records, and each side's last sync
    (``cache.history``). A run's rows are written in the core's transactions: a
    sync's own writes and its progress never interleave on the connection."""

    def start_sync_run(self, run: SyncRun) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO sync_run(kind, status, since, target, started_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (run.kind, run.status.value, iso_text(run.since), run.target,
                 iso_text(run.started_at or datetime.now(UTC))))
            run_id = int(cur.lastrowid)  # type: ignore[arg-type]
            self.conn.executemany(
                "INSERT INTO sync_step(run_id, position, name, system, status) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, i, s.name, s.system, s.status.value) for i, s in enumerate(run.steps)])
        run.id = run_id
        return run_id

    def save_sync_progress(self, run: SyncRun) -> None:
        """Persist the run's status and step counters (its own small transaction)."""
        assert run.id is not None
        with self.transaction():
            self._write_run(run)

    def _write_run(self, run: SyncRun) -> None:
        self.conn.execute(
            "UPDATE sync_run SET status=?, finished_at=?, error=? WHERE id=?",
            (run.status.value, iso_text(run.finished_at), _clean(run.error), run.id))
        for i, s in enumerate(run.steps):
            self.conn.execute(
                "UPDATE sync_step SET status=?, created=?, updated=?, unchanged=?, deleted=?, "
                "error=? WHERE run_id=? AND position=?",
                (s.status.value, s.created, s.updated, s.unchanged, s.deleted, _clean(s.error),
                 run.id, i))

    def record_changes(self, run_id: int, step: str, changes: Sequence[Change]) -> None:
        """Store changed records for the history, bounded per run."""
        stored = self.conn.execute("SELECT count(*) FROM sync_change WHERE run_id=?",
                                   (run_id,)).fetchone()[0]
        room = max(0, MAX_CHANGES_PER_RUN - stored)
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO sync_change(run_id, step, record_type, record_id, label, action, "
                "field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, step, c.record_type, c.record_id, c.label, c.action, c.field, c.old,
                  c.new) for c in changes[:room]])

    def mark_synced(self, system: str, kind: str, when: datetime) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO sync_state(system, kind, last_synced_at) VALUES (?, ?, ?) "
                "ON CONFLICT(system) DO UPDATE SET kind=excluded.kind, "
                "last_synced_at=excluded.last_synced_at", (system, kind, iso_text(when)))

    def sync_states(self) -> dict[str, SystemSyncState]:
        return {r["system"]: SystemSyncState(r["system"], r["kind"],
                                             datetime.fromisoformat(r["last_synced_at"]))
                for r in self.conn.execute("SELECT * FROM sync_state")}

    def sync_runs(self, limit: int = 200) -> list[SyncRun]:
        runs = []
        for r in self.conn.execute("SELECT * FROM sync_run ORDER BY id DESC LIMIT ?", (limit,)):
            runs.append(self._run_from(r))
        return runs

    def sync_run(self, run_id: int) -> SyncRun | None:
        row = self.conn.execute("SELECT * FROM sync_run WHERE id=?", (run_id,)).fetchone()
        return self._run_from(row) if row else None

    def last_successful_run(self, kind: str = "full") -> SyncRun | None:
        row = self.conn.execute(
            "SELECT * FROM sync_run WHERE kind=? AND status=? ORDER BY id DESC LIMIT 1",
            (kind, SyncStatus.SUCCEEDED.value)).fetchone()
        return self._run_from(row) if row else None

    def _run_from(self, r: sqlite3.Row) -> SyncRun:
        steps = [SyncStep(name=s["name"], system=s["system"], status=SyncStatus(s["status"]),
                          created=s["created"], updated=s["updated"], unchanged=s["unchanged"],
                          deleted=s["deleted"], error=s["error"])
                 for s in self.conn.execute(
                     "SELECT * FROM sync_step WHERE run_id=? ORDER BY position", (r["id"],))]
        return SyncRun(kind=r["kind"], status=SyncStatus(r["status"]), id=r["id"],
                       since=parse_date(r["since"]), target=r["target"],
                       started_at=parse_datetime(r["started_at"]),
                       finished_at=parse_datetime(r["finished_at"]), error=r["error"], steps=steps)

    def sync_changes(self, run_id: int) -> list[Change]:
        return [Change(r["record_type"], r["record_id"], r["label"], r["action"], r["field"],
                       r["old"], r["new"])
                for r in self.conn.execute(
                    "SELECT * FROM sync_change WHERE run_id=? ORDER BY id", (run_id,))]

    def fail_interrupted_runs(self, message: str) -> int:
        """Runs left 'running' by a killed process are marked failed at next open."""
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE sync_run SET status=?, error=?, finished_at=? WHERE status IN (?, ?)",
                (SyncStatus.FAILED.value, _clean(message), iso_text(datetime.now(UTC)),
                 SyncStatus.RUNNING.value, SyncStatus.PENDING.value))
        return cur.rowcount
