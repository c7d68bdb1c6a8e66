"""Where recon-tui keeps its files (XDG via platformdirs), with overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "recon-tui"
DB_ENV = "RECON_TUI_DB"


def data_dir() -> Path:
    """The user data directory (``$XDG_DATA_HOME/recon-tui`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_cache_path(*, demo: bool) -> Path:
    """The cache for real accounts, or the demo's own file so the demo never
    touches a user's real cache."""
    return data_dir() / ("demo.db" if demo else "cache.db")


def resolve_cache_path(
    cli_path: str | None, *, demo: bool, environ: Mapping[str, str] = os.environ
) -> Path:
    """``--db`` wins, then ``RECON_TUI_DB``, then the default for the mode."""
    if cli_path:
        return Path(cli_path).expanduser()
    if environ.get(DB_ENV):
        return Path(environ[DB_ENV]).expanduser()
    return default_cache_path(demo=demo)
