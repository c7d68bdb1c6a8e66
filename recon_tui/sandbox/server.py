"""Run the emulator with uvicorn on a loopback port, in a background thread.

Used by ``recon-tui sandbox`` (foreground), by the demo (in-process, a free
port) and by the tests (real sockets on 127.0.0.1).
"""

from __future__ import annotations

from starlette.applications import Starlette

from recon_tui.asgi_server import AsgiServer

DEFAULT_PORT = 8765


class SandboxServer(AsgiServer):
    """``with SandboxServer(app) as server: server.url``. The Date header is the
    app's own (``app.DateHeaderMiddleware``), so a skew fault can move it without a
    second, true Date beside it."""

    name = "sandbox server"

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(app, host, port, date_header=False)

