"""``recon-tui sync``, ``resync`` and ``history``: the commands that fill the cache
from the systems, and the record of what they did."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING

from recon_tui.cli_common import CliError, common_options, load_settings, open_cache, say
from recon_tui.cli_root import open_backend

if TYPE_CHECKING:
    from recon_tui.cache import Cache
    from recon_tui.config import Config
    from recon_tui.models import SyncRun
    from recon_tui.sync import SyncProgress

__all__ = ["cmd_history", "cmd_resync", "cmd_sync", "history_parser", "resync_parser",
           "sync_parser"]


# --------------------------------------------------------------------------- parsers
def sync_parser(sub: argparse._SubParsersAction) -> None:
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


def resync_parser(sub: argparse._SubParsersAction) -> None:
    resync = sub.add_parser("resync", help="refetch one invoice from both systems",
                            description="Refetch one invoice (PSA number or ledger doc "
                            "number) from both systems, with the customer's credits, and "
                            "print before -> after.")
    common_options(resync, suppress=True)
    resync.add_argument("number", help="the invoice number")


def history_parser(sub: argparse._SubParsersAction) -> None:
    history = sub.add_parser("history", help="recorded syncs",
                             description="List recorded syncs, newest first, or show one "
                             "run's steps and changed records.")
    common_options(history, suppress=True)
    history.add_argument("run", nargs="?", type=int, help="a run id to show in detail")
    history.add_argument("--limit", type=int, default=20, help="runs to list (default 20)")


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


def _summary(run: SyncRun, seconds: float) -> str:
    parts = []
    for step in run.steps:
        counts = [f"{n} {label}" for n, label in ((step.created, "new"),
                                                  (step.updated, "updated"),
                                                  (step.deleted, "deleted")) if n]
        parts.append(f"{step.system} {step.name}: {', '.join(counts) or 'no changes'}")
    return f"sync #{run.id} {run.status.value} in {seconds:.1f}s — " + "; ".join(parts)


def _since(args: argparse.Namespace, cache: Cache) -> date | None:
    """The date the sync looks again from: --since, else none for --full, else the
    last complete sync's (minus a day)."""
    from recon_tui.sync import default_since, parse_since

    if args.since:
        try:
            return parse_since(args.since)
        except ValueError as exc:
            raise CliError(f"--since: {exc}") from exc
    return None if args.full else default_since(cache)


def _progress_printer(tty: bool) -> Callable[[SyncProgress], None]:
    """One progress line on stderr, rewritten in place (only on a terminal)."""
    def progress(p: SyncProgress) -> None:
        if tty:
            verb = {"fetch": "reading", "apply": "writing", "done": "done"}[p.phase]
            others = len(set(p.reading) - {p.step_index}) if p.phase == "fetch" else 0
            beside = f" (and {others} more step{'s' * (others > 1)})" if others else ""
            sys.stderr.write(f"\r\x1b[2K[{p.step_index + 1}/{p.step_count}] {verb} "
                             f"{p.system} {p.step}: {p.fetched:,} records{beside}")
            sys.stderr.flush()

    return progress


def _warn_expiry(config: Config, demo: bool) -> None:
    """A month before the QBO refresh token dies, say so before every sync."""
    if demo:
        return
    from recon_tui.onboarding.qbo_expiry import warning_for_config

    expiry = warning_for_config(config)
    if expiry:
        say(expiry)


# --------------------------------------------------------------------------- commands
def cmd_sync(args: argparse.Namespace) -> int:
    from recon_tui.models import SyncStatus
    from recon_tui.sync import SyncBusy, run_full_sync

    config, demo, cache_path = load_settings(args)
    _warn_expiry(config, demo)
    cache = open_cache(cache_path)
    try:
        since = _since(args, cache)
        backend = open_backend(config, demo, cache_path)
        tty = sys.stderr.isatty()
        started = time.monotonic()
        allow = args.allow_mass_delete
        try:
            with _signals_cancel():
                run = run_full_sync(
                    cache, backend.psa, backend.ledger, since=since,
                    progress=_progress_printer(tty),
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
        backend = open_backend(config, demo, cache_path)
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
    from recon_tui.run_status import honest_run
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
        # A run recorded "running" while no process holds the sync lock was killed:
        # show it as the next sync will record it (this command only reads).
        live = sync_in_progress(cache_path)
        if args.run is not None:
            run = cache.history.sync_run(args.run)
            if run is None:
                raise CliError(f"history: no sync run #{args.run} in {cache_path}")
            print(describe_run(honest_run(run, live), cache.history.sync_changes(args.run)))
            return 0
        runs = cache.history.sync_runs(args.limit)
        if not runs:
            print(f"no syncs recorded in {cache_path}")
        for run in runs:
            print(run_line(honest_run(run, live)))
        return 0
    finally:
        cache.close()
