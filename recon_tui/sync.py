"""Full dated sync: PSA first, then the ledger, into the cache.

Two phases keep the cache whole whatever happens:

1. *Fetch*: every step pages its records from its system (PSA steps first, as
   the seeds describe). Nothing is written to the source tables yet, so a
   network fault or a cancel here leaves the cache exactly as it was.
2. *Apply*: one transaction holds every step (each step a savepoint of it),
   then the certain auto-mappings and the reconciliation refresh. It commits
   as a whole or not at all.

The run itself (status, per-step counts, the error) is recorded in small
transactions of its own, so the history shows a live, and finally honest,
picture even when the sync fails.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from recon_tui.cache import ApplyResult, Cache
from recon_tui.config import ConfigError
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.matching import auto_mappings
from recon_tui.models import SyncRun, SyncStatus, SyncStep
from recon_tui.refresh import SyncChanges, refresh_after_sync


class SyncCancelled(Exception):
    """The operator cancelled; nothing was written."""


class SyncBusy(RuntimeError):
    """Another sync or resync holds this cache."""


INTERRUPTED = "interrupted: recon-tui stopped before this sync finished; nothing was written"


@contextmanager
def sync_lock(cache: Cache) -> Iterator[None]:
    """One sync at a time per cache file, across processes (an OS file lock, so a
    killed process never leaves it held). Runs a killed process left 'running'
    are marked failed once we hold the lock."""
    lock_path = Path(f"{cache.path}.sync-lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SyncBusy("another sync is already running on this cache; "
                       "wait for it to finish") from None
    try:
        cache.fail_interrupted_runs(INTERRUPTED)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class SyncFailed(Exception):
    """A step failed; the message names the step and the cause."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"step '{step}' failed: {cause}")
        self.step = step
        self.cause = cause


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """What a progress bar needs: which step, how far, in what phase."""

    step_index: int
    step_count: int
    step: str
    system: str
    phase: str  # "fetch" | "apply" | "done"
    fetched: int


ProgressCallback = Callable[[SyncProgress], None]


@dataclass(frozen=True, slots=True)
class _StepPlan:
    name: str
    system: str
    fetch: Callable[[], Iterable[Any]]
    apply: Callable[[Cache, list[Any]], ApplyResult]


SAFETY_MARGIN = timedelta(days=1)


def default_since(cache: Cache, configured: date) -> date:
    """The last successful full sync's start minus a day (edits made during that
    sync, clock skew between systems), else the configured ``default_since``."""
    last = cache.last_successful_run("full") or cache.last_successful_run("demo")
    if last is not None and last.started_at is not None:
        return (last.started_at - SAFETY_MARGIN).date()
    return configured


def parse_since(text: str, *, today: date | None = None) -> date:
    """A --since value: YYYY-MM-DD, not in the future."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, got {text.strip()!r}") from None
    if value > (today or date.today()):
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


def _since_datetime(since: date | None) -> datetime | None:
    return datetime.combine(since, time.min, tzinfo=UTC) if since else None


def _deleted_ledger_invoices(cache: Cache, deleted_ids: list[Any]) -> ApplyResult:
    return cache.delete_ledger_invoices(deleted_ids)


STEP_NAMES: tuple[tuple[str, str], ...] = (
    ("psa", "companies"), ("psa", "contacts"), ("psa", "invoices"),
    ("ledger", "customers"), ("ledger", "invoices"), ("ledger", "credits"),
    ("ledger", "deleted invoices"),
)


def plan_step_names() -> list[tuple[str, str]]:
    """(system, step) in the order a full sync runs them, for progress displays."""
    return list(STEP_NAMES)


def plan_full_sync(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
                   since: date | None) -> list[_StepPlan]:
    """The ordered steps. Master data (companies, contacts, customers) is read in
    full every time: an old company can own a new invoice, and a dated pull of
    companies would miss it. Invoices and credits are read from ``since``."""
    moment = _since_datetime(since)
    plans = [
        _StepPlan("companies", "psa", lambda: psa.companies(None),
                  lambda c, rows: c.upsert_companies(rows)),
        _StepPlan("contacts", "psa", lambda: psa.contacts(None),
                  lambda c, rows: c.upsert_contacts(rows)),
        _StepPlan("invoices", "psa", lambda: psa.invoices(moment),
                  lambda c, rows: c.upsert_psa_invoices(rows)),
        _StepPlan("customers", "ledger", lambda: ledger.customers(None),
                  lambda c, rows: c.upsert_customers(rows)),
        _StepPlan("invoices", "ledger", lambda: ledger.invoices(moment),
                  lambda c, rows: c.upsert_ledger_invoices(rows)),
        _StepPlan("credits", "ledger", lambda: ledger.credits(moment),
                  lambda c, rows: c.upsert_credits(rows)),
        _StepPlan("deleted invoices", "ledger",
                  lambda: sorted(ledger.deleted_invoice_ids(cache.ledger_invoice_ids(), moment)),
                  _deleted_ledger_invoices),
    ]
    assert [(p.system, p.name) for p in plans] == list(STEP_NAMES)
    return plans


def _collect(items: Iterable[Any], cancel: threading.Event | None,
             report: Callable[[int], None]) -> list[Any]:
    out: list[Any] = []
    iterator: Iterator[Any] = iter(items)
    for item in iterator:
        out.append(item)
        if len(out) % 250 == 0:
            if cancel is not None and cancel.is_set():
                raise SyncCancelled()
            report(len(out))
    if cancel is not None and cancel.is_set():
        raise SyncCancelled()
    report(len(out))
    return out


def run_full_sync(
    cache: Cache,
    psa: PsaConnector,
    ledger: LedgerConnector,
    *,
    since: date | None,
    kind: str = "full",
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> SyncRun:
    """Run a whole sync and return its recorded run (status says how it ended).

    Raises nothing for a connector fault, a cancel or a step failure: those end
    up in the returned run's status and error, where the history shows them.
    Raises SyncBusy when another sync holds the cache.
    """
    with sync_lock(cache):
        return _run_full_sync(cache, psa, ledger, since=since, kind=kind, progress=progress,
                              cancel=cancel)


def _run_full_sync(
    cache: Cache,
    psa: PsaConnector,
    ledger: LedgerConnector,
    *,
    since: date | None,
    kind: str,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> SyncRun:
    plans = plan_full_sync(cache, psa, ledger, since)
    run = SyncRun(kind=kind, since=since, started_at=datetime.now(UTC),
                  steps=[SyncStep(p.name, p.system) for p in plans])
    cache.start_sync_run(run)
    run.status = SyncStatus.RUNNING
    cache.save_sync_progress(run)

    def notify(index: int, phase: str, fetched: int) -> None:
        if progress is not None:
            plan = plans[min(index, len(plans) - 1)]
            progress(SyncProgress(index, len(plans), plan.name, plan.system, phase, fetched))

    fetched: list[list[Any]] = []
    current = 0
    try:
        for current, plan in enumerate(plans):
            run.steps[current].status = SyncStatus.RUNNING
            cache.save_sync_progress(run)
            try:
                rows = _collect(plan.fetch(), cancel,
                                lambda n, i=current: notify(i, "fetch", n))
            except (SyncCancelled, SyncFailed):
                raise
            except (ConnectorError, ConfigError, OSError, ValueError) as exc:
                raise SyncFailed(f"{plan.system} {plan.name}", exc) from exc
            fetched.append(rows)
            run.steps[current].status = SyncStatus.PENDING  # fetched, not yet applied
            cache.save_sync_progress(run)

        results: list[ApplyResult] = []
        with cache.transaction():
            for current, (plan, rows) in enumerate(zip(plans, fetched, strict=True)):
                notify(current, "apply", len(rows))
                if cancel is not None and cancel.is_set():
                    raise SyncCancelled()
                try:
                    result = plan.apply(cache, rows)
                except (ValueError, KeyError) as exc:
                    raise SyncFailed(f"{plan.system} {plan.name}", exc) from exc
                results.append(result)
                assert run.id is not None
                cache.record_changes(run.id, f"{plan.system} {plan.name}", result.changes)
            new_mappings = auto_mappings(cache.customers().values(),
                                         cache.companies().values(), cache.mapping())
            cache.add_mappings(new_mappings)
            refresh_after_sync(cache, SyncChanges(*results, new_mappings))
            finished = datetime.now(UTC)
            cache.mark_synced("psa", psa.kind, finished)
            cache.mark_synced("ledger", ledger.kind, finished)
        for step, result in zip(run.steps, results, strict=True):
            step.status = SyncStatus.SUCCEEDED
            step.created, step.updated = result.created, result.updated
            step.unchanged, step.deleted = result.unchanged, result.deleted
        run.status = SyncStatus.SUCCEEDED
        notify(len(plans) - 1, "done", 0)
    except SyncCancelled:
        _mark_unfinished(run, SyncStatus.CANCELLED, "cancelled by the operator; nothing written")
    except SyncFailed as exc:
        _mark_unfinished(run, SyncStatus.FAILED, f"{exc}; nothing written")
        run.steps[current].status = SyncStatus.FAILED
        run.steps[current].error = str(exc.cause)
    run.finished_at = datetime.now(UTC)
    cache.save_sync_progress(run)
    return run


def _mark_unfinished(run: SyncRun, status: SyncStatus, error: str) -> None:
    """Nothing was written: every step reads as not applied, counts zero."""
    run.status = status
    run.error = error
    for step in run.steps:
        step.status = SyncStatus.CANCELLED
        step.created = step.updated = step.unchanged = step.deleted = 0
