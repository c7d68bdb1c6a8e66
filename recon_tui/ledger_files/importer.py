"""An import: the real sync (``recon_tui.sync.run_full_sync``) with the PSA and the
exported ledger, for real or as a dry run.

The sync is the same one ``recon-tui sync`` runs, so an import reads the PSA
(from where the last complete sync left off), writes both sides in one
transaction or nothing, refuses a cache holding another company's books,
stops before a mass deletion, and is recorded in the history. A dry run runs
that very sync against a private copy of the cache (or an empty one) and
reports what it changed there; the copy is then thrown away, and the real
cache is only ever opened read-only.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recon_tui.cache import Cache, CacheError, Change
from recon_tui.connectors.base import PsaConnector
from recon_tui.ledger_files.connector import FileLedger
from recon_tui.models import SyncRun
from recon_tui.sync import SyncProgress, default_since, run_full_sync

__all__ = ["ImportOutcome", "run_import"]


@dataclass(frozen=True)
class ImportOutcome:
    """How the import's sync ended, and what it changed (in the copy, for a dry run)."""

    run: SyncRun
    changes: list[Change]
    dry_run: bool


def _sync(cache: Cache, psa: PsaConnector, ledger: FileLedger, *, max_delete_percent: int,
          allow_mass_delete: bool, progress: Callable[[SyncProgress], None] | None,
          cancel: threading.Event | None) -> tuple[SyncRun, list[Change]]:
    run = run_full_sync(
        cache, psa, ledger, since=default_since(cache), kind=f"{ledger.kind} import",
        progress=progress, cancel=cancel, max_delete_percent=max_delete_percent,
        confirm_mass_delete=(lambda _excess: True) if allow_mass_delete else None)
    history = getattr(cache, "history", cache)  # cache.history: the cache's parts split
    return run, history.sync_changes(run.id) if run.id is not None else []


def _copy_of(cache_path: Path, folder: Path) -> Path:
    """A consistent private copy of the cache in ``folder`` (an empty cache when
    there is none yet), made without writing a byte beside the real one.

    A cache closed cleanly has no write-ahead log: the file is the whole cache
    and is copied as it is. With a log (the app has it open, or a crash left
    one), SQLite's online backup reads through a read-only connection, so the
    log's pages come along (the log files are already there)."""
    copy = folder / "dry-run.db"
    if cache_path.exists() and not Path(f"{cache_path}-wal").exists():
        shutil.copyfile(cache_path, copy)
        return copy
    target = Cache(copy)
    try:
        if cache_path.exists():
            with Cache(cache_path, read_only=True) as source:
                source.conn.backup(target.conn)
    finally:
        target.close()
    return copy


def run_import(cache_path: Path, psa: PsaConnector, ledger: FileLedger, *, dry_run: bool,
               max_delete_percent: int = 5, allow_mass_delete: bool = False,
               progress: Callable[[SyncProgress], None] | None = None,
               cancel: threading.Event | None = None) -> ImportOutcome:
    """Sync the PSA and the exported ledger into the cache at ``cache_path`` (or, with
    ``dry_run``, into a copy of it). Raises SyncBusy and CacheError as a sync does."""
    def sync(cache: Cache) -> ImportOutcome:
        run, changes = _sync(cache, psa, ledger, max_delete_percent=max_delete_percent,
                             allow_mass_delete=allow_mass_delete, progress=progress,
                             cancel=cancel)
        return ImportOutcome(run, changes, dry_run)

    if not dry_run:
        with Cache(cache_path) as cache:
            return sync(cache)
    with tempfile.TemporaryDirectory(prefix="recon-import-dry-run-") as folder:
        copy_path = _copy_of(cache_path, Path(folder))

        def real(text: str) -> str:  # what a message says of the copy, of the cache
            return text.replace(str(copy_path), str(cache_path))

        try:
            with Cache(copy_path) as copy:
                outcome = sync(copy)
        except CacheError as exc:
            raise CacheError(real(str(exc))) from exc
        if outcome.run.error:
            outcome.run.error = real(outcome.run.error)
        return outcome
