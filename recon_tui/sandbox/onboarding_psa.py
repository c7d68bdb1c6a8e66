"""The emulator's side of ``recon-tui connect connectwise|autotask``: the two
unauthenticated look-ups a PSA connection starts with, and an Autotask tenant
moving zone.

* ``GET /login/companyinfo/{company}`` at the ConnectWise site root, no
  credentials: ``{"CompanyName", "Codebase", "VersionCode", "VersionNumber",
  "CompanyID", "IsCloud", "SiteUrl"}`` (ConnectWise Developer Guide, "Calling
  Company Info", https://developer.connectwise.com/Best_Practices/PSA/Developer_Guide,
  read in a markdown copy: ``IsCloud`` is the string ``"True"``/``"False"``; an
  on-premise server "will return ``v4_6_release/``", which is the codebase this
  emulator serves, so it answers as on-premise). ``SiteUrl`` is the host clients
  put before the codebase (``https://{SiteUrl}/{Codebase}apis/3.0``, as a
  PowerShell client in the code corpus builds it). The login company is matched
  case-insensitively. An unknown company: the stored pages do not say what the
  real one answers; the clients seen treat any non-200 as failure (a Go
  ``GetApiVersion``, a JS ``fetch`` wrapper), so the emulator answers 404 in
  ConnectWise's ``{"code", "message", "errors"}`` envelope (our choice).
* ``GET /atservicesrest/v1.0/zoneInformation?user=...``, no credentials (the
  lookup "does not require authentication",
  https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/SOAP/APICalls/GetZoneInfoCall.htm;
  Postman notes "This request sends NO credentials"): ``{"zoneName", "url",
  "webUrl", "ci"}`` (Datto's REST OpenAPI ``ZoneInformationResultModel``), ``url``
  the REST root without the version, as the real ``.../ATServicesRest/`` is.
  An unknown user: not documented ("If it does not return a url, the username is
  not a recognised Autotask API user", a Postman collection's notes); the
  emulator answers 404 ``{"errors": [...]}`` (our choice).
* **Zone move** (``zone_moved@autotask``, or :func:`move_zone`): the tenant's API
  is then served under ``/zone2/atservicesrest/v1.0`` (the same routes) and
  ``zoneInformation`` names that URL; the old root answers every other request
  401 ``{"errors": ["User name or secret is not valid for this zone."]}``. What a
  real old zone answers is not documented; 401 is what issue 11 plans for ("An
  Autotask 401 or a zone move triggers one zone re-lookup"). Before the move the
  second zone refuses the tenant the same way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from recon_tui.sandbox import autotask
from recon_tui.sandbox.accounts import SANDBOX_CONNECTWISE
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import autotask_error, connectwise_error
from recon_tui.sandbox.onboarding import DEMO_COMPANY_NAME, state_of

__all__ = ["ZONE2_PREFIX", "ZONE_INFO_PATH", "ZoneRootMiddleware", "move_zone", "routes",
           "zone_gate"]

ZONE2_PREFIX = "/zone2"
ZONE_INFO_PATH = autotask.API_ROOT + "/zoneInformation"
CODEBASE = "v4_6_release/"
#: The PSA release the emulator's shapes follow (README: API version 2022.1).
VERSION_CODE = "v2022.1"
VERSION_NUMBER = "v4.6.0"
ZONE_CI = 29682885
WRONG_ZONE = "User name or secret is not valid for this zone."


def move_zone(book: SandboxBook) -> None:
    """The Autotask tenant now lives in the second zone (for good)."""
    state = state_of(book)
    with state.lock:
        state.zone_moved = True


def zone_gate(book: SandboxBook, path: str) -> Response | None:
    """The 401 a zone that does not hold the tenant answers, or None to serve it."""
    if path.removeprefix(ZONE2_PREFIX) == ZONE_INFO_PATH:
        return None  # the lookup answers from any zone
    in_zone2 = path.startswith(ZONE2_PREFIX + "/")
    if in_zone2 != state_of(book).zone_moved:
        return JSONResponse(autotask_error(WRONG_ZONE), status_code=401)
    return None


class ZoneRootMiddleware:
    """The second zone: ``/zone2/atservicesrest/...`` is served by the same
    Autotask routes with ``/zone2`` as the ASGI ``root_path``, so the links its
    pages carry (built from the base URL) stay in that zone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(
                ZONE2_PREFIX + autotask.API_ROOT + "/"):
            scope = {**scope, "root_path": scope.get("root_path", "") + ZONE2_PREFIX}
        await self.app(scope, receive, send)


def routes(book: SandboxBook) -> list[BaseRoute]:
    """The look-ups (register them before the Autotask routes: its own older
    ``zoneInformation`` route is shadowed)."""

    async def cw_companyinfo(request: Request) -> Response:
        company = request.path_params["company"]
        if company.lower() != SANDBOX_CONNECTWISE["company_id"].lower():
            return JSONResponse(connectwise_error("NotFound", "Company not found"),
                                status_code=404)
        return JSONResponse({
            "CompanyName": DEMO_COMPANY_NAME, "Codebase": CODEBASE,
            "VersionCode": VERSION_CODE, "VersionNumber": VERSION_NUMBER,
            "CompanyID": SANDBOX_CONNECTWISE["company_id"], "IsCloud": "False",
            "SiteUrl": request.url.netloc})

    async def zone_information(request: Request) -> Response:
        user = request.query_params.get("user", "")
        if user.strip().lower() != autotask.USERNAME:
            return JSONResponse(autotask_error("No zone could be found for this user."),
                                status_code=404)
        root = f"{request.url.scheme}://{request.url.netloc}"
        moved = state_of(book).zone_moved
        prefix = root + (ZONE2_PREFIX if moved else "")
        return JSONResponse({"zoneName": "Sandbox 2" if moved else "Sandbox",
                             "url": prefix + "/atservicesrest/", "webUrl": prefix + "/",
                             "ci": ZONE_CI})

    return [
        Route("/login/companyinfo/{company:str}", cw_companyinfo, methods=["GET"]),
        Route(ZONE_INFO_PATH, zone_information, methods=["GET"]),
    ]
