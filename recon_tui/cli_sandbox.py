"""``recon-tui sandbox``: the emulator of QBO, ConnectWise and Autotask on loopback,
with faults to inject, for trying the app and its failure paths without a tenant."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from recon_tui.cli_common import CliError, common_options
from recon_tui.cli_root import sample_dir

if TYPE_CHECKING:
    from recon_tui.sandbox.book import SandboxBook

__all__ = ["cmd_sandbox", "sandbox_parser"]

FAULTS_HELP = (
    "inject faults: FAULT@SYSTEM[:N][+COUNT],... with FAULT 429, "
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
    "drop_after_write@connectwise:1,skew=15@qbo,expired@token)"
)


def sandbox_parser(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="run the API emulator on loopback",
                             description="Serve the QuickBooks Online, ConnectWise PSA and "
                             "Autotask endpoints recon-tui uses, from the sample book, until "
                             "Ctrl+C. config.example.toml points at its default port.")
    common_options(sandbox, suppress=True)  # --config, for --web-connector
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=None,
                         help="port (default 8765; 0 picks a free one)")
    sandbox.add_argument("--data", metavar="DIR", help="sample book directory "
                         "(default: the bundled sample_data)")
    sandbox.add_argument("--faults", metavar="SPEC", help=FAULTS_HELP)
    sandbox.add_argument("--latency", metavar="MS", type=int, default=0,
                         help="delay every response by MS milliseconds")
    sandbox.add_argument("--slow-ms", type=int, default=2000,
                         help="how long a 'slow' fault waits (default 2000)")
    sandbox.add_argument("--scale", metavar="CLIENTS:INVOICES",
                         help="serve a book of that size built from the sample records "
                         "instead of the sample book (e.g. 10000:200000: companies and "
                         "customers one to one, three contacts each, each invoice on "
                         "both sides, a few differing)")
    sandbox.add_argument("--web-connector", action="store_true",
                         help="instead of serving, play the QuickBooks Web Connector once: "
                         "one update session against the [ledger] kind = \"qbd\" service "
                         "of --config (its listen URL, qbwc_username and qbwc_password), "
                         "answering its qbXML from a sample QuickBooks Desktop company of "
                         "the sample book; run `recon-tui qbwc serve` first")


def _scaled(spec: str, data: Path) -> SandboxBook:
    """The --scale book, built before the server listens (it can take a while)."""
    from recon_tui.sandbox.scale import ScaleError, freeze_for_serving, parse_scale, scaled_book

    try:
        clients, invoices = parse_scale(spec)
        print(f"building a book of {clients:,} clients and {invoices:,} invoices...",
              flush=True)
        book = scaled_book(clients, invoices, data)
    except ScaleError as exc:
        raise CliError(f"--scale {exc}") from exc
    freeze_for_serving()
    return book


def cmd_sandbox(args: argparse.Namespace) -> int:
    if args.web_connector:
        return _play_web_connector(args)
    from recon_tui.sandbox.app import create_app
    from recon_tui.sandbox.faults import FaultSpecError, parse_faults
    from recon_tui.sandbox.server import DEFAULT_PORT, SandboxServer

    try:
        plan = parse_faults(args.faults)
    except FaultSpecError as exc:
        raise CliError(f"--faults: {exc}") from exc
    plan.slow_ms = args.slow_ms
    data = Path(args.data) if args.data else sample_dir()
    if not (data / "qbo").is_dir() or not (data / "connectwise").is_dir():
        raise CliError(f"--data {data}: expected qbo/ and connectwise/ folders of API JSON")
    book = _scaled(args.scale, data) if args.scale is not None else None
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


def _play_web_connector(args: argparse.Namespace) -> int:
    """One emulated Web Connector update against ``recon-tui qbwc serve``: how to try
    the QuickBooks Desktop path on a machine without QuickBooks (the sync's PSA
    side needs its API too: ``recon-tui sandbox`` in another terminal)."""
    import httpx

    from recon_tui.cli_common import load_settings
    from recon_tui.config import QbdLedgerConfig
    from recon_tui.sandbox.book import SandboxBook
    from recon_tui.sandbox.qbd_company import SampleCompany
    from recon_tui.sandbox.web_connector import WebConnector, WebConnectorError

    config, _demo, _cache = load_settings(args)
    ledger = config.ledger
    if not isinstance(ledger, QbdLedgerConfig):
        raise CliError("--web-connector needs --config with [ledger] kind = \"qbd\"")
    data = Path(args.data) if args.data else sample_dir()
    company = SampleCompany(SandboxBook.from_dir(data))
    try:
        with WebConnector(ledger.listen, company.answer, username=ledger.qbwc_username,
                          password=ledger.qbwc_password.reveal(),
                          company_file=ledger.company_file, noop_wait=1.0) as qbwc:
            report = qbwc.run()
    except (httpx.HTTPError, WebConnectorError) as exc:
        raise CliError(f"web connector: {ledger.listen}: {exc} (is `recon-tui qbwc serve` "
                       "running?)") from exc
    if report.refused:
        raise CliError("web connector: the service refused the user name or password")
    done = report.percents[-1] if report.percents else 0
    outcome = report.last_error or report.connection_error or report.closed or ""
    print(f"web connector: {len(report.requests)} qbXML requests answered, {done}% done; "
          f"{outcome}".rstrip("; "), flush=True)
    return 0 if done >= 100 else 1
