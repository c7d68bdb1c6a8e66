"""The emulator's ASGI app: one Starlette app serving all three APIs, with
latency and fault injection in front of every route, and a hook called after
every write (the demo saves its world there)."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon_tui.jsonio import decode
from recon_tui.sandbox import autotask, connectwise, cw_payments, onboarding, onboarding_psa, qbo
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import error_for
from recon_tui.sandbox.faults import (
    LATER,
    PAGE,
    PAGE_FAULTS,
    STANDING_FAULTS,
    WRITE,
    WRITE_FAULTS,
    FaultPlan,
    echo_body,
    fault_name,
    forbidden_body,
    rewrite_page,
    skew_minutes,
    truncate_token_answer,
)


def system_for(path: str) -> str | None:
    """Which API a path belongs to, for faults; None (no faults, latency only) for
    the root and the OAuth consent pages (``/connect/oauth2``: Intuit serves them
    from appcenter.intuit.com, not the API or token hosts)."""
    if path.startswith("/v3/company/"):
        return "qbo"
    if path.startswith("/oauth2/"):
        return "token"
    if path.startswith(("/v4_6_release/apis/3.0/", "/login/companyinfo/")):
        return "connectwise"
    if path.startswith(("/atservicesrest/v1.0/",
                        onboarding_psa.ZONE2_PREFIX + "/atservicesrest/v1.0/")):
        return "autotask"
    return None


class FaultMiddleware(BaseHTTPMiddleware):
    """Latency for every request, then the planned fault if one is due.

    Page and token faults (see :mod:`faults`) call the real route and rewrite its
    answer, so the per-API modules know nothing of them."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, latency_ms: int, book: SandboxBook,
                 after_write: Callable[[], None] | None = None) -> None:
        super().__init__(app)
        self.plan = plan
        self.latency_ms = latency_ms
        self.book = book
        self.after_write = after_write

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            return await self._dispatch(request, call_next)
        except ClientDisconnect:
            # A client killed mid-request (the chaos suite's SIGKILLs): nobody to
            # answer, and no traceback for the emulator's terminal.
            return Response(status_code=499)

    async def _dispatch(self, request: Request, route: RequestResponseEndpoint) -> Response:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        system = system_for(request.url.path)
        if system is None:
            return await route(request)
        kinds = page_kinds(system, request)
        call_next = route
        if is_write(system, request):
            kinds |= {WRITE}
            call_next = self._writing(route)
        due = self.plan.next_faults(system, kinds,
                                    page_list(system, request) if PAGE in kinds else "")
        standing = await self._standing(system, request,
                                        [f for f in due if fault_name(f) in STANDING_FAULTS])
        if standing is not None:
            return standing
        fault = next((f for f in due if fault_name(f) not in STANDING_FAULTS), None)
        if fault in WRITE_FAULTS:
            response = await call_next(request)
            await _body_of(response)  # the route has run to its end: the write is applied
            request.scope[DROP_ANSWER] = True
            return Response(status_code=204)  # never sent: DropAnswerMiddleware closes
        if fault is None:
            return await call_next(request)
        if fault == "slow":
            await asyncio.sleep(self.plan.slow_ms / 1000)
            return await call_next(request)
        if fault == "garbage":
            return Response(b'{"QueryResponse": {"Invoice": [<<truncated>>',
                            media_type="application/json")
        if fault == "repeat":
            _first_page_scope(system, request)
            return await call_next(request)
        if fault in PAGE_FAULTS:
            return await self._rewritten_page(fault, system, request, call_next)
        if fault == "echo":
            form = (await request.body()).decode("utf-8", "replace")
            return JSONResponse(echo_body(form), status_code=self.plan.echo_status)
        if fault == "truncated":
            return await _truncated_token(request, call_next)
        status = int(fault)
        headers = {"Retry-After": str(self.plan.retry_after_seconds)} if status == 429 else {}
        message = {429: "Rate limit exceeded", 401: "Access token expired",
                   500: "Internal server error (injected)",
                   503: "Service unavailable (injected)"}[status]
        return JSONResponse(error_for(system, status, message), status_code=status,
                            headers=headers)

    async def _standing(self, system: str, request: Request, faults: list[str]
                        ) -> Response | None:
        """Apply the standing faults due (skew, zone move, forbidden, expired) and
        the Autotask zone gate; an answer when the request goes no further."""
        names = {fault_name(f) for f in faults}
        for fault in faults:
            if fault_name(fault) == "skew":
                request.scope[SKEW_MINUTES] = skew_minutes(fault)
        if "zone_moved" in names:
            onboarding_psa.move_zone(self.book)
        if system == "autotask":
            refused = onboarding_psa.zone_gate(self.book, request.url.path)
            if refused is not None:
                return refused
        if "forbidden" in names and self._authenticated(system, request):
            return JSONResponse(forbidden_body(system), status_code=403)
        if "expired" in names:
            form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
            if form.get("grant_type", [""])[0] == "refresh_token":
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return None

    def _authenticated(self, system: str, request: Request) -> bool:
        """Whether the request's credentials are good: a server refuses a permission
        only to a caller it knows (a bad key stays a 401; the unauthenticated
        look-ups get no 403)."""
        if system == "qbo":
            auth = getattr(getattr(self.book, "qbo_state", None), "auth", None)
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            return (auth is not None and scheme.lower() == "bearer"
                    and auth.access_ok(token.strip()))
        if system == "connectwise":
            return connectwise._authorized(request)
        return system == "autotask" and autotask._authorized(request) is None

    def _writing(self, route: RequestResponseEndpoint) -> RequestResponseEndpoint:
        """The route, then the after-write hook (a refused write changes nothing, and
        saving the same world again is harmless)."""
        async def call(request: Request) -> Response:
            response = await route(request)
            self.book.changed()  # kept query matches are stale now (sandbox/index.py)
            if self.after_write is not None:
                self.after_write()
            return response

        return call

    async def _rewritten_page(self, fault: str, system: str, request: Request,
                              call_next: RequestResponseEndpoint) -> Response:
        """The route's own page, rewritten; an error answer passes unchanged."""
        response = await call_next(request)
        content = await _body_of(response)
        headers = _headers_without_length(response)
        if response.status_code != 200:
            return Response(content, response.status_code, headers=headers)
        try:
            body = decode(content)
        except ValueError:
            return Response(content, response.status_code, headers=headers)
        body, link = rewrite_page(fault, system, body, response.headers.get("link"),
                                  origin=self.plan.foreign_origin,
                                  request_url=str(request.url))
        headers.pop("link", None)
        if link is not None:
            headers["Link"] = link
        return Response(dumps(body), 200, headers=headers, media_type="application/json")


def is_write(system: str, request: Request) -> bool:
    """A request that may change the book (the token endpoint changes only tokens)."""
    return system != "token" and request.method not in ("GET", "HEAD", "OPTIONS")


#: Set on a request's scope when its answer must never reach the client.
DROP_ANSWER = "recon.drop_answer"
#: Set on a request's scope by a ``skew`` fault: the Date header's offset.
SKEW_MINUTES = "recon.skew_minutes"


class DateHeaderMiddleware:
    """Every answer's ``Date`` header, written here (the server's own is off, see
    server.py) so a ``skew`` fault can move it: RFC 9110 IMF-fixdate."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                moment = time.time() + 60 * int(scope.get(SKEW_MINUTES, 0))
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"date"]
                headers.append((b"date", formatdate(moment, usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated)


class DropAnswerMiddleware:
    """The outermost layer: a request marked :data:`DROP_ANSWER` gets no answer at
    all; its connection is closed instead (the ``drop_after_write`` fault)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        dropped = False

        async def guarded(message: Message) -> None:
            nonlocal dropped
            if dropped:
                return
            if message["type"] == "http.response.start" and scope.get(DROP_ANSWER):
                dropped = True
                _close_connection(receive)
                return
            await send(message)

        await self.app(scope, receive, guarded)
        if dropped:
            # Let the server see the closed connection before this call returns,
            # so it neither answers 500 nor logs a response it never started.
            for _ in range(5):
                await asyncio.sleep(0)


def _close_connection(receive: Any) -> None:
    """Close the client's connection under uvicorn (its ``receive`` is a method of
    the request cycle, which holds the transport)."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("drop_after_write needs the uvicorn server (SandboxServer)")
    transport.close()


def page_kinds(system: str, request: Request) -> frozenset[str]:
    """PAGE for a list page (and LATER when it is not the read's first), else
    nothing: the requests page faults count and rewrite."""
    path, params = request.url.path, request.query_params
    if system == "qbo":
        text = params.get("query", "")
        if not path.endswith("/query") or _QBO_COUNT.match(text):
            return frozenset()
        start = _QBO_START.search(text)
        return frozenset({PAGE, LATER} if start and int(start.group(1)) > 1 else {PAGE})
    if system == "connectwise":
        last = path.rstrip("/").rsplit("/", 1)[-1]
        if (request.method != "GET" or last == "count" or last.isdigit()
                or path.startswith("/login/")):
            return frozenset()
        later = params.get("pageId", "0") not in ("", "0") or params.get("page", "1") != "1"
        return frozenset({PAGE, LATER} if later else {PAGE})
    if system == "autotask":
        if path.endswith("/query/next"):
            return frozenset({PAGE, LATER})
        return frozenset({PAGE}) if path.endswith("/query") else frozenset()
    return frozenset()


def page_list(system: str, request: Request) -> str:
    """What a list page lists, for the plan's page log: ``Invoice``, ``Invoice ids``,
    ``company/companies``, ``Companies``."""
    path, params = request.url.path, request.query_params
    if system == "qbo":
        match = _QBO_FROM.search(params.get("query", ""))
        if match is None:
            return "query"
        return match.group(2) + (" ids" if match.group(1).strip().lower() == "id" else "")
    if system == "connectwise":
        name = path.split("/apis/3.0/", 1)[-1]
        return name + (" ids" if params.get("fields") == "id" else "")
    return path.split("/v1.0/", 1)[-1].split("/query", 1)[0]


_QBO_FROM = re.compile(r"SELECT\s+(.+?)\s+FROM\s+(\w+)", re.IGNORECASE)
_QBO_COUNT = re.compile(r"\s*SELECT\s+COUNT\s*\(", re.IGNORECASE)
_QBO_START = re.compile(r"\bSTARTPOSITION\s+(\d+)", re.IGNORECASE)


def _first_page_scope(system: str, request: Request) -> None:
    """Point the request at the read's first page, as a proxy that drops the
    position would (the route reads the scope afresh)."""
    scope = request.scope
    pairs = urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                   keep_blank_values=True)
    if system == "qbo":
        pairs = [(k, _QBO_START.sub("STARTPOSITION 1", v) if k == "query" else v)
                 for k, v in pairs]
    elif system == "connectwise":
        pairs = [(k, v) for k, v in pairs if k not in ("pageId", "page")]
    else:  # autotask: query/next -> query, the same POST body
        pairs = []
        scope["path"] = scope["path"].removesuffix("/next")
        scope["raw_path"] = scope["path"].encode("latin-1")
    scope["query_string"] = urllib.parse.urlencode(pairs).encode("latin-1")


async def _truncated_token(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """The real token answer (so the server has rotated), cut inside the new
    refresh token; any other answer passes unchanged."""
    response = await call_next(request)
    content = await _body_of(response)
    headers = _headers_without_length(response)
    cut = truncate_token_answer(content.decode("utf-8", "replace"))
    if response.status_code != 200 or cut is None:
        return Response(content, response.status_code, headers=headers)
    return Response(cut.encode(), 200, headers=headers)


async def _body_of(response: Response) -> bytes:
    chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
    return b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)


def _headers_without_length(response: Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() != "content-length"}


def create_app(data_dir: Path, *, faults: FaultPlan | None = None, latency_ms: int = 0,
               book: SandboxBook | None = None,
               after_write: Callable[[], None] | None = None) -> Starlette:
    """The emulator over ``data_dir`` (or a prepared ``book``); ``after_write`` runs
    after every write request a route answered (the demo saves its world)."""
    book = book or SandboxBook.from_dir(data_dir)
    plan = faults or FaultPlan()
    routes: list[BaseRoute] = [Route("/", lambda request: JSONResponse(
        {"service": "recon-tui sandbox", "apis": ["qbo", "connectwise", "autotask"]}))]
    routes += onboarding.routes(book)  # before qbo's {entity}/{id} read
    routes += onboarding_psa.routes(book)  # before autotask's own zoneInformation
    routes += qbo.routes(book)
    routes += cw_payments.routes(book)
    routes += connectwise.routes(book)
    routes += autotask.routes(book)
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware, plan=plan, latency_ms=latency_ms, book=book,
                       after_write=after_write)
    app.add_middleware(onboarding_psa.ZoneRootMiddleware)
    app.add_middleware(DateHeaderMiddleware)
    app.add_middleware(DropAnswerMiddleware)
    app.state.book = book
    app.state.faults = plan
    return app


def json_error(system: str, status: int, message: str) -> JSONResponse:
    """An error in ``system``'s own envelope (used by the route modules)."""
    return JSONResponse(error_for(system, status, message), status_code=status)


def dumps(body: object) -> bytes:
    """Decimals out as exact JSON numbers (:mod:`wire`)."""
    from recon_tui.jsonio import encode

    return encode(body)


