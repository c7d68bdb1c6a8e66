"""Command line: the TUI by default, headless subcommands for scripts and cron.

The parser and the dispatch live here; each subcommand sits in its own module
(``cli_sync``: sync, resync, history; ``cli_report``; ``cli_find``; ``cli_import``; ``cli_connect``:
connect, doctor; ``cli_sandbox``) with its parser beside it.

Every failure is one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from recon_tui import __version__, launch_gc
from recon_tui.cli_common import CliError, common_options, load_settings, say

if TYPE_CHECKING:
    import argparse

    from recon_tui.config import Config

DESCRIPTION = """\
recon-tui: find and fix invoice discrepancies between your PSA (ConnectWise PSA,
Autotask) and your accounting ledger (QuickBooks Online; QuickBooks Desktop through
the Web Connector; Sage 50 by its exports), from one keyboard-driven screen backed
by a local SQLite cache that opens instantly and works offline.

With no configuration it opens the bundled demo book: an emulator of the three
APIs starts in-process on a loopback port and the real connectors load it into a
cache file of its own.
"""

EPILOG = """\
commands:
  (none)          open the app
  sync            full sync from a date: PSA first, then the ledger
  resync NUMBER   refetch one invoice from both systems and show before -> after
  history         list recorded syncs, or one run's steps and changes
  report          write the reconciliation snapshot (xlsx, csv, json or md)
  import FORMAT FILE...
                  Sage 50 or QuickBooks Desktop exports as the ledger of a sync
                  (--dry-run shows the changes and writes nothing)
  sandbox         run the emulator of QBO, ConnectWise and Autotask on loopback
  qbwc serve|qwc  QuickBooks Desktop: run the Web Connector service (each poll
                  syncs), or write the .qwc file to add to the Web Connector

configuration:
  --config PATH, else $RECON_TUI_CONFIG, else ~/.config/recon-tui/config.toml if it
  exists; with none of them recon-tui runs the demo. See config.example.toml.

cache:
  --db PATH, else $RECON_TUI_DB, else ~/.local/share/recon-tui/cache.db
  (the demo uses demo.db beside it, never your real cache).

exit status: 0 success, 1 a sync or resync failed, 2 bad usage, configuration or
an unusable cache, 3 report --fail-on-discrepancy found a discrepancy, 128+N a
signal N stopped it (130 Ctrl+C, 143 SIGTERM; a sync is recorded cancelled).
keys in the app: ? for help, ctrl+p for the command palette, q to quit.
"""


#: The options a plain launch of the app may carry (with their values, for the
#: first set); an argv of only these needs no subcommand parsers.
_LAUNCH_VALUED = frozenset({"--config", "--db", "--log-level"})
_LAUNCH_FLAGS = frozenset({"--demo", "--reset-demo"})


def launches_app(argv: Sequence[str]) -> bool:
    """Only the app's own options: the subcommands' parsers (which import the
    onboarding flows, and through them httpx) are not built, since launch time is
    mostly import time. Anything else (a command, --help, an abbreviation) gets
    the full parser, so what is accepted and every message stay the same."""
    args = iter(argv)
    for arg in args:
        name, has_value, _ = arg.partition("=")
        if arg in _LAUNCH_FLAGS:
            continue
        if name in _LAUNCH_VALUED:
            if not has_value and next(args, None) is None:
                return False  # let the full parser say the value is missing
            continue
        return False
    return True


#: ``--log-level``'s choices (``cli_common.common_options``).
_LOG_LEVELS = ("debug", "info", "warning")


def launch_options(argv: Sequence[str]) -> argparse.Namespace | None:
    """What the parser makes of a plain launch's argv (:func:`launches_app`),
    read without argparse (importing and building it is a launch's few ms), or
    None for anything it might read otherwise or refuse (a value that starts
    with ``-``, a log level it does not know): the parser then reads it, so what
    is accepted and every message stay the same."""
    options = {"config": None, "db": None, "demo": False, "log_level": "warning",
               "reset_demo": False, "command": None}
    args = iter(argv)
    for arg in args:
        if arg in _LAUNCH_FLAGS:
            options[arg[2:].replace("-", "_")] = True
            continue
        name, has_value, value = arg.partition("=")
        if not has_value:
            value = next(args, "-")
            if value.startswith("-"):
                return None
        if name not in _LAUNCH_VALUED or (name == "--log-level" and value not in _LOG_LEVELS):
            return None
        options[name[2:].replace("-", "_")] = value
    return SimpleNamespace(**options)  # type: ignore[return-value]


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The command line; ``commands=False`` leaves the subcommands out (see
    :func:`launches_app`). Each subcommand's parser lives beside its command."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="recon-tui", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"recon-tui {__version__}")
    common_options(parser, suppress=False)
    parser.add_argument("--reset-demo", action="store_true",
                        help="rebuild the demo cache from the bundled sample data")
    if not commands:
        parser.set_defaults(command=None)
        return parser
    from recon_tui.cli_connect import connect_parser, doctor_parser
    from recon_tui.cli_find import find_parser
    from recon_tui.cli_import import import_parser
    from recon_tui.cli_qbwc import qbwc_parser
    from recon_tui.cli_report import report_parser
    from recon_tui.cli_sandbox import sandbox_parser
    from recon_tui.cli_sync import history_parser, resync_parser, sync_parser

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (sync_parser, resync_parser, history_parser, report_parser, find_parser,
                import_parser, connect_parser, doctor_parser, sandbox_parser, qbwc_parser):
        add(sub)
    return parser


def _first_launch(args: argparse.Namespace, config: Config, demo: bool, cache_path: Path
                  ) -> Path | None:
    """The config path to offer connecting to, on the very first launch only: no
    config anywhere, the demo not asked for, and no demo cache yet."""
    if not demo or getattr(args, "demo", False) or config.path is not None:
        return None
    if cache_path.exists():
        return None
    from recon_tui.onboarding.psa_answers import config_target

    return config_target(getattr(args, "config", None))


def cmd_tui(args: argparse.Namespace) -> int:
    config, demo, cache_path = load_settings(args)
    if args.reset_demo and not demo:
        raise CliError("--reset-demo only applies to the demo (no [ledger]/[psa] "
                       "configured)")
    from recon_tui.cli_root import open_session

    session = open_session(config, demo, cache_path)
    if args.reset_demo:
        session.reset_demo()
    from recon_tui.cache import CacheError
    from recon_tui.tui.app import ReconApp

    welcome = _first_launch(args, config, demo, cache_path)
    try:
        app = ReconApp(session, welcome=welcome)
        app.run()  # resumes the collector main() paused, once its first frame is shown
    except CacheError as exc:
        raise CliError(str(exc)) from exc
    return app.return_code or 0


#: command -> (module, function); no command opens the app. A command's module is
#: imported only when it runs, since launch time is mostly import time.
COMMANDS: dict[str, tuple[str, str]] = {
    "sync": ("recon_tui.cli_sync", "cmd_sync"),
    "resync": ("recon_tui.cli_sync", "cmd_resync"),
    "history": ("recon_tui.cli_sync", "cmd_history"),
    "find": ("recon_tui.cli_find", "cmd_find"),
    "report": ("recon_tui.cli_report", "cmd_report"),
    "import": ("recon_tui.cli_import", "cmd_import"),
    "sandbox": ("recon_tui.cli_sandbox", "cmd_sandbox"),
    "connect": ("recon_tui.cli_connect", "cmd_connect"),
    "doctor": ("recon_tui.cli_connect", "cmd_doctor"),
    "qbwc": ("recon_tui.cli_qbwc", "cmd_qbwc"),
}


def _command(name: str | None) -> Callable[[argparse.Namespace], int]:
    if name is None:
        return cmd_tui
    module, function = COMMANDS[name]
    return getattr(importlib.import_module(module), function)


def _start_support_log(level: str) -> None:
    """The rotating, scrubbed support log (``recon_tui.log_file``); a folder that
    cannot be written costs the log, never the command (one line says so)."""
    from recon_tui.log_file import default_log_path, setup_logging

    try:
        setup_logging(level)
    except OSError as exc:
        say(f"no support log ({default_log_path()}: {exc.strerror or exc}); going on without it")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    app = launches_app(argv)
    if app:  # the launch makes objects that all live on: see recon_tui.launch_gc
        launch_gc.pause()
    from recon_tui.scrub import install_log_scrubber

    install_log_scrubber()
    try:
        return _main(argv, app)
    except BrokenPipeError:  # `recon-tui find 10040 | head`: the reader has gone
        return _reader_gone()
    finally:
        launch_gc.resume()  # an app that never showed a frame, or a failed start


def _reader_gone() -> int:
    """Standard output's reader closed it (a pager quit, ``head`` had enough):
    nothing is wrong and nothing more can be said, as for any Unix tool, so exit
    quietly with SIGPIPE's status; what is still buffered goes nowhere, or Python
    would report the same broken pipe again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + int(signal.SIGPIPE)


def _main(argv: list[str], app: bool) -> int:
    args = (launch_options(argv) if app else None) or build_parser(
        commands=not app).parse_args(argv)
    _start_support_log(args.log_level)
    try:
        return _command(args.command)(args)
    except CliError as exc:
        say(str(exc))
        return exc.status
    except KeyboardInterrupt as exc:
        how = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "SIGINT"
        say(f"interrupted ({how}); a sync in progress was cancelled and wrote nothing")
        number = getattr(signal.Signals, how, signal.SIGINT)
        return 128 + int(number)
    except BrokenPipeError:
        raise  # not a file's fault: main() ends quietly
    except Exception as exc:  # the promise: one line, never a traceback
        from recon_tui.cache import CacheError
        from recon_tui.cache.files import is_database_error, translate

        if isinstance(exc, CacheError):
            say(str(exc))
            return 2
        if is_database_error(exc):
            say(str(translate(exc, Path(getattr(args, "db", None) or "the cache"))))
            return 2
        if isinstance(exc, OSError):
            say(f"{exc.filename or 'a file'}: {exc.strerror or exc}")
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
