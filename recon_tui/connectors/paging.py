"""Pages fetched concurrently, handed over in order, within a fixed window.

Why: a book of 200 pages at a second each is 200 s read one after another and
about 20 s ten at a time, and the APIs allow that many (QBO: 10 concurrent per
realm). The connectors' reads stay plain iterators: the caller (the sync) sees
the same records in the same order, only sooner.

The guarantees:

* at most ``max_concurrency`` pages are requested or waiting to be taken at any
  moment (the page the consumer is working through is its own), so memory is
  bounded by the window, not by the book;
* pages come out in index order whatever order they arrive in; a failed page
  raises when its turn comes (earlier pages are still delivered first), and no
  page after a failure is requested;
* closing the iterator early (or a failure) cancels the pages not yet started
  and waits for the ones in flight to end, so no worker thread outlives it.
  ``httpx.Client`` is thread-safe, and the shared :class:`RateLimiter` still caps
  concurrency and the per-minute budget across every read of a company.

A sync reads several steps of one system at once (their counts and first pages
overlap): a :class:`RequestGate` then caps the requests of all of them together.
Each step's own thread holds one slot for its own requests (a count, a
forward-only page), lends it back while :func:`fetch_in_order` runs its window,
and every windowed page takes a slot of its own: never more in flight than the
system allows, whatever the number of steps.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from recon_tui.connectors.base import BadData

__all__ = ["THREAD_PREFIX", "Beside", "RequestGate", "counted_read", "fetch_in_order",
           "gated"]

T = TypeVar("T")

#: Worker threads are named after it (tests check none are left running).
THREAD_PREFIX = "recon-page"


class RequestGate:
    """At most ``limit`` requests of one system in flight across every step a
    sync reads from it at once (see the module's docstring)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._slots = threading.BoundedSemaphore(self.limit)

    def acquire(self) -> None:
        self._slots.acquire()

    def release(self) -> None:
        self._slots.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


class _Held:
    """One step thread's own slot of a gate, lent back while its window runs."""

    def __init__(self, gate: RequestGate) -> None:
        self.gate = gate
        self.held = False

    def take(self) -> None:
        if not self.held:
            self.gate.acquire()
            self.held = True

    def lend(self) -> None:
        if self.held:
            self.held = False
            self.gate.release()


_STEP_SLOT: ContextVar[_Held | None] = ContextVar("recon_step_slot", default=None)


@contextmanager
def gated(gate: RequestGate) -> Iterator[None]:
    """Run a step's reads in this thread under ``gate``: one slot held for the
    step's own requests, a slot per page of any window it opens."""
    held = _Held(gate)
    token = _STEP_SLOT.set(held)
    held.take()
    try:
        yield
    finally:
        held.lend()
        _STEP_SLOT.reset(token)


class Beside(Generic[T]):
    """``read()`` started at once in a thread of its own, beside the step's
    other reads, when the step reads under a gate of more than one slot (a
    sync): one read need not wait for another it does not depend on (ConnectWise's
    unposted list and its invoice count go out together). Its thread reads under
    the gate as a step thread does (a slot for its own requests, one per page of
    a window), so the system's limit still holds, and :meth:`result` waits
    without holding the caller's slot. Outside a sync, or with one slot,
    ``read`` runs here and now, as it always did, and raises here."""

    def __init__(self, read: Callable[[], T], *, name: str) -> None:
        held = _STEP_SLOT.get()
        self._answer: list[tuple[bool, Any]] = []
        self._thread: threading.Thread | None = None
        if held is None or held.gate.limit < 2:
            self._answer.append((True, read()))
            return
        gate = held.gate

        def run() -> None:
            try:
                with gated(gate):
                    self._answer.append((True, read()))
            except BaseException as exc:  # handed to whoever waits for the answer
                self._answer.append((False, exc))

        self._thread = threading.Thread(target=run, name=f"{THREAD_PREFIX}-{name}",
                                        daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return bool(self._answer)

    def result(self) -> T:
        """The read's answer (waiting for it), or its error raised."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            mine = _STEP_SLOT.get()
            lent = mine is not None and mine.held
            if lent:
                mine.lend()  # type: ignore[union-attr]
            try:
                thread.join()
            finally:
                if lent:
                    mine.take()  # type: ignore[union-attr]
        ok, value = self._answer[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


def fetch_in_order(fetch: Callable[[int], T], pages: int, max_concurrency: int, *,
                   name: str = "") -> Iterator[T]:
    """``fetch(0) .. fetch(pages - 1)``, up to ``max_concurrency`` at once, yielded
    in index order. With a window of 1 (or a single page) no thread is started."""
    if pages <= 0:
        return
    window_size = max(1, min(max_concurrency, pages))
    if window_size == 1:
        for index in range(pages):
            yield fetch(index)
        return
    stopped = threading.Event()
    held = _STEP_SLOT.get()

    def run(index: int) -> T:
        if stopped.is_set():  # the read is over: do not start another request
            raise _Stopped
        if held is None:
            return fetch(index)
        with held.gate.slot():
            if stopped.is_set():
                raise _Stopped
            return fetch(index)

    pool = ThreadPoolExecutor(max_workers=window_size,
                              thread_name_prefix=f"{THREAD_PREFIX}-{name or 'read'}")
    window: deque[Future[T]] = deque()
    following = 0
    if held is not None:
        held.lend()  # the window's pages take their own slots
    try:
        while following < pages and len(window) < window_size:
            window.append(pool.submit(run, following))
            following += 1
        while window:
            head = window.popleft()
            page = head.result()  # raises the page's own error, in order
            if following < pages and not any(_failed(f) for f in window):
                window.append(pool.submit(run, following))
                following += 1
            yield page
    finally:
        stopped.set()
        for future in window:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        if held is not None:
            held.take()  # the step's own requests after the window are gated again


class _Stopped(Exception):
    """A page that was never requested because the read had already ended."""


def _failed(future: Future[object]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is not None


def counted_read(
    fetch: Callable[[int], tuple[str, list[Any]]],
    expected: int,
    page_size: int,
    max_concurrency: int,
    *,
    system: str,
    read: str,
    counted_by: str,
    repeated: str,
    key: Callable[[Any], str],
) -> Iterator[Any]:
    """The records of ``expected // page_size`` (rounded up) pages, in order, each
    checked against the count taken before them: every page but the last full,
    the last exactly the rest, no page made only of records already read, and as
    many distinct records as counted. Anything else fails the read (a proxy that
    drops rows, a server ignoring the offset, a book that changed mid-read), so a
    partial list is never taken for the whole. ``fetch(index)`` answers
    ``(operation, records)``; a record met twice is yielded once."""
    pages = -(-expected // page_size)
    seen: set[str] = set()
    for index, (operation, rows) in enumerate(
            fetch_in_order(fetch, pages, max_concurrency, name=system)):
        due = min(page_size, expected - index * page_size)
        fresh = _fresh_rows(rows, seen, key)
        if rows and not fresh:
            raise BadData(system, f"{operation}: {repeated}")
        if len(rows) != due:
            raise BadData(
                system, f"{read}: read {len(seen):,} of the {expected:,} records {counted_by} "
                f"counts; the answer was incomplete ({operation} held {len(rows):,} where "
                f"{due:,} were due, or the records changed during the read), so nothing was "
                "taken from it")
        yield from fresh
    if len(seen) != expected:
        raise BadData(
            system, f"{read}: read {len(seen):,} of the {expected:,} records {counted_by} "
            "counts; the answer was incomplete, so nothing was taken from it")


def _fresh_rows(rows: list[Any], seen: set[str], key: Callable[[Any], str]) -> list[Any]:
    """The page's rows not read before (by ``key``; a row without one always
    kept), each key added to ``seen``. The usual page (every key set, none
    repeated, none seen) is taken whole, in one set operation, not row by row."""
    keys = list(map(key, rows))
    distinct = set(keys)
    if len(distinct) == len(keys) and "" not in distinct and seen.isdisjoint(distinct):
        seen |= distinct
        return rows
    fresh = []
    for row, record_key in zip(rows, keys, strict=True):
        if record_key and record_key in seen:
            continue
        seen.add(record_key)
        fresh.append(row)
    return fresh


def unseen_records(records: list[Any], seen: set[str], *, system: str, operation: str,
                   noun: str = "record") -> Generator[Mapping[str, Any], None, int]:
    """Yield a page's records not read before (by id), adding them to ``seen``;
    return how many were new. A record that is not an object fails the read
    (both PSAs' whole-list reads: a page shifted by an edit may repeat a record)."""
    fresh = 0
    for record in records:
        if not isinstance(record, Mapping):
            raise BadData(system, f"{operation}: {'an' if noun[0] in 'aeiou' else 'a'} "
                          f"{noun} is not a JSON object")
        key = str(record.get("id", ""))
        if key and key in seen:
            continue
        seen.add(key)
        fresh += 1
        yield record
    return fresh
