"""``recon-tui import FORMAT FILE...``: a ledger without an API recon-tui can reach
(Sage 50, QuickBooks Desktop without the Web Connector), read from its exports.

The files are read and checked whole first: anything that cannot be read is one
line naming the file, the line and the column, and nothing is opened or
written. Then the real sync runs with the configured PSA and the files as the
ledger (``recon_tui.ledger_files.importer``); ``--dry-run`` runs it against a
throwaway copy of the cache and prints what it would change.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from recon_tui.cli_common import CliError, common_options, load_settings

if TYPE_CHECKING:
    from recon_tui.config import Config
    from recon_tui.connectors.base import PsaConnector
    from recon_tui.ledger_files import FileLedger
    from recon_tui.ledger_files.importer import ImportOutcome

__all__ = ["cmd_import", "import_parser"]

#: Changed records a dry run prints before it only counts the rest.
DRY_RUN_SHOWN = 200


def import_parser(sub: argparse._SubParsersAction) -> None:
    from recon_tui.ledger_files.tables import FORMATS, ListKind
    from recon_tui.ledger_files.values import DateOrder

    lists = ", ".join(k.value for k in ListKind)
    imp = sub.add_parser(
        "import", help="sync the PSA with a ledger read from its exports (Sage 50, "
        "QuickBooks Desktop reports)",
        description="Read a ledger's exported lists (CSV: the customer list, the sales "
        "journal of invoices and credit memos, the receipts journal) and sync them with "
        "the PSA into the cache, all written together or not at all. An export is read "
        "as the whole book: what the cache holds that it does not list is deleted.")
    common_options(imp, suppress=True)
    imp.add_argument("format", choices=sorted(FORMATS),
                     help="sage50 (US or Canada edition) or qbd (QuickBooks Desktop reports)")
    imp.add_argument("files", nargs="+", metavar="[LIST=]FILE",
                     help=f"the exported files; which list each is ({lists}) is read from "
                     "its header, or given as e.g. sales=SALES.CSV")
    imp.add_argument("--company", required=True, metavar="NAME",
                     help="the ledger company these exports are from; a cache holds one "
                     "company's books")
    imp.add_argument("--dry-run", action="store_true",
                     help="show what the import would change, write nothing")
    imp.add_argument("--date-order", choices=[o.value for o in DateOrder],
                     default=DateOrder.MDY.value,
                     help="how the exporting machine writes dates: mdy 12/31/26 (Sage 50 "
                     "US, the default), dmy 31/12/26, ymd 2026-12-31")
    imp.add_argument("--encoding", default="utf-8",
                     help="the files' text encoding (default utf-8; Windows: cp1252)")
    imp.add_argument("--currency", default="USD", metavar="CODE",
                     help="currency of rows that name none (default USD)")
    imp.add_argument("--header", action="append", default=[], metavar="LIST.FIELD=NAME",
                     help="read a field from a column named otherwise in your export, e.g. "
                     "--header sales.total=\"Invoice Amt\" (repeatable; the fields of each "
                     "list are in recon_tui/ledger_files/tables.py)")
    imp.add_argument("--allow-mass-delete", action="store_true",
                     help="go ahead even when the import would delete more than [sync] "
                     "max_delete_percent of one side's records")


def _file_specs(values: list[str]) -> list[tuple[object, Path]]:
    """``FILE`` or ``LIST=FILE`` each."""
    from recon_tui.ledger_files.tables import ListKind

    kinds = {k.value: k for k in ListKind}
    specs: list[tuple[object, Path]] = []
    for value in values:
        name, sep, rest = value.partition("=")
        if sep and name.strip().casefold() in kinds:
            specs.append((kinds[name.strip().casefold()], Path(rest)))
        else:
            specs.append((None, Path(value)))
    return specs


def _headers(values: list[str]) -> dict[tuple[object, str], str]:
    """``--header LIST.FIELD=NAME`` each, as (list, field) -> header."""
    from recon_tui.ledger_files.tables import ListKind

    out: dict[tuple[object, str], str] = {}
    for value in values:
        target, sep, header = value.partition("=")
        kind, dot, name = target.strip().partition(".")
        lists = {k.value for k in ListKind}
        if not sep or not dot or not header.strip() or kind.casefold() not in lists:
            raise CliError(f"--header {value!r}: expected LIST.FIELD=NAME, LIST one of "
                           + ", ".join(k.value for k in ListKind))
        out[(ListKind(kind.casefold()), name.strip())] = header.strip()
    return out


def _ledger(args: argparse.Namespace) -> FileLedger:
    from recon_tui.ledger_files import DateOrder, ExportError, ReadOptions, open_ledger

    company = args.company.strip()
    if not company:
        raise CliError("import: --company is empty; name the ledger company")
    options = ReadOptions(DateOrder(args.date_order), args.encoding,
                          args.currency.strip().upper() or "USD")
    headers = _headers(args.header)
    try:
        return open_ledger(args.format, company, _file_specs(args.files),  # type: ignore[arg-type]
                           options, headers)  # type: ignore[arg-type]
    except ExportError as exc:
        raise CliError(str(exc)) from exc
    except ValueError as exc:  # a --header naming no field
        raise CliError(f"--header {exc}") from exc


def _check_psa_secrets(config: Config) -> None:
    """Every ``env:`` secret of [psa] now, before a file or the PSA is read (the
    ledger's, if any, are not needed: the ledger is the files)."""
    import dataclasses

    from recon_tui.config import ConfigError, Secret

    for item in dataclasses.fields(config.psa):  # type: ignore[arg-type]
        value = getattr(config.psa, item.name)
        if isinstance(value, Secret):
            try:
                value.reveal()
            except ConfigError as exc:
                raise CliError(str(exc)) from exc


def _psa(config: Config, demo: bool, stack: ExitStack) -> PsaConnector:
    """The configured PSA alone (the demo's emulated one for the demo)."""
    from recon_tui.backend import BackendError, _zone_saver
    from recon_tui.connectors.base import ConnectorError

    if demo:  # the emulator's book as it starts, kept in memory: nothing is saved
        from recon_tui.backend import open_backend
        from recon_tui.cli_root import sample_dir

        try:
            backend = open_backend(config, demo=True, sample_dir=sample_dir(), demo_state=None)
        except (BackendError, ConnectorError, OSError) as exc:
            raise CliError(str(exc)) from exc
        stack.callback(backend.close)
        return backend.psa
    if config.psa is None:
        raise CliError(f"{config.path or 'the configuration'}: [psa] is not configured; an "
                       "import syncs the PSA beside the exported ledger")
    _check_psa_secrets(config)
    try:
        if config.psa.kind == "autotask":
            from recon_tui.connectors.autotask import AutotaskConnector

            psa: PsaConnector = AutotaskConnector(config.psa,
                                                  on_zone_move=_zone_saver(config.path))
        else:
            from recon_tui.connectors.connectwise import ConnectWiseConnector

            psa = ConnectWiseConnector(config.psa,
                                       max_concurrency=config.sync.max_concurrency.connectwise)
    except (BackendError, ConnectorError, OSError) as exc:
        raise CliError(str(exc)) from exc
    stack.callback(psa.close)
    return psa


def _report(outcome: ImportOutcome, cache_path: Path, seconds: float) -> None:
    from recon_tui.cli_sync import _summary
    from recon_tui.describe import describe_run
    from recon_tui.models import SyncStatus

    run = outcome.run
    if run.status is not SyncStatus.SUCCEEDED:
        what = "dry run" if outcome.dry_run else f"import #{run.id}"
        # The sync's mass-deletion refusal names its own command; the flag is ours too.
        error = (run.error or "").replace("`recon-tui sync --allow-mass-delete`",
                                          "this import again with --allow-mass-delete")
        raise CliError(f"{what} {run.status.value}: {error}", status=1)
    if not outcome.dry_run:
        print(_summary(run, seconds).replace("sync #", "import #", 1))
        return
    shown = outcome.changes[:DRY_RUN_SHOWN]
    print(f"dry run: nothing was written to {cache_path}; the import would do this:")
    print(describe_run(run, shown).split("\n", 1)[1].lstrip("\n"))
    if len(outcome.changes) > len(shown):
        print(f"  ... and {len(outcome.changes) - len(shown):,} more changed records")


def cmd_import(args: argparse.Namespace) -> int:
    from recon_tui.cache import CacheError
    from recon_tui.cli_sync import _progress_printer, _signals_cancel
    from recon_tui.ledger_files.importer import run_import
    from recon_tui.sync import SyncBusy

    config, demo, cache_path = load_settings(args)
    ledger = _ledger(args)  # every file read and checked before anything opens
    tty = sys.stderr.isatty()
    started = time.monotonic()
    with ExitStack() as stack:
        psa = _psa(config, demo, stack)
        try:
            with _signals_cancel():
                outcome = run_import(
                    cache_path, psa, ledger, dry_run=args.dry_run,
                    max_delete_percent=config.sync.max_delete_percent,
                    allow_mass_delete=args.allow_mass_delete,
                    progress=_progress_printer(tty))
        except SyncBusy as exc:
            raise CliError(str(exc), status=1) from exc
        except CacheError as exc:
            raise CliError(str(exc)) from exc
        finally:
            if tty:
                sys.stderr.write("\r\x1b[2K")
    _report(outcome, cache_path, time.monotonic() - started)
    return 0
