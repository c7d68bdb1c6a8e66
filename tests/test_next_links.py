"""A server's next-page link never takes our credentials to another host.

ConnectWise's ``Link: <...>; rel="next"`` and Autotask's ``nextPageUrl`` are
absolute URLs the server writes; ApiClient sends only to its base URL's origin
(scheme, host, port), so a link elsewhere fails in one line and nothing reaches
that host, neither at unit level (MockTransport) nor against the real emulator
whose links a small ASGI wrapper points at a second, foreign listener.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from recon_tui.backend import sandbox_configs
from recon_tui.config import AutotaskConfig, ConnectWiseConfig, Secret
from recon_tui.connectors.autotask import AutotaskConnector
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.connectors.http import ApiClient, RetryPolicy
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.sandbox.app import create_app
from recon_tui.sandbox.server import SandboxServer

FAST = RetryPolicy(max_attempts=2, base_delay_seconds=0.001, max_delay_seconds=0.01)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Hosts:
    """A MockTransport that answers per host and records every request."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.sent: list[httpx.Request] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self._answer(request)

    def hosts(self) -> list[str]:
        return [r.url.host for r in self.sent]


def client_for(base: str, hosts: Hosts) -> ApiClient:
    return ApiClient("cw", base, headers=lambda: {"Authorization": "Basic c2VjcmV0"},
                     retry=FAST, transport=httpx.MockTransport(hosts), sleep=lambda _s: None)


@pytest.mark.parametrize(("link", "shown"), [
    ("https://evil.example/v4_6_release/apis/3.0/company/companies", "evil.example:443"),
    ("https://evil.example:8443/x", "evil.example:8443"),
    ("https://api.example:8443/x", "api.example:8443"),  # same host, another port
    ("http://api.example/x", "http://api.example:80"),  # a downgrade to plain HTTP
])
def test_an_absolute_url_to_another_origin_is_never_requested(link: str, shown: str) -> None:
    hosts = Hosts(lambda _r: httpx.Response(200, json=[]))
    api = client_for("https://api.example/v4_6_release/apis/3.0", hosts)
    with pytest.raises(ConnectorError) as caught:
        api.request("GET", link, operation="list companies")
    assert str(caught.value) == (f"cw: list companies: the server's next-page link points to "
                                 f"another host ({shown}); not followed")
    assert hosts.sent == [] and api.requests_sent == 0


@pytest.mark.parametrize("link", [
    "https://api.example/v4_6_release/apis/3.0/company/companies?pageId=5",
    "https://API.example:443/v4_6_release/apis/3.0/company/companies",  # the default port
    "company/companies",  # relative: under the base URL
    "//evil.example/x",  # scheme-relative: httpx keeps it on the base host
])
def test_same_origin_and_relative_urls_are_sent(link: str) -> None:
    hosts = Hosts(lambda _r: httpx.Response(200, json=[]))
    api = client_for("https://api.example/v4_6_release/apis/3.0", hosts)
    api.request("GET", link, operation="list companies")
    assert hosts.hosts() == ["api.example"]


def cw_config(base: str) -> ConnectWiseConfig:
    return ConnectWiseConfig(base_url=base, company_id="acme",
                     public_key="pub", private_key=Secret("cw-private-key-1"),
                     client_id="00000000-0000-0000-0000-000000000000")


def test_connectwise_link_to_another_host_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/count"):
            return httpx.Response(200, json={"count": 2})
        link = '<https://evil.example/v4_6_release/apis/3.0/company/companies?pageId=1>'
        return httpx.Response(200, json=[{"id": 1, "identifier": "A", "name": "A"}],
                              headers={"Link": f'{link}; rel="next"'})

    hosts = Hosts(answer)
    connector = ConnectWiseConnector(cw_config("https://cw.example/v4_6_release/apis/3.0"),
                                     transport=httpx.MockTransport(hosts), retry=FAST,
                                     page_size=1, max_concurrency=1)  # forward-only
    with pytest.raises(ConnectorError, match=r"list companies: the server's next-page link "
                       r"points to another host \(evil\.example:443\); not followed"):
        list(connector.companies())
    assert "evil.example" not in hosts.hosts() and hosts.sent


def test_autotask_next_page_url_to_another_host_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        following = "https://evil.example/atservicesrest/v1.0/Companies/query/next?paging=x"
        return httpx.Response(200, json={"items": [{"id": 1}], "pageDetails": {
            "count": 1, "requestCount": 1, "prevPageUrl": None, "nextPageUrl": following}})

    hosts = Hosts(answer)
    config = AutotaskConfig(base_url="https://webservices5.autotask.net/"
                       "atservicesrest/v1.0", username="api@example.com",
                       secret=Secret("at-secret-value"), integration_code=Secret("AT-CODE-123"))
    connector = AutotaskConnector(config, transport=httpx.MockTransport(hosts), retry=FAST,
                                  portal_levels={})
    with pytest.raises(ConnectorError, match=r"points to another host \(evil\.example:443\)"):
        list(connector._query("Companies", [], "list companies", verify=False))
    assert hosts.hosts() == ["webservices5.autotask.net"]


# --------------------------------------------------------------------------- real sockets
def pointing_links_to(app: Any, own: str, foreign: str) -> Callable[..., Awaitable[None]]:
    """The emulator, with every mention of its own origin in a response (the Link
    header, a body's nextPageUrl) replaced by ``foreign``: a hostile server's links."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: MutableMapping[str, Any] = {}
        body = bytearray()

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            text = bytes(body).replace(own.encode(), foreign.encode())
            headers = [(k, b"%d" % len(text)) if k.lower() == b"content-length"
                       else (k, v.replace(own.encode(), foreign.encode()))
                       for k, v in start.get("headers", [])]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": text})

        await app(scope, receive, capture)

    return wrapped


@pytest.fixture
def foreign() -> Iterator[tuple[SandboxServer, list[dict[str, str]]]]:
    """A second listener that records whatever reaches it."""
    received: list[dict[str, str]] = []

    async def anything(request: Request) -> JSONResponse:
        received.append(dict(request.headers))
        return JSONResponse([])

    app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])
    with SandboxServer(app) as server:
        yield server, received


@pytest.fixture
def hostile(foreign: tuple[SandboxServer, list[dict[str, str]]]
            ) -> Iterator[tuple[SandboxServer, list[dict[str, str]]]]:
    """The real emulator whose next links point at the foreign listener."""
    foreign_server, received = foreign
    emulator = create_app(sample_data_dir())
    serving: dict[str, Callable[..., Awaitable[None]]] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await serving["app"](scope, receive, send)

    server = SandboxServer(app)  # type: ignore[arg-type]
    serving["app"] = pointing_links_to(emulator, server.url, foreign_server.url)
    with server:
        yield server, received


def test_the_emulators_foreign_link_never_reaches_the_other_host(
    hostile: tuple[SandboxServer, list[dict[str, str]]],
) -> None:
    server, received = hostile
    _ledger, psa = sandbox_configs(server.url)
    with ConnectWiseConnector(psa, retry=FAST, page_size=10, max_concurrency=1) as connector:
        with pytest.raises(ConnectorError, match=r"list companies: the server's next-page "
                           r"link points to another host \(127\.0\.0\.1:\d+\); not followed"):
            list(connector.companies())
        assert connector.requests_sent == 1  # the first page, from the emulator itself
    assert received == []


def test_concurrent_numbered_pages_follow_no_link_at_all(
    hostile: tuple[SandboxServer, list[dict[str, str]]],
) -> None:
    """Numbered pages fetched concurrently are built from the count, never from a
    server's Link: a hostile link is not even read."""
    server, received = hostile
    _ledger, psa = sandbox_configs(server.url)
    with ConnectWiseConnector(psa, retry=FAST, page_size=10, max_concurrency=4) as connector:
        companies = list(connector.companies())
        assert len(companies) == 46
        assert connector.requests_sent == 1 + 5  # the count, then pages 1-5
    assert received == []


def test_the_emulators_foreign_autotask_cursor_never_reaches_the_other_host(
    hostile: tuple[SandboxServer, list[dict[str, str]]],
) -> None:
    server, received = hostile
    config = AutotaskConfig(base_url=f"{server.url}/atservicesrest/v1.0",
                       username="sandbox-api@example.com", secret=Secret("sandbox-secret"),
                       integration_code=Secret("SANDBOXINTEGRATIONCODE00000"))
    with AutotaskConnector(config, retry=FAST, page_size=10) as connector:
        with pytest.raises(ConnectorError, match="points to another host"):
            list(connector.companies())
        sent = connector.requests_sent
    assert received == [] and sent >= 1
