"""``recon-tui connect qbo``: authorize recon-tui with a QuickBooks Online company
and save what the sync needs.

With development keys the redirect URI is ``http://localhost:PORT/...``: the
flow listens there (:mod:`loopback`), opens the browser and waits. Production
keys need an https redirect URI on a domain (Intuit's rule), which this machine
cannot answer, so the user pastes back the address the browser ended on
(``--paste`` does the same for development keys, e.g. on a machine without a
browser). Either way the state is checked, the code exchanged, ``CompanyInfo``
read to prove it, and only then anything saved: ``[ledger]`` in the config
(comments kept), the secrets in the OS keyring when there is one, and the fresh
tokens in the token file so the next sync needs no refresh.

The steps themselves are in :mod:`qbo_authorize`; this module is the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
import urllib.parse
import webbrowser
from pathlib import Path

from recon_tui import scrub
from recon_tui.cli_common import CliError
from recon_tui.config import (
    CONFIG_ENV_VAR,
    DEFAULT_MINOR_VERSION,
    Config,
    ConfigError,
    QboLedgerConfig,
    default_config_path,
    load_config,
)
from recon_tui.config.schema import keys_of_other_kinds
from recon_tui.config.store import update_config
from recon_tui.connectors.tokens import TokenStore, default_token_path
from recon_tui.onboarding.qbo_authorize import (
    AUTH_URL,
    PRODUCTION_API_URL,
    SANDBOX_API_URL,
    TOKEN_URL,
    AuthRequest,
    QboConnectError,
    Tokens,
    check_redirect_uri,
    is_loopback_uri,
)
from recon_tui.onboarding.qbo_flow import QboFlow
from recon_tui.secret_store import stash_secret
from recon_tui.text import printable

HELP = "authorize recon-tui with a QuickBooks Online company (OAuth in the browser)"
DESCRIPTION = (
    "Authorize recon-tui with your QuickBooks Online company through your own Intuit "
    "app (developer.intuit.com): opens Intuit's consent page, takes the answer on a "
    "loopback redirect (development keys) or as the pasted address the browser ended on "
    "(production keys, or --paste), reads the company's name to prove it worked, and "
    "saves [ledger] in the config, the secrets in the OS keyring when there is one.")

#: The development redirect URI to register in the Intuit app (any free port works
#: if it is registered; 8765 is taken by `recon-tui sandbox`).
DEFAULT_DEV_REDIRECT = "http://localhost:8250/callback"
DEFAULT_WAIT_SECONDS = 300.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flow's own options."""
    parser.add_argument("--client-id", metavar="ID",
                        help="the Intuit app's client ID (asked for when missing)")
    parser.add_argument("--client-secret-env", metavar="VAR",
                        help="read the client secret from this environment variable (the "
                        "config then says env:VAR); otherwise it is asked for, not echoed")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--sandbox", dest="production", action="store_false", default=False,
                      help="development keys and a sandbox company (the default)")
    keys.add_argument("--production", dest="production", action="store_true",
                      help="production keys and a real company (needs an https redirect "
                      "URI and Intuit's app assessment)")
    parser.add_argument("--redirect-uri", metavar="URI",
                        help="the redirect URI registered in the Intuit app, exactly (default "
                        f"{DEFAULT_DEV_REDIRECT} with development keys; asked for with "
                        "--production)")
    parser.add_argument("--paste", action="store_true",
                        help="do not listen on localhost: paste the address the browser ended "
                        "on instead (the default for an https redirect URI)")
    parser.add_argument("--no-browser", action="store_true",
                        help="only print the authorization URL, do not open a browser")
    parser.add_argument("--timeout", metavar="SECONDS", type=float,
                        default=DEFAULT_WAIT_SECONDS,
                        help="how long to wait for the browser (default %(default)g)")
    emulator = parser.add_argument_group(
        "other endpoints", "Intuit's by default; `recon-tui sandbox` serves all three at "
        "http://127.0.0.1:8765 (/connect/oauth2, /oauth2/v1/tokens/bearer and the API)")
    emulator.add_argument("--auth-url", metavar="URL", default=AUTH_URL,
                          help="authorization endpoint (default %(default)s)")
    emulator.add_argument("--token-url", metavar="URL", default=TOKEN_URL,
                          help="token endpoint (default %(default)s)")
    emulator.add_argument("--api-url", metavar="URL", default=None,
                          help=f"API host (default {SANDBOX_API_URL}, or "
                          f"{PRODUCTION_API_URL} with --production)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except QboConnectError as exc:
        raise CliError(str(exc)) from None
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        raise CliError("interrupted; nothing saved", status=130) from None


def _run(args: argparse.Namespace) -> int:
    path = config_path(getattr(args, "config", None))
    existing = _check_existing(path)
    minor_version = (existing.ledger.minor_version
                     if existing and isinstance(existing.ledger, QboLedgerConfig)
                     else DEFAULT_MINOR_VERSION)
    production = bool(args.production)
    for name in ("auth_url", "token_url", "api_url"):
        _check_url(f"--{name.replace('_', '-')}", getattr(args, name))
    api_url = args.api_url or (PRODUCTION_API_URL if production else SANDBOX_API_URL)
    redirect = check_redirect_uri(_redirect_uri(args, production), production=production)
    listen = is_loopback_uri(redirect) and not args.paste
    if args.timeout <= 0:
        raise CliError("--timeout: must be a positive number of seconds")
    client_id = _client_id(args)
    secret, secret_env = _client_secret(args)

    flow = QboFlow(path, client_id, secret, redirect, production=production,
                   auth_url=args.auth_url, token_url=args.token_url, api_url=api_url,
                   listen=listen, secret_env=secret_env, minor_version=minor_version,
                   where="the terminal")
    try:
        try:
            request = flow.start()
        except QboConnectError as exc:
            raise CliError(f"{exc}; nothing saved") from None
        _show(request, open_browser=not args.no_browser, listening=flow.listens)
        if flow.listens:
            answer = _wait(flow, args.timeout)
        else:
            answer = _ask("Paste the full address the browser ended on: ")
    finally:
        flow.close()
    for line in flow.finish(answer, _out)[1:]:
        _out(line)
    return 0


def config_path(named: str | None) -> Path:
    """``--config`` (created when missing), else ``$RECON_TUI_CONFIG``, else the
    user's default config file."""
    for value in (named, os.environ.get(CONFIG_ENV_VAR)):
        if value and value.strip():
            return Path(value.strip()).expanduser()
    return default_config_path()


def _check_existing(path: Path) -> Config | None:
    """An existing config that does not load is fixed first, before any browser."""
    return load_config(path) if path.exists() else None  # ConfigError: one line


def _check_url(flag: str, value: str | None) -> None:
    if value is None:
        return
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"{flag}: expected an http(s) URL, got {printable(value)}")


def _redirect_uri(args: argparse.Namespace, production: bool) -> str:
    if args.redirect_uri:
        return str(args.redirect_uri)
    if not production:
        return DEFAULT_DEV_REDIRECT
    return _ask("The https redirect URI registered for your app's production keys: ",
                missing="--production needs the app's https redirect URI (--redirect-uri)")


def _client_id(args: argparse.Namespace) -> str:
    value = (args.client_id or "").strip() or _ask(
        "Client ID (developer.intuit.com > your app > Keys and credentials): ",
        missing="no client ID given (--client-id)")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise CliError("--client-id: a client ID has no spaces or control characters")
    return value


def _client_secret(args: argparse.Namespace) -> tuple[str, str | None]:
    """The secret and, when it came from one, its environment variable's name."""
    var = args.client_secret_env
    if var:
        value = os.environ.get(var, "").strip()
        if not value:
            raise CliError(f"--client-secret-env: environment variable {var} is not set "
                           "or empty")
        scrub.register(value)
        return value, var
    if not sys.stdin.isatty():
        raise CliError("the client secret is asked for on a terminal (never echoed); with "
                       "no terminal, pass --client-secret-env VAR")
    try:
        value = getpass.getpass("Client secret (not shown): ").strip()
    except EOFError:
        value = ""
    if not value:
        raise CliError("no client secret given; nothing saved")
    scrub.register(value)
    return value, None


def _ask(prompt: str, *, missing: str = "no answer given") -> str:
    try:
        value = input(prompt).strip()
    except EOFError:
        value = ""
    if not value:
        raise CliError(f"{missing}; nothing saved")
    return value


def _out(line: str) -> None:
    print(line, flush=True)


def _show(request: AuthRequest, *, open_browser: bool, listening: bool) -> None:
    """The URL, always printed (a headless machine, a browser elsewhere)."""
    _out("Open this address to sign in to QuickBooks and connect recon-tui:")
    _out(f"  {request.url()}")
    if listening:
        _out(f"Waiting for the browser to come back to {request.redirect_uri} ... (if it "
             "opened on another machine and says it cannot connect, paste the address it "
             "ended on here and press Enter)")
    else:
        _out("After you click Connect, the browser ends on your redirect URI (the page "
             "need not load): copy that whole address from the address bar.")
    if open_browser:
        if not _has_display():
            _out("(no graphical display found: open the address yourself)")
        else:
            try:
                webbrowser.open(request.url(), new=2)
            except webbrowser.Error:
                _out("(could not start a browser: open the address yourself)")


def _has_display() -> bool:
    """False where webbrowser would fall back to a text browser taking over the
    terminal (Linux and BSD without X or Wayland, no $BROWSER)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _wait(flow: QboFlow, timeout: float) -> str:
    """The redirect from the listener, or a line pasted on stdin, whichever first."""
    if sys.stdin is not None and not sys.stdin.closed:
        threading.Thread(target=_read_paste, args=(flow,), daemon=True,
                         name="oauth-paste").start()
    answer = flow.wait(timeout, lambda: False)
    if answer is None:
        raise CliError(f"no answer from the browser within {timeout:g} s; nothing saved: "
                       "run `recon-tui connect qbo` again (--paste if the browser runs on "
                       "another machine)")
    return answer


def _read_paste(flow: QboFlow) -> None:
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):
        return
    flow.offer(line)


def _save(path: Path, realm: str, client_id: str, secret: str, secret_env: str | None,
          tokens: Tokens, api_url: str, token_url: str) -> None:
    for line in save_connection(path, realm, client_id, secret, secret_env, tokens, api_url,
                                token_url):
        _out(line)


def save_connection(path: Path, realm: str, client_id: str, secret: str,
                    secret_env: str | None, tokens: Tokens, api_url: str,
                    token_url: str) -> list[str]:
    """Config first (what the sync reads), then the token file (a head start:
    without it the next sync refreshes with the config's token). Returns the lines
    saying where each part went (the terminal prints them, a screen shows them)."""
    lines: list[str] = []
    account = f"qbo/{realm}"
    refresh = stash_secret("ledger", "refresh_token", tokens.refresh_token, account=account)
    if secret_env is not None:
        secret_form, secret_where = f"env:{secret_env}", f"environment variable {secret_env}"
    else:
        stashed = stash_secret("ledger", "client_secret", secret, account=account)
        secret_form, secret_where = stashed.stored_form, stashed.where
    update_config(path, {"ledger": {
        **dict.fromkeys(keys_of_other_kinds("ledger", "qbo")),  # a Desktop ledger's keys
        "kind": "qbo", "realm_id": realm, "client_id": client_id,
        "client_secret": secret_form, "refresh_token": refresh.stored_form,
        "base_url": api_url.rstrip("/"), "token_url": token_url.rstrip("/"),
    }})
    lines.append(f"Saved [ledger] in {path}")
    lines.append(f"  client secret: {secret_where}")
    lines.append(f"  refresh token: {refresh.where}")
    store = TokenStore(default_token_path(realm))
    try:
        with store.lock, store.process_lock(timeout=30):
            store.save(tokens.state())
        lines.append(f"  access token: {store.path} (0600)")
    except Exception as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        lines.append(f"  (could not write the token file {store.path}: {why}; the next "
                     "sync refreshes with the saved refresh token instead)")
    if tokens.refresh_expires_at is not None:
        day = tokens.refresh_expires_at.date().isoformat()
        lines.append(f"Intuit lets this connection run until {day}; recon-tui warns a month "
                     "before.")
    return lines
