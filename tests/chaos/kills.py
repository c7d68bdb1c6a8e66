"""SIGKILL during ``recon-tui sync``: the real CLI in a subprocess against the
emulator (slowed a little per request), killed in its read or its write phase.

The phase is read from the cache itself, the way the history screen reads it:
while a step is fetching, the run's steps are ``running``/``pending`` (read);
once every step is fetched they are all ``pending`` and the apply transaction
runs (write)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.models import SyncStatus
from recon_tui.sandbox.faults import FaultRule
from recon_tui.sync import INTERRUPTED, run_full_sync
from tests.chaos.cases import BROKEN, LOST, RECOVERED, REPORTED
from tests.chaos.checksum import checksum, integrity_ok, run_errors
from tests.chaos.world import SINCE, World, since_for
from tests.emulator import config_file_for

#: Per-request delay while a killed sync runs (a slow link), so kills land in
#: both phases; none for the sync that follows.
LATENCY_MS = 25
POLL_SECONDS = 0.005


def recon_tui_command() -> list[str]:
    """The installed ``recon-tui`` beside this interpreter (the venv's)."""
    script = Path(sys.executable).with_name("recon-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "recon_tui"]


def isolated_env(home: Path) -> dict[str, str]:
    """The environment of a child: its own config and data folders (token files)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECON_TUI_")}
    env.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    return env


def phase_of(path: Path, after_run: int) -> str:
    """start (no new run yet), read, write or done, for the newest run."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as conn:
            run = conn.execute("SELECT id, status FROM sync_run WHERE id > ? ORDER BY id DESC "
                               "LIMIT 1", (after_run,)).fetchone()
            if run is None or run[1] == SyncStatus.PENDING.value:
                return "start"
            if run[1] != SyncStatus.RUNNING.value:
                return "done"
            steps = {r[0] for r in conn.execute("SELECT status FROM sync_step WHERE run_id=?",
                                                (run[0],))}
    except sqlite3.Error:
        return "start"
    return "write" if steps == {SyncStatus.PENDING.value} else "read"


def last_run_id(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT COALESCE(MAX(id), 0) FROM sync_run").fetchone()[0]


def kill_trial(world: World, trial: int, rng: random.Random) -> tuple[str, str, list[str]]:
    """One killed sync: (row, outcome, problems). Even trials aim at the read
    phase, odd ones at the write phase; pairs alternate first and dated syncs."""
    target = ("read", "write")[trial % 2]
    scenario = ("first", "since")[(trial // 2) % 2]
    # Measured with LATENCY_MS: reading takes 1.3-2 s, writing 0.15-0.3 s for a first
    # sync and about 0.08 s for a dated one; a kill past the commit is fine too.
    window = {"read": 1.2, "write": 0.12 if scenario == "first" else 0.05}[target]
    delay = rng.uniform(0, window)
    with tempfile.TemporaryDirectory(prefix="chaos-kill-") as scratch:
        home = Path(scratch)
        path = world.fresh_cache(scenario, "connectwise", home)
        before, after_run = checksum(path, strict=True), last_run_id(path)
        config = config_file_for(world.server, home)
        args = [*recon_tui_command(), "--config", str(config), "--db", str(path), "sync"]
        if since_for(scenario) is not None:
            args += ["--since", SINCE.isoformat()]
        world.plan.reset()
        world.plan.slow_ms = LATENCY_MS
        for system in ("qbo", "token", "connectwise"):
            world.plan.rules.append(FaultRule("slow", system, 1, 1_000_000))
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=isolated_env(home))
        phase, killed = _kill_when(proc, path, after_run, target, delay)
        _, stderr = proc.communicate(timeout=60)
        world.plan.reset()
        if not killed:
            row = "SIGKILL (too late: it had exited)"
        else:
            row = "SIGKILL (after the commit)" if phase == "done" else f"SIGKILL ({phase})"
        problems = [] if integrity_ok(path) else ["PRAGMA integrity_check is not ok"]
        own = _killed_run(path, after_run)
        if own is not None and own[0] in (SyncStatus.FAILED.value, SyncStatus.CANCELLED.value):
            problems.append(f"the sync ended {own[0]} by itself: {own[1]}")
        ref = world.refs[f"{scenario}/connectwise"]
        if checksum(path, strict=True) == before:
            outcome = REPORTED
        elif checksum(path, strict=False) == ref:
            outcome = RECOVERED
        else:
            outcome = LOST
            problems.append("the cache is neither as before nor as a clean sync leaves it")
        text = stderr.decode("utf-8", "replace")
        problems += _next_sync_completes(world, path, scenario, ref, after_run)
        if any(secret in text for secret in world.secrets()):
            problems.append("a secret on stderr")
        if any(secret in e for secret in world.secrets() for e in run_errors(path)):
            problems.append("a secret in the history")
    if problems and outcome != LOST:
        outcome = BROKEN
    return row, outcome, problems


def _killed_run(path: Path, after_run: int) -> tuple[str, str] | None:
    """(status, error) of the run the child started, as it left it."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT status, COALESCE(error, '') FROM sync_run WHERE id > ? "
                           "ORDER BY id LIMIT 1", (after_run,)).fetchone()
    return None if row is None else (row[0], row[1])


def _kill_when(proc: subprocess.Popen[bytes], path: Path, after_run: int, target: str,
               delay: float) -> tuple[str, bool]:
    """SIGKILL ``delay`` s after the sync enters ``target`` (or at once if it got
    past it): (the phase seen last before the kill, whether it was killed)."""
    phase, deadline, fire_at = "start", time.monotonic() + 60, None
    order = ("start", "read", "write", "done")
    seen_read = False
    while proc.poll() is None and time.monotonic() < deadline:
        phase = phase_of(path, after_run)
        # A new run's steps all read pending for a moment before the first one
        # starts fetching: that is the start, not the write phase.
        seen_read = seen_read or phase == "read"
        if phase == "write" and not seen_read:
            phase = "start"
        if fire_at is None and order.index(phase) >= order.index(target):
            fire_at = time.monotonic() + (delay if phase == target else 0)
        if fire_at is not None and time.monotonic() >= fire_at:
            break
        time.sleep(POLL_SECONDS)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        return phase, True
    return "done", False


def _next_sync_completes(world: World, path: Path, scenario: str, ref: str,
                         killed_after: int) -> list[str]:
    cache = Cache(path)
    try:
        with world.connectors("connectwise") as (psa, ledger):
            run = run_full_sync(cache, psa, ledger, since=since_for(scenario))
        killed = [r for r in cache.history.sync_runs()
                  if r.id is not None and killed_after < r.id < run.id]
    finally:
        cache.close()
    problems = []
    if run.status is not SyncStatus.SUCCEEDED:
        problems.append(f"the next sync did not complete: {run.error}")
    elif checksum(path, strict=False) != ref:
        problems.append("the next sync left data unlike a clean sync's")
    problems += [f"the killed run #{r.id} reads {r.status.value}: {r.error}" for r in killed
                 if r.status is SyncStatus.RUNNING or (r.status is SyncStatus.FAILED
                                                       and r.error != INTERRUPTED)]
    return problems
