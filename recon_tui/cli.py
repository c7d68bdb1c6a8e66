"""Command line: the TUI by default; errors are one clear line, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from recon_tui import __version__

DESCRIPTION = """\
recon-tui: find and fix invoice discrepancies between your PSA (ConnectWise PSA,
Autotask) and your accounting ledger (QuickBooks Online), from one keyboard-driven
screen backed by a local SQLite cache that opens instantly and works offline.

With no configuration it opens the bundled demo book in its own cache file.
"""

EPILOG = """\
configuration:
  --config PATH, else $RECON_TUI_CONFIG, else ~/.config/recon-tui/config.toml if it
  exists; with none of them recon-tui runs the demo. See config.example.toml.

cache:
  --db PATH, else $RECON_TUI_DB, else ~/.local/share/recon-tui/cache.db
  (the demo uses demo.db beside it, never your real cache).

keys in the app: ? for help, ctrl+p for the command palette, q to quit.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recon-tui", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"recon-tui {__version__}")
    parser.add_argument("--config", metavar="PATH", help="configuration file (TOML)")
    parser.add_argument("--db", metavar="PATH", help="cache file (SQLite)")
    parser.add_argument("--demo", action="store_true",
                        help="open the bundled demo book even when a configuration exists")
    parser.add_argument("--reset-demo", action="store_true",
                        help="rebuild the demo cache from the bundled sample data")
    return parser


def _fail(message: str) -> int:
    print(f"recon-tui: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from recon_tui.cache import CacheError
    from recon_tui.config import Config, ConfigError, load_config, resolve_config_path
    from recon_tui.paths import resolve_cache_path

    try:
        config = Config.default() if args.demo else load_config(resolve_config_path(args.config))
    except ConfigError as exc:
        return _fail(str(exc))
    demo = args.demo or config.is_demo
    cache_path = resolve_cache_path(args.db, demo=demo)

    if args.reset_demo:
        if not demo:
            return _fail("--reset-demo only applies to the demo (no [ledger]/[psa] configured)")
        from recon_tui.demo import reset_demo_cache

        reset_demo_cache(cache_path)

    sample_dir: Path | None = None
    if demo:
        from recon_tui.connectors.sample import sample_data_dir

        try:
            sample_dir = sample_data_dir()
        except FileNotFoundError as exc:
            return _fail(str(exc))

    from recon_tui.tui.app import ReconApp

    try:
        app = ReconApp(config=config, cache_path=cache_path, demo=demo, sample_dir=sample_dir)
        app.run()
    except CacheError as exc:
        return _fail(str(exc))
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
