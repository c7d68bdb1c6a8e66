"""A plain launch's options are read without argparse (issue 12): the same
namespace the parser makes, or None and the parser reads them (same messages)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from recon_tui.cli import build_parser, launch_options, launches_app

ROOT = Path(__file__).resolve().parents[1]

#: Every option of a plain launch, in each spelling, with good and bad values.
PARTS = (["--demo"], ["--reset-demo"], ["--config", "a.toml"], ["--config=b.toml"],
         ["--config="], ["--db", "c.db"], ["--db=d.db"], ["--db", ""], ["--log-level", "debug"],
         ["--log-level=info"], ["--log-level", "loud"], ["--log-level=warning"],
         ["--config", "-x.toml"], ["--db=-e.db"], ["--db"], ["--config", "--demo"])


def parsed(argv: list[str]) -> dict[str, object] | None:
    """What argparse makes of argv, or None when it refuses it."""
    try:
        return vars(build_parser(commands=False).parse_args(argv))
    except SystemExit:
        return None


@pytest.mark.parametrize("argv", [
    [*a, *b] for a, b in itertools.product(PARTS, repeat=2)] + [[]] + [[*p] for p in PARTS])
def test_launch_options_are_what_the_parser_makes(argv: list[str]) -> None:
    if not launches_app(argv):
        return  # main() builds the full parser for these
    fast = launch_options(argv)
    if fast is not None:
        assert vars(fast) == parsed(argv)


def test_only_a_value_the_parser_reads_its_own_way_goes_to_the_parser() -> None:
    assert launch_options(["--config", "a.toml", "--demo"]) is not None
    assert launch_options(["--db=-e.db"]) is not None  # after '=', any text is the value
    for argv in (["--log-level", "loud"], ["--config", "-x.toml"], ["--db"],
                 ["--config", "--demo"]):
        assert launch_options(argv) is None, argv


def test_a_launch_imports_no_argparse(tmp_path: Path) -> None:
    """The entry point's import and its reading of a plain launch's options."""
    code = ("import sys\nfrom recon_tui.cli import launch_options\n"
            "assert launch_options(['--demo', '--db', 'x.db']).db == 'x.db'\n"
            "print('argparse' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
