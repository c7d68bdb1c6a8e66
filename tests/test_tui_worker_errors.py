"""A worker that raises: one line on screen, the traceback in the support log,
no secret in either, and the app still running."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from recon_tui import scrub
from recon_tui.config import Secret
from recon_tui.log_file import setup_logging, teardown_logging
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.why import WhyScreen
from tests.test_tui import SIZE, make_app, screen_text
from tests.waits import wait_until

SECRET = "cs-never-show-me-42"


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    scrub.forget_all()
    root_level = logging.getLogger().level
    path = setup_logging("info", path=tmp_path / "state" / "recon-tui.log")
    yield path
    teardown_logging()
    logging.getLogger().setLevel(root_level)
    scrub.forget_all()


def errors(app: ReconApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


def explode(*_args: object, **_kwargs: object) -> None:
    revealed = Secret(SECRET).reveal()
    raise RuntimeError(f"the server said no to {revealed}\nsecond line\nthird line")


def assert_one_clean_line(line: str, log_path: Path) -> None:
    assert "\n" not in line and "Traceback" not in line and SECRET not in line
    assert "RuntimeError: the server said no to ********" in line
    assert str(log_path) in line  # where support finds the details


async def test_a_screen_worker_that_raises_shows_one_line_and_logs_the_traceback(
        tmp_path: Path, log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import recon_tui.tui.screens.why as why

    monkeypatch.setattr(why, "explain_invoice", explode)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, WhyScreen))
        await pilot.press(*"1001", "enter")
        await wait_until(pilot, lambda: errors(app))
        [line] = errors(app)
        assert line.startswith("Why failed: ")
        assert_one_clean_line(line, log_path)
        await pilot.pause()
        assert app.is_running and app.return_code is None  # the bug did not end the app
        assert "Traceback" not in screen_text(app) and SECRET not in screen_text(app)
    text = log_path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "in explode" in text
    assert "RuntimeError: the server said no to ********" in text
    assert "worker 'why' (group 'why') failed" in text
    assert SECRET not in text


async def test_an_app_worker_that_raises_is_reported_the_same_way(
        tmp_path: Path, log_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.run_worker(explode, thread=True, name="nightly check")
        await wait_until(pilot, lambda: errors(app))
        [line] = errors(app)
        assert line.startswith("Nightly check failed: ")
        assert_one_clean_line(line, log_path)
        assert app.is_running
    text = log_path.read_text(encoding="utf-8")
    assert "worker 'nightly check'" in text and "in explode" in text and SECRET not in text


async def test_without_a_log_the_line_names_no_file(tmp_path: Path) -> None:
    teardown_logging()
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.run_worker(explode, thread=True)  # named after the function
        await wait_until(pilot, lambda: errors(app))
        [line] = errors(app)
        assert line.startswith("Explode failed: RuntimeError: the server said no to ****")
        assert "details in" not in line and SECRET not in line
