"""OAuth 2.0 for QuickBooks Online: the access token every API request carries,
refreshed before it expires and once after a 401, and the rotated refresh token
saved (atomically, 0600) before the access token it came with is used.

Intuit rotates the refresh token and the previous one stops working ("use the
latest refresh_token returned to you from the previous request",
https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq),
so two processes refreshing with the same token would leave one with
``invalid_grant``. A refresh therefore holds the token file's lock across
processes, re-reads the file under it, and refuses to start when the rotated
token could not be saved.

Whatever the token endpoint answers, an error shows its HTTP status and, when it
looks like one, its OAuth error code, never its body or reason phrase: the
request carried the refresh token and the client secret, and an echoing server
would hand them back."""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from recon_tui import scrub
from recon_tui.config import ConfigError, QboLedgerConfig
from recon_tui.connectors.base import AuthError, BadData, ConnectorError
from recon_tui.connectors.http import ApiClient, RetryPolicy
from recon_tui.connectors.qbo_errors import safe_token_code, token_error_parser
from recon_tui.connectors.tokens import (
    TokenLockTimeout,
    TokenState,
    TokenStore,
    expiry_after,
    token_fingerprint,
)
from recon_tui.jsonio import JsonError, decode

__all__ = ["QboOAuth"]

log = logging.getLogger(__name__)
SYSTEM = "qbo"
OPERATION = "refresh access token"


class QboOAuth(httpx.Auth):
    """One company's tokens, as an ``httpx.Auth``: every request goes out with a
    valid access token (refreshed first when missing or about to expire), and a
    401 refreshes once, saving the rotated refresh token, and resends.

    Being the client's ``auth`` keeps OAuth out of the retry loop of
    ``ApiClient``: a refresh is not a failed attempt, and a request is never sent
    twice with the same refused token. See Intuit, "Refresh the token"
    (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#refresh-the-token).
    """

    def __init__(
        self,
        config: QboLedgerConfig,
        token_store: TokenStore,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> None:
        self.config = config
        self.token_store = token_store
        self._state: TokenState | None = None
        self._lock = threading.RLock()
        self.oauth = ApiClient(
            SYSTEM,
            config.token_url,
            error_parser=token_error_parser,
            retry=retry,
            timeout=timeout,
            sleep=sleep,
            transport=transport,
        )

    def close(self) -> None:
        self.oauth.close()

    def _config_refresh_token(self) -> str:
        try:
            return self.config.refresh_token.reveal()
        except ConfigError as exc:
            raise AuthError(SYSTEM, f"credentials: {exc}") from None

    def headers(self) -> dict[str, str]:
        """Called before every attempt: refreshes proactively when the access token
        is missing or about to expire."""
        with self._lock:
            state = self._state
            if state is None or not state.access_valid():
                state = self._refresh(stale_access=None)
            return {"Authorization": f"Bearer {state.access_token}"}

    def auth_flow(self, request: httpx.Request
                  ) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx's hook around every send: the bearer token, and one refresh and
        resend when the server refuses it (another thread or process may have
        refreshed meanwhile: then its token is adopted, not spent again)."""
        request.headers.update(self.headers())
        response = yield request
        if response.status_code != 401:
            return
        sent = request.headers["Authorization"].removeprefix("Bearer ")
        with self._lock:
            self._refresh(stale_access=sent)
        request.headers.update(self.headers())
        yield request

    def _refresh(self, stale_access: str | None) -> TokenState:
        """Get a working access token, saving any rotated refresh token first.

        Holds the in-process lock and then the token file's lock (other
        processes), and re-reads the file under them: when another connector or
        process refreshed meanwhile, its access token is adopted instead of
        spending the (now invalid) older refresh token. A refused token is
        retried once with the file's newest one (a process that does not take
        the lock may have rotated it), and last with the config's own.
        """
        config_token = self._config_refresh_token()
        with self.token_store.lock, self._process_lock():
            state = self.token_store.resolve(config_token)
            if self._adoptable(state, stale_access):
                self._state = state
                return state
            self._check_writable()
            tried: set[str] = set()
            fresh = self._attempt(state, tried)
            if fresh is None:
                newest = self.token_store.resolve(config_token)
                if newest.refresh_token not in tried:
                    if self._adoptable(newest, stale_access):
                        self._state = newest
                        return newest
                    fresh = self._attempt(newest, tried)
            if fresh is None and config_token not in tried:
                # The stored (rotated) token was refused: the server forgot it, or the
                # file came from elsewhere. The config's own token is the last resort.
                log.warning(
                    "qbo: the stored refresh token for realm %s was refused; "
                    "trying the one in the config",
                    self.config.realm_id,
                )
                seed = TokenState(refresh_token=config_token,
                                  seeded_from=token_fingerprint(config_token))
                fresh = self._attempt(seed, tried)
            if fresh is None:
                raise self._reauthorise_error()
            self._state = fresh
            return fresh

    @staticmethod
    def _adoptable(state: TokenState, stale_access: str | None) -> bool:
        return state.access_valid() and state.access_token != stale_access

    def _attempt(self, state: TokenState, tried: set[str]) -> TokenState | None:
        """One grant with ``state``'s refresh token; None when it was refused."""
        tried.add(state.refresh_token)
        try:
            return self._grant(state, state.refresh_token)
        except _InvalidGrant:
            return None

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        try:
            with self.token_store.process_lock():
                yield
        except TokenLockTimeout:
            raise ConnectorError(
                SYSTEM,
                f"{OPERATION}: another recon-tui process has been refreshing the token "
                f"for a long time (lock {self.token_store.lock_path} still held); "
                "try again when it has finished",
            ) from None
        except OSError as exc:
            raise self._unsaveable(exc) from None

    def _check_writable(self) -> None:
        """Before a refresh token is spent: can its successor be saved?"""
        try:
            self.token_store.check_writable()
        except OSError as exc:
            raise self._unsaveable(exc) from None

    def _unsaveable(self, exc: OSError) -> ConnectorError:
        return ConnectorError(
            SYSTEM,
            f"{OPERATION}: cannot save the rotated refresh token in "
            f"{self.token_store.path.parent} ({exc.strerror or type(exc).__name__}); "
            "no refresh was attempted, so the current token still works: fix the "
            "folder or its permissions and try again",
        )

    def _reauthorise_error(self) -> ConnectorError:
        return AuthError(
            SYSTEM,
            "refresh access token: QuickBooks refused the refresh token (invalid_grant: "
            "expired, revoked or already rotated away). Run `recon-tui connect qbo` to "
            "authorise recon-tui with your QuickBooks company again.",
            status=400,
            code="invalid_grant",
        )

    def _grant(self, state: TokenState, refresh_token: str) -> TokenState:
        """POST the refresh grant; persist the answer before anyone uses it."""
        operation = OPERATION
        response = self._post_grant(refresh_token, operation)
        body = self._token_body(response, operation)
        if response.status_code != 200:
            raise self._refusal(response, body, operation)
        new_state, lifetime = self._answered_state(body, state, refresh_token, operation)
        rotated = new_state.refresh_token
        try:
            self.token_store.save(new_state)
        except OSError as exc:
            raise ConnectorError(
                SYSTEM,
                f"{operation}: cannot save the rotated refresh token to "
                f"{self.token_store.path} ({exc.strerror or type(exc).__name__}); "
                "fix the directory's permissions, then re-authorise if QuickBooks "
                "refuses the token next time",
            ) from None
        log.info(
            "qbo: refreshed the access token for realm %s (valid %d s%s)",
            self.config.realm_id,
            lifetime,
            ", refresh token rotated and saved" if rotated != refresh_token else "",
        )
        return new_state

    def _post_grant(self, refresh_token: str, operation: str) -> httpx.Response:
        """The refresh grant, with the app's credentials as HTTP Basic (registered
        with the scrubber first); 400 and 401 come back for :meth:`_refusal`."""
        try:
            secret = self.config.client_secret.reveal()
        except ConfigError as exc:
            raise AuthError(SYSTEM, f"credentials: {exc}") from None
        form = urllib.parse.urlencode(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        ).encode()
        scrub.register_basic(self.config.client_id, secret)
        credentials = base64.b64encode(f"{self.config.client_id}:{secret}".encode()).decode()
        auth_header = f"Basic {credentials}"
        return self.oauth.request(
            "POST",
            self.config.token_url,
            operation=operation,
            content=form,
            headers={
                "Authorization": auth_header,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            ok_statuses=frozenset({400, 401}),
        )

    @staticmethod
    def _refusal(response: httpx.Response, body: dict[str, Any], operation: str) -> Exception:
        """What a non-200 token answer means: the refresh token refused (the
        internal signal), the app's credentials refused, or another failure shown
        by status and OAuth error code only."""
        error = safe_token_code(body)
        if error == "invalid_grant":
            return _InvalidGrant()
        if response.status_code == 401 or error == "invalid_client":
            return AuthError(
                SYSTEM,
                f"{operation}: QuickBooks rejected the app credentials "
                "(invalid_client): check [ledger] client_id and client_secret",
                status=response.status_code,
                code="invalid_client",
            )
        code_text = f" [code {error}]" if error else ""
        return ConnectorError(
            SYSTEM,
            f"{operation}: HTTP {response.status_code}{code_text}",
            status=response.status_code,
            code=error,
        )

    @staticmethod
    def _answered_state(
        body: dict[str, Any], state: TokenState, refresh_token: str, operation: str
    ) -> tuple[TokenState, int]:
        """The token state a 200 answer gives, and the access token's lifetime in
        seconds; its tokens are registered with the scrubber at once."""
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise BadData(SYSTEM, f"{operation}: the answer holds no access token")
        rotated = body.get("refresh_token")
        if not isinstance(rotated, str) or not rotated:
            rotated = refresh_token  # not rotated this time: keep the one that worked
        scrub.register(access, rotated)
        expires_in = body.get("expires_in", 3600)
        try:
            lifetime = int(expires_in)
        except (TypeError, ValueError):
            lifetime = 3600
        now = datetime.now(UTC)
        # Intuit's refresh tokens now expire (a fixed maximum validity announced in
        # https://blogs.a.intuit.com/2025/11/12/important-changes-to-refresh-token-policy);
        # every answer carries the remaining life in x_refresh_token_expires_in
        # (the field Intuit's own client reads, intuit/oauth-pythonclient AuthClient).
        # A token not rotated this time keeps the expiry it had when no field came.
        refresh_expires = expiry_after(body.get("x_refresh_token_expires_in"), now)
        if refresh_expires is None and rotated == refresh_token:
            refresh_expires = state.refresh_expires_at
        new_state = TokenState(
            refresh_token=rotated,
            seeded_from=state.seeded_from,
            access_token=access,
            access_expires_at=now + timedelta(seconds=lifetime),
            refresh_expires_at=refresh_expires,
        )
        return new_state, lifetime

    @staticmethod
    def _token_body(response: httpx.Response, operation: str) -> dict[str, Any]:
        """The token endpoint's JSON. Unlike decode_json, no snippet of the body is
        quoted on failure: a cut-off token answer would put a token in the message."""
        try:
            body = decode(response.content)
        except JsonError:
            raise BadData(
                SYSTEM,
                f"{operation}: the token endpoint returned invalid "
                f"JSON (HTTP {response.status_code})",
                status=response.status_code,
            ) from None
        if not isinstance(body, dict):
            raise BadData(
                SYSTEM,
                f"{operation}: the token endpoint returned {type(body).__name__}, not an object",
            )
        return body


class _InvalidGrant(Exception):
    """The token endpoint refused the refresh token (internal signal)."""
