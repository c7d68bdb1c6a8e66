"""``cache.history``: sync runs, their steps and changes, and each side's last
sync, on their own (no connector, no sync)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from recon_tui.cache import Cache, Change
from recon_tui.cache import history as history_module
from recon_tui.cache.history import SyncHistory
from recon_tui.models import SyncRun, SyncStatus, SyncStep

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def started(history: SyncHistory, kind: str = "full") -> SyncRun:
    run = SyncRun(kind=kind, status=SyncStatus.RUNNING, since=date(2026, 1, 1),
                  started_at=WHEN, steps=[SyncStep("invoices", "psa"),
                                          SyncStep("invoices", "ledger")])
    history.start_sync_run(run)
    return run


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.history, SyncHistory)
    assert cache.history.conn is cache.conn
    assert not hasattr(cache, "sync_runs")


def test_a_run_and_its_progress_read_back(cache: Cache) -> None:
    run = started(cache.history)
    assert run.id is not None
    run.steps[0].status, run.steps[0].created, run.steps[0].updated = SyncStatus.SUCCEEDED, 3, 1
    run.status, run.finished_at = SyncStatus.SUCCEEDED, WHEN
    cache.history.save_sync_progress(run)
    held = cache.history.sync_run(run.id)
    assert held == run
    assert cache.history.last_successful_run() == run
    assert cache.history.last_successful_run("resync") is None
    assert cache.history.sync_run(run.id + 1) is None


def test_runs_are_listed_newest_first(cache: Cache) -> None:
    first, second = started(cache.history), started(cache.history, "resync")
    assert [r.id for r in cache.history.sync_runs()] == [second.id, first.id]
    assert [r.id for r in cache.history.sync_runs(1)] == [second.id]


def test_changes_are_kept_in_order_and_bounded_per_run(cache: Cache,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_module, "MAX_CHANGES_PER_RUN", 3)
    run = started(cache.history)
    assert run.id is not None
    changes = [Change("invoice", f"p{n}", str(n), "updated", "owing", "1.00", "0.00")
               for n in range(2)]
    cache.history.record_changes(run.id, "psa invoices", changes)
    cache.history.record_changes(run.id, "psa invoices", changes)
    assert cache.history.sync_changes(run.id) == [*changes, changes[0]]  # room for 3


def test_each_side_remembers_its_last_sync(cache: Cache) -> None:
    cache.history.mark_synced("psa", "connectwise", WHEN)
    cache.history.mark_synced("psa", "autotask", WHEN.replace(hour=13))
    [psa] = cache.history.sync_states().values()
    assert (psa.system, psa.kind, psa.last_synced_at) == ("psa", "autotask",
                                                          WHEN.replace(hour=13))


def test_runs_a_killed_process_left_running_are_marked_failed(cache: Cache) -> None:
    running = started(cache.history)
    done = started(cache.history)
    done.status = SyncStatus.SUCCEEDED
    cache.history.save_sync_progress(done)
    assert cache.history.fail_interrupted_runs("interrupted") == 1
    assert running.id is not None and done.id is not None
    failed = cache.history.sync_run(running.id)
    assert failed is not None and (failed.status, failed.error) == (
        SyncStatus.FAILED, "interrupted")
    assert cache.history.sync_run(done.id).status is SyncStatus.SUCCEEDED  # type: ignore[union-attr]
