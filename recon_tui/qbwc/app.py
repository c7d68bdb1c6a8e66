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

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from recon_tui.asgi_server import AsgiServer
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


class QbwcServer(AsgiServer):
    """uvicorn on ``host:port`` in a thread (tests, the emulated Web Connector), or
    in the foreground (``recon-tui qbwc serve``, Ctrl+C stops it); its URL is the
    endpoint's, ``path`` included."""

    name = "Web Connector service"

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/qbwc") -> None:
        super().__init__(app, host, port)
        self.path = path

    @property
    def url(self) -> str:
        return f"{super().url}{self.path}"
