"""``recon-tui report``: the reconciliation snapshot from the cache, read only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from recon_tui.cli_common import CliError, common_options, load_settings, open_cache

if TYPE_CHECKING:
    from recon_tui.cache import Cache
    from recon_tui.config import Config
    from recon_tui.models import ClientSummary
    from recon_tui.report.snapshot import Snapshot


def report_parser(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report", help="write the reconciliation snapshot (xlsx, csv, json or md)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write the reconciliation snapshot of the cache for an invoice-date "
        "range: one row per invoice pair with both sides and the differences (ledger "
        "minus PSA), the totals with their self-check (every amount accounted for) and "
        "the invoices that make up any difference, organizational credits, unmapped "
        "ledger customers, contacts without portal access and data-hygiene findings. Run it after "
        "`recon-tui sync`; it reads the cache only.",
        epilog="exit status: 0 written; 2 bad usage (dates, path, client, format) or an\n"
        "unusable cache; 3 with --fail-on-discrepancy when any invoice is discrepant or\n"
        "the invoice difference is not 0.00 (the report is still written).\n\n"
        "example (crontab: sync, then a daily zero-mismatch check at 06:30):\n"
        "  30 6 * * * recon-tui sync && recon-tui report --out /srv/recon/today.json "
        "--fail-on-discrepancy\n")
    common_options(report, suppress=True)
    report.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                        help="first invoice date (default: the cache's first invoice "
                        "date, so the report covers the whole cache)")
    report.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                        help="last invoice date (default: today, or the cache's last "
                        "invoice date when later)")
    report.add_argument("--format", choices=("xlsx", "csv", "json", "md"),
                        help="output format (default: from the --out extension, else xlsx; "
                        "csv for --out -)")
    report.add_argument("--out", metavar="PATH",
                        help="file to write (replaced atomically), or - for stdout (csv, "
                        "json, md); default recon-<today>.<format> in the [report] folder "
                        "of the config (default: your Documents folder, else home)")
    report.add_argument("--client", metavar="NAME_OR_KEY",
                        help="only this client: its key (psa:12, ledger:58), its name, or a "
                        "part of the name only one client has")
    report.add_argument("--fail-on-discrepancy", action="store_true",
                        help="exit 3 when any invoice is discrepant (status other than "
                        "Matched, or totals or balances differ) or the invoice difference is "
                        "not 0.00; the report is still written")


def _progress_line() -> tuple[Callable[[str, int, int], None] | None, Callable[[], None]]:
    """A progress line on stderr (only when it is a terminal: a cron job's log stays
    clean), and the call that ends it."""
    if not sys.stderr.isatty():
        return None, lambda: None
    shown = [""]

    def progress(phase: str, done: int, total: int) -> None:
        line = f"\r{phase} {done:,} of {total:,} rows"
        if shown[0] != line:
            shown[0] = line
            sys.stderr.write(line + "\x1b[K")
            sys.stderr.flush()

    def end() -> None:
        if shown[0]:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    return progress, end


def _checked_usage(args: argparse.Namespace) -> str:
    """The output format, once the dates, format and path are known good: bad usage
    is refused before the cache is opened."""
    from recon_tui.report.options import (
        ReportOptionError,
        check_writable,
        resolve_format,
        resolve_period,
    )

    try:
        resolve_period(args.date_from, args.date_to)
        fmt = resolve_format(args.format, args.out)
        if args.out and args.out != "-":
            check_writable(Path(args.out))
    except ReportOptionError as exc:
        raise CliError(str(exc)) from exc
    return fmt


class _Scope(NamedTuple):
    """What one report covers and where it goes (None: stdout)."""

    client: ClientSummary | None
    start: date
    end: date
    target: Path | None


def _scope(cache: Cache, args: argparse.Namespace, config: Config, fmt: str) -> _Scope:
    """The client, the period (open ends filled from the cache) and the file to write
    (None for stdout)."""
    from recon_tui.report.options import (
        ReportOptionError,
        check_writable,
        default_folder,
        resolve_client,
        resolve_period,
    )
    from recon_tui.report.writers import default_report_name

    try:
        client = resolve_client(cache, args.client) if args.client else None
        span = cache.report.date_range(client.client_key if client else None)
        start, end = resolve_period(args.date_from, args.date_to, span=span)
        target = None
        if args.out != "-":
            name = default_report_name(date.today(), fmt, client.name if client else None)
            target = check_writable(
                Path(args.out) if args.out else default_folder(config.report.folder) / name)
    except ReportOptionError as exc:
        raise CliError(str(exc)) from exc
    return _Scope(client, start, end, target)


def _build(cache_path: Path, args: argparse.Namespace, config: Config, demo: bool,
           fmt: str) -> tuple[Snapshot, _Scope, Callable[[str, int, int], None] | None,
                              Callable[[], None]]:
    """Read the snapshot from the cache (read only), with its scope and the progress
    line that goes on while it is written."""
    from recon_tui.report.snapshot import build_snapshot

    cache = open_cache(cache_path, read_only=True)
    try:
        scope = _scope(cache, args, config, fmt)
        progress, end_progress = _progress_line()
        snapshot = build_snapshot(
            cache, scope.start, scope.end, client=scope.client, progress=progress,
            portal_level=config.portal.client_admin_security_level,
            psa_kind=config.psa.kind if config.psa else ("connectwise" if demo else None),
            ledger_kind=config.ledger.kind if config.ledger else ("qbo" if demo else None))
    finally:
        cache.close()
    return snapshot, scope, progress, end_progress


def cmd_report(args: argparse.Namespace) -> int:
    from recon_tui.report.fields import rows_text
    from recon_tui.report.writers import render_text, write_report

    fmt = _checked_usage(args)
    config, demo, cache_path = load_settings(args)
    snapshot, scope, progress, end_progress = _build(cache_path, args, config, demo, fmt)
    if snapshot.header.psa_as_of is None and snapshot.header.ledger_as_of is None:
        print(f"recon-tui: note: nothing has been synced into {cache_path} yet; run "
              "`recon-tui sync` first", file=sys.stderr)
    summary = (f"{rows_text(snapshot.header.row_count)}, "
               f"{len(snapshot.discrepant_rows):,} discrepant; "
               f"{snapshot.self_check.removesuffix('.')} (reconciliation id "
               f"{snapshot.header.reconciliation_id})")
    if scope.target is None:
        end_progress()
        sys.stdout.write(render_text(snapshot, fmt))
        sys.stdout.flush()
    else:
        try:
            written = write_report(snapshot, fmt, scope.target, progress)
        except OSError as exc:
            raise CliError(f"{scope.target}: cannot write ({exc.strerror or exc})") from exc
        finally:
            end_progress()
        print(f"wrote {written} ({fmt}, {scope.start} to {scope.end}): {summary}")
    snapshot.close()
    if args.fail_on_discrepancy and snapshot.has_discrepancy:
        print(f"recon-tui: report: discrepancies found: {summary}", file=sys.stderr)
        return 3
    return 0
