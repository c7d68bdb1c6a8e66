"""Intuit's OAuth 2.0 authorization-code flow, one step per function, so the CLI
and the TUI drive the same code: the authorization URL, the redirect it ends on
(state checked), the code exchanged for tokens, and ``CompanyInfo`` read with the
new access token to prove the connection.

What Intuit documents, and this follows:

* the request: ``https://appcenter.intuit.com/connect/oauth2`` with
  ``client_id``, ``response_type=code``, ``scope=com.intuit.quickbooks.accounting``,
  ``redirect_uri`` and ``state`` (Intuit's own client,
  intuit/oauth-pythonclient ``AuthClient.get_authorization_url``; "Set up OAuth
  2.0", https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0);
* the redirect: ``code``, ``state`` ("should match the state sent in the
  original authorization request") and ``realmId`` (the company id), that page's
  table as quoted in intuit/oauth-pythonclient issue #28; "If the user doesn't
  grant the permission, the server returns an error" (the Authorization FAQ,
  https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq),
  as ``error`` and ``state`` on the redirect (RFC 6749 section 4.1.2.1);
* the exchange: ``POST`` to the token endpoint
  (``https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer``), form
  ``grant_type=authorization_code``, ``code``, ``redirect_uri``, HTTP Basic
  ``client_id:client_secret`` (``AuthClient.get_bearer_token``); the answer holds
  ``access_token``, ``expires_in``, ``refresh_token`` and
  ``x_refresh_token_expires_in``;
* the proof: ``GET /v3/company/{realmId}/companyinfo/{realmId}`` (the sample call
  of https://oauth-pythonclient.readthedocs.io/en/latest/user-guide.html; entity
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo),
  ``CompanyInfo.CompanyName``;
* redirect URIs: "You can add localhost (no HTTPS) as a URI for sandbox
  environments"; otherwise "The Intuit OAuth 2.0 Server can only redirect to URIs
  beginning with https. IP addresses aren't allowed"
  (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/set-redirect-uri;
  also https://developer.intuit.com/hub/blog/2017/08/11/oauth-2-0-integration-tips-testing-redirect-url).

An authorization code is single use, so the exchange is never retried once sent;
no message here ever carries the code, a token or the client secret.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import secrets
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from recon_tui import scrub
from recon_tui.config import DEFAULT_QBO_BASE_URL, DEFAULT_QBO_TOKEN_URL
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import ApiClient
from recon_tui.connectors.qbo_errors import qbo_error_parser, safe_token_code, token_error_parser
from recon_tui.connectors.tokens import TokenState, expiry_after, token_fingerprint
from recon_tui.jsonio import JsonError, decode
from recon_tui.text import printable

__all__ = [
    "AUTH_URL",
    "LOOPBACK_HOSTS",
    "SANDBOX_API_URL",
    "SCOPE",
    "AuthRequest",
    "Grant",
    "QboConnectError",
    "Tokens",
    "check_redirect_uri",
    "exchange_code",
    "is_loopback_uri",
    "new_request",
    "parse_redirect",
    "read_company_name",
]

AUTH_URL = "https://appcenter.intuit.com/connect/oauth2"
SCOPE = "com.intuit.quickbooks.accounting"
SANDBOX_API_URL = "https://sandbox-quickbooks.api.intuit.com"
PRODUCTION_API_URL = DEFAULT_QBO_BASE_URL
TOKEN_URL = DEFAULT_QBO_TOKEN_URL
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SYSTEM = "qbo"


class QboConnectError(Exception):
    """One line for the user; nothing was saved."""


@dataclass(frozen=True)
class AuthRequest:
    """One authorization attempt: what the URL asks for and the state it must come
    back with. ``repr`` leaves the state out (it is this session's only proof)."""

    client_id: str
    redirect_uri: str
    state: str = field(repr=False)
    auth_url: str = AUTH_URL

    def url(self) -> str:
        query = urllib.parse.urlencode({
            "client_id": self.client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
        })
        return f"{self.auth_url}?{query}"


def new_request(client_id: str, redirect_uri: str, auth_url: str = AUTH_URL) -> AuthRequest:
    """A request with a fresh unguessable state (CSRF protection: a redirect not
    started by this session cannot carry it)."""
    return AuthRequest(client_id, redirect_uri, secrets.token_urlsafe(32), auth_url)


def is_loopback_uri(uri: str) -> bool:
    """``http://localhost``, ``http://127.0.0.1`` or ``http://[::1]``: a redirect this
    machine can listen for."""
    parts = urllib.parse.urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def check_redirect_uri(uri: str, *, production: bool) -> str:
    """The redirect URI, or QboConnectError saying why Intuit would refuse it."""
    text = uri.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        _ = parts.port
    except ValueError:
        raise QboConnectError(f"--redirect-uri: not a valid URL: {printable(text)}") from None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise QboConnectError("--redirect-uri: expected an http:// or https:// URL with a "
                              f"host, got {printable(text)}")
    if parts.username or parts.password or parts.fragment or parts.query:
        raise QboConnectError("--redirect-uri: must have no user name, query or fragment "
                              "(register it in your Intuit app exactly as given here)")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise QboConnectError("--redirect-uri: Intuit accepts http only for localhost; "
                              "use an https URL on your own domain")
    if production:
        if parts.scheme != "https":
            raise QboConnectError(
                "--production: Intuit's production keys need an https redirect URI on a "
                "host name (http://localhost works for development keys only); register "
                "one such as https://example.com/recon-tui/callback and pass it with "
                "--redirect-uri")
        if _is_ip(host):
            raise QboConnectError(
                "--production: Intuit does not accept an IP address in a redirect URI; "
                "use an https URL on a domain name")
    return text


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Grant:
    """What a successful redirect carries. ``repr`` masks the code."""

    code: str = field(repr=False)
    realm_id: str


def parse_redirect(text: str, request: AuthRequest) -> Grant:
    """The code and company of the URL the browser was redirected to (the whole
    URL, or just its query), after checking it answers ``request``.

    The state is checked before anything else is believed: a redirect that does
    not carry this session's state, an error included, is refused.
    """
    text = text.strip()
    if not text:
        raise QboConnectError("no URL was given; nothing saved")
    parts = urllib.parse.urlsplit(text)
    if parts.scheme or parts.netloc:
        _check_target(parts, request.redirect_uri)
        query = parts.query
    else:
        query = text.lstrip("?")
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    state = _single(params, "state")
    if state is None or not hmac.compare_digest(state.encode(), request.state.encode()):
        raise QboConnectError(
            "refused: the redirect's state does not match this session's (an old tab or "
            "someone else's link); nothing saved: run `recon-tui connect qbo` again")
    error = _single(params, "error")
    if error is not None:
        raise QboConnectError(_error_line(error, _single(params, "error_description")))
    code = _single(params, "code")
    realm = _single(params, "realmId")
    if not code:
        raise QboConnectError("the redirect carries no authorization code; nothing saved")
    if not realm:
        raise QboConnectError(
            "the redirect carries no realmId (company id): is the app's scope "
            f"{SCOPE}? nothing saved")
    if not realm.isdigit() or len(realm) > 32:
        raise QboConnectError(f"the redirect's realmId {printable(realm[:40])!r} is not a "
                              "QuickBooks company id; nothing saved")
    scrub.register(code)
    return Grant(code, realm)


def _check_target(parts: urllib.parse.SplitResult, redirect_uri: str) -> None:
    """A pasted URL must be the redirect URI (another page's URL is a copy mistake)."""
    want = urllib.parse.urlsplit(redirect_uri)
    same = ((parts.scheme.lower(), (parts.hostname or "").lower(), parts.port,
             parts.path.rstrip("/"))
            == (want.scheme.lower(), (want.hostname or "").lower(), want.port,
                want.path.rstrip("/")))
    if not same:
        raise QboConnectError(
            f"that URL is not the redirect URI {redirect_uri}: paste the address the "
            "browser ended on after you clicked Connect; nothing saved")


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise QboConnectError(f"the redirect carries {name} twice; refused, nothing saved")
    return values[0]


def _error_line(error: str, description: str | None) -> str:
    """The user's refusal (or Intuit's error) as one line, no free text trusted."""
    code = safe_token_code({"error": error}) or "an error"
    if code == "access_denied":
        return ("QuickBooks did not authorize recon-tui (access_denied: the consent was "
                "declined or cancelled); nothing saved")
    said = f" ({printable(description[:160])})" if description else ""
    return f"QuickBooks answered the authorization with {code}{said}; nothing saved"


@dataclass(frozen=True)
class Tokens:
    """The token endpoint's answer to a code. ``repr`` masks both tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None

    def state(self) -> TokenState:
        """The token store's state for them: seeded from this refresh token, the
        one the config will hold, so the next sync uses the access token as is."""
        return TokenState(
            refresh_token=self.refresh_token,
            seeded_from=token_fingerprint(self.refresh_token),
            access_token=self.access_token,
            access_expires_at=self.access_expires_at,
            refresh_expires_at=self.refresh_expires_at,
        )


def exchange_code(token_url: str, client_id: str, client_secret: str, grant: Grant,
                  redirect_uri: str, *, transport: httpx.BaseTransport | None = None,
                  timeout: float | None = None) -> Tokens:
    """Trade the authorization code for tokens; the POST is never repeated once it
    may have reached the server (the code is single use)."""
    operation = "exchange the authorization code"
    scrub.register_basic(client_id, client_secret)
    credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": grant.code,
                                   "redirect_uri": redirect_uri}).encode()
    # idempotent=False: retried only when it never left (no connection, a 429).
    client = ApiClient(SYSTEM, token_url, error_parser=token_error_parser,
                       timeout=timeout, transport=transport)
    try:
        response = client.request(
            "POST", token_url, operation=operation, content=form, idempotent=False,
            headers={"Authorization": f"Basic {credentials}",
                     "Content-Type": "application/x-www-form-urlencoded"},
            ok_statuses=frozenset({400, 401}))
    except ConnectorError as exc:
        raise QboConnectError(f"{exc}; nothing saved") from None
    finally:
        client.close()
    body = _token_body(response)
    if response.status_code != 200:
        raise QboConnectError(_refusal(response.status_code, safe_token_code(body)))
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise QboConnectError("qbo: the token endpoint's answer lacks the access or refresh "
                              "token; nothing saved")
    scrub.register(access, refresh)
    now = datetime.now(UTC)
    return Tokens(access, refresh,
                  expiry_after(body.get("expires_in"), now) or now + timedelta(hours=1),
                  expiry_after(body.get("x_refresh_token_expires_in"), now))


def _refusal(status: int, code: str | None) -> str:
    if status == 401 or code == "invalid_client":
        return ("qbo: Intuit rejected the app's keys (invalid_client): check the client ID "
                "and secret, and that they are the development keys for --sandbox or the "
                "production keys for --production; nothing saved")
    if code == "invalid_grant":
        return ("qbo: Intuit refused the authorization code (invalid_grant: used already, "
                "older than a few minutes, or a redirect URI other than the one it was "
                "issued for); run `recon-tui connect qbo` again; nothing saved")
    shown = f" [code {code}]" if code else ""
    return f"qbo: exchange the authorization code: HTTP {status}{shown}; nothing saved"


def _token_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object, or a line that quotes nothing of it (it may hold tokens)."""
    try:
        body = decode(response.content)
    except JsonError:
        body = None
    if not isinstance(body, dict):
        raise QboConnectError(f"qbo: the token endpoint answered HTTP {response.status_code} "
                              "without a JSON object; nothing saved")
    return body


def read_company_name(api_url: str, realm_id: str, access_token: str, minor_version: int,
                      *, transport: httpx.BaseTransport | None = None,
                      timeout: float | None = None) -> str:
    """``CompanyInfo.CompanyName`` read with the new access token: the proof that
    the keys, the company and the API host (sandbox or production) belong together."""
    operation = "read CompanyInfo"
    realm = urllib.parse.quote(realm_id, safe="")
    client = ApiClient(SYSTEM, f"{api_url.rstrip('/')}/v3/company/{realm}/",
                       headers=lambda: {"Authorization": f"Bearer {access_token}"},
                       error_parser=qbo_error_parser, timeout=timeout, transport=transport)
    try:
        body, _ = client.get_json(f"companyinfo/{realm}", operation=operation,
                                  params={"minorversion": str(minor_version)})
    except ConnectorError as exc:
        hint = ""
        if exc.status in (401, 403):
            hint = (" (development keys reach sandbox companies only, with --sandbox; "
                    "production keys real ones, with --production)")
        raise QboConnectError(f"{exc}{hint}; nothing saved") from None
    finally:
        client.close()
    info = body.get("CompanyInfo") if isinstance(body, dict) else None
    name = info.get("CompanyName") if isinstance(info, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise QboConnectError("qbo: read CompanyInfo: the answer holds no CompanyName; "
                              "nothing saved")
    return name
