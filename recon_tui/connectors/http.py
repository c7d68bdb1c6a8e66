"""The one HTTP layer every connector uses.

What it guarantees, so connectors don't each reinvent it:

* timeouts on every request;
* retries with exponential backoff and jitter on 429, 5xx and connection
  errors, honouring ``Retry-After`` (seconds or an HTTP date);
* a request budget (N per rolling minute) and a cap on concurrent requests,
  for QuickBooks Online's 500/minute and 10 concurrent;
* credentials from an ``httpx.Auth`` when the system needs a flow (QBO's
  OAuth: ``connectors.qbo_oauth.QboOAuth`` refreshes once on 401 and resends);
* JSON decoded by msgspec (several times faster than the json module on
  1,000-record pages) with every non-integer number a Decimal (``float_hook``:
  money never becomes a float), and garbage JSON turned into a clear error;
* errors that name the system, the operation and the cause, never a secret:
  no header, body or token ever reaches a message;
* nothing is ever sent to another origin than the base URL's: a server's
  next-page link (ConnectWise ``Link``, Autotask ``nextPageUrl``) pointing to
  another scheme, host or port is refused before any request, since following
  it would hand that host our credentials.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from recon_tui.connectors.base import BadData, ConnectorError, ServerError, error_class_for
from recon_tui.jsonio import decode, dumps_exact

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "recon-tui (+https://github.com/recon-tui)"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up on one request."""

    max_attempts: int = 5
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0
    jitter_ratio: float = 0.25

    def delay_seconds(self, attempt: int, retry_after: float | None,
                      rng: random.Random | None = None) -> float:
        """Backoff for the ``attempt``-th retry (1-based); the server's
        Retry-After wins when it asks for longer."""
        rng = rng or random
        backoff = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        backoff += backoff * self.jitter_ratio * rng.random()
        if retry_after is not None:
            return min(max(backoff, retry_after), max(self.max_delay_seconds, retry_after))
        return backoff


class RateLimiter:
    """At most ``per_minute`` requests in any rolling 60 s, ``concurrent`` at once.

    Thread-safe: one limiter is shared by every request to one company.
    """

    def __init__(self, per_minute: int, concurrent: int, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_minute = per_minute
        self._slots = threading.BoundedSemaphore(concurrent)
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def acquire(self) -> None:
        self._slots.acquire()
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= 60.0:
                    self._sent.popleft()
                if len(self._sent) < self.per_minute:
                    self._sent.append(now)
                    return
                wait = 60.0 - (now - self._sent[0])
            self._sleep(max(wait, 0.01))

    def release(self) -> None:
        self._slots.release()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))  # seconds, not money
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def loads_exact(content: bytes | str) -> Any:
    """JSON with Decimal numbers (the app's one codec, :mod:`recon_tui.jsonio`);
    raises ValueError (``JsonError``) on garbage."""
    return decode(content)


def decode_json(response: httpx.Response, system: str, operation: str) -> Any:
    """The body as JSON with Decimal numbers, or a clear error quoting a little
    of what came back instead (a body is data, never a secret we sent)."""
    try:
        return loads_exact(response.content)
    except ValueError as exc:
        snippet = response.content[:60].decode("utf-8", "replace").replace("\n", " ")
        raise BadData(
            system, f"{operation}: the server returned invalid JSON "
                    f"(HTTP {response.status_code}, body starts {snippet!r})",
            status=response.status_code) from exc


#: (message, code) from an error response; an empty message leaves it out.
ErrorParser = Callable[[httpx.Response], tuple[str, str | None]]


def default_error_parser(response: httpx.Response) -> tuple[str, str | None]:
    """Best effort: a JSON ``message`` if any, else the reason phrase."""
    try:
        body = loads_exact(response.content)
    except ValueError:
        return response.reason_phrase or "error", None
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("error_description") or body.get("error")
        code = body.get("code") or body.get("error")
        if message:
            return str(message), str(code) if code is not None else None
    return response.reason_phrase or "error", None


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in, so
    ``https://a:443`` and ``https://a`` are the same origin."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower().rstrip("."), url.port or DEFAULT_PORTS.get(scheme)


class ApiClient:
    """A blocking JSON client for one system, with the guarantees above."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        headers: Callable[[], Mapping[str, str]] | None = None,
        auth: httpx.Auth | None = None,
        error_parser: ErrorParser = default_error_parser,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: httpx.Timeout | float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.system = system
        self._headers = headers or (lambda: {})
        self._error_parser = error_parser
        self.retry = retry or RetryPolicy()
        self._limiter = rate_limiter
        self._sleep = sleep
        self.requests_sent = 0
        self._count_lock = threading.Lock()  # pages are fetched from several threads
        self._origin = origin(httpx.URL(base_url))
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            # A bare number is seconds for every phase; None means the defaults.
            timeout=(httpx.Timeout(timeout) if isinstance(timeout, int | float)
                     else timeout or httpx.Timeout(30.0, connect=10.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
            auth=auth,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset(),
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send with retries; return a 2xx (or an ``ok_statuses``) response or raise
        ConnectorError. ``url`` may be relative to the base or absolute (next-page
        links), but only on the base URL's origin.

        A write the server cannot de-duplicate (``idempotent=False``: a ConnectWise
        POST has no request id) is retried only when it never left (no connection,
        a 429 refusal); a timeout, a dropped answer or a 5xx after sending may have
        applied it, so the caller must re-read before trying again."""
        self._check_origin(method, url, params, operation)
        attempt = 0
        while True:
            attempt += 1
            merged = {**self._headers(), **(headers or {})}
            if json_body is not None:
                content = dumps_exact(json_body).encode()
                merged.setdefault("Content-Type", "application/json")
            try:
                response = self._send(method, url, params, content, merged)
            except httpx.TransportError as exc:
                self._retry_or_raise(exc, attempt, idempotent, operation)
                continue
            status = response.status_code
            if 200 <= status < 300 or status in ok_statuses:
                return response
            if (status in RETRY_STATUSES and attempt < self.retry.max_attempts
                    and (idempotent or status == 429)):
                wait = self.retry.delay_seconds(
                    attempt, parse_retry_after(response.headers.get("Retry-After")))
                self._sleep(wait)
                continue
            raise self._http_error(response, attempt, operation)

    def _retry_or_raise(self, exc: httpx.TransportError, attempt: int, idempotent: bool,
                        operation: str) -> None:
        """After a transport failure: sleep before the next attempt, or raise
        ServerError. A request that never left (no connection, no pool slot) is
        safe to resend even when not idempotent."""
        if isinstance(exc, httpx.TimeoutException):
            unsent = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            failure = f"timed out after {attempt} attempts"
        else:
            unsent = isinstance(exc, httpx.ConnectError)
            failure = f"cannot reach the server after {attempt} attempts"
        if attempt < self.retry.max_attempts and (idempotent or unsent):
            self._sleep(self.retry.delay_seconds(attempt, None))
            return
        raise ServerError(self.system, f"{operation}: {failure} ({type(exc).__name__})") from exc

    def _http_error(self, response: httpx.Response, attempt: int,
                    operation: str) -> ConnectorError:
        """The error for a final non-2xx answer: status, the API's code and message
        (from its error parser), and a hint at what to do."""
        status = response.status_code
        message, code = self._error_parser(response)
        hint = ""
        if status == 401:
            hint = " (credentials rejected: check the keys in your config)"
        elif status == 429:
            hint = f" (still throttled after {attempt} attempts)"
        elif status >= 500:
            hint = f" (server error persisted after {attempt} attempts)"
        code_text = f" [code {code}]" if code else ""
        message_text = f": {message}" if message else ""  # a parser may say nothing
        return error_class_for(status)(
            self.system, f"{operation}: HTTP {status}{code_text}{message_text}{hint}",
            status=status, code=code)

    def _check_origin(self, method: str, url: str, params: Mapping[str, Any] | None,
                      operation: str) -> None:
        """Refuse, before any header is built or byte sent, a URL that would leave the
        base URL's scheme, host and port (the URL httpx would really send to).

        A relative URL (no scheme and host: every request but a next-page link)
        is joined to the base URL's path by httpx, so it cannot leave the origin
        and is passed without building the request (the parameters never change
        the origin either)."""
        if httpx.URL(url).is_relative_url:
            return
        target = self._client.build_request(method, url, params=params).url
        scheme, host, port = origin(target)
        if (scheme, host, port) == self._origin:
            return
        where = f"{host}:{port}" if scheme == self._origin[0] else f"{scheme}://{host}:{port}"
        raise ConnectorError(self.system, f"{operation}: the server's next-page link points "
                             f"to another host ({where}); not followed")

    def _send(self, method: str, url: str, params: Mapping[str, Any] | None,
              content: bytes | None, headers: Mapping[str, str]) -> httpx.Response:
        if self._limiter is not None:
            self._limiter.acquire()
        try:
            with self._count_lock:
                self.requests_sent += 1
            return self._client.request(method, url, params=params, content=content,
                                        headers=headers)
        finally:
            if self._limiter is not None:
                self._limiter.release()

    def get_json(self, url: str, *, operation: str, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> tuple[Any, httpx.Response]:
        response = self.request("GET", url, operation=operation, params=params, headers=headers)
        return decode_json(response, self.system, operation), response

    def post_json(self, url: str, body: Any, *, operation: str,
                  params: Mapping[str, Any] | None = None,
                  headers: Mapping[str, str] | None = None,
                  idempotent: bool = True) -> tuple[Any, httpx.Response]:
        response = self.request("POST", url, operation=operation, params=params,
                                json_body=body, headers=headers, idempotent=idempotent)
        return decode_json(response, self.system, operation), response



