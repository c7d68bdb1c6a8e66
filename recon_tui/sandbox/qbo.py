"""The QuickBooks Online emulator: OAuth2 token endpoint and the v3 Accounting API
subset recon-tui uses, over ``book.qbo`` (entities in their API shape).

It behaves the way the real service does where connectors tend to go wrong:

* refresh tokens rotate on every refresh and the previous one stops working
  (``invalid_grant``); the seed token ``sandbox-refresh-token`` is always
  accepted so a restarted emulator still lets the demo in (unless
  ``QboAuth.seed_reusable`` is off); ``--faults slow@token:1+N`` with
  ``--slow-ms 500`` makes the token endpoint as slow as Intuit's;
* queries go through a real parser of QBO's SQL-like subset: a default page
  of 100, at most 1000, no ``OR``, inactive customers hidden unless the WHERE
  clause mentions ``Active``, no entity key in an empty answer;
* CDC looks back 30 days at most and reports deletions as ``status: Deleted``;
* writes honour ``requestid`` (a repeat returns the first answer, applied once)
  and ``SyncToken`` (stale -> fault 5010);
* ``invoice``, ``payment`` and ``creditmemo`` take ``?operation=delete`` with
  ``{"Id", "SyncToken"}`` and answer ``{"<Entity>": {"status": "Deleted", ...}}``:
  a hard delete, gone from queries and reads, reported by CDC (deleting a payment
  reopens what it paid; deleting an applied credit memo is not modelled);
* errors come in QBO's ``Fault`` envelope (lowercase ``fault`` for auth).

Sources, beside each behaviour above: queries, ``COUNT(*)`` and paging,
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries;
change data capture (30 days, 1,000 objects, ``status: Deleted``),
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture;
deletes, the entity pages of
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
and .../payment and .../invoice; ``COUNT(*)`` answering ``{"totalCount": N}`` as
python-quickbooks reads it (ej2/python-quickbooks ``quickbooks/mixins.py``).

The emulator is split by what each part is for: :mod:`qbo_auth` (tokens and the
token endpoint), :mod:`qbo_parse` and :mod:`qbo_query` (the query language),
:mod:`qbo_writes` (the rules a write applies to the book), :mod:`qbo_routes` (the
read, CDC and write handlers); this module keeps the emulator's state and the
router table that binds the handlers to their paths behind the bearer-token guard.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recon_tui.sandbox import qbo_routes
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import now_iso, qbo_auth_fault
from recon_tui.sandbox.qbo_auth import (
    CLIENT_ID,
    CLIENT_SECRET,
    SEED_REFRESH_TOKEN,
    QboAuth,
    token,
)
from recon_tui.sandbox.qbo_parse import QueryError, parse_query
from recon_tui.sandbox.qbo_query import run_query
from recon_tui.sandbox.qbo_routes import CDC_LOOKBACK, CDC_OBJECT_LIMIT, READABLE
from recon_tui.sandbox.qbo_writes import NOT_FOUND_DETAIL, STALE_DETAIL, _fault, _json
from recon_tui.sandbox.qbo_writes import (  # re-exported: the demo's events call it here
    _save_payment as _save_payment,
)
from recon_tui.sandbox.scale import make_big_ledger

__all__ = [
    "CDC_LOOKBACK",
    "CDC_OBJECT_LIMIT",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "NOT_FOUND_DETAIL",
    "READABLE",
    "SEED_REFRESH_TOKEN",
    "STALE_DETAIL",
    "QboAuth",
    "QboEmulatorState",
    "QboRequest",
    "QueryError",
    "make_big_ledger",
    "parse_query",
    "routes",
    "run_query",
]


@dataclass(frozen=True, slots=True)
class QboRequest:
    """One authorised API request, as the emulator saw it."""

    method: str
    path: str
    params: dict[str, str]


@dataclass
class QboEmulatorState:
    """Everything the QBO routes keep besides the book's entities."""

    auth: QboAuth = field(default_factory=QboAuth)
    #: requestid -> (status, body) of the first successful write with that id.
    writes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: deque[QboRequest] = field(default_factory=lambda: deque(maxlen=20_000))
    #: Test support: this many next writes commit, then answer 503 as if the
    #: response were lost on the way back (the client retries with its requestid).
    fail_after_commit: int = 0

    def queries(self) -> list[str]:
        """The query texts received, in order."""
        return [r.params.get("query", "") for r in self.requests if r.path.endswith("/query")]


# =========================================================================== routes
Endpoint = Callable[[Request], Awaitable[Response]]
#: A route handler: the book, the emulator's state and the request.
Handler = Callable[[SandboxBook, QboEmulatorState, Request], Awaitable[Response]]


async def _query(book: SandboxBook, state: QboEmulatorState, request: Request) -> Response:
    """``GET query``: one page of QBO's SQL-like subset (see :mod:`qbo_query`).

    It stays here, calling ``run_query`` through this module's namespace, so a test
    can put a misbehaving server in its place (``qbo.run_query = ...``).
    """
    text = request.query_params.get("query", "")
    try:
        result = run_query(book, text)
    except QueryError as exc:
        return _fault(400, exc.message, exc.detail, exc.code)
    return _json({"QueryResponse": result, "time": now_iso()})


#: The v3 company routes, in matching order: (path under the company, method, handler).
COMPANY_ROUTES: list[tuple[str, str, Handler]] = [
    ("query", "GET", _query),
    ("cdc", "GET", qbo_routes.cdc),
    ("payment", "POST", qbo_routes.payment),
    ("invoice", "POST", qbo_routes.invoice),
    ("creditmemo", "POST", qbo_routes.credit_memo),
    ("{entity:str}/{entity_id:str}", "GET", qbo_routes.read),
]


def _bound(book: SandboxBook, state: QboEmulatorState, handler: Handler) -> Endpoint:
    """``handler`` as a Starlette endpoint over this book and state."""

    async def endpoint(request: Request) -> Response:
        return await handler(book, state, request)

    return endpoint


def _authed(state: QboEmulatorState, handler: Endpoint) -> Endpoint:
    """The guard of every company route: a live bearer token (else the lowercase
    ``fault`` QBO answers for auth), a numeric ``minorversion``; the request logged."""

    async def endpoint(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, bearer = header.partition(" ")
        if scheme.lower() != "bearer" or not state.auth.access_ok(bearer.strip()):
            return _json(qbo_auth_fault(), 401)
        minor = request.query_params.get("minorversion")
        if minor is not None and not minor.isdigit():
            return _fault(
                400, "Invalid minorversion", f"minorversion {minor!r} is not a number", "4000"
            )
        state.requests.append(
            QboRequest(request.method, request.url.path, dict(request.query_params))
        )
        return await handler(request)

    return endpoint


def routes(book: SandboxBook) -> list[Route]:
    """The token endpoint and the v3 company routes, over ``book``.

    The emulator's own state goes on ``book.qbo_state`` (tokens fresh on every
    start, like a restarted service; the requestid log kept with the book).
    """
    previous = getattr(book, "qbo_state", None)
    state = QboEmulatorState()
    if previous is not None:
        state.writes = previous.writes
    book.qbo_state = state  # type: ignore[attr-defined]
    company = "/v3/company/{realm:str}"
    return [Route("/oauth2/v1/tokens/bearer", _bound(book, state, token), methods=["POST"])] + [
        Route(f"{company}/{path}", _authed(state, _bound(book, state, handler)), methods=[method])
        for path, method, handler in COMPANY_ROUTES
    ]
