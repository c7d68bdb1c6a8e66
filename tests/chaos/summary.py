"""Print the chaos table after a run that included the chaos tests: a hook the
root tests/conftest.py imports (xdist's controller loads no deeper conftest)."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = [value for reports in terminalreporter.stats.values() for report in reports
            if getattr(report, "when", None) == "call"
            for name, value in getattr(report, "user_properties", ()) if name == "chaos"]
    if rows:
        from tests.chaos.table import LEGEND, render, tally  # late: keeps conftest light

        terminalreporter.write_sep("-", "chaos (CI scale; python -m tests.chaos --long for more)")
        terminalreporter.write_line(render(tally(tuple(r) for r in rows)))
        terminalreporter.write_line(LEGEND)
