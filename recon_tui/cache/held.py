"""The records the cache holds (``cache.records``): the PSA's and the ledger's
companies, customers, contacts, invoices, credit memos, credits and the company
mapping, their reads (``sources.py``) and a sync's change-tracking writes of them
(``record_writes.py`` over ``upsert.py``).

One part, not two: the reads and the writes are of the same tables, a sync's
deletion checks read what the writes keep, and the tests of either write and read
back through both halves.
"""

from __future__ import annotations

from recon_tui.cache.record_writes import RecordWrites
from recon_tui.cache.sources import SourceQueries


class HeldRecords(SourceQueries, RecordWrites):
    """The synced records and the mapping: reads and a sync's writes (a CachePart)."""
