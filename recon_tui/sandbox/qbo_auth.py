"""The QBO emulator's OAuth2 tokens: rotating refresh tokens, as Intuit issues them.

Split from :mod:`qbo` (its routes use it; :mod:`onboarding` issues through it).
The token endpoint is here too: :func:`token` answers ``POST /oauth2/v1/tokens/bearer``
with HTTP Basic client credentials, as
https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
describes (``refresh_token`` and ``authorization_code`` grants).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from recon_tui.sandbox.book import SandboxBook
    from recon_tui.sandbox.qbo import QboEmulatorState

__all__ = ["ACCESS_TOKEN_SECONDS", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN_SECONDS",
           "SEED_REFRESH_TOKEN", "QboAuth", "token"]

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
SEED_REFRESH_TOKEN = "sandbox-refresh-token"
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400  # 101 days, what Intuit announces


@dataclass
class QboAuth:
    """Issued tokens. A restarted emulator starts empty, like a new process would,
    but still accepts the seed refresh token.

    Like Intuit, every refresh rotates the refresh token and the previous one
    stops working: clients must "use the latest refresh_token returned to you
    from the previous request"
    (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq),
    and a spent one is answered ``{"error": "invalid_grant"}`` with HTTP 400.
    Only the seed is kept usable, so a restarted demo gets in; ``seed_reusable``
    False makes it single-use too, exactly as Intuit treats every token (tests of
    concurrent refreshes need that, or a spent seed would hide the race).
    """

    current_refresh: str | None = None
    seed_reusable: bool = True
    seed_spent: bool = False
    access: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch s)
    #: One entry per refresh attempt: "seed", "latest" or "rejected" (tests read it).
    grants: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every token handed out (leak checks)
    #: What ``x_refresh_token_expires_in`` says (a test sets 20 days to see a warning).
    refresh_token_seconds: int = REFRESH_TOKEN_SECONDS
    lock: threading.Lock = field(default_factory=threading.Lock)

    def grant(self, refresh_token: str) -> dict[str, Any] | None:
        """Rotate: a new refresh and access token, or None for an unknown refresh token."""
        with self.lock:
            if refresh_token == SEED_REFRESH_TOKEN and (self.seed_reusable
                                                        or not self.seed_spent):
                self.grants.append("seed")
                self.seed_spent = True
            elif self.current_refresh is not None and refresh_token == self.current_refresh:
                self.grants.append("latest")
            else:
                self.grants.append("rejected")
                return None
            return self._issue()

    def issue(self, how: str) -> dict[str, Any]:
        """A new token pair for an authorization (``how`` goes into :attr:`grants`);
        its refresh token becomes the current one (see sandbox/onboarding.py)."""
        with self.lock:
            self.grants.append(how)
            return self._issue()

    def _issue(self) -> dict[str, Any]:
        """Mint the pair (caller holds the lock)."""
        self.current_refresh = "sbx-rt-" + secrets.token_urlsafe(24)
        access = "sbx-at-" + secrets.token_urlsafe(32)
        self.access[access] = time.time() + ACCESS_TOKEN_SECONDS
        self.issued += [self.current_refresh, access]
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": self.current_refresh,
            "x_refresh_token_expires_in": self.refresh_token_seconds,
        }

    def access_ok(self, token: str) -> bool:
        with self.lock:
            expiry = self.access.get(token)
            return expiry is not None and expiry > time.time()

    def expire_access_tokens(self) -> None:
        """Test support: every access token issued so far stops working."""
        with self.lock:
            for token in self.access:
                self.access[token] = 0.0


async def token(book: SandboxBook, state: QboEmulatorState, request: Request) -> Response:
    """``POST /oauth2/v1/tokens/bearer``: the client's Basic credentials, then a
    refresh (rotating the refresh token) or a code exchange (see sandbox/onboarding.py)."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id = secret = ""
    from recon_tui.sandbox import onboarding  # late: it imports this module

    if scheme.lower() != "basic" or not onboarding.client_ok(book, client_id, secret):
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if form.get("grant_type", [""])[0] == "authorization_code":
        return onboarding.exchange_code(book, state.auth, client_id, form)
    if form.get("grant_type", [""])[0] != "refresh_token":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    answer = state.auth.grant(form.get("refresh_token", [""])[0])
    if answer is None:
        return JSONResponse({"error": "invalid_grant"}, status_code=400)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})
