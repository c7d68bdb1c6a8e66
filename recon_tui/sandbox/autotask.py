"""Emulated Autotask PSA REST v1.0 endpoints, derived from the ConnectWise book.

Served under ``/atservicesrest/v1.0/``:

* headers ``ApiIntegrationCode``, ``UserName``, ``Secret`` checked against the
  sandbox credentials (config.example.toml), else 401 ``{"errors": [...]}``;
* ``POST {Entity}/query`` with ``{"filter": [...], "MaxRecords": N,
  "IncludeFields": [...]}``, ``GET {Entity}/query?search=<json>``: the filter
  language in :mod:`autotask_query`, the pages and their cursors in
  :mod:`autotask_pages`. After a POST query the next page must be POSTed (a GET
  gets 405, as on the real API); after a GET query the cursor is a GET URL;
* ``{Entity}/query/count`` (``{"queryCount": N}``), ``{Entity}/{id}``
  (``{"item": ...}``), ``{Entity}/entityInformation/fields`` (with the
  ClientPortalUsers ``securityLevel`` picklist), and ``zoneInformation``.

The entities themselves (Companies, Contacts, ClientPortalUsers, Invoices, with
the ConnectWise book's ids and amounts) are derived in :mod:`autotask_records`.

Sources: https://autotask.net/help/developerhelp/content/apis/REST/API_Calls/REST_Advanced_Query_Features.htm
(``IncludeFields``, counts), and apigrate/autotask-restapi ``README.md``
(``query/count`` answering ``{"queryCount": N}``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recon_tui.jsonio import JsonError, decode, encode
from recon_tui.sandbox.autotask_pages import API_ROOT, page, query_keys
from recon_tui.sandbox.autotask_query import FilterError, predicates, scan
from recon_tui.sandbox.autotask_records import (
    ENTITIES,
    UNQUERYABLE,
    autotask_view,
    invalidate,
)
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import autotask_error

__all__ = [
    "API_ROOT",
    "INTEGRATION_CODE",
    "SECRET",
    "USERNAME",
    "autotask_view",
    "invalidate",
    "routes",
]
# autotask_view and invalidate are re-exported: cw_payments.py and
# tests/test_sandbox_scale.py reach them through this module.

USERNAME = "sandbox-api@example.com"
SECRET = "sandbox-secret"
INTEGRATION_CODE = "SANDBOXINTEGRATIONCODE00000"

PORTAL_PICKLIST = (
    (1, "Basic"),
    (2, "Advanced"),
    (3, "Manager"),
    (4, "Taskfire Resource"),
    (5, "Taskfire Administrator"),
)
_BY_LOWER = {name.lower(): name for name in ENTITIES}

Handler = Callable[[SandboxBook, Request, str], Awaitable[Response]]


def _errors(status: int, message: str) -> JSONResponse:
    return JSONResponse(autotask_error(message), status_code=status)


def _authorized(request: Request) -> str | None:
    """None when the three credential headers match, else what is wrong."""
    headers = request.headers
    if not headers.get("apiintegrationcode"):
        return "The ApiIntegrationCode header is missing."
    if not headers.get("username") or not headers.get("secret"):
        return "The UserName and Secret headers are required."
    if headers.get("apiintegrationcode") != INTEGRATION_CODE:
        return "The API tracking identifier (ApiIntegrationCode) is not valid."
    if headers.get("username", "").lower() != USERNAME or headers.get("secret") != SECRET:
        return "User name or secret is not valid for this zone."
    return None


def _json(body: object, status: int = 200) -> Response:
    return Response(encode(body), status_code=status, media_type="application/json")


def _entity(request: Request) -> str | None:
    return _BY_LOWER.get(str(request.path_params.get("entity", "")).lower())


async def _body(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = decode(raw)
    except JsonError:
        raise FilterError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise FilterError("The request body must be a JSON object.")
    return body


def _search_param(request: Request) -> dict[str, Any] | None:
    text = request.query_params.get("search")
    if text is None:
        return None
    try:
        search = decode(text)
    except JsonError:
        raise FilterError("The search parameter is not valid JSON.") from None
    if not isinstance(search, dict):
        raise FilterError("The search parameter must be a JSON object.")
    return search


def _paging_param(request: Request) -> dict[str, Any] | None:
    text = request.query_params.get("paging")
    if text is None:
        return None
    try:
        paging = decode(text)
    except JsonError:
        raise FilterError("The paging cursor is not valid.") from None
    if not isinstance(paging, dict):
        raise FilterError("The paging cursor is not valid.")
    return paging


def _guarded(book: SandboxBook, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Auth, entity lookup and error envelopes around an entity handler over ``book``."""

    async def endpoint(request: Request) -> Response:
        problem = _authorized(request)
        if problem is not None:
            return _errors(401, problem)
        entity = _entity(request)
        if entity is None:
            return _errors(
                404,
                f"The entity {request.path_params.get('entity')} is not available in this sandbox.",
            )
        try:
            return await handler(book, request, entity)
        except FilterError as exc:
            return _errors(400, str(exc))

    return endpoint


async def _query(book: SandboxBook, request: Request, entity: str) -> Response:
    """A first page (POST body) or any page of a GET query (``search`` + ``paging``)."""
    if request.method == "POST":
        body = await _body(request)
        if body is None:
            raise FilterError("A query body with a 'filter' is required.")
        return _json(page(request, book, entity, body, post=True, paging=None))
    search = _search_param(request)
    if search is None:
        raise FilterError("A GET query needs a 'search' parameter holding the filter JSON.")
    return _json(page(request, book, entity, search, post=False, paging=_paging_param(request)))


async def _query_next(book: SandboxBook, request: Request, entity: str) -> Response:
    """A later page of a POST query: POST only, the filter from the body or the cursor."""
    if request.method != "POST":
        return _errors(405, "The requested resource does not support http method 'GET'.")
    paging = _paging_param(request)
    if paging is None:
        raise FilterError("The paging parameter is required.")
    body = await _body(request)
    search = body if body and query_keys(body).get("filter") else _search_param(request)
    if search is None:
        raise FilterError("The query filter is missing (send the original body).")
    return _json(page(request, book, entity, search, post=True, paging=paging))


async def _count(book: SandboxBook, request: Request, entity: str) -> Response:
    search = await _body(request) if request.method == "POST" else _search_param(request)
    if search is None:
        raise FilterError("A count needs a filter.")
    filters = query_keys(search).get("filter")
    tests = predicates(entity, filters)
    selected = scan(book, entity, autotask_view(book)[entity], filters, tests)
    return _json({"queryCount": len(selected)})


async def _one(book: SandboxBook, request: Request, entity: str) -> Response:
    item = autotask_view(book)[entity].get(int(request.path_params["record_id"]))
    return _json({"item": item})


def _picklist(entity: str, name: str) -> list[dict[str, Any]] | None:
    """The field's picklist values (only ClientPortalUsers ``securityLevel`` has one)."""
    if entity != "ClientPortalUsers" or name != "securityLevel":
        return None
    return [
        {
            "value": str(v),
            "label": label,
            "isDefaultValue": v == 1,
            "sortOrder": v,
            "parentValue": "",
            "isActive": True,
            "isSystem": True,
        }
        for v, label in PORTAL_PICKLIST
    ]


async def _fields(book: SandboxBook, request: Request, entity: str) -> Response:
    out = []
    for name, kind in ENTITIES[entity].items():
        picklist = _picklist(entity, name)
        out.append(
            {
                "name": name,
                "dataType": kind,
                "length": 0,
                "isRequired": name == "id",
                "isReadOnly": name == "id",
                "isQueryable": name.lower() not in UNQUERYABLE.get(entity, set()),
                "isReference": name.endswith("ID"),
                "referenceEntityType": "",
                "isPickList": picklist is not None,
                "picklistValues": picklist,
                "picklistParentValueField": "",
                "isSupportedWebhookField": False,
            }
        )
    return _json({"fields": out})


async def _zone(request: Request) -> Response:
    root = str(request.base_url).rstrip("/")
    return _json(
        {"zoneName": "Sandbox", "url": f"{root}/atservicesrest/", "webUrl": f"{root}/", "ci": 0}
    )


def routes(book: SandboxBook) -> list[Route]:
    """The Autotask endpoints over ``book`` (entities derived from its ConnectWise side)."""
    entity = f"{API_ROOT}/{{entity}}"
    return [
        Route(f"{API_ROOT}/zoneInformation", _zone, methods=["GET"]),
        Route(f"{entity}/query/next", _guarded(book, _query_next), methods=["GET", "POST"]),
        Route(f"{entity}/query/count", _guarded(book, _count), methods=["GET", "POST"]),
        Route(f"{entity}/query", _guarded(book, _query), methods=["GET", "POST"]),
        Route(f"{entity}/entityInformation/fields", _guarded(book, _fields), methods=["GET"]),
        Route(f"{entity}/{{record_id:int}}", _guarded(book, _one), methods=["GET"]),
    ]
