"""One QuickBooks Online authorization in progress, for a screen.

The terminal flow (:mod:`qbo_connect`) blocks on a prompt; a screen cannot, so
this splits the same steps: :meth:`QboFlow.start` gives the address to show (and
starts the loopback listener for development keys), the answer arrives from the
listener or from an address the user pastes (:meth:`offer`), and
:meth:`finish` checks the state, exchanges the code, reads ``CompanyInfo`` and
saves, returning the lines to show. Every step but :meth:`offer` may block: a
screen runs them in a worker thread.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path

from recon_tui.config import DEFAULT_MINOR_VERSION
from recon_tui.onboarding.loopback import LoopbackError, LoopbackListener, Page
from recon_tui.onboarding.qbo_authorize import (
    AUTH_URL,
    PRODUCTION_API_URL,
    SANDBOX_API_URL,
    TOKEN_URL,
    AuthRequest,
    QboConnectError,
    check_redirect_uri,
    exchange_code,
    is_loopback_uri,
    new_request,
    parse_redirect,
    read_company_name,
)

__all__ = ["QboConnectError", "QboFlow"]


class QboFlow:
    """The steps of ``connect qbo`` without a terminal."""

    def __init__(self, path: Path, client_id: str, client_secret: str, redirect_uri: str, *,
                 production: bool = False, auth_url: str = AUTH_URL,
                 token_url: str = TOKEN_URL, api_url: str | None = None,
                 listen: bool = True, secret_env: str | None = None,
                 minor_version: int = DEFAULT_MINOR_VERSION,
                 where: str = "recon-tui") -> None:
        client_id, client_secret = client_id.strip(), client_secret.strip()
        if not client_id or any(c.isspace() or not c.isprintable() for c in client_id):
            raise QboConnectError("the client ID is missing or has spaces (developer."
                                  "intuit.com > your app > Keys and credentials)")
        if not client_secret:
            raise QboConnectError("the client secret is missing")
        from recon_tui.scrub import register

        register(client_secret)
        self.path = path
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uri = check_redirect_uri(redirect_uri.strip(), production=production)
        self.auth_url, self.token_url = auth_url, token_url
        self.api_url = api_url or (PRODUCTION_API_URL if production else SANDBOX_API_URL)
        #: A loopback redirect URI is listened on, unless the user pastes (--paste).
        self.listens = listen and is_loopback_uri(self.redirect_uri)
        #: The client secret came from this environment variable: the config says so.
        self.secret_env = secret_env
        self.minor_version = minor_version
        #: Where the browser page says the rest happens ("the terminal", "recon-tui").
        self.where = where
        self.request: AuthRequest | None = None
        self._listener: LoopbackListener | None = None
        self._answers: queue.Queue[str] = queue.Queue()

    def start(self) -> AuthRequest:
        """The request whose URL the user opens; the listener is up before it is shown."""
        if self.listens:
            listener = LoopbackListener(self.redirect_uri, self._page)
            try:
                listener.start()
            except LoopbackError as exc:
                raise QboConnectError(f"{exc}; or paste the address instead") from None
            self._listener = listener
            self._answers = listener.results()
            self.request = new_request(self.client_id, listener.redirect_uri, self.auth_url)
        else:
            self.request = new_request(self.client_id, self.redirect_uri, self.auth_url)
        return self.request

    def offer(self, pasted: str) -> None:
        """An address the user pasted (the browser ran elsewhere, or production keys)."""
        if pasted.strip():
            self._answers.put(pasted.strip())

    def wait(self, timeout: float, cancelled: Callable[[], bool]) -> str | None:
        """The answer, or None when cancelled or out of time."""
        deadline = time.monotonic() + timeout
        while not cancelled():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return self._answers.get(timeout=min(0.2, left))
            except queue.Empty:
                continue
        return None

    def finish(self, answer: str, say: Callable[[str], None] = lambda line: None
               ) -> list[str]:
        """Check, exchange, prove, save: the lines saying what was saved where
        (``say`` hears progress before the slow steps)."""
        from recon_tui.onboarding.qbo_connect import save_connection
        from recon_tui.text import printable

        assert self.request is not None
        grant = parse_redirect(answer, self.request)
        say("Authorized; exchanging the code with Intuit...")
        tokens = exchange_code(self.token_url, self.client_id, self.client_secret, grant,
                               self.request.redirect_uri)
        company = read_company_name(self.api_url, grant.realm_id, tokens.access_token,
                                    self.minor_version)
        connected = f"Connected to {printable(company)} (realm {grant.realm_id})"
        say(connected)
        lines = save_connection(self.path, grant.realm_id, self.client_id,
                                self.client_secret, self.secret_env, tokens, self.api_url,
                                self.token_url)
        return [connected, *lines]

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _page(self, query: str) -> Page:
        if self.request is None:
            return ("Not connected", "recon-tui was not expecting this. You can close this tab.")
        try:
            parse_redirect(f"?{query}", self.request)
        except QboConnectError:
            return ("Not connected", f"QuickBooks did not authorize recon-tui; {self.where} "
                    "says why. You can close this tab.")
        return ("Authorized", "recon-tui received QuickBooks' answer and is finishing in "
                f"{self.where}. You can close this tab.")
