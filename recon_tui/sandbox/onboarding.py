"""The emulator's side of ``recon-tui connect qbo``: Intuit's OAuth 2.0
authorization-code flow, the code grant at the token endpoint, and QBO's
``CompanyInfo`` (the first call a connected app makes). The PSA look-ups
(ConnectWise ``login/companyinfo``, Autotask ``zoneInformation`` and zone moves)
are in :mod:`recon_tui.sandbox.onboarding_psa`.

Served, as Intuit documents them:

* ``GET /connect/oauth2?client_id&response_type=code&scope&redirect_uri&state``
  (Intuit's authorization endpoint is ``https://appcenter.intuit.com/connect/oauth2``,
  https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0):
  an HTML consent page naming the app (its client id) and the company (the sandbox
  realm). An unknown client or a redirect URI not registered for it gets an error
  page and **no redirect** ("The Intuit OAuth 2.0 Server can only redirect and send
  responses to registered URIs",
  https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/set-redirect-uri;
  RFC 6749 4.1.2.1). The error text is the one developers quote from Intuit's
  page, "The redirect_uri query parameter value is invalid" (seen in
  BTheCoderr/EscapeRamp ``QUICKBOOKS_SETUP.md``). Other request errors go back
  to the redirect URI as ``error=...&state=...``: a scope without
  ``com.intuit.quickbooks.accounting`` is ``invalid_scope`` (Intuit redirects
  with ``error=invalid_scope``: IntuitDeveloper/HelloWorld-PHP issue #2),
  ``response_type`` other than ``code`` is ``unsupported_response_type`` and a
  missing ``state`` is ``invalid_request`` (RFC 6749 4.1.2.1; recon-tui always
  sends a state, and the emulator insists).
* ``POST /connect/oauth2/consent`` with the same five fields and
  ``decision=connect`` or ``decision=cancel``: the consent form's buttons, and
  the way to approve **without a browser** (a test, or ``curl -i -d ...``).
  Connect answers 302 to ``redirect_uri?code=...&state=...&realmId=...`` (the
  callback's parameters, intuit/oauth-pythonclient issue #28 quoting the
  OAuth 2.0 page); Cancel to ``redirect_uri?error=access_denied&state=...``
  (RFC 6749 4.1.2.1: the stored Intuit pages show no example of their denial
  redirect).
* ``grant_type=authorization_code`` at ``/oauth2/v1/tokens/bearer`` with
  ``code`` and ``redirect_uri`` (it must equal the one the code was issued for),
  HTTP Basic client auth as for refresh; a code is single-use and short-lived,
  a spent, expired or foreign one is ``400 {"error": "invalid_grant"}``. The
  answer is ``token_type``, ``access_token``, ``expires_in``,
  ``refresh_token``, ``x_refresh_token_expires_in`` (intuit/oauth-jsclient
  ``README.md``). Code lifetime: Intuit's stored pages do not state it; RFC 6749
  4.1.2 recommends at most 10 minutes and developers' QuickBooks guides report
  10 (beneaug/EmbroideryQuoteCalculator ``QUICKBOOKS_OAUTH_SETUP.md``), so
  :attr:`OnboardingState.code_seconds` is 600, settable.
* ``GET /v3/company/{realm}/companyinfo/{realm}`` (authorised like every v3
  route): ``{"CompanyInfo": {...}, "time": ...}`` with the fields of the
  CompanyInfo reference's "Read companyinfo" sample
  (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo;
  our copy with its structure: ``tests/reference_payloads/qbo/companyinfo_read.json``).

Registered redirect URIs of the sandbox app: ``http://localhost:<any port>/...``
and ``http://127.0.0.1:<any port>/...`` (development keys may use plain-http
localhost, https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/set-redirect-uri),
plus whatever :meth:`OnboardingState.register_redirect_uri` adds.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from recon_tui.sandbox.accounts import SANDBOX_REALM
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import now_iso, qbo_auth_fault, qbo_fault
from recon_tui.sandbox.qbo import CLIENT_ID, CLIENT_SECRET, QboAuth

__all__ = ["ACCOUNTING_SCOPE", "AUTHORIZE_PATH", "CONSENT_PATH", "DEMO_COMPANY_NAME",
           "OnboardingState", "banner", "client_ok", "companyinfo_body", "exchange_code",
           "routes", "state_of"]

AUTHORIZE_PATH = "/connect/oauth2"
CONSENT_PATH = "/connect/oauth2/consent"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
#: The MSP whose books the demo holds (the sandbox company's name in QBO and PSA).
DEMO_COMPANY_NAME = "recon-tui Demo MSP"
CODE_SECONDS = 600
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
_FIELDS = ("client_id", "response_type", "scope", "redirect_uri", "state")


@dataclass
class IssuedCode:
    client_id: str
    redirect_uri: str
    expires_at: float


@dataclass
class OnboardingState:
    """Registered apps, issued codes and the Autotask tenant's zone (tests change
    them on a running emulator through :func:`state_of`)."""

    apps: dict[str, str] = field(default_factory=lambda: {CLIENT_ID: CLIENT_SECRET})
    #: Exact redirect URIs registered besides the loopback ones, per client id.
    redirect_uris: dict[str, set[str]] = field(default_factory=dict)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    code_seconds: float = CODE_SECONDS
    #: Autotask: has the tenant moved to the second zone (``zone_moved`` fault)?
    zone_moved: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register_app(self, client_id: str, secret: str) -> None:
        with self.lock:
            self.apps[client_id] = secret

    def register_redirect_uri(self, uri: str, client_id: str = CLIENT_ID) -> None:
        with self.lock:
            self.redirect_uris.setdefault(client_id, set()).add(uri)

    def redirect_ok(self, client_id: str, uri: str) -> bool:
        """Registered for the app: an exact registration or, for the sandbox app
        (development keys), plain-http loopback on any port."""
        with self.lock:
            if uri in self.redirect_uris.get(client_id, set()):
                return True
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - a bad port raises here
        except ValueError:
            return False
        return (client_id == CLIENT_ID and parts.scheme == "http"
                and parts.hostname in _LOOPBACK_HOSTS and not parts.fragment)

    def issue_code(self, client_id: str, redirect_uri: str) -> str:
        code = "sbx-ac-" + secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = IssuedCode(client_id, redirect_uri,
                                          time.time() + self.code_seconds)
        return code

    def spend_code(self, code: str, client_id: str, redirect_uri: str) -> bool:
        """True once for a live code of this client and redirect URI; presenting a
        code spends it whatever the outcome (single use)."""
        with self.lock:
            issued = self.codes.pop(code, None)
        return (issued is not None and issued.expires_at > time.time()
                and issued.client_id == client_id and issued.redirect_uri == redirect_uri)

    def expire_codes(self) -> None:
        """Test support: every code issued so far is past its lifetime."""
        with self.lock:
            for issued in self.codes.values():
                issued.expires_at = 0.0


def state_of(book: SandboxBook) -> OnboardingState:
    """The book's onboarding state (made on first use, kept across app rebuilds)."""
    state = getattr(book, "onboarding_state", None)
    if state is None:
        state = OnboardingState()
        book.onboarding_state = state  # type: ignore[attr-defined]
    return state


def client_ok(book: SandboxBook, client_id: str, secret: str) -> bool:
    """HTTP Basic client credentials of a registered app (the token endpoint)."""
    apps = state_of(book).apps
    return bool(client_id) and client_id in apps and secrets.compare_digest(
        apps[client_id].encode(), secret.encode())


def exchange_code(book: SandboxBook, auth: QboAuth, client_id: str,
                  form: dict[str, list[str]]) -> Response:
    """``grant_type=authorization_code``: a token pair, or ``invalid_grant``."""
    code = form.get("code", [""])[0]
    redirect_uri = form.get("redirect_uri", [""])[0]
    if not code or not redirect_uri:
        return JSONResponse({"error": "invalid_request"}, status_code=400)
    if not state_of(book).spend_code(code, client_id, redirect_uri):
        return JSONResponse({"error": "invalid_grant"}, status_code=400)
    return JSONResponse(auth.issue("code"), headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- consent
def _error_page(message: str) -> HTMLResponse:
    """What the real server shows instead of redirecting (no Location)."""
    body = (f"<!doctype html><html><head><title>Error</title></head><body>"
            f"<h1>Oops! An error has occurred.</h1><p>{html.escape(message)}</p>"
            f"</body></html>")
    return HTMLResponse(body, status_code=400)


def _back_to(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
    joiner = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + joiner + urlencode(params), status_code=302)


def _check(book: SandboxBook, fields: dict[str, str]) -> Response | None:
    """None for a request the consent page may show, else the error answer."""
    client_id, redirect_uri = fields["client_id"], fields["redirect_uri"]
    if client_id not in state_of(book).apps:
        return _error_page("The client_id query parameter value is invalid.")
    if not redirect_uri or not state_of(book).redirect_ok(client_id, redirect_uri):
        return _error_page("The redirect_uri query parameter value is invalid.")
    state = {"state": fields["state"]} if fields["state"] else {}
    if fields["response_type"] != "code":
        return _back_to(redirect_uri, {"error": "unsupported_response_type", **state})
    if ACCOUNTING_SCOPE not in fields["scope"].split():
        return _back_to(redirect_uri, {"error": "invalid_scope", **state})
    if not fields["state"]:
        return _back_to(redirect_uri, {"error": "invalid_request"})
    return None


def _consent_page(fields: dict[str, str]) -> HTMLResponse:
    hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
                     for name, value in fields.items())
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in fields["scope"].split())
    body = (
        "<!doctype html><html><head><title>Connect to QuickBooks (sandbox)</title></head>"
        f"<body><h1>{html.escape(fields['client_id'])} wants to connect</h1>"
        f"<p>Company: <strong>{html.escape(DEMO_COMPANY_NAME)}</strong> "
        f"(realm <span id=\"realm\">{SANDBOX_REALM}</span>)</p>"
        f"<p>It asks for:</p><ul>{scopes}</ul>"
        f'<form method="post" action="{CONSENT_PATH}">{hidden}'
        '<button type="submit" name="decision" value="connect">Connect</button> '
        '<button type="submit" name="decision" value="cancel">Cancel</button>'
        "</form></body></html>")
    return HTMLResponse(body)


def _fields(pairs: dict[str, list[str]]) -> dict[str, str]:
    return {name: pairs.get(name, [""])[0] for name in _FIELDS}


# --------------------------------------------------------------------------- CompanyInfo
def companyinfo_body() -> dict[str, Any]:
    """The sandbox company, with the fields of Intuit's "Read companyinfo" sample."""
    address = {"City": "Norfolk", "Country": "US", "Line1": "101 W Main St",
               "PostalCode": "23510", "CountrySubDivisionCode": "VA", "Id": "1"}
    return {"CompanyInfo": {
        "SyncToken": "2", "domain": "QBO", "LegalAddr": dict(address),
        "SupportedLanguages": "en", "CompanyName": DEMO_COMPANY_NAME, "Country": "US",
        "CompanyAddr": dict(address), "sparse": False, "Id": "1", "WebAddr": {},
        "FiscalYearStartMonth": "January", "CustomerCommunicationAddr": dict(address),
        "PrimaryPhone": {"FreeFormNumber": "(757) 555-0100"},
        "LegalName": DEMO_COMPANY_NAME + " LLC", "CompanyStartDate": "2023-01-03",
        "EmployerId": "000000000", "Email": {"Address": "books@demo-msp.example"},
        "NameValue": [{"Name": "NeoEnabled", "Value": "true"},
                      {"Name": "IndustryType", "Value": "Computer Systems Design Services"},
                      {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
                      {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
        "MetaData": {"CreateTime": "2023-01-03T09:00:00-08:00",
                     "LastUpdatedTime": "2026-11-02T10:15:00-08:00"},
    }, "time": now_iso()}


# --------------------------------------------------------------------------- routes
def routes(book: SandboxBook) -> list[Route]:
    """The authorization endpoint, its consent form and CompanyInfo (register them
    before :func:`recon_tui.sandbox.qbo.routes`: its ``{entity}/{id}`` read would
    take ``companyinfo/{realm}`` first)."""
    state_of(book)

    async def authorize(request: Request) -> Response:
        fields = _fields(parse_qs(request.url.query, keep_blank_values=True))
        return _check(book, fields) or _consent_page(fields)

    async def consent(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"),
                        keep_blank_values=True)
        fields = _fields(form)
        refused = _check(book, fields)
        if refused is not None:
            return refused
        decision = form.get("decision", [""])[0]
        if decision == "cancel":
            return _back_to(fields["redirect_uri"],
                            {"error": "access_denied", "state": fields["state"]})
        if decision != "connect":
            return _error_page("Choose Connect or Cancel.")
        code = state_of(book).issue_code(fields["client_id"], fields["redirect_uri"])
        return _back_to(fields["redirect_uri"],
                        {"code": code, "state": fields["state"], "realmId": SANDBOX_REALM})

    async def companyinfo(request: Request) -> Response:
        auth: QboAuth | None = getattr(getattr(book, "qbo_state", None), "auth", None)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if auth is None or scheme.lower() != "bearer" or not auth.access_ok(token.strip()):
            return JSONResponse(qbo_auth_fault(), status_code=401)
        realm = request.path_params["realm"]
        if request.path_params["company_id"] != realm or realm != SANDBOX_REALM:
            from recon_tui.sandbox.qbo import NOT_FOUND_DETAIL

            return JSONResponse(qbo_fault("Object Not Found", NOT_FOUND_DETAIL, "610"),
                                status_code=400)
        return JSONResponse(companyinfo_body())

    return [
        Route(AUTHORIZE_PATH, authorize, methods=["GET"]),
        Route(CONSENT_PATH, consent, methods=["POST"]),
        Route("/v3/company/{realm:str}/companyinfo/{company_id:str}", companyinfo,
              methods=["GET"]),
    ]


def consent_url(url: str, redirect_uri: str, state: str = "try-it") -> str:
    """The sandbox app's authorization request on the emulator at ``url``."""
    return url + AUTHORIZE_PATH + "?" + urlencode({
        "client_id": CLIENT_ID, "response_type": "code", "scope": ACCOUNTING_SCOPE,
        "redirect_uri": redirect_uri, "state": state})


def banner(url: str) -> str:
    """What ``recon-tui sandbox`` prints for trying ``connect qbo`` against it (the
    sandbox app's keys are public test values, as in config.example.toml)."""
    return (f"QuickBooks sandbox app: client id {CLIENT_ID}, client secret "
            f"{CLIENT_SECRET}, realm {SANDBOX_REALM}, redirect URIs http://localhost:* "
            f"and http://127.0.0.1:*\n"
            f"Consent page: {consent_url(url, 'http://localhost:8000/callback')}\n"
            f"Approve without a browser: curl -i -d client_id={CLIENT_ID} "
            f"-d response_type=code -d scope={ACCOUNTING_SCOPE} "
            f"-d redirect_uri=http://localhost:8000/callback -d state=try-it "
            f"-d decision=connect {url}{CONSENT_PATH}")
