"""The emulator's ASGI app: one Starlette app serving all three APIs, with
latency and fault injection in front of every route."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from recon_tui.sandbox import autotask, connectwise, qbo
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import error_for
from recon_tui.sandbox.faults import FaultPlan


def system_for(path: str) -> str | None:
    if path.startswith("/v3/company/"):
        return "qbo"
    if path.startswith("/oauth2/"):
        return "token"
    if path.startswith("/v4_6_release/apis/3.0/"):
        return "connectwise"
    if path.startswith("/atservicesrest/v1.0/"):
        return "autotask"
    return None


class FaultMiddleware(BaseHTTPMiddleware):
    """Latency for every request, then the planned fault if one is due."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, latency_ms: int) -> None:
        super().__init__(app)
        self.plan = plan
        self.latency_ms = latency_ms

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        system = system_for(request.url.path)
        fault = self.plan.next_fault(system) if system else None
        if fault is None:
            return await call_next(request)
        if fault == "slow":
            await asyncio.sleep(self.plan.slow_ms / 1000)
            return await call_next(request)
        if fault == "garbage":
            return Response(b'{"QueryResponse": {"Invoice": [<<truncated>>',
                            media_type="application/json")
        status = int(fault)
        headers = {"Retry-After": str(self.plan.retry_after_seconds)} if status == 429 else {}
        message = {429: "Rate limit exceeded", 401: "Access token expired",
                   500: "Internal server error (injected)",
                   503: "Service unavailable (injected)"}[status]
        assert system is not None
        return JSONResponse(error_for(system, status, message), status_code=status,
                            headers=headers)


def create_app(data_dir: Path, *, faults: FaultPlan | None = None, latency_ms: int = 0,
               book: SandboxBook | None = None) -> Starlette:
    """The emulator over ``data_dir`` (or a prepared ``book``)."""
    book = book or SandboxBook.from_dir(data_dir)
    plan = faults or FaultPlan()
    routes: list[Route] = [Route("/", lambda request: JSONResponse(
        {"service": "recon-tui sandbox", "apis": ["qbo", "connectwise", "autotask"]}))]
    routes += qbo.routes(book)
    routes += connectwise.routes(book)
    routes += autotask.routes(book)
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware, plan=plan, latency_ms=latency_ms)
    app.state.book = book
    app.state.faults = plan
    return app


def json_error(system: str, status: int, message: str) -> JSONResponse:
    """An error in ``system``'s own envelope (used by the route modules)."""
    return JSONResponse(error_for(system, status, message), status_code=status)


def dumps(body: object) -> bytes:
    """Decimals out as exact JSON numbers."""
    from recon_tui.connectors.http import dumps_exact

    return dumps_exact(body).encode()


