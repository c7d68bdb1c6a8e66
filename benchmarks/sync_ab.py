"""The full sync's and the daily sync's CPU, two source trees side by side.

    python benchmarks/sync_ab.py OTHER_TREE [--this TREE] [--clients N --invoices N]
                                 [--rounds N]

A change to the sync's hot path is judged against the code before it on a
loaded machine: one emulator child serves the book (as ``bench.py`` does), then
each round runs a fresh full sync and the daily sync once with ``OTHER_TREE``'s
``recon_tui`` (e.g. ``git archive <base> | tar -x -C /tmp/base``) and once with
this tree's (or ``--this``'s, a snapshot, so editing can go on meanwhile),
alternating (which goes first flips each round), each in a process of its own;
it prints every run and each side's best (the least disturbed by the other
engineers' work).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from emulator_child import emulator_child  # noqa: E402 (a script beside it)

#: What each run's child does: a full sync into a fresh cache, then the daily sync.
_CHILD = """
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, {bench!r})
import bench
url = sys.argv[1]
with tempfile.TemporaryDirectory() as folder:
    db = Path(folder) / "cache.db"
    bench.ROWS.clear()
    bench.bench_sync(url, db, 0)
    bench.bench_daily(url, db, {changed})
    print("RESULT " + json.dumps({{r[0]: r[1:] for r in bench.ROWS}}))
"""


def run(tree: Path, url: str, changed: int) -> dict[str, list[str]]:
    """One full sync and one daily sync with ``tree``'s code; their figures
    (value, floor, ratio), as ``bench.py`` prints them."""
    # The tree's own bench.py: it puts its tree first on the path.
    code = _CHILD.format(bench=str(tree / "benchmarks"), changed=changed)
    done = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                          cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=False)
    for text in done.stdout.splitlines():
        if text.startswith("RESULT "):
            return json.loads(text.removeprefix("RESULT "))  # type: ignore[no-any-return]
    raise RuntimeError(f"{tree}: no result\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path)
    parser.add_argument("--this", type=Path, default=ROOT)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--invoices", type=int, default=20000)
    parser.add_argument("--changed", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    figures = ("full sync, recon-tui's CPU", f"daily sync ({args.changed} changed), "
               "recon-tui's CPU")
    trees = {"other": args.other.resolve(), "this": args.this.resolve()}
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="recon-ab-") as folder, emulator_child(
            args.clients, args.invoices, Path(folder)) as url:
        for round_no in range(args.rounds):
            # Each daily sync pays more invoices in the one book, so a later
            # run reads a little more: the order flips every round.
            order = list(trees.items())
            for name, tree in order if round_no % 2 == 0 else reversed(order):
                result = run(tree, url, args.changed)
                shown = []
                for figure in figures:
                    value, floor, ratio = result[figure]
                    seconds = float(value.split()[0])
                    key = (name, figure)
                    best[key] = min(best.get(key, seconds), seconds)
                    shown.append(f"{figure.split(',')[0]} {seconds:.2f} s ({ratio} of "
                                 f"{floor.split(' (')[0]})")
                print(f"round {round_no + 1} {name:<5}  " + "  ".join(shown), flush=True)
    for figure in figures:
        print(f"best {figure}: other {best[('other', figure)]:.2f} s -> "
              f"this {best[('this', figure)]:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
