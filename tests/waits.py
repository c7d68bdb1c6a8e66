"""Waiting in Pilot tests on a condition, never on a fixed pause.

A fixed ``pilot.pause(0.3)`` is either too long (a slow suite) or too short on a
loaded machine (a flaky one). ``wait_until`` polls the condition the test is
about; ``wait_for_text`` is the common case of a screen that paints in the
background (the command palette searches in a worker); ``quiet`` lets every
worker finish and two frames paint, for tests that assert something did NOT
happen after a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: How long a condition may take before the test fails, in seconds (a loaded CI
#: machine can be slow; a passing test never waits this long).
TIMEOUT_SECONDS = 30.0
_STEP_SECONDS = 0.05


async def wait_until(pilot: Any, condition: Callable[[], object],
                     timeout: float = TIMEOUT_SECONDS) -> None:
    """Return as soon as ``condition()`` is true; fail the test after ``timeout``."""
    for _ in range(int(timeout / _STEP_SECONDS)):
        if condition():
            return
        await pilot.pause(_STEP_SECONDS)
    if not condition():
        raise AssertionError("condition never became true")


async def wait_for_text(pilot: Any, text: str, screen_text: Callable[[Any], str],
                        timeout: float = TIMEOUT_SECONDS) -> str:
    """Wait until ``text`` is on the app's screen; return the screen's text."""
    await wait_until(pilot, lambda: text in screen_text(pilot.app), timeout)
    return screen_text(pilot.app)


async def quiet(pilot: Any) -> None:
    """Every worker finished and the screen repainted: what a key did, it has done."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()
