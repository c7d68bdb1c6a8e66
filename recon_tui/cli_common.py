"""What every command shares: the one-line error, the global options, loading
the configuration and opening the cache."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from recon_tui.cache import Cache
    from recon_tui.config import Config


class CliError(Exception):
    """One line for stderr, and the exit status to end with."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def common_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Global options, accepted before or after the subcommand."""
    import argparse

    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--config", metavar="PATH", default=default,
                        help="configuration file (TOML)")
    parser.add_argument("--db", metavar="PATH", default=default, help="cache file (SQLite)")
    parser.add_argument("--demo", action="store_true",
                        default=argparse.SUPPRESS if suppress else False,
                        help="use the bundled demo book even when a configuration exists")
    parser.add_argument("--log-level", choices=("debug", "info", "warning"),
                        default=argparse.SUPPRESS if suppress else "warning",
                        help="what the support log keeps (recon-tui.log in the user state "
                        "directory, or $RECON_TUI_LOG; secrets masked): debug for support")


def load_settings(args: argparse.Namespace) -> tuple[Config, bool, Path]:
    from recon_tui.config import Config, ConfigError, load_config, resolve_config_path
    from recon_tui.paths import resolve_cache_path

    try:
        config = Config.default() if args.demo else load_config(
            resolve_config_path(args.config))
    except ConfigError as exc:
        lines = [str(e) for e in getattr(exc, "errors", None) or [exc]]
        raise CliError("\n".join(lines)) from exc
    demo = args.demo or config.is_demo
    return config, demo, resolve_cache_path(args.db, demo=demo)


def open_cache(path: Path, *, read_only: bool = False) -> Cache:
    """The cache; read-only commands create nothing (no folder, no file)."""
    from recon_tui.cache import Cache, CacheError

    try:
        return Cache(path, read_only=read_only)
    except CacheError as exc:
        raise CliError(str(exc)) from exc


def say(message: str) -> None:
    """One line (or the config's list of lines) on stderr: no secret, no terminal
    control sequence from the data."""
    from recon_tui.scrub import scrub
    from recon_tui.text import printable

    lines = [printable(scrub(line)) for line in message.splitlines() or [""]]
    print("\n".join(f"recon-tui: {line}" if i == 0 else line
                    for i, line in enumerate(lines)), file=sys.stderr)
