"""A one-shot HTTP listener on the loopback redirect URI of an OAuth flow.

The browser is sent to the provider's consent page and comes back to
``http://localhost:PORT/PATH?code=...&state=...``; this listener, bound to that
port on the loopback interface only, takes that one request, answers the
browser with a short page saying it can be closed, and hands the URL to the
flow. Anything else (a favicon, another path, a second visit) gets a small
page and changes nothing.

Nothing is logged: the request line carries the authorization code, and
``http.server`` would print it to stderr by default.

A port of 0 in the redirect URI takes any free port (for an emulator, which
registers no redirect URIs; Intuit matches the registered URI exactly).
"""

from __future__ import annotations

import contextlib
import errno
import html
import queue
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackError", "LoopbackListener", "Page"]

#: What the browser is shown for a callback: (title, text).
Page = tuple[str, str]


class LoopbackError(Exception):
    """The listener could not start (one line: which address, why, what to do)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class LoopbackListener:
    """Listen on the redirect URI's loopback port for the one callback.

    ``answer`` turns the callback's query into the page the browser shows (the
    flow decides whether it is a success); :meth:`wait` returns the full URL.
    """

    def __init__(self, redirect_uri: str, answer: Callable[[str], Page]) -> None:
        parts = urllib.parse.urlsplit(redirect_uri)
        self._parts = parts
        self._path = parts.path or "/"
        self._answer = answer
        self._results: queue.Queue[str] = queue.Queue()
        self._done = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.port = 80 if parts.port is None else parts.port  # 0: any free port

    @property
    def redirect_uri(self) -> str:
        """The redirect URI with the port actually bound (differs only for port 0)."""
        host = self._parts.hostname or "localhost"
        netloc = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        return urllib.parse.urlunsplit(("http", netloc, self._path, "", ""))

    def __enter__(self) -> LoopbackListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        host = self._parts.hostname or "localhost"
        # "localhost" may resolve to either loopback address first: listen on both
        # when the port is fixed (one of them suffices; ::1 may not exist).
        addresses = {"localhost": ["127.0.0.1", "::1"], "127.0.0.1": ["127.0.0.1"],
                     "::1": ["::1"]}.get(host)
        if addresses is None:
            raise LoopbackError(f"{host} is not a loopback address; cannot listen for it")
        if self._parts.port == 0:
            addresses = addresses[:1]
        handler = self._handler_class()
        first_error: OSError | None = None
        for address in addresses:
            cls = _Server6 if ":" in address else _Server
            try:
                server = cls((address, self.port), handler)
            except OSError as exc:
                first_error = first_error or exc
                continue
            self.port = server.server_address[1]
            self._servers.append(server)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"oauth-loopback-{address}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if not self._servers:
            raise LoopbackError(self._bind_problem(host, first_error))

    def _bind_problem(self, host: str, exc: OSError | None) -> str:
        where = f"{host}:{self.port}"
        code = exc.errno if exc is not None else None
        if code == errno.EADDRINUSE:
            return (f"cannot listen on {where}: another program uses the port; stop it, or "
                    "register another redirect URI (e.g. http://localhost:8251/callback) in "
                    "your Intuit app and pass it with --redirect-uri")
        if code == errno.EACCES:
            return (f"cannot listen on {where}: ports below 1024 need administrator rights; "
                    "register a redirect URI with a higher port, e.g. "
                    "http://localhost:8250/callback")
        why = (exc.strerror or type(exc).__name__) if exc is not None else "unknown error"
        return f"cannot listen on {where} ({why}); use --paste to paste the URL instead"

    def wait(self, timeout: float) -> str | None:
        """The callback's full URL, or None when none came within ``timeout`` seconds."""
        try:
            return self._results.get(timeout=timeout)
        except queue.Empty:
            return None

    def results(self) -> queue.Queue[str]:
        """Where callbacks arrive (for a caller that also waits on something else)."""
        return self._results

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "recon-tui"
            sys_version = ""

            def do_GET(self) -> None:
                target = urllib.parse.urlsplit(self.path)
                if target.path != listener._path:
                    self._page(404, ("Not found", "This address is not recon-tui's "
                                     "redirect page."))
                    return
                if listener._done.is_set():
                    self._page(200, ("Already done", "recon-tui already received an "
                                     "answer. You can close this tab."))
                    return
                listener._done.set()
                url = f"{listener.redirect_uri}?{target.query}"
                try:
                    page = listener._answer(target.query)
                except Exception:  # the flow's verdict failed: still hand over the URL
                    page = ("recon-tui", "The terminal says what happened. You can close "
                            "this tab.")
                # The page first: once the URL is handed over the flow may close the
                # listener (and the process exit) at once.
                self._page(200, page)
                listener._results.put(url)

            def _page(self, status: int, page: Page) -> None:
                title, text = (html.escape(part) for part in page)
                body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}"
                        f"</title></head><body style=\"font-family: sans-serif; margin: 3em\">"
                        f"<h1>{title}</h1><p>{text}</p></body></html>").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Connection", "close")
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the request line holds the authorization code."""

        return Handler
