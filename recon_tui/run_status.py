"""What a sync run's status honestly is, for the history (CLI and TUI).

A run is recorded "running" when it starts and finished when it ends; a process
killed in between leaves "running" in the cache until the next sync takes the
lock and marks it failed. The sync lock tells the truth sooner: a "running" run
while no live process holds the lock was interrupted, whatever the row says. The
history shows it so at once (reading only: the next sync still records it).
"""

from __future__ import annotations

import dataclasses

from recon_tui.models import SyncRun, SyncStatus
from recon_tui.sync_safety import INTERRUPTED

__all__ = ["INTERRUPTED_LABEL", "honest_run", "is_interrupted", "status_label"]

INTERRUPTED_LABEL = "interrupted"
_UNFINISHED = (SyncStatus.RUNNING, SyncStatus.PENDING)


def honest_run(run: SyncRun, sync_live: bool) -> SyncRun:
    """``run`` as the next sync will record it: unfinished while no process holds
    the sync lock (``sync_live`` False) means interrupted; its unfinished steps
    cancelled. A copy; the cache is not touched."""
    if sync_live or run.status not in _UNFINISHED:
        return run
    steps = [dataclasses.replace(step, status=SyncStatus.CANCELLED)
             if step.status in _UNFINISHED else step for step in run.steps]
    return dataclasses.replace(run, status=SyncStatus.FAILED, error=INTERRUPTED, steps=steps)


def is_interrupted(run: SyncRun) -> bool:
    """A run a killed or stopped process left unfinished (recorded by the next sync,
    or seen by :func:`honest_run`)."""
    return run.status is SyncStatus.FAILED and run.error == INTERRUPTED


def status_label(run: SyncRun) -> str:
    """The status word a person reads: "interrupted" for an interrupted run, else
    the recorded status."""
    return INTERRUPTED_LABEL if is_interrupted(run) else run.status.value
