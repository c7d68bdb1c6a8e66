"""The Web Connector's endpoint over the ASGI stack recon-tui already ships
(Starlette, served by uvicorn), and the server that runs it in a thread.

Why not spyne (or zeep's server side, or another SOAP framework): the service
is eight fixed document/literal methods with string and int parameters
(``recon_tui.qbwc.soap.METHODS``). A framework would bring its own XML stack
(lxml), its own server glue and a WSDL generator for a client, QBWC, that never
reads a WSDL: it posts to the ``AppURL`` of the ``.qwc`` file. The envelopes
are a page of tested code over defusedxml, which also refuses DTDs and
entities in what the network sends; spyne parses with lxml, whose defaults
(entity resolution) would be ours to harden. Starlette and uvicorn are already
dependencies (the emulator runs on them), so nothing is added.

Each call's work blocks (it waits for the sync's next request), so it runs in
Starlette's thread pool, never on the event loop.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from recon_tui.qbwc.service import QbwcService
from recon_tui.qbwc.soap import (
    MAX_BODY,
    SoapCall,
    SoapError,
    build_fault,
    build_response,
    parse_call,
)

__all__ = ["QbwcServer", "create_app", "dispatch"]

log = logging.getLogger(__name__)

XML = "text/xml; charset=utf-8"  # SOAP 1.1's media type


def _int(text: str) -> int:
    try:
        return int(text.strip() or 0)
    except ValueError as exc:
        raise SoapError(f"expected an integer, got {text[:20]!r}") from exc


def dispatch(service: QbwcService, call: SoapCall) -> str | int | list[str]:
    """One method call's result."""
    p = call.params
    match call.method:
        case "serverVersion":
            return service.server_version()
        case "clientVersion":
            return service.client_version(p["strVersion"])
        case "authenticate":
            return service.authenticate(p["strUserName"], p["strPassword"])
        case "sendRequestXML":
            _int(p["qbXMLMajorVers"]), _int(p["qbXMLMinorVers"])  # well-formed ints
            return service.send_request_xml(p["ticket"])
        case "receiveResponseXML":
            return service.receive_response_xml(p["ticket"], p["response"], p["hresult"],
                                                p["message"])
        case "connectionError":
            return service.connection_error(p["ticket"], p["hresult"], p["message"])
        case "getLastError":
            return service.get_last_error(p["ticket"])
        case _:
            return service.close_connection(p["ticket"])


def create_app(service: QbwcService, path: str = "/qbwc") -> Starlette:
    """POST ``path``: the SOAP service; GET ``path``: one line saying what it is."""

    async def soap(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:  # refused before it is read
            return Response(build_fault("request too large"), status_code=413, media_type=XML)
        body = await request.body()
        try:
            call = parse_call(body)
            result = await run_in_threadpool(dispatch, service, call)
        except SoapError as exc:
            log.warning("Web Connector call refused: %s", exc)
            return Response(build_fault(str(exc)), status_code=500, media_type=XML)
        return Response(build_response(call.method, result), media_type=XML)

    async def about(_request: Request) -> Response:
        return PlainTextResponse("recon-tui QuickBooks Web Connector service: the Web "
                                 "Connector posts SOAP 1.1 here (see the .qwc file)\n")

    return Starlette(routes=[Route(path, soap, methods=["POST"]),
                             Route(path, about, methods=["GET"])])


class QbwcServer:
    """uvicorn on ``host:port`` in a thread (tests, the emulated Web Connector), or
    in the foreground (``recon-tui qbwc serve``, Ctrl+C stops it)."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/qbwc") -> None:
        self.host, self.path = host, path
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    def start(self, timeout_seconds: float = 10.0) -> QbwcServer:
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name="recon-qbwc", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_seconds
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Web Connector service did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def serve_forever(self) -> None:
        """Foreground: uvicorn turns Ctrl+C (SIGINT) and SIGTERM into a clean stop."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def __enter__(self) -> QbwcServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
