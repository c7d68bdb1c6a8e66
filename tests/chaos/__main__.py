"""The chaos run as a command, printing the table:

    .venv/bin/python -m tests.chaos            # CI scale: a page per fault, 5 kills, 1 race
    .venv/bin/python -m tests.chaos --long     # every page, 50 kills, 10 races
    .venv/bin/python -m tests.chaos --long --seed 7   # replay a run (the seed is printed)

Exit status 1 when anything was lost or broken.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.cases import BROKEN, LOST, all_cases, run_case
from tests.chaos.kills import kill_trial
from tests.chaos.race import race_trial
from tests.chaos.table import LEGEND, render, tally
from tests.chaos.world import open_world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true",
                        help="every page of every read, 50 kills, 10 races")
    parser.add_argument("--seed", type=int, default=None, help="replay a run")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILL trials")
    parser.add_argument("--races", type=int, default=None, help="two-process token races")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    kills = args.kills if args.kills is not None else (50 if args.long else 5)
    races = args.races if args.races is not None else (10 if args.long else 1)
    print(f"chaos: seed {seed} ({'long' if args.long else 'CI scale'}; "
          f"replay with --seed {seed})", flush=True)
    rows: list[tuple[str, str]] = []
    bad: list[str] = []
    started = time.monotonic()

    def record(row: str, outcome: str, what: str, problems: list[str], error: str = "") -> None:
        rows.append((row, outcome))
        detail = "; ".join(problems) or error
        print(f"  {outcome:9} {what}" + (f": {detail[:160]}" if detail else ""), flush=True)
        if outcome in (LOST, BROKEN):
            bad.append(f"{what}: {'; '.join(problems)}")

    with tempfile.TemporaryDirectory(prefix="chaos-") as shared, open_world(Path(shared)) as world:
        rng = random.Random(seed)
        for case in all_cases(world, rng=None if args.long else rng):
            verdict = run_case(world, case)
            if not verdict.fired:
                verdict.problems.append("the fault never fired (harness defect)")
            record(case.row, verdict.outcome, case.name, verdict.problems, verdict.error)
        for trial in range(kills):
            row, outcome, problems = kill_trial(world, trial, rng)
            record(row, outcome, f"kill #{trial + 1} {row}", problems)
        for trial in range(races):
            row, outcome, problems = race_trial(world)
            record(row, outcome, f"race #{trial + 1}", problems)
    print()
    print(render(tally(rows)))
    print(f"\n{LEGEND}.")
    print(f"seed {seed}; {len(rows)} trials in {time.monotonic() - started:.0f} s")
    for line in bad:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
