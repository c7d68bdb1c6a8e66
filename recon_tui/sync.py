"""Full sync: PSA first, then the ledger, into the cache.

The first sync of a cache reads every document whatever its date (an unpaid
invoice from last year still counts), as does a "reload everything"; later
syncs read what changed since the last one that left the cache complete, and
a date typed by the user looks again from that date.

Two phases keep the cache whole whatever happens:

1. *Fetch*: every step pages its records from its system, each page put in a
   private stage on disk as it arrives (``recon_tui.cache.stage``), so memory
   holds a page, not the book. The PSA and the ledger are read at the same
   time, and the independent steps of each side by side, within each API's
   concurrency (``recon_tui.sync_fetch``). Nothing is written to the cache
   yet, so a network fault, a cancel or a kill here leaves the cache exactly
   as it was.
2. *Apply*: one transaction holds every step (each step a savepoint of it),
   streaming the staged pages back one at a time, then the certain
   auto-mappings and the reconciliation refresh. It commits as a whole or not
   at all; until it commits, every reader (the TUI) sees the previous state.

The run itself (status, per-step counts, the error) is recorded in small
transactions of its own, so the history shows a live, and finally honest,
picture even when the sync fails.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from recon_tui.cache import ApplyResult, Cache, CacheError
from recon_tui.cache.stage import SyncStage
from recon_tui.config import ConfigError
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.matching import auto_mappings
from recon_tui.models import (
    SyncRun,
    SyncStatus,
    SyncStep,
)
from recon_tui.refresh import refresh_after_sync
from recon_tui.row_diagnosis import diagnose_pending
from recon_tui.sync_fetch import Stop, fetch_steps
from recon_tui.sync_plan import (
    COMPLETE_THROUGH,
    SAFETY_MARGIN,
    STEP_NAMES,
    _changes,
    _StepPlan,
    leaves_cache_complete,
    plan_full_sync,
    plan_step_names,
)
from recon_tui.sync_safety import (
    INTERRUPTED,
    MASS_DELETE_FLOOR,
    ConfirmMassDelete,
    MassDeleteRefused,
    MassDeletion,
    SyncBusy,
    SyncCancelled,
    SyncFailed,
    check_books,
    check_mass_deletions,
    sync_in_progress,
    sync_lock,
)

__all__ = [
    "INTERRUPTED",
    "MASS_DELETE_FLOOR",
    "STEP_NAMES",
    "ConfirmMassDelete",
    "MassDeleteRefused",
    "MassDeletion",
    "SyncBusy",
    "SyncCancelled",
    "SyncFailed",
    "SyncProgress",
    "check_books",
    "default_since",
    "parse_since",
    "plan_step_names",
    "run_full_sync",
    "sync_in_progress",
    "sync_lock",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """What a progress bar needs: which step, how far, in what phase.

    Steps are read several at once: a "fetch" report names the step it counts
    and ``reading`` every step still being read (by index), so a display can
    show each; a step no longer in it (and reported) is read."""

    step_index: int
    step_count: int
    step: str
    system: str
    phase: str  # "fetch" | "apply" | "done"
    fetched: int
    reading: tuple[int, ...] = ()


ProgressCallback = Callable[[SyncProgress], None]


def default_since(cache: Cache) -> date | None:
    """Where the next sync starts: None (read everything, whatever its date) until
    a sync has read both systems completely into this cache; afterwards the start
    of the last sync that left the cache complete, minus a day (edits made during
    that sync, clock skew between systems)."""
    text = cache.get_meta(COMPLETE_THROUGH)
    if not text:
        return None
    return (datetime.fromisoformat(text) - SAFETY_MARGIN).date()


def parse_since(text: str, *, today: date | None = None) -> date:
    """A --since value: YYYY-MM-DD, not in the future."""
    from recon_tui.dates import parse_ymd

    value = parse_ymd(text)
    if value is None:
        raise ValueError(f"expected a date YYYY-MM-DD, got {text.strip()!r}")
    if value > (today or date.today()):
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


#: Records per staged page: what the fetch phase holds in memory at a time.
STAGE_PAGE = 1000


def _stage_step(plan: _StepPlan, stage: SyncStage, cancel: Stop | None,
                report: Callable[[int], None]) -> None:
    """Read one step into the stage, a page at a time, checking for a cancel."""
    page: list[Any] = []
    seen = 0

    def flush() -> None:
        stage.add_page(plan.key, page,
                       ids=map(plan.id_of, page) if plan.id_of else (),
                       docs=(f for f in map(plan.figures, page) if f is not None)
                       if plan.figures else ())
        page.clear()

    # A table step's pages are staged as rows of its cache table, applied by SQL.
    stage.declare(plan.key, plan.table or plan.record_type)
    for item in plan.fetch(stage):
        page.append(item)
        seen += 1
        if seen % 250 == 0:
            if cancel is not None and cancel.is_set():
                raise SyncCancelled()
            report(seen)
        if len(page) >= STAGE_PAGE:
            flush()
    if page:
        flush()
    if cancel is not None and cancel.is_set():
        raise SyncCancelled()
    report(seen)


def _fetch_all(plans: list[_StepPlan], stage: SyncStage, psa: PsaConnector,
               ledger: LedgerConnector, cancel: threading.Event | None,
               recorder: _Recorder) -> None:
    """Every step into the stage, the two systems and independent steps at once
    (``recon_tui.sync_fetch``), each system within its connector's concurrency."""
    index = {plan.key: i for i, plan in enumerate(plans)}

    def fetch(i: int, stop: Stop, report: Callable[[int], None]) -> int:
        plan = plans[i]
        try:
            _stage_step(plan, stage, stop, report)
        except (SyncCancelled, SyncFailed):
            raise
        except (ConnectorError, ConfigError, CacheError, OSError, ValueError,
                ArithmeticError) as exc:
            raise SyncFailed(plan.key, exc) from exc
        return stage.count(plan.key)

    fetch_steps([p.system for p in plans], [[index[k] for k in p.after] for p in plans],
                {"psa": psa.max_concurrency, "ledger": ledger.max_concurrency},
                fetch, recorder, cancel)


class _Recorder:
    """The fetch phase's news into the run's history and the progress callback
    (in the sync's own thread: the step threads only report)."""

    def __init__(self, cache: Cache, run: SyncRun,
                 notify: Callable[[int, str, int, tuple[int, ...]], None]) -> None:
        self.cache, self.run, self.notify = cache, run, notify

    def started(self, index: int) -> None:
        self.run.steps[index].status = SyncStatus.RUNNING
        self.cache.history.save_sync_progress(self.run)

    def progressed(self, index: int, fetched: int, reading: tuple[int, ...]) -> None:
        self.notify(index, "fetch", fetched, reading)

    def staged(self, index: int, fetched: int, reading: tuple[int, ...]) -> None:
        self.run.steps[index].status = SyncStatus.PENDING  # fetched, not yet applied
        self.cache.history.save_sync_progress(self.run)
        self.notify(index, "fetch", fetched, reading)


def run_full_sync(
    cache: Cache,
    psa: PsaConnector,
    ledger: LedgerConnector,
    *,
    since: date | None,
    kind: str = "full",
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    max_delete_percent: int = 5,
    confirm_mass_delete: ConfirmMassDelete | None = None,
) -> SyncRun:
    """Run a whole sync and return its recorded run (status says how it ended).

    Raises nothing for a connector fault, a cancel, a step failure or a cache
    that fails mid-write: those end up in the returned run's status and error,
    where the history shows them. Deletions beyond ``max_delete_percent`` of a
    side go ahead only when ``confirm_mass_delete`` says so. Raises SyncBusy when
    another sync holds the cache, CacheError when the cache is damaged before
    anything starts; KeyboardInterrupt (Ctrl+C, or a signal the caller turned
    into one) ends the run "cancelled" and is raised again.
    """
    with sync_lock(cache, check_integrity=True):
        check_books(cache, psa, ledger)
        return _run_full_sync(cache, psa, ledger, since=since, kind=kind, progress=progress,
                              cancel=cancel, max_delete_percent=max_delete_percent,
                              confirm_mass_delete=confirm_mass_delete)


def _run_full_sync(
    cache: Cache,
    psa: PsaConnector,
    ledger: LedgerConnector,
    *,
    since: date | None,
    kind: str,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    max_delete_percent: int,
    confirm_mass_delete: ConfirmMassDelete | None,
) -> SyncRun:
    """Fetch every step into a stage, then apply them all in one transaction;
    whatever happens, the run in the history says how it ended."""
    plans = plan_full_sync(cache, psa, ledger, since)
    run = SyncRun(kind=kind, since=since, started_at=datetime.now(UTC),
                  steps=[SyncStep(p.name, p.system) for p in plans])
    cache.history.start_sync_run(run)
    run.status = SyncStatus.RUNNING
    cache.history.save_sync_progress(run)
    notify = _notifier(plans, progress)
    stage = SyncStage(cache)
    committed = False
    try:
        _fetch_all(plans, stage, psa, ledger, cancel, _Recorder(cache, run, notify))
        check_mass_deletions(cache, {p.key: stage.count(p.key) for p in plans},
                             max_delete_percent, confirm_mass_delete)
        try:
            _apply_all(cache, psa, ledger, plans, stage, run, since=since, cancel=cancel,
                       notify=notify)
        except CacheError as exc:
            raise SyncFailed("writing the cache", exc) from exc
        committed = True
        notify(len(plans) - 1, "done", 0)
    except SyncCancelled as exc:
        _mark_unfinished(run, SyncStatus.CANCELLED,
                         str(exc) or "cancelled by the operator; nothing written")
    except SyncFailed as exc:
        _mark_failed(run, exc)
    except Exception as exc:  # a bug of ours: the run must still not read "running"
        log.exception("sync #%s failed unexpectedly", run.id)
        if committed:
            raise
        _mark_unfinished(run, SyncStatus.FAILED,
                         f"internal error ({type(exc).__name__}: {exc}); nothing written")
    except KeyboardInterrupt as exc:
        if not committed:
            how = exc.args[0] if exc.args else "SIGINT"
            _mark_unfinished(run, SyncStatus.CANCELLED, f"cancelled ({how}); nothing written")
            run.finished_at = datetime.now(UTC)
            with contextlib.suppress(CacheError):
                cache.history.save_sync_progress(run)
        raise
    finally:
        stage.close()
    if not committed:
        run.finished_at = datetime.now(UTC)
        with contextlib.suppress(CacheError):  # a full disk may refuse this too
            cache.history.save_sync_progress(run)
    return run


Notify = Callable[..., None]


def _notifier(plans: list[_StepPlan], progress: ProgressCallback | None) -> Notify:
    """``notify(index, phase, fetched, reading=())`` as progress reports."""

    def notify(index: int, phase: str, fetched: int, reading: tuple[int, ...] = ()) -> None:
        if progress is not None:
            plan = plans[min(index, len(plans) - 1)]
            progress(SyncProgress(index, len(plans), plan.name, plan.system, phase, fetched,
                                  reading))

    return notify


def _apply_steps(cache: Cache, plans: list[_StepPlan], stage: SyncStage, run: SyncRun, *,
                 since: date | None, cancel: threading.Event | None,
                 notify: Notify) -> dict[str, ApplyResult]:
    """Every step's staged pages into the cache (inside the sync's transaction),
    each step's changes into the history as it is written."""
    results: dict[str, ApplyResult] = {}
    for current, plan in enumerate(plans):
        notify(current, "apply", stage.count(plan.key))
        if cancel is not None and cancel.is_set():
            raise SyncCancelled()
        try:
            result = plan.apply(cache, stage.staged(plan.key))
        except (ValueError, KeyError, ArithmeticError) as exc:
            raise SyncFailed(f"{plan.system} {plan.name}", exc) from exc
        assert run.id is not None
        cache.history.record_changes(run.id, plan.key, result.changes)
        result.changes = []  # in the history now; memory holds counts
        if since is None:  # a complete read refreshes everything anyway
            result.touched, result.owners = set(), set()
        results[plan.key] = result
    return results


def _apply_all(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
               plans: list[_StepPlan], stage: SyncStage, run: SyncRun, *,
               since: date | None, cancel: threading.Event | None, notify: Notify) -> None:
    """The apply phase, all or nothing: the steps, the certain auto-mappings, the
    reconciliation refresh and the run's own outcome commit together."""
    complete_before = cache.get_meta(COMPLETE_THROUGH)
    with cache.transaction():
        results = _apply_steps(cache, plans, stage, run, since=since, cancel=cancel,
                               notify=notify)
        # Only customers without a mapping are candidates; the companies are read
        # only when there is one (a mapped book's daily sync reads neither).
        new_mappings = auto_mappings(cache.records.unmapped_customers(),
                                     cache.records.iter_companies(), {})
        cache.records.add_mappings(new_mappings)
        refresh_after_sync(cache, _changes(results, stage.items("ledger deletions"),
                                           new_mappings), full=since is None)
        diagnose_pending(cache)
        finished = datetime.now(UTC)
        cache.history.mark_synced("psa", psa.kind, finished)
        cache.history.mark_synced("ledger", ledger.kind, finished)
        check_books(cache, psa, ledger, claim=True)
        if leaves_cache_complete(since, complete_before):
            assert run.started_at is not None
            cache.set_meta(COMPLETE_THROUGH, run.started_at.isoformat())
        # The run's own outcome commits with the data, so the history can
        # never say "nothing written" of a sync whose data is there.
        for step, result in zip(run.steps, (results[p.key] for p in plans), strict=True):
            step.status = SyncStatus.SUCCEEDED
            step.created, step.updated = result.created, result.updated
            step.unchanged, step.deleted = result.unchanged, result.deleted
        run.status = SyncStatus.SUCCEEDED
        run.finished_at = finished
        cache.history.save_sync_progress(run)


def _mark_failed(run: SyncRun, exc: SyncFailed) -> None:
    """Nothing was written; the step that failed is named with its cause."""
    _mark_unfinished(run, SyncStatus.FAILED, f"{exc}; nothing written")
    failed = next((i for i, step in enumerate(run.steps)
                   if f"{step.system} {step.name}" == exc.step), None)
    if failed is not None:
        run.steps[failed].status = SyncStatus.FAILED
        run.steps[failed].error = str(exc.cause)


def _mark_unfinished(run: SyncRun, status: SyncStatus, error: str) -> None:
    """Nothing was written: every step reads as not applied, counts zero."""
    run.status = status
    run.error = error
    for step in run.steps:
        step.status = SyncStatus.CANCELLED
        step.created = step.updated = step.unchanged = step.deleted = 0
