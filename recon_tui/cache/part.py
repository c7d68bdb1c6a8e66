"""The base of the cache's parts (``cache.history``, ``cache.lookup``, ...).

A part is a small object over the connection of the :class:`CacheCore` it was
built for: it owns no connection and no lock, and it never opens a transaction of
its own. Every write goes through the core's :meth:`CacheCore.transaction`, so a
part's write nested inside another's (a sync's, a workflow's) becomes a savepoint
of the same transaction, and one discipline holds for the whole file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager

from recon_tui.cache.core import CacheCore


class CachePart:
    """One part of the cache, sharing its core's connection and transactions."""

    def __init__(self, core: CacheCore) -> None:
        self._core = core

    @property
    def conn(self) -> sqlite3.Connection:
        """The core's connection (read each time: there is only ever the one)."""
        return self._core.conn

    def transaction(self) -> AbstractContextManager[None]:
        """The core's all-or-nothing transaction (a savepoint when nested)."""
        return self._core.transaction()

    def _in(self, sql: str, values: Sequence[str]) -> list[sqlite3.Row]:
        """``sql`` (containing ``{marks}``) over ``values`` in chunks, on the core."""
        return self._core._in(sql, values)
