"""Shared fixtures: every test gets its own cache file and no user config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.log_file import teardown_logging
from tests.chaos.summary import pytest_terminal_summary  # noqa: F401  (the chaos table)
from tests.snapshot_support import (  # noqa: F401  (the snapshot tests' app, in a fixed folder)
    snapshot_app,
    snapshot_clock,
    snapshot_demo,
    snapshot_folder,
)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never read or write the developer's real config or cache."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("RECON_TUI_CONFIG", raising=False)
    monkeypatch.delenv("RECON_TUI_DB", raising=False)
    # Never the developer's own keyring: a test that wants one installs a backend
    # (keyring.set_keyring); everything else sees "no keyring" and stores inline.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    # A command run in a test logs to the test's own folder, and stops after it.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv("RECON_TUI_LOG", raising=False)
    yield
    teardown_logging()


@pytest.fixture
def cache(tmp_path: Path):
    c = Cache(tmp_path / "cache.db")
    yield c
    c.close()
