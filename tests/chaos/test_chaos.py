"""The chaos suite at CI scale: each fault on each system in a first and in a
dated sync (one page of the read drawn by the seed), five SIGKILLs of the real
CLI, and two processes racing for one token. Every case must end recovered
(a clean sync's data) or reported (one line, cache as before), never with
data lost, a traceback or a secret in sight.

Replay with ``CHAOS_SEED=N``; the long run is ``python -m tests.chaos --long``.
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from recon_tui.models import SyncRun, SyncStatus
from recon_tui.sandbox.faults import check_applies
from tests.chaos.cases import (
    LOST,
    PAGE_FAULT_ROWS,
    RECOVERED,
    REPORTED,
    SYSTEMS,
    TOKEN_ROWS,
    Case,
    judge,
    page_targets,
    run_case,
)
from tests.chaos.checksum import checksum
from tests.chaos.kills import kill_trial
from tests.chaos.race import race_trial
from tests.chaos.world import SCENARIOS, World, open_world

SEED = int(os.environ.get("CHAOS_SEED", "20260"))
KILLS = 5


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One emulator per worker; templates and references built once for all."""
    root = tmp_path_factory.getbasetemp()
    shared = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "chaos-world"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    with open_world(shared, first=int(worker.removeprefix("gw") or 0)) as opened:
        yield opened


def _rows() -> list[tuple[str, str, str]]:
    rows = [(fault, system, scenario) for scenario in SCENARIOS for fault in PAGE_FAULT_ROWS
            for system in SYSTEMS if not check_applies(fault, system)]
    return rows + [(row, "token", scenario) for scenario in SCENARIOS for row, *_ in TOKEN_ROWS]


def _case(world: World, row: str, system: str, scenario: str) -> Case:
    """The case for one table cell, its page drawn by the seed."""
    if system == "token":
        _, fault, status, count = next(t for t in TOKEN_ROWS if t[0] == row)
        return Case(row, fault, "token", "connectwise", scenario, 1, count, status or 502,
                    "the token refresh")
    psa = "autotask" if system == "autotask" else "connectwise"
    targets = page_targets(world, scenario, psa, system, later=row == "repeat")
    assert targets, f"a clean {scenario} sync served no page for {row}@{system}"
    nth, what = random.Random(f"{SEED}/{row}/{system}/{scenario}").choice(targets)
    return Case(row, row, system, psa, scenario, nth, target=what)


@pytest.mark.parametrize(("row", "system", "scenario"), _rows(),
                         ids=[f"{r}@{s}-{sc}".replace(" ", "") for r, s, sc in _rows()])
def test_a_fault_is_recovered_or_reported_in_one_line(
        world: World, record_property: pytest.RecordProperty, row: str, system: str,
        scenario: str) -> None:
    case = _case(world, row, system, scenario)
    verdict = run_case(world, case)
    record_property("chaos", (row, verdict.outcome))
    assert verdict.fired, f"{case.name}: the fault never fired"
    assert verdict.outcome in (RECOVERED, REPORTED), (
        f"{case.name} (CHAOS_SEED={SEED}): {verdict.outcome}: {verdict.problems} "
        f"{verdict.error}")
    assert not verdict.problems


@pytest.mark.parametrize("trial", range(KILLS))
def test_a_sigkilled_sync_leaves_a_whole_cache_and_the_next_sync_completes(
        world: World, record_property: pytest.RecordProperty, trial: int) -> None:
    row, outcome, problems = kill_trial(world, trial, random.Random(SEED + trial))
    record_property("chaos", (row, outcome))
    assert outcome in (RECOVERED, REPORTED) and not problems, (
        f"kill #{trial + 1} (CHAOS_SEED={SEED}), {row}: {outcome}: {problems}")


def test_two_processes_refreshing_one_token_both_sync(
        world: World, record_property: pytest.RecordProperty) -> None:
    row, outcome, problems = race_trial(world)
    record_property("chaos", (row, outcome))
    assert outcome == RECOVERED and not problems, f"{outcome}: {problems}"


# ------------------------------------------------------------------ the harness itself
def test_the_checksum_sees_any_data_change_and_ignores_only_the_sync_clock(
        world: World, tmp_path: Path) -> None:
    path = world.fresh_cache("since", "connectwise", tmp_path)
    strict, loose = checksum(path, strict=True), checksum(path, strict=False)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE invoice_link SET first_seen = '2001-01-01T00:00:00+00:00'")
        conn.execute("UPDATE sync_run SET error = 'history is not data'")
        conn.commit()
    assert checksum(path, strict=False) == loose
    assert checksum(path, strict=True) != strict
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE ledger_invoice SET balance_cents = balance_cents + 1 "
                     "WHERE id = (SELECT MIN(id) FROM ledger_invoice)")
        conn.commit()
    assert checksum(path, strict=False) != loose


def test_the_judge_calls_a_wrong_success_and_a_dirty_failure_data_lost(
        world: World, tmp_path: Path) -> None:
    path = world.fresh_cache("since", "connectwise", tmp_path)
    before = checksum(path, strict=True)
    case = Case("empty", "empty", "qbo", "connectwise", "since", 1)
    succeeded = SyncRun(kind="full", status=SyncStatus.SUCCEEDED)
    failed = SyncRun(kind="full", status=SyncStatus.FAILED, error="step 'x' failed")
    # The template is the state before the book's edits, not a clean dated sync's.
    assert judge(world, case, path, before, succeeded, []).outcome == LOST
    assert judge(world, case, path, before, failed, []).outcome == REPORTED
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM psa_invoice WHERE id = (SELECT MIN(id) FROM psa_invoice)")
        conn.commit()
    assert judge(world, case, path, before, failed, []).outcome == LOST
    leaky = judge(world, case, path, checksum(path, strict=True), failed,
                  [f"refresh_token={world.secrets()[1]}"])
    assert leaky.problems
