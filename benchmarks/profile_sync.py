"""Profile the sync, the daily sync and the full recompute under cProfile.

    python benchmarks/profile_sync.py [--clients N --invoices N] [--out DIR]

The same book and emulator child as ``bench.py``; writes one ``.prof`` per step
(read them with ``python -m pstats``) and prints the top functions by own time,
so a change to the sync's hot path starts from what the profile says. Each
thread is timed by its own CPU clock (``time.thread_time``), not the wall clock:
with the two systems read at once, a wall-clock profile charges a function the
time its thread waited for the GIL or the network.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


#: Profiles of the fetch threads (each step's read runs in a thread of its own,
#: which the main thread's profile does not see).
THREADS: list[cProfile.Profile] = []


def profile_fetch_threads() -> None:
    """Wrap each step's staging in a profile of its own thread."""
    import recon_tui.sync as sync

    staged = sync._stage_step

    def wrapped(*args: Any, **kwargs: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        THREADS.append(profile)
        profile.runcall(staged, *args, **kwargs)

    sync._stage_step = wrapped  # type: ignore[assignment]
    profile_pool_work()


def profile_pool_work() -> None:
    """Profile each job of a thread pool too: the concurrent pages (QBO's
    windows, ConnectWise's payment reads) run in pool threads of their own."""
    from concurrent.futures import thread

    run = thread._WorkItem.run

    def wrapped(item: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        THREADS.append(profile)
        profile.runcall(run, item)

    thread._WorkItem.run = wrapped  # type: ignore[method-assign]


def profiled(name: str, out: Path, fn: Callable[[], object], top: int) -> None:
    """Run ``fn`` under cProfile, keep the profile (main thread and fetch threads
    merged), print its top entries."""
    profile = cProfile.Profile(time.thread_time)
    THREADS.clear()
    started = time.process_time()
    profile.runcall(fn)
    used = time.process_time() - started
    stats = pstats.Stats(profile, *THREADS)
    path = out / f"{name}.prof"
    stats.dump_stats(str(path))
    print(f"== {name}: {used:.2f} s CPU (profiled, {len(THREADS)} thread jobs) -> {path}")
    stats.strip_dirs().sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    from bench import bench_daily, bench_recompute, bench_sync
    from emulator_child import emulator_child

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--invoices", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    profile_fetch_threads()
    with tempfile.TemporaryDirectory(prefix="recon-prof-") as folder:
        work = Path(folder)
        db = work / "cache.db"
        with emulator_child(args.clients, args.invoices, work) as url:
            profiled("full_sync", args.out, lambda: bench_sync(url, db, 0), args.top)
            profiled("daily_sync", args.out, lambda: bench_daily(url, db, 500), args.top)
        profiled("recompute", args.out, lambda: bench_recompute(db), args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
