"""``recon-tui qbwc serve`` and ``recon-tui qbwc qwc``: QuickBooks Desktop through
the QuickBooks Web Connector (``[ledger] kind = "qbd"``).

``serve`` runs the SOAP service the Web Connector polls, in the foreground: each
Web Connector session runs one full sync (PSA first, then the ledger's qbXML
steps) into the cache and prints one line; Ctrl+C stops it (a sync in progress
is cancelled and writes nothing). ``qwc`` writes the ``.qwc`` file the user adds
to the Web Connector (File > Add an application), generating the owner and file
ids once and saving them to the config.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from recon_tui.cli_common import CliError, common_options, load_settings, open_cache, say

if TYPE_CHECKING:
    from recon_tui.config import Config

__all__ = ["cmd_qbwc", "qbwc_parser"]


def qbwc_parser(sub: argparse._SubParsersAction) -> None:
    qbwc = sub.add_parser("qbwc", help="QuickBooks Desktop: the Web Connector service",
                          description="QuickBooks Desktop ([ledger] kind = \"qbd\") is "
                          "reached through the QuickBooks Web Connector, which polls a "
                          "service recon-tui runs. `qwc` writes the file to add to the "
                          "Web Connector; `serve` runs the service (each poll is one sync).")
    common_options(qbwc, suppress=True)
    actions = qbwc.add_subparsers(dest="qbwc_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="run the service the Web Connector polls",
                               description="Serve the Web Connector at [ledger] listen until "
                               "Ctrl+C; each Web Connector session runs one full sync.")
    common_options(serve, suppress=True)
    serve.add_argument("--bind", metavar="HOST:PORT",
                       help="where to listen when [ledger] listen is an https address "
                       "served by a proxy in front of recon-tui (e.g. 127.0.0.1:8080)")
    qwc = actions.add_parser("qwc", help="write the .qwc file for the Web Connector",
                             description="Write the .qwc file naming this service; add it "
                             "in the Web Connector (Add an application) and type "
                             "[ledger] qbwc_password there.")
    common_options(qwc, suppress=True)
    qwc.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    qwc.add_argument("--every", metavar="MINUTES", type=int,
                     help="let the Web Connector poll by itself every MINUTES")


def _desktop(config: Config, demo: bool) -> Any:
    """The ``[ledger]`` section, which must be kind "qbd"."""
    ledger = config.ledger
    if demo or ledger is None or getattr(ledger, "kind", "qbo") != "qbd":
        where = config.path or "the configuration"
        raise CliError(f"{where}: `recon-tui qbwc` needs [ledger] kind = \"qbd\" "
                       "(QuickBooks Desktop); see config.example.toml")
    return ledger


def _secret(value: Any) -> str:
    from recon_tui.config import ConfigError

    try:
        return value.reveal()
    except ConfigError as exc:
        raise CliError(str(exc)) from exc


@dataclass(frozen=True)
class _Listen:
    """Where the service binds and under which path (from [ledger] listen)."""

    host: str
    port: int
    path: str


def _listen(url: str, bind: str | None) -> _Listen:
    from recon_tui.qbwc.qwc import QwcError, check_app_url

    try:
        check_app_url(url)
    except QwcError as exc:
        raise CliError(str(exc)) from exc
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/qbwc"
    if bind is None:
        if parts.scheme == "https":
            raise CliError(f"[ledger] listen {url!r} is https: recon-tui serves plain http "
                           "behind your https proxy; give --bind HOST:PORT (where the proxy "
                           "forwards, e.g. 127.0.0.1:8080)")
        return _Listen(parts.hostname or "localhost", parts.port or 80, path)
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise CliError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return _Listen(host.strip("[]"), int(port), path)


def _serve(args: argparse.Namespace) -> int:
    from recon_tui.backend import connect_psa
    from recon_tui.config import unresolved_secrets
    from recon_tui.qbwc.app import QbwcServer, create_app
    from recon_tui.qbwc.runner import DesktopSync, qbd_ledger
    from recon_tui.qbwc.service import QbwcService
    from recon_tui.text import printable
    from recon_tui.workflows.write_policy import WritePolicy

    config, demo, cache_path = load_settings(args)
    ledger = _desktop(config, demo)
    if config.psa is None:
        raise CliError(f"{config.path}: [psa] is not configured; a Web Connector session "
                       "syncs the PSA first")
    if not (ledger.owner_id and ledger.file_id):
        raise CliError(f"{config.path}: [ledger] has no owner_id and file_id yet; run "
                       "`recon-tui qbwc qwc --out recon-tui.qwc` first and add that file to "
                       "the Web Connector")
    problems = unresolved_secrets(config)
    if problems:
        raise CliError(str(problems[0]))
    open_cache(cache_path).close()  # a cache we cannot use is one line now, not per poll
    where = _listen(ledger.listen, getattr(args, "bind", None))
    psa_config = config.psa
    runner = DesktopSync(
        cache_path, open_psa=lambda: connect_psa(psa_config, config_path=config.path,
                                                 concurrency=config.sync.max_concurrency),
        open_ledger=qbd_ledger(_book(ledger)),
        max_delete_percent=config.sync.max_delete_percent,
        # Queued credit checklists are applied at the start of each session when
        # [ledger] allow_writes says so (recon_tui.qbwc.credits).
        policy=WritePolicy.from_config(config, demo=False))

    def line(text: str) -> None:
        print(f"recon-tui qbwc: {printable(text)}", flush=True)

    service = QbwcService(
        username=ledger.qbwc_username, password=_secret(ledger.qbwc_password),
        start_sync=runner, company_file=ledger.company_file or "",
        on_outcome=lambda run, outcome: line(f"session {run.short_ticket}: {outcome.line}"),
        on_refused=line)
    try:
        server = QbwcServer(create_app(service, where.path), host=where.host, port=where.port,
                            path=where.path)
    except OSError as exc:
        raise CliError(f"cannot listen on {where.host}:{where.port}: "
                       f"{exc.strerror or exc}") from exc
    line(f"serving the Web Connector at {ledger.listen} (on {server.url}), syncing into "
         f"{cache_path}; Ctrl+C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.shutdown()
    line("stopped")
    return 0


def _book(ledger: Any) -> str:
    """The company file's identity for the cache (one cache, one company): the
    .qwc file's FileID, which the Web Connector ties to one company file."""
    return f"qbd:{ledger.file_id}"


def _ids(config: Config, ledger: Any) -> tuple[str, str]:
    """owner_id and file_id, generated and saved to the config the first time."""
    from recon_tui.config import ConfigError
    from recon_tui.config.store import update_config
    from recon_tui.qbwc.qwc import new_guid

    owner, file = ledger.owner_id, ledger.file_id
    if owner and file:
        return owner, file
    owner, file = owner or new_guid(), file or new_guid()
    assert config.path is not None
    try:
        update_config(config.path, {"ledger": {"owner_id": owner, "file_id": file}})
    except (ConfigError, OSError) as exc:
        raise CliError(f"{config.path}: could not save the new owner_id and file_id: "
                       f"{exc}") from exc
    say(f"saved new [ledger] owner_id and file_id to {config.path} (keep them: the Web "
        "Connector knows the company file by them)")
    return owner, file


def _qwc(args: argparse.Namespace) -> int:
    from recon_tui.qbwc.qwc import QwcError, QwcSettings, build_qwc, check_app_url

    config, demo, _cache_path = load_settings(args)
    ledger = _desktop(config, demo)
    try:
        check_app_url(ledger.listen)
    except QwcError as exc:
        raise CliError(str(exc)) from exc
    owner, file = _ids(config, ledger)
    try:
        text = build_qwc(QwcSettings(app_url=ledger.listen, username=ledger.qbwc_username,
                                     owner_id=owner, file_id=file,
                                     run_every_minutes=args.every))
    except QwcError as exc:
        raise CliError(str(exc)) from exc
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{out}: {exc.strerror or exc}") from exc
    print(f"wrote {out}: add it in the QuickBooks Web Connector (Add an application), then "
          "type [ledger] qbwc_password as its password")
    return 0


def cmd_qbwc(args: argparse.Namespace) -> int:
    return _serve(args) if args.qbwc_command == "serve" else _qwc(args)
