"""The chaos table: per fault, how many cases ended which way."""

from __future__ import annotations

from collections.abc import Iterable

from tests.chaos.cases import BROKEN, LOST, RECOVERED, REPORTED

COLUMNS = ("fault", "tried", RECOVERED, REPORTED, LOST, BROKEN)
LEGEND = (f"{RECOVERED}: the same data as a clean sync; {REPORTED}: failed with a one-line "
          f"error, cache data byte-identical to before (a kill: as before, or as a clean sync, "
          f"and the next sync completes); {LOST}: anything else in the cache (must be 0); "
          f"{BROKEN}: nothing lost but a traceback, a multi-line error, a secret in an error "
          f"or log, credentials sent to a foreign host, or a needless failure (must be 0)")


def tally(rows: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """(row, outcome) pairs -> counts per row, rows in first-seen order."""
    out: dict[str, dict[str, int]] = {}
    for row, outcome in rows:
        counts = out.setdefault(row, dict.fromkeys(COLUMNS[1:], 0))
        counts["tried"] += 1
        counts[outcome] += 1
    return out


ORDER = ("empty", "short", "nokey", "repeat", "foreign", "echo 502", "echo 403", "truncated",
         "SIGKILL (read)", "SIGKILL (write)", "SIGKILL (after the commit)")


def _position(row: str) -> tuple[int, str]:
    return (ORDER.index(row) if row in ORDER else len(ORDER), row)


def render(counts: dict[str, dict[str, int]]) -> str:
    """A markdown table (it reads as plain text too), rows in a fixed order."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row, values in sorted(counts.items(), key=lambda item: _position(item[0])):
        lines.append(f"| {row} | " + " | ".join(str(values[c]) for c in COLUMNS[1:]) + " |")
    return "\n".join(lines)
