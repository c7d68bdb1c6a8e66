"""`--log-level` starts the support log for every command; a log that cannot be
written costs the log, never the command."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from recon_tui.cli import launches_app, main
from recon_tui.log_file import current_log_path


def test_a_command_logs_to_the_state_directory_at_the_level_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.db"
    assert main(["--log-level", "debug", "history", "--demo", "--db", str(db)]) == 0
    path = current_log_path()
    assert path == tmp_path / "xdg-state" / "recon-tui" / "recon-tui.log"
    logging.getLogger("recon_tui.test").debug("token refresh_token=abc123 seen")
    logging.getLogger().handlers[-1].flush()
    text = path.read_text(encoding="utf-8")
    assert "token refresh_token=" in text and "abc123" not in text
    # The default keeps warnings and above only.
    assert main(["history", "--demo", "--db", str(db)]) == 0
    logging.getLogger("recon_tui.test").info("not kept")
    assert "not kept" not in path.read_text(encoding="utf-8")


def test_an_unwritable_log_folder_is_one_line_and_the_command_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("RECON_TUI_LOG", str(blocker / "logs" / "recon-tui.log"))
    assert main(["history", "--demo", "--db", str(tmp_path / "c.db")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no support log" in err and "Traceback" not in err


def test_the_log_level_is_an_option_of_a_plain_launch() -> None:
    assert launches_app(["--log-level", "debug", "--demo"])
    assert launches_app(["--log-level=info"])
    assert not launches_app(["--log-level"])  # the full parser says the value is missing
