"""Pages fetched concurrently, over real sockets, against the emulator.

A transport below the connector (the real httpx transport, wrapped) counts the API
requests in flight at once; the emulator answers each after a little latency so
that pages really overlap. Nothing here times anything: the figures asserted are
request counts, the peak number in flight, ids and their order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from recon_tui.backend import sandbox_configs
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.connectors.http import RateLimiter, RetryPolicy
from recon_tui.connectors.paging import THREAD_PREFIX, fetch_in_order
from recon_tui.connectors.qbo import QboConnector
from recon_tui.connectors.tokens import TokenStore
from recon_tui.sandbox import connectwise as sandbox_cw
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.faults import FaultPlan, FaultRule
from recon_tui.sandbox.qbo import make_big_ledger
from recon_tui.sandbox.server import SandboxServer
from tests.emulator import Emulator

FAST = RetryPolicy(max_attempts=3, base_delay_seconds=0.001, max_delay_seconds=0.01)
LATENCY_MS = 40


class InFlight(httpx.HTTPTransport):
    """The real transport, counting API requests in flight (token calls left out)."""

    def __init__(self, after: Callable[[httpx.Request], None] | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.now = self.peak = self.sent = 0
        self.after = after

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        counted = "/oauth2/" not in request.url.path
        if counted:
            with self._lock:
                self.now += 1
                self.sent += 1
                self.peak = max(self.peak, self.now)
        try:
            response = super().handle_request(request)
            response.read()
        finally:
            if counted:
                with self._lock:
                    self.now -= 1
        if self.after is not None:
            self.after(request)
        return response


@pytest.fixture
def ledger_book() -> tuple[SandboxBook, list[str]]:
    book = SandboxBook()
    return book, make_big_ledger(book, 9500, 20)  # 10 pages, the last of 500


@pytest.fixture
def server(ledger_book: tuple[SandboxBook, list[str]]) -> Iterator[tuple[SandboxServer, FaultPlan]]:
    with Emulator(ledger_book[0], FaultPlan(retry_after_seconds=0),
                  latency_ms=LATENCY_MS) as emulator:
        yield emulator.server, emulator.plan


def qbo(server: SandboxServer, tmp_path: Path, transport: httpx.BaseTransport, window: int,
        limiter: RateLimiter | None = None) -> QboConnector:
    ledger, _psa = sandbox_configs(server.url)
    return QboConnector(ledger, token_store=TokenStore(tmp_path / "qbo.json"),
                        transport=transport, retry=FAST, sleep=lambda _s: None,
                        max_concurrency=window, rate_limiter=limiter)


def paging_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


@pytest.mark.parametrize("window", [1, 3, 10])
def test_qbo_pages_overlap_up_to_the_window_in_id_order_with_the_fewest_requests(
    server: tuple[SandboxServer, FaultPlan], ledger_book: tuple[SandboxBook, list[str]],
    tmp_path: Path, window: int,
) -> None:
    transport = InFlight()
    with qbo(server[0], tmp_path, transport, window) as connector:
        ids = [invoice.id for invoice in connector.invoices()]
    assert ids == ledger_book[1]  # every invoice once, in Id order
    assert transport.sent == connector.requests_sent == 1 + 10  # the count, ten pages
    assert transport.peak == window  # as many at once as allowed, never more
    assert paging_threads() == []


def test_the_shared_rate_limiter_still_caps_the_company(
    server: tuple[SandboxServer, FaultPlan], ledger_book: tuple[SandboxBook, list[str]],
    tmp_path: Path,
) -> None:
    """A window of 10 on a company whose limiter allows 2 at once: 2 at once."""
    transport = InFlight()
    limiter = RateLimiter(per_minute=500, concurrent=2)
    with qbo(server[0], tmp_path, transport, 10, limiter) as connector:
        assert len(list(connector.invoices())) == 9500
    assert transport.peak == 2


def test_a_short_page_mid_read_still_fails_the_read(
    server: tuple[SandboxServer, FaultPlan], tmp_path: Path,
) -> None:
    plan = server[1]
    plan.add(FaultRule("short", "qbo", 4, 1))  # one page, whichever arrives fourth
    short = (r"^qbo: query Invoice: read [\d,]+ of the 9,500 records QuickBooks counts; the "
             r"answer was incomplete \(query Invoice \(rows \d+-\d+\) held 500 where 1,000 "
             r"were due")
    with qbo(server[0], tmp_path, InFlight(), 5) as connector, \
            pytest.raises(ConnectorError, match=short):
        list(connector.invoices())
    assert paging_threads() == []


def test_a_record_deleted_after_the_count_fails_the_read(
    server: tuple[SandboxServer, FaultPlan], ledger_book: tuple[SandboxBook, list[str]],
    tmp_path: Path,
) -> None:
    """The book changes between the count and the pages: the pages shift by one, so
    the last one comes back a record short and nothing is taken."""
    book, ids = ledger_book

    def delete_after_count(request: httpx.Request) -> None:
        if "COUNT(*)" in request.url.params.get("query", ""):
            with book.lock:
                del book.qbo["Invoice"][ids[0]]

    shifted = (r"read 9,499 of the 9,500 records QuickBooks counts; the answer was "
               r"incomplete \(query Invoice \(rows 9001-10000\) held 499 where 500 were due")
    with qbo(server[0], tmp_path, InFlight(after=delete_after_count), 4) as connector, \
            pytest.raises(ConnectorError, match=shifted):
        list(connector.invoices())


def test_closing_the_read_early_leaves_no_thread_and_bounds_the_pages_asked(
    server: tuple[SandboxServer, FaultPlan], tmp_path: Path,
) -> None:
    transport = InFlight()
    with qbo(server[0], tmp_path, transport, 3) as connector:
        invoices = connector.invoices()
        next(invoices)  # the consumer holds page 1 and stops there
        invoices.close()
        assert paging_threads() == []
        # The count, page 1, and at most the window of pages behind it: never the book.
        assert 1 + 1 < transport.sent <= 1 + 1 + 3
        sent = transport.sent
        assert len(list(connector.customers())) == 20  # the connector is still usable
        assert transport.sent == sent + 2


def test_connectwise_numbered_pages_overlap_in_id_order(tmp_path: Path) -> None:
    with Emulator(grow=lambda book: sandbox_cw.grow_book(book, 2600),
                  latency_ms=LATENCY_MS) as emulator:
        expected = sorted(emulator.book.connectwise["companies"], key=int)
        _ledger, psa = sandbox_configs(emulator.url)
        transport = InFlight()
        with ConnectWiseConnector(psa, transport=transport, retry=FAST, page_size=250,
                                  max_concurrency=4) as connector:
            ids = [company.id for company in connector.companies()]
    assert ids == [str(i) for i in expected]
    pages = -(-len(expected) // 250)
    assert transport.sent == connector.requests_sent == 1 + pages  # the count, the pages
    assert transport.peak == 4
    assert paging_threads() == []


def test_fetch_in_order_delivers_earlier_pages_then_the_failure_and_asks_no_further() -> None:
    """A failed page raises in its turn, after the pages before it; once it has
    failed no page beyond the window is asked for (no sockets: a pure function)."""
    asked: list[int] = []
    lock = threading.Lock()
    failed = threading.Event()

    def fetch(index: int) -> int:
        with lock:
            asked.append(index)
        if index == 2:
            failed.set()
            raise ConnectorError("qbo", "page 3 failed")
        if index > 2:
            failed.wait()
        return index

    got: list[int] = []
    with pytest.raises(ConnectorError, match="page 3 failed"):
        for page in fetch_in_order(fetch, 50, 4):
            got.append(page)
    assert got == [0, 1]
    assert max(asked) < 2 + 4 + 1 and len(asked) < 50
    assert paging_threads() == []
