"""The fetch phase of a full sync: both systems at once, steps side by side.

Why: behind a real network most of a sync's wall time is waiting on answers.
Read one step after another, every step first waits on its count and first
page and the ledger waits for the whole PSA; read together, the waits overlap.

How: every step runs in a thread of its own as soon as the steps it reads from
are staged (``_StepPlan.after``): the PSA's companies, contacts and invoices and
the ledger's customers, invoices, credit memos and payments all start at once;
the deletion steps and the PSA's payments wait for the lists they compare. The
requests of one system stay within what it allows: each step reads under that
system's :class:`RequestGate` (a slot for its own requests, one per windowed
page), so the number in flight never exceeds the connector's
``max_concurrency``, and no request is added (each step reads what it read
before). Only this phase overlaps: the stage keeps each step's pages apart and
in order, and the apply phase still writes PSA first, then the ledger, in one
transaction.

The outcome is the one a sequential read would give: a failed step stops the
steps after it (in plan order) while the ones before it run on, so the step
named is the first one that fails in that order; a cancel stops every step at
its next check; Ctrl+C (or a bug) in any thread stops them all and is raised
again in the caller's thread. The caller's thread hears every step's start,
progress and end (so the history and the progress display are updated from one
thread) and returns only when no step thread is left working.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from recon_tui.connectors.paging import RequestGate, gated
from recon_tui.sync_safety import SyncCancelled, SyncFailed

__all__ = ["FetchListener", "StepFetch", "Stop", "fetch_steps"]

#: How long a waiting step sleeps between looks at a cancel nobody announces.
_POLL = 0.1
#: After Ctrl+C, how long the caller waits for step threads still mid-request.
_HALT_GRACE = 5.0
THREAD_PREFIX = "recon-sync"


class Stop(Protocol):
    """What a step checks between records: set when it must end now."""

    def is_set(self) -> bool: ...


class FetchListener(Protocol):
    """The caller's view of the steps (called in the caller's thread only)."""

    def started(self, index: int) -> None: ...

    def progressed(self, index: int, fetched: int, reading: tuple[int, ...]) -> None: ...

    def staged(self, index: int, fetched: int, reading: tuple[int, ...]) -> None: ...


class StepFetch(Protocol):
    """One step's read into the stage: raises SyncCancelled when ``stop`` is set,
    SyncFailed naming the step when its system fails; returns what it read."""

    def __call__(self, index: int, stop: Stop, report: Callable[[int], None]) -> int: ...


@dataclass
class _Run:
    """What the step threads share, under one condition."""

    cancel: threading.Event | None
    changed: threading.Condition = field(default_factory=threading.Condition)
    staged: set[int] = field(default_factory=set)
    failed: dict[int, BaseException] = field(default_factory=dict)
    first_failed: int | None = None
    halted: bool = False

    def stops(self, index: int) -> bool:
        if self.halted or (self.cancel is not None and self.cancel.is_set()):
            return True
        return self.first_failed is not None and index > self.first_failed

    def fail(self, index: int, exc: BaseException, *, halt: bool = False) -> None:
        with self.changed:
            self.failed[index] = exc
            if self.first_failed is None or index < self.first_failed:
                self.first_failed = index
            self.halted = self.halted or halt
            self.changed.notify_all()


@dataclass(frozen=True, slots=True)
class _StepStop:
    run: _Run
    index: int

    def is_set(self) -> bool:
        return self.run.stops(self.index)


def fetch_steps(systems: Sequence[str], after: Sequence[Sequence[int]],
                limits: Mapping[str, int], fetch: StepFetch, listener: FetchListener,
                cancel: threading.Event | None) -> None:
    """Run every step's ``fetch`` (step ``i`` of system ``systems[i]``, once the
    steps ``after[i]`` are staged), at most ``limits[system]`` requests of a
    system in flight. Returns when all are staged; else raises, once no step
    thread is working any more, what a sequential read would have raised."""
    run = _Run(cancel)
    gates = {system: RequestGate(limits.get(system, 1)) for system in set(systems)}
    events: queue.SimpleQueue[tuple[str, int, int]] = queue.SimpleQueue()
    threads = [threading.Thread(
        target=_step_thread, args=(run, i, after[i], gates[systems[i]], fetch, events),
        name=f"{THREAD_PREFIX}-{i}", daemon=True) for i in range(len(systems))]
    for thread in threads:
        thread.start()
    try:
        _listen(events, len(threads), listener)
    except BaseException:
        with run.changed:
            run.halted = True
            run.changed.notify_all()
        _join(threads, _HALT_GRACE)
        raise
    _join(threads, None)
    _raise_outcome(run)


def _listen(events: queue.SimpleQueue[tuple[str, int, int]], steps: int,
            listener: FetchListener) -> None:
    """Hand each step's news to the listener until every step has ended."""
    reading: list[int] = []
    ended = 0
    while ended < steps:
        kind, index, fetched = events.get()
        if kind == "started":
            reading.append(index)
            listener.started(index)
        elif kind == "progress":
            listener.progressed(index, fetched, tuple(reading))
        else:
            if index in reading:
                reading.remove(index)
            ended += 1
            if kind == "staged":
                listener.staged(index, fetched, tuple(reading))


def _step_thread(run: _Run, index: int, after: Sequence[int], gate: RequestGate,
                 fetch: StepFetch, events: queue.SimpleQueue[tuple[str, int, int]]) -> None:
    stop = _StepStop(run, index)
    outcome, fetched = "ended", 0
    try:
        _wait_for(run, index, after)
        events.put(("started", index, 0))
        with gated(gate):
            fetched = fetch(index, stop, lambda n: events.put(("progress", index, n)))
        with run.changed:
            run.staged.add(index)
            run.changed.notify_all()
        outcome = "staged"
    except SyncCancelled:
        pass
    except SyncFailed as exc:
        run.fail(index, exc)
    except BaseException as exc:  # Ctrl+C or a bug: everything stops
        run.fail(index, exc, halt=True)
    finally:
        events.put((outcome, index, fetched))


def _wait_for(run: _Run, index: int, after: Sequence[int]) -> None:
    """Until the steps this one reads from are staged; SyncCancelled if it must stop."""
    with run.changed:
        while not all(i in run.staged for i in after):
            if run.stops(index) or any(i in run.failed for i in after):
                raise SyncCancelled()
            run.changed.wait(_POLL)
    if run.stops(index):
        raise SyncCancelled()


def _join(threads: Sequence[threading.Thread], grace: float | None) -> None:
    """Every thread ended; with ``grace``, no longer than that in all (a thread
    still waiting on an answer then ends with it, writing nothing: daemon)."""
    deadline = None if grace is None else time.monotonic() + grace
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


def _raise_outcome(run: _Run) -> None:
    """The first failure in plan order; else a cancel; else nothing."""
    halting = [e for e in run.failed.values() if isinstance(e, KeyboardInterrupt)]
    if halting:
        raise halting[0]
    if run.failed:
        raise run.failed[min(run.failed)]
    if run.cancel is not None and run.cancel.is_set():
        raise SyncCancelled()
