"""The support log: where it goes, what it keeps out (secrets), how it rotates."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from recon_tui import scrub
from recon_tui.config import Secret
from recon_tui.log_file import (
    current_log_path,
    default_log_path,
    parse_level,
    setup_logging,
    teardown_logging,
)

SECRET = "cs-never-show-me-42"


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    scrub.forget_all()
    root_level = logging.getLogger().level
    yield
    teardown_logging()
    logging.getLogger().setLevel(root_level)
    scrub.forget_all()


def test_the_default_file_is_in_the_user_state_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_log_path(environ={}) == tmp_path / "state" / "recon-tui" / "recon-tui.log"
    assert default_log_path(environ={"RECON_TUI_LOG": str(tmp_path / "x.log")}) == (
        tmp_path / "x.log")


def test_a_logged_secret_is_redacted(tmp_path: Path) -> None:
    path = setup_logging("info", path=tmp_path / "logs" / "recon-tui.log")
    assert current_log_path() == path
    revealed = Secret(SECRET).reveal()  # what a connector does before its first request
    log = logging.getLogger("recon_tui.test")
    log.info("token request body: client_secret=%s&grant_type=refresh_token", revealed)
    log.info("headers: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig")
    log.info("form: refresh_token=AB11-unseen-token-0042&password=hunter2-pass")
    try:
        raise RuntimeError(f"the server echoed {revealed} back")
    except RuntimeError:
        log.exception("the step failed")
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    for leaked in ("eyJhbGciOiJIUzI1NiJ9", "AB11-unseen-token-0042", "hunter2-pass"):
        assert leaked not in text
    assert text.count("********") >= 5
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text
    assert "the step failed" in text and "recon_tui.test" in text


def test_the_level_is_settable_and_a_second_setup_replaces_the_first(tmp_path: Path) -> None:
    first = setup_logging("warning", path=tmp_path / "a.log")
    logging.getLogger("recon_tui.x").info("not at warning")
    logging.getLogger("recon_tui.x").warning("kept")
    second = setup_logging("debug", path=tmp_path / "b.log")
    logging.getLogger("recon_tui.x").debug("debug kept")
    teardown_logging()
    assert first.read_text(encoding="utf-8").count("\n") == 1
    assert "kept" in first.read_text(encoding="utf-8")
    assert "debug kept" in second.read_text(encoding="utf-8")
    assert current_log_path() is None
    with pytest.raises(ValueError, match="choose one of debug, info, warning"):
        parse_level("loud")
    assert parse_level(" DEBUG ") == logging.DEBUG


def test_the_file_rotates(tmp_path: Path) -> None:
    path = setup_logging("info", path=tmp_path / "recon-tui.log", max_bytes=2_000, backups=2)
    log = logging.getLogger("recon_tui.test")
    for n in range(200):
        log.info("line %03d %s", n, "x" * 40)
    teardown_logging()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["recon-tui.log", "recon-tui.log.1", "recon-tui.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2_000 for name in files)
    assert "line 199" in path.read_text(encoding="utf-8")  # the newest is the live file
