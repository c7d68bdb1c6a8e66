"""uvicorn on a socket bound up front, in a background thread or the foreground.

One server for the two things recon-tui serves over HTTP: the emulator of the
APIs (``recon_tui.sandbox.server``) and the SOAP service the QuickBooks Web
Connector polls (``recon_tui.qbwc.app``). The socket is bound in the constructor,
so port 0 gives a free port known before anything starts, and a port in use
fails there, at once, with the ``OSError`` the caller turns into one line.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

__all__ = ["AsgiServer"]


class AsgiServer:
    """``with AsgiServer(app) as server: server.url``; ``serve_forever()`` in the
    foreground, where uvicorn turns Ctrl+C and SIGTERM into a clean stop."""

    #: The thread's name, and what a server that did not start is called.
    name = "recon-tui server"

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0, *,
                 date_header: bool = True) -> None:
        self.app = app
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1, date_header=date_header)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout_seconds: float = 10.0) -> AsgiServer:
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_seconds
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def serve_forever(self) -> None:
        """Foreground: until Ctrl+C (SIGINT) or SIGTERM."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def __enter__(self) -> AsgiServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
