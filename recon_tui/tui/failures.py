"""What the app does with a failure: one line for the operator, the traceback for support.

A cache that cannot be used is the operator's to fix (the app covers its screens
with the error and the way out); anything else a worker raises is a bug or an
outage, shown as one line naming the task, while the traceback goes to the
support log (:mod:`recon_tui.log_file`), scrubbed of secrets there too.
"""

from __future__ import annotations

import logging

from textual.worker import Worker

from recon_tui.cache import CacheError
from recon_tui.scrub import scrub
from recon_tui.text import printable

__all__ = ["failure_line", "is_cache_failure", "log_failure", "one_line", "reason"]

log = logging.getLogger(__name__)

#: A notification is one line: a long server message is cut here.
MAX_MESSAGE = 160


def is_cache_failure(exc: BaseException) -> bool:
    """A CacheError, or an ``sqlite3.DatabaseError`` (OperationalError, ...) escaping
    a cache call: the file, not the code, is at fault. SQLite's class is matched by
    name because only ``recon_tui/cache`` imports sqlite3."""
    return isinstance(exc, CacheError) or any(
        kind.__module__ == "sqlite3" and kind.__name__ == "DatabaseError"
        for kind in type(exc).__mro__)


def reason(exc: BaseException) -> str:
    """Why, for the operator: an error written for them (``explains_itself``: the
    connectors' and the configuration's, which already name the system and the
    fix) as it is; anything else with its kind, which is what support needs."""
    if getattr(type(exc), "explains_itself", False):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def one_line(exc: BaseException) -> str:
    """``Kind: first line of the message``, scrubbed, printable and short."""
    lines = scrub(str(exc)).strip().splitlines()
    first = lines[0].strip() if lines else ""
    if len(first) > MAX_MESSAGE:
        first = first[:MAX_MESSAGE - 1] + "…"
    if getattr(type(exc), "explains_itself", False) and first:
        return printable(first)
    return printable(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


def failure_line(worker: Worker[object], exc: BaseException) -> str:
    """What the operator reads: which task failed, why in a line, where the details are."""
    from recon_tui.log_file import current_log_path  # set up by the CLI, if at all

    task = worker.name or "A background task"
    where = current_log_path()
    tail = f" (details in {printable(where)})" if where is not None else ""
    return f"{task[:1].upper()}{task[1:]} failed: {one_line(exc)}{tail}"


def log_failure(worker: Worker[object], exc: BaseException) -> None:
    """The whole traceback, for support (the log's filter scrubs it)."""
    log.error("worker %r (group %r) failed", worker.name, worker.group,
              exc_info=(type(exc), exc, exc.__traceback__))
