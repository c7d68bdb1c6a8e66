"""The local SQLite cache: the one place SQL lives.

Money is stored as integer cents, dates as ISO text, timestamps as ISO UTC text.
Connections run in autocommit mode and every write goes through
:meth:`Cache.transaction` (``BEGIN IMMEDIATE`` ... ``COMMIT``), so a write is
either wholly there or not at all. WAL mode lets the TUI read while a sync
writes from a worker thread on its own connection.

A cache of parts. A :class:`Cache` is one connection (``cache/core.py``) with
small parts hung on it, each the queries of one feature and reached by name, so
a caller says which part of the cache it uses and a reader finds a feature's
SQL in one module with its own tests:

- ``cache.history``    sync runs, steps, changes, last syncs (``history.py``)
- ``cache.checklists`` credit checklists and their trail (``checklists.py``)
- ``cache.fixes``      guided payment fixes and their trail (``fixes.py``)
- ``cache.mapper``     what the company mapper reads (``mapper.py``)
- ``cache.report``     what the report reads, in one view (``report.py``)
- ``cache.lookup``     finding a row by a typed number (``lookup.py``)
- ``cache.txns``       each invoice's payment and credit lines on both sides, and
  the rows' causes (``transactions.py``)
- ``cache.records``    the records the cache holds: the PSA's and the ledger's
  companies, customers, invoices, credits and the company mapping, their reads
  (``sources.py``) and a sync's change-tracking writes (``record_writes.py``,
  ``upsert.py``), one part over ``held.py``
- ``cache.recon``      the materialised reconciliation: its recompute, whole or in
  part (``incremental.py``), and the clients, rows and totals the screens page
  through (``reconciliation.py``)

A part owns no connection and opens no transaction: its writes go through the
core's :meth:`~recon_tui.cache.core.CacheCore.transaction`, so a part's write
inside a sync's or a workflow's transaction is a savepoint of it and one
discipline holds for the file (``part.py``). A function that needs one part
takes that part (``evidence_for(cache.mapper, ...)``), not the whole Cache.

The Cache itself mixes in nothing but the core: every query is a part's.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from recon_tui.cache.core import CacheCore
from recon_tui.cache.files import CacheBusy, CacheDamaged, CacheError, CacheMissing
from recon_tui.cache.held import HeldRecords
from recon_tui.cache.history import SyncHistory
from recon_tui.cache.lookup import NumberLookup
from recon_tui.cache.mapper import MappingReads
from recon_tui.cache.reconciliation import Reconciliation
from recon_tui.cache.records import (
    ApplyResult,
    BookTotals,
    Change,
    PairRow,
    SystemSyncState,
    credit_key,
)
from recon_tui.cache.schema import SCHEMA_VERSION
from recon_tui.cache.transactions import InvoiceTxns

if TYPE_CHECKING:
    from recon_tui.cache.checklists import Checklists
    from recon_tui.cache.fixes import PaymentFixes
    from recon_tui.cache.report import ReportReads

__all__ = [
    "SCHEMA_VERSION",
    "ApplyResult",
    "BookTotals",
    "Cache",
    "CacheBusy",
    "CacheDamaged",
    "CacheError",
    "CacheMissing",
    "Change",
    "PairRow",
    "SystemSyncState",
    "credit_key",
]


class Cache(CacheCore):
    """One connection to one cache file and its parts (``records``, ``history``,
    ``checklists``, ``fixes``, ``mapper``, ``report``, ``lookup``, ``recon``,
    ``txns``) over the same connection. Open one per thread."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        super().__init__(path, read_only=read_only)
        self.lookup = NumberLookup(self)
        self.mapper = MappingReads(self)
        self.history = SyncHistory(self)
        self.records = HeldRecords(self)
        self.recon = Reconciliation(self, self.records)
        self.txns = InvoiceTxns(self)

    # The parts the clients screen does not read: imported on first use, not at launch.
    @cached_property
    def checklists(self) -> Checklists:
        from recon_tui.cache.checklists import Checklists

        return Checklists(self)

    @cached_property
    def fixes(self) -> PaymentFixes:
        from recon_tui.cache.fixes import PaymentFixes

        return PaymentFixes(self)

    @cached_property
    def report(self) -> ReportReads:
        from recon_tui.cache.report import ReportReads

        return ReportReads(self)
