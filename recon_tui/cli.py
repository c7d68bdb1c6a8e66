"""Command line: the TUI by default, headless subcommands for scripts and cron.

Every failure is one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from recon_tui import __version__
from recon_tui.cli_common import (
    CliError,
    common_options,
    load_settings,
    open_cache,
    say,
)

if TYPE_CHECKING:
    from recon_tui.backend import Backend
    from recon_tui.config import Config
    from recon_tui.models import SyncRun
    from recon_tui.session import Session
    from recon_tui.sync import SyncProgress

DESCRIPTION = """\
recon-tui: find and fix invoice discrepancies between your PSA (ConnectWise PSA,
Autotask) and your accounting ledger (QuickBooks Online), from one keyboard-driven
screen backed by a local SQLite cache that opens instantly and works offline.

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
  sandbox         run the emulator of QBO, ConnectWise and Autotask on loopback

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
#: first two); an argv of only these needs no subcommand parsers.
_LAUNCH_VALUED = frozenset({"--config", "--db"})
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


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The command line; ``commands=False`` leaves the subcommands out (see
    :func:`launches_app`)."""
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
    from recon_tui.cli_report import report_parser

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sync = sub.add_parser("sync", help="sync both systems (PSA first, then the ledger)",
                          description="Sync into the cache: PSA companies, contacts, invoices "
                          "and credit memos, their export status and deletions first, then "
                          "ledger customers, invoices, credit memos, payments and deletions. "
                          "The first sync of a cache reads everything, whatever its date; "
                          "later ones read what changed since the last. All steps are "
                          "written together or not at all.")
    common_options(sync, suppress=True)
    when = sync.add_mutually_exclusive_group()
    when.add_argument("--since", metavar="YYYY-MM-DD",
                      help="look again at what changed since this date (default: since the "
                      "last sync that left the cache complete, minus a day)")
    when.add_argument("--full", action="store_true",
                      help="reload everything, whatever its date (also the default for the "
                      "first sync of a cache)")
    sync.add_argument("--allow-mass-delete", action="store_true",
                      help="go ahead even when the sync would delete more than [sync] "
                      "max_delete_percent (default 5%%) of one side's records; without it "
                      "such a sync stops before writing anything")

    resync = sub.add_parser("resync", help="refetch one invoice from both systems",
                            description="Refetch one invoice (PSA number or ledger doc "
                            "number) from both systems, with the customer's credits, and "
                            "print before -> after.")
    common_options(resync, suppress=True)
    resync.add_argument("number", help="the invoice number")

    history = sub.add_parser("history", help="recorded syncs",
                             description="List recorded syncs, newest first, or show one "
                             "run's steps and changed records.")
    common_options(history, suppress=True)
    history.add_argument("run", nargs="?", type=int, help="a run id to show in detail")
    history.add_argument("--limit", type=int, default=20, help="runs to list (default 20)")

    report_parser(sub)
    find_parser(sub)
    connect_parser(sub)
    doctor_parser(sub)

    sandbox = sub.add_parser("sandbox", help="run the API emulator on loopback",
                             description="Serve the QuickBooks Online, ConnectWise PSA and "
                             "Autotask endpoints recon-tui uses, from the sample book, until "
                             "Ctrl+C. config.example.toml points at its default port.")
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=None,
                         help="port (default 8765; 0 picks a free one)")
    sandbox.add_argument("--data", metavar="DIR", help="sample book directory "
                         "(default: the bundled sample_data)")
    sandbox.add_argument("--faults", metavar="SPEC",
                         help="inject faults: FAULT@SYSTEM[:N][+COUNT],... with FAULT 429, "
                         "500, 503, 401, slow or garbage (N counts every request); empty, "
                         "short, nokey, repeat or foreign (rewrite list pages: N counts list "
                         "pages; foreign on connectwise/autotask only); echo or truncated "
                         "(token only); drop_after_write (the write is applied, then the "
                         "connection is dropped before the answer: N counts writes); "
                         "standing faults, on every request from the N-th on unless "
                         "+COUNT: skew=MINUTES (the Date header MINUTES off, e.g. "
                         "skew=15@qbo or skew=-90@connectwise), forbidden (a 403 in the "
                         "API's own envelope; not token), expired (token only: refresh "
                         "answers invalid_grant), zone_moved (autotask only: the tenant "
                         "moves to /zone2, the old root answers 401). "
                         "SYSTEM qbo, token, connectwise or autotask (e.g. "
                         "429@qbo:2,500@connectwise:1+2,empty@qbo:3,echo@token,"
                         "drop_after_write@connectwise:1,skew=15@qbo,expired@token)")
    sandbox.add_argument("--latency", metavar="MS", type=int, default=0,
                         help="delay every response by MS milliseconds")
    sandbox.add_argument("--slow-ms", type=int, default=2000,
                         help="how long a 'slow' fault waits (default 2000)")
    sandbox.add_argument("--scale", metavar="CLIENTS:INVOICES",
                         help="serve a book of that size built from the sample records "
                         "instead of the sample book (e.g. 10000:200000: companies and "
                         "customers one to one, three contacts each, each invoice on "
                         "both sides, a few differing)")
    return parser


# --------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _signals_cancel() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal, a stopped service) end a sync the way
    Ctrl+C does: at once, recorded "cancelled", nothing written."""
    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, interrupt) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _sample_dir() -> Path:
    from recon_tui.connectors.sample import sample_data_dir

    try:
        return sample_data_dir()
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc


def _session(config: Config, demo: bool, cache_path: Path) -> Session:
    """The composition root every command and the TUI work through."""
    from recon_tui.session import Session

    return Session(config, cache_path, demo=demo, sample_dir=_sample_dir() if demo else None)


def _backend(config: Config, demo: bool, cache_path: Path) -> Backend:
    from recon_tui.backend import BackendError
    from recon_tui.connectors.base import ConnectorError

    try:
        return _session(config, demo, cache_path).open_systems()
    except (BackendError, ConnectorError, OSError) as exc:
        raise CliError(str(exc)) from exc


def _summary(run: SyncRun, seconds: float) -> str:
    parts = []
    for step in run.steps:
        counts = [f"{n} {label}" for n, label in ((step.created, "new"),
                                                  (step.updated, "updated"),
                                                  (step.deleted, "deleted")) if n]
        parts.append(f"{step.system} {step.name}: {', '.join(counts) or 'no changes'}")
    return f"sync #{run.id} {run.status.value} in {seconds:.1f}s — " + "; ".join(parts)


# --------------------------------------------------------------------------- commands
def cmd_sync(args: argparse.Namespace) -> int:
    from recon_tui.models import SyncStatus
    from recon_tui.sync import SyncBusy, default_since, parse_since, run_full_sync

    config, demo, cache_path = load_settings(args)
    if not demo:
        from recon_tui.onboarding.qbo_expiry import warning_for_config

        expiry = warning_for_config(config)  # a month before the refresh token dies
        if expiry:
            say(expiry)
    cache = open_cache(cache_path)
    try:
        if args.since:
            try:
                since = parse_since(args.since)
            except ValueError as exc:
                raise CliError(f"--since: {exc}") from exc
        else:
            since = None if args.full else default_since(cache)
        backend = _backend(config, demo, cache_path)
        tty = sys.stderr.isatty()

        def progress(p: SyncProgress) -> None:
            if tty:
                verb = {"fetch": "reading", "apply": "writing", "done": "done"}[p.phase]
                others = len(set(p.reading) - {p.step_index}) if p.phase == "fetch" else 0
                beside = f" (and {others} more step{'s' * (others > 1)})" if others else ""
                sys.stderr.write(f"\r\x1b[2K[{p.step_index + 1}/{p.step_count}] {verb} "
                                 f"{p.system} {p.step}: {p.fetched:,} records{beside}")
                sys.stderr.flush()

        started = time.monotonic()
        allow = args.allow_mass_delete
        try:
            with _signals_cancel():
                run = run_full_sync(
                    cache, backend.psa, backend.ledger, since=since, progress=progress,
                    max_delete_percent=config.sync.max_delete_percent,
                    confirm_mass_delete=(lambda _excess: True) if allow else None)
        except SyncBusy as exc:
            raise CliError(str(exc), status=1) from exc
        finally:
            backend.close()
            if tty:
                sys.stderr.write("\r\x1b[2K")
        if run.status is not SyncStatus.SUCCEEDED:
            raise CliError(f"sync #{run.id} {run.status.value}: {run.error}", status=1)
        scope = f"since {since.isoformat()}" if since else "everything, whatever its date"
        print(_summary(run, time.monotonic() - started) + f" ({scope})")
        return 0
    finally:
        cache.close()


def cmd_resync(args: argparse.Namespace) -> int:
    from recon_tui.resync import ResyncError, resync_invoice
    from recon_tui.sync import SyncBusy

    config, demo, cache_path = load_settings(args)
    cache = open_cache(cache_path)
    backend = None
    try:
        backend = _backend(config, demo, cache_path)
        try:
            result = resync_invoice(cache, backend.psa, backend.ledger, args.number)
        except (ResyncError, SyncBusy) as exc:
            raise CliError(f"resync {args.number}: {exc}", status=1) from exc
        from recon_tui.describe import describe_resync

        print(describe_resync(result))
        return 0
    finally:
        if backend is not None:
            backend.close()
        cache.close()


def cmd_history(args: argparse.Namespace) -> int:
    from recon_tui.cache import CacheMissing
    from recon_tui.describe import describe_run, run_line
    from recon_tui.sync import sync_in_progress

    _config, _demo, cache_path = load_settings(args)
    try:
        cache = open_cache(cache_path, read_only=True)
    except CliError as exc:
        if isinstance(exc.__cause__, CacheMissing):
            print(f"no syncs recorded: there is no cache at {cache_path} yet")
            return 0
        raise
    try:
        live = sync_in_progress(cache_path)
        if args.run is not None:
            run = cache.sync_run(args.run)
            if run is None:
                raise CliError(f"history: no sync run #{args.run} in {cache_path}")
            print(describe_run(_honest(run, live), cache.sync_changes(args.run)))
            return 0
        runs = cache.sync_runs(args.limit)
        if not runs:
            print(f"no syncs recorded in {cache_path}")
        for run in runs:
            print(run_line(_honest(run, live)))
        return 0
    finally:
        cache.close()


def _honest(run: SyncRun, sync_live: bool) -> SyncRun:
    """A run recorded "running" while no process holds the sync lock was killed:
    show it as the next sync will record it (this command only reads)."""
    from recon_tui.run_status import honest_run

    return honest_run(run, sync_live)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from recon_tui.sandbox.app import create_app
    from recon_tui.sandbox.faults import FaultSpecError, parse_faults
    from recon_tui.sandbox.server import DEFAULT_PORT, SandboxServer

    try:
        plan = parse_faults(args.faults)
    except FaultSpecError as exc:
        raise CliError(f"--faults: {exc}") from exc
    plan.slow_ms = args.slow_ms
    data = Path(args.data) if args.data else _sample_dir()
    if not (data / "qbo").is_dir() or not (data / "connectwise").is_dir():
        raise CliError(f"--data {data}: expected qbo/ and connectwise/ folders of API JSON")
    book = None
    if args.scale is not None:
        from recon_tui.sandbox.scale import ScaleError, freeze_for_serving, parse_scale, scaled_book

        try:
            clients, invoices = parse_scale(args.scale)
            print(f"building a book of {clients:,} clients and {invoices:,} invoices...",
                  flush=True)
            book = scaled_book(clients, invoices, data)
        except ScaleError as exc:
            raise CliError(f"--scale {exc}") from exc
        freeze_for_serving()
    port = DEFAULT_PORT if args.port is None else args.port
    try:
        server = SandboxServer(create_app(data, faults=plan, latency_ms=args.latency,
                                          book=book),
                               host=args.host, port=port)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{port}: {exc.strerror}") from exc
    print(f"recon-tui sandbox on {server.url}  (QBO {server.url}/v3/company/..., "
          f"ConnectWise {server.url}/v4_6_release/apis/3.0, "
          f"Autotask {server.url}/atservicesrest/v1.0); Ctrl+C stops it", flush=True)
    from recon_tui.sandbox.onboarding import banner

    print(banner(server.url), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def _first_launch(args: argparse.Namespace, config, demo: bool, cache_path: Path
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
    session = _session(config, demo, cache_path)
    if args.reset_demo:
        session.reset_demo()
    from recon_tui.cache import CacheError
    from recon_tui.tui.app import ReconApp

    welcome = _first_launch(args, config, demo, cache_path)
    try:
        app = ReconApp(session, welcome=welcome)
        app.run()
    except CacheError as exc:
        raise CliError(str(exc)) from exc
    return app.return_code or 0


def cmd_find(args: argparse.Namespace) -> int:
    from recon_tui.cli_find import cmd_find as find

    return find(args)


def cmd_report(args: argparse.Namespace) -> int:
    from recon_tui.cli_report import cmd_report as report

    return report(args)


def cmd_connect(args: argparse.Namespace) -> int:
    from recon_tui.cli_connect import cmd_connect as connect

    return connect(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from recon_tui.cli_connect import cmd_doctor as doctor

    return doctor(args)


COMMANDS = {"sync": cmd_sync, "resync": cmd_resync, "history": cmd_history, "find": cmd_find,
            "report": cmd_report, "sandbox": cmd_sandbox, "connect": cmd_connect,
            "doctor": cmd_doctor, None: cmd_tui}


def main(argv: Sequence[str] | None = None) -> int:
    from recon_tui.scrub import install_log_scrubber

    install_log_scrubber()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(commands=not launches_app(argv)).parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        say(str(exc))
        return exc.status
    except KeyboardInterrupt as exc:
        how = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "SIGINT"
        say(f"interrupted ({how}); a sync in progress was cancelled and wrote nothing")
        number = getattr(signal.Signals, how, signal.SIGINT)
        return 128 + int(number)
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
