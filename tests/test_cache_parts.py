"""The cache's parts as a whole: each is reached by name on the Cache, shares its
one connection, and leaves transactions to the core."""

from __future__ import annotations

import inspect
import sqlite3
from datetime import UTC, datetime

import pytest

from recon_tui.cache import Cache
from recon_tui.cache.core import CacheCore
from recon_tui.cache.part import CachePart
from recon_tui.models import SyncRun, SyncStatus

PARTS = ("records", "history", "checklists", "fixes", "mapper", "report", "lookup",
         "recon", "txns")


@pytest.mark.parametrize("name", PARTS)
def test_each_part_hangs_on_the_cache_over_its_connection(cache: Cache, name: str) -> None:
    part = getattr(cache, name)
    assert isinstance(part, CachePart)
    assert part.conn is cache.conn
    with part.transaction():  # the core's: one connection, one transaction
        assert cache.conn.in_transaction
    assert not cache.conn.in_transaction


@pytest.mark.parametrize("name", PARTS)
def test_no_part_opens_or_ends_a_transaction_of_its_own(cache: Cache, name: str) -> None:
    """BEGIN, COMMIT, ROLLBACK and SAVEPOINT are the core's alone (in the part's
    module and in every module its class is built from)."""
    for base in type(getattr(cache, name)).__mro__:
        module = inspect.getmodule(base)
        if base in (CachePart, object) or module is None:
            continue
        source = inspect.getsource(module)
        for statement in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", ".commit(", ".rollback("):
            assert statement not in source, (name, base.__name__, statement)


def test_parts_are_not_mixed_into_the_cache() -> None:
    """What moved into a part is asked of the part, not of the Cache: the Cache
    mixes in nothing but the core."""
    assert Cache.__bases__ == (CacheCore,)
    moved = {"start_sync_run", "save_sync_progress", "record_changes", "mark_synced",
             "sync_states", "companies", "mapping", "counts", "unmapped_customer_count",
             "upsert_psa_invoices", "mark_unexported", "psa_invoice_ids"}
    assert not moved & set(dir(Cache))
    for name, member in inspect.getmembers(Cache, inspect.isfunction):
        owner = member.__qualname__.split(".")[0]
        assert owner not in {"HistoryQueries", "ChecklistQueries", "FixQueries",
                             "MapperQueries", "ReportQueries", "LookupQueries",
                             "ReconciliationQueries", "IncrementalQueries",
                             "TransactionQueries", "SourceQueries", "RecordWrites",
                             "HeldRecords"}, name


def test_a_part_writing_inside_a_failed_transaction_leaves_nothing(cache: Cache) -> None:
    """A part's write and the caller's own in one transaction of the core go or
    stay together."""
    with pytest.raises(sqlite3.IntegrityError), cache.transaction():
        cache.history.start_sync_run(SyncRun(kind="full", status=SyncStatus.RUNNING,
                                             started_at=datetime.now(UTC)))
        cache.conn.execute("INSERT INTO checklist(id) VALUES (NULL)")  # NOT NULL columns
    assert cache.history.sync_runs() == []
