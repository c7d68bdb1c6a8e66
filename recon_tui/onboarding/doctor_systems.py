"""The doctor's checks of each configured system, through the real connectors.

Per system, in order: **reachable** (a GET of the host's root with no
credentials: any HTTP answer will do), **authenticated** (the first API call;
for QuickBooks the token refresh before it), **permitted** (one cheap request
per read the sync makes: a failure names the endpoint and the role to fix),
**clock** (the API's ``Date`` header against this machine's clock: more than
5 minutes apart is a warning, since OAuth tokens and signed requests fail on
skew), **API version** (the pinned ConnectWise version, QBO's minorversion,
Autotask REST v1.0: accepted when a call answered 2xx with it), and for
QuickBooks the **refresh token's expiry** (:mod:`qbo_expiry`). An Autotask
tenant that moved zones is followed once (the connector's zone re-lookup) and
the new ``base_url`` saved.

Sources for the calls: ConnectWise ``pageSize`` and ``fields`` (PSA Developer
Guide), Autotask ``MaxRecords`` (REST_Advanced_Query_Features.htm), QBO
``MAXRESULTS`` (Intuit's query reference); 401 is a bad credential and 403 a
missing permission in all three (ConnectWise's HTTP statuses table, Autotask's
REST_Security_Auth.htm, Intuit's error codes).
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from recon_tui.config import (
    AutotaskConfig,
    Config,
    ConfigError,
    ConnectWiseConfig,
    QbdLedgerConfig,
    QboLedgerConfig,
)
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import ApiClient, RetryPolicy, decode_json
from recon_tui.onboarding.doctor import FAIL, OK, WARN, Check

MAX_SKEW = timedelta(minutes=5)
RETRY = RetryPolicy(max_attempts=2, base_delay_seconds=0.2, max_delay_seconds=2.0)
TIMEOUT = 10.0
FORBIDDEN = frozenset({403})

Send = Callable[[], httpx.Response]


def system_checks(config: Config, *, config_path: Path | None,
                  transport: httpx.BaseTransport | None = None,
                  now: datetime | None = None) -> list[Check]:
    """Every configured system's checks, the PSA first (as a sync reads it)."""
    checks: list[Check] = []
    if isinstance(config.psa, AutotaskConfig):
        checks += autotask_checks(config.psa, config_path, transport, now)
    elif isinstance(config.psa, ConnectWiseConfig):
        checks += connectwise_checks(config.psa, transport, now)
    if isinstance(config.ledger, QboLedgerConfig):
        checks += qbo_checks(config.ledger, transport, now)
    elif isinstance(config.ledger, QbdLedgerConfig):
        # Desktop is not called: it calls us, when the Web Connector polls.
        checks.append(Check("qbd", OK, "QuickBooks Desktop is checked when the Web Connector "
                            f"connects to {config.ledger.listen} (recon-tui qbwc serve)"))
    return checks


# --------------------------------------------------------------------------- shared
def reachable(system: str, base_url: str, where: str,
              transport: httpx.BaseTransport | None) -> tuple[Check, str | None]:
    """Any HTTP answer from the host's root, with no credentials: (check, Date header)."""
    parts = urlsplit(base_url)
    root = f"{parts.scheme}://{parts.netloc}/"
    try:
        with httpx.Client(transport=transport, timeout=TIMEOUT, follow_redirects=False) as client:
            response = client.get(root)
    except httpx.HTTPError as exc:
        return Check(f"{system} reachable", FAIL,
                     f"cannot reach {parts.netloc} ({type(exc).__name__})",
                     f"check {where} base_url, the network, a proxy or firewall"), None
    return (Check(f"{system} reachable", OK, f"{parts.netloc} answers (HTTP "
                  f"{response.status_code})"), response.headers.get("date"))


def clock_check(system: str, date_header: str | None, now: datetime | None) -> Check:
    """The server's ``Date`` against this machine's clock."""
    name = f"{system} clock"
    if not date_header:
        return Check(name, WARN, "the server sent no Date header; skew not measured")
    try:
        server = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return Check(name, WARN, f"unreadable Date header {date_header[:40]!r}; skew not measured")
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    local = now or datetime.now(UTC)
    skew = server - local
    minutes = abs(skew.total_seconds()) / 60
    side = "ahead of" if skew.total_seconds() > 0 else "behind"
    if abs(skew) > MAX_SKEW:
        return Check(name, WARN, f"the server's clock is {minutes:.0f} minutes {side} this "
                     f"machine's (server {server:%H:%M} UTC, here {local:%H:%M} UTC)",
                     "set this machine's clock (turn on NTP time sync); OAuth tokens and "
                     "signed requests fail when clocks are more than a few minutes apart")
    return Check(name, OK, f"within {max(minutes, 0):.0f} min of this machine's clock")


class Probe:
    """One system's API calls, classified: authentication failure (stops the
    rest), forbidden endpoints, other failures, and the answers' Date headers."""

    def __init__(self, system: str, auth_failure: Callable[[ConnectorError], bool]) -> None:
        self.system = system
        self.auth_failure = auth_failure
        self.auth_error: ConnectorError | None = None
        self.ok: list[str] = []
        self.forbidden: list[tuple[str, str]] = []
        self.failed: list[tuple[str, ConnectorError]] = []
        self.dates: list[str] = []
        self.bodies: dict[str, Any] = {}

    def call(self, what: str, send: Send, message: Callable[[httpx.Response], str]) -> None:
        if self.auth_error is not None:
            return
        try:
            response = send()
        except ConnectorError as exc:
            if not self.ok and not self.forbidden and self.auth_failure(exc):
                self.auth_error = exc
            else:
                self.failed.append((what, exc))
            return
        if response.headers.get("date"):
            self.dates.append(response.headers["date"])
        if response.status_code in FORBIDDEN:
            self.forbidden.append((what, message(response)))
            return
        self.ok.append(what)
        if response.status_code == 404:  # asked for only where the sync takes 404 as an answer
            return
        try:
            self.bodies[what] = decode_json(response, self.system, what)
        except ConnectorError as exc:
            self.ok.pop()
            self.failed.append((what, exc))

    def checks(self, auth_detail: str, auth_fix: str, permission_fix: Callable[[str], str],
               version: str) -> list[Check]:
        system = self.system
        if self.auth_error is not None:
            return [Check(f"{system} authenticated", FAIL, str(self.auth_error), auth_fix)]
        if not self.ok and not self.forbidden:
            what, exc = self.failed[0]
            return [Check(f"{system} authenticated", FAIL, f"{what}: {exc}",
                          "see the message; `recon-tui doctor` again once it is fixed")]
        out = [Check(f"{system} authenticated", OK, auth_detail)]
        if not self.forbidden and not self.failed:
            out.append(Check(f"{system} permitted", OK,
                             f"every read the sync makes answered: {', '.join(self.ok)}"))
        for what, text in self.forbidden:
            out.append(Check(f"{system} permitted", FAIL, f"{what}: HTTP 403 {text}".rstrip(),
                             permission_fix(what)))
        for what, exc in self.failed:
            out.append(Check(f"{system} permitted", FAIL, f"{what}: {exc}",
                             "see the message; a 5xx or a timeout is the server's side: "
                             "try again later"))
        if self.ok:
            out.append(Check(f"{system} API version", OK, f"{version} accepted"))
        else:
            out.append(Check(f"{system} API version", WARN,
                             f"{version} not confirmed: no read was allowed"))
        return out


def _error_text(parser: Callable[[httpx.Response], tuple[str, str | None]]
                ) -> Callable[[httpx.Response], str]:
    def text(response: httpx.Response) -> str:
        message, code = parser(response)
        return f"{message} [code {code}]" if code else message

    return text


# --------------------------------------------------------------------------- ConnectWise
def connectwise_checks(config: ConnectWiseConfig, transport: httpx.BaseTransport | None,
                       now: datetime | None) -> list[Check]:
    from recon_tui.connectors.connectwise import ACCEPT, ConnectWiseConnector, parse_cw_error

    system = "connectwise"
    check, date = reachable(system, config.base_url, "[psa]", transport)
    if check.failed:
        return [check]
    out = [check]
    try:
        connector = ConnectWiseConnector(config, transport=transport, timeout=TIMEOUT, retry=RETRY)
    except (ConnectorError, ConfigError) as exc:
        return [*out, Check(f"{system} authenticated", FAIL, str(exc), "fix [psa] in the config")]
    api: ApiClient = connector.api
    probe = Probe(system, lambda exc: exc.status == 401)
    text = _error_text(parse_cw_error)

    def get(path: str, **params: Any) -> Send:
        return lambda: api.request("GET", path, params={"pageSize": 1, **params},
                                   operation=f"read {path}", ok_statuses=FORBIDDEN)

    try:
        for path, fields in (("company/companies", "id"), ("company/contacts", "id"),
                             ("finance/invoices", "id"), ("finance/accounting/unpostedinvoices",
                                                          None)):
            probe.call(path, get(path, **({"fields": fields} if fields else {})), text)
        invoices = probe.bodies.get("finance/invoices")
        first = invoices[0].get("id") if isinstance(invoices, list) and invoices and \
            isinstance(invoices[0], dict) else None
        if first is not None:
            path = f"finance/invoices/{int(first)}/payments"
            probe.call("finance/invoices/{id}/payments", get(path), text)
    finally:
        connector.close()
    version = ACCEPT.rsplit("version=", 1)[-1]
    out += probe.checks(
        f"company {config.company_id}, public key {config.public_key}, clientId accepted",
        "check [psa] company_id, public_key, private_key and client_id (or run `recon-tui "
        "connect connectwise` again)",
        lambda what: f"give the API member's security role Inquire access to {what} (System "
        "> Security Roles: Companies for company/*, Finance for finance/*)",
        f"API version {version}")
    if probe.auth_error is None:
        out.append(clock_check(system, (probe.dates or [date])[0], now))
    return out


# --------------------------------------------------------------------------- Autotask
AT_ENTITIES = ("Companies", "Contacts", "ClientPortalUsers", "Invoices")


def autotask_checks(config: AutotaskConfig, config_path: Path | None,
                    transport: httpx.BaseTransport | None, now: datetime | None) -> list[Check]:
    from recon_tui.connectors.autotask import AutotaskConnector, parse_at_error

    system = "autotask"
    check, date = reachable(system, config.base_url, "[psa]", transport)
    if check.failed:
        return [check]
    out = [check]
    try:
        connector = AutotaskConnector(config, transport=transport, timeout=TIMEOUT, retry=RETRY)
    except (ConnectorError, ConfigError) as exc:
        return [*out, Check(f"{system} authenticated", FAIL, str(exc), "fix [psa] in the config")]
    api = connector.api
    probe = Probe(system, lambda exc: exc.status == 401)
    text = _error_text(parse_at_error)
    one = {"filter": [{"op": "gte", "field": "id", "value": 0}], "MaxRecords": 1}
    try:
        for entity in AT_ENTITIES:
            probe.call(f"{entity}/query", lambda e=entity: api.request(
                "POST", f"{e}/query", json_body=one, operation=f"read {e}",
                ok_statuses=FORBIDDEN), text)
        # A 404 here is an answer: the sync then uses the default portal levels.
        probe.call("ClientPortalUsers/entityInformation/fields", lambda: api.request(
            "GET", "ClientPortalUsers/entityInformation/fields",
            operation="read portal security levels", ok_statuses=FORBIDDEN | {404}), text)
    finally:
        connector.close()
    moved = api.moved_to
    if moved is not None:
        out.append(_saved_zone(moved.name, moved.api_url, config_path))
    out += probe.checks(
        f"API user {config.username} accepted (secret and integration code)",
        "check [psa] username, secret and integration_code, and that the user's security "
        "level is API User (or run `recon-tui connect autotask` again)",
        lambda what: f"give the API user's security level access to {what.split('/')[0]} "
        "(Admin > Security Levels)",
        "REST API v1.0")
    if probe.auth_error is None:
        out.append(clock_check(system, (probe.dates or [date])[0], now))
    return out


def _saved_zone(name: str, api_url: str, config_path: Path | None) -> Check:
    """Save the zone a moved tenant is in now, and say so."""
    fix = f'set [psa] base_url = "{api_url}"'
    if config_path is None:
        return Check("autotask zone", WARN, f"the tenant moved to zone {name} ({api_url})", fix)
    from recon_tui.config.store import update_config

    try:
        update_config(config_path, {"psa": {"base_url": api_url}})
    except ConfigError as exc:
        return Check("autotask zone", FAIL, f"the tenant moved to zone {name} ({api_url}); "
                     f"saving it failed: {exc}", fix)
    return Check("autotask zone", WARN, f"the tenant moved to zone {name}: base_url is now "
                 f"{api_url} (saved to {config_path})", "nothing more: the next sync uses it")


# --------------------------------------------------------------------------- QuickBooks
QBO_ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo")


def qbo_checks(config: QboLedgerConfig, transport: httpx.BaseTransport | None,
               now: datetime | None) -> list[Check]:
    from recon_tui.connectors.qbo import QboConnector
    from recon_tui.connectors.qbo_errors import qbo_error_parser
    from recon_tui.connectors.qbo_query import checked_body
    from recon_tui.connectors.tokens import TokenStore, default_token_path

    system = "qbo"
    check, date = reachable(system, config.base_url, "[ledger]", transport)
    if check.failed:
        return [check]
    out = [check]
    # The sync's own token file: a refresh here rotates the token, and the rotated
    # one must be where the next sync looks for it.
    store = TokenStore(default_token_path(config.realm_id))
    try:
        connector = QboConnector(config, token_store=store, transport=transport,
                                 timeout=TIMEOUT, retry=RETRY)
    except (ConnectorError, ConfigError) as exc:
        return [*out, Check(f"{system} authenticated", FAIL, str(exc), "fix [ledger]")]

    def auth_failure(exc: ConnectorError) -> bool:
        return exc.status in (400, 401) or exc.code in ("invalid_grant", "invalid_client") \
            or "access token" in str(exc)

    probe = Probe(system, auth_failure)
    text = _error_text(qbo_error_parser)
    api = connector.api

    def query(entity: str) -> Send:
        def send() -> httpx.Response:
            response = api.request("GET", "query", operation=f"read {entity}",
                                   params={"query": f"SELECT Id FROM {entity} MAXRESULTS 1",
                                           "minorversion": str(config.minor_version)},
                                   ok_statuses=FORBIDDEN)
            if response.status_code == 200:
                checked_body(decode_json(response, system, f"read {entity}"),
                             f"read {entity}")
            return response
        return send

    try:
        for entity in QBO_ENTITIES:
            probe.call(entity, query(entity), text)
    except ConfigError as exc:  # a secret that cannot be revealed
        connector.close()
        return [*out, Check(f"{system} authenticated", FAIL, str(exc), "fix [ledger]")]
    finally:
        connector.close()
    out += probe.checks(
        f"realm {config.realm_id}: the refresh token was accepted",
        "run `recon-tui connect qbo` (the refresh token expired or was revoked, or the "
        "client id and secret do not match it)",
        lambda what: f"the QuickBooks user who authorised the app cannot read {what}s: "
        "connect again as a company admin (`recon-tui connect qbo`)",
        f"minorversion {config.minor_version}")
    if probe.auth_error is None:
        out.append(clock_check(system, (probe.dates or [date])[0], now))
    out.append(_expiry_check(config, store, now))
    return out


def _expiry_check(config: QboLedgerConfig, store: Any, now: datetime | None) -> Check:
    from recon_tui.onboarding.qbo_expiry import expiry_warning, refresh_token_expiry

    try:
        config_token: str | None = config.refresh_token.reveal()
    except ConfigError:
        config_token = None
    expires = refresh_token_expiry(store, config_token)
    warning = expiry_warning(expires, now)
    if expires is None:
        return Check("qbo refresh token", OK, "expiry not known yet (QuickBooks has not said; "
                     "it does at the next refresh)")
    day = expires.astimezone(UTC).date().isoformat()
    if warning is None:
        return Check("qbo refresh token", OK, f"valid until {day}")
    expired = expires <= (now or datetime.now(UTC))
    return Check("qbo refresh token", FAIL if expired else WARN, warning,
                 "run `recon-tui connect qbo`")
