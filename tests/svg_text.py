"""Read a Textual snapshot SVG as plain text, to review a screen without a browser.

A snapshot is one ``<text>`` element per run of same-styled cells, each clipped to
its terminal line (``clip-path="url(#terminal-line-N)"``) and placed at ``x`` in
pixels (Textual draws a cell 12.2 px wide). Grouping the runs by line and laying
them out by ``x`` gives back the screen's characters; wide characters (CJK) take
two cells, so the gap before the next run is measured in cells, not characters.

    .venv/bin/python -m tests.svg_text 'tests/__snapshots__/test_snapshots/*80x24*.svg'
"""

from __future__ import annotations

import glob
import html
import re
import sys
from collections import defaultdict
from pathlib import Path

from rich.cells import cell_len

#: The width of one terminal cell in Textual's SVG export (``export_screenshot``).
CELL_WIDTH = 12.2
_TEXT = re.compile(
    r'<text class="[^"]*" x="(?P<x>[\d.]+)" y="[\d.]+" textLength="[\d.]+" '
    r'clip-path="url\(#[\w-]*?line-(?P<line>\d+)\)">(?P<body>[^<]*)</text>')


def screen_lines(svg: str) -> list[str]:
    """The terminal's lines, top to bottom, trailing spaces dropped."""
    runs: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for match in _TEXT.finditer(svg):
        column = round(float(match["x"]) / CELL_WIDTH)
        runs[int(match["line"])].append((column, html.unescape(match["body"])))
    if not runs:
        return []
    lines = []
    for number in range(max(runs) + 1):
        line = ""
        for column, body in sorted(runs.get(number, [])):
            width = cell_len(line)
            if column > width:
                line += " " * (column - width)
            line += body
        lines.append(line.replace("\xa0", " ").rstrip())
    return lines


def screen_text(path: Path) -> str:
    return "\n".join(screen_lines(path.read_text(encoding="utf-8")))


def main(argv: list[str]) -> int:
    """Print each named snapshot (globs allowed) framed by its file name."""
    paths = [Path(p) for pattern in argv for p in sorted(glob.glob(pattern))]
    if not paths:
        print("usage: python -m tests.svg_text SNAPSHOT.svg [...]", file=sys.stderr)
        return 2
    for path in paths:
        print(f"==== {path.name}")
        print(screen_text(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
