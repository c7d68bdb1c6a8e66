"""The fetch phase overlaps: both systems at once, and a system's independent
steps side by side, never more requests in flight than it allows and never
more requests than a one-at-a-time read.

Nothing here times anything. Overlap is proved by order: a request is held
until another one it can only meet concurrently has started (a read one step
after another would wait the whole 10 s in vain, and the test fails on the
flag it leaves); the rest asserts peaks, counts and order of events.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from recon_tui.backend import sandbox_configs
from recon_tui.cache import Cache
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.connectors.paging import RequestGate, fetch_in_order, gated
from recon_tui.connectors.qbo import QboConnector
from recon_tui.connectors.tokens import TokenStore
from recon_tui.models import LedgerCustomer, LedgerInvoice, PsaCompany, PsaInvoice, SyncStatus
from recon_tui.sync import SyncProgress, run_full_sync
from tests.emulator import running_emulator
from tests.fake_books import FakeLedger, FakePsa

#: How long a held request waits for the one it must meet (only a regression waits).
HOLD = 10.0

Match = Callable[[str], bool]


class Log:
    """Every API request's start and end, both systems in one list, in order,
    with the number in flight per system."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, str]] = []
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.watches: list[tuple[Match, threading.Event]] = []

    def started(self, match: Match) -> threading.Event:
        """Set once a request matching ``match`` has started."""
        seen = threading.Event()
        self.watches.append((match, seen))
        return seen

    def start(self, system: str, what: str) -> None:
        with self.lock:
            self.events.append(("start", system, what))
            self.now[system] = self.now.get(system, 0) + 1
            self.sent[system] = self.sent.get(system, 0) + 1
            self.peak[system] = max(self.peak.get(system, 0), self.now[system])
            for match, seen in self.watches:
                if match(what):
                    seen.set()

    def end(self, system: str, what: str) -> None:
        with self.lock:
            self.events.append(("end", system, what))
            self.now[system] -= 1


class Recording(httpx.HTTPTransport):
    """The real transport, logging API requests (token calls left out); a request
    matching a hold waits until its event is set, and the hold notes whether it was."""

    def __init__(self, system: str, log: Log,
                 holds: list[tuple[Match, threading.Event]] | None = None) -> None:
        super().__init__()
        self.system, self.log, self.holds = system, log, holds or []
        self.met: list[bool] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/oauth2/" in request.url.path:
            return super().handle_request(request)
        what = f"{request.url.path} {request.url.params.get('query', '')}"
        for match, event in self.holds:
            if match(what):
                self.met.append(event.wait(HOLD))
        self.log.start(self.system, what)
        try:
            response = super().handle_request(request)
            response.read()
        finally:
            self.log.end(self.system, what)
        return response


def connectors(url: str, folder: Path, log: Log, *, qbo_window: int, cw_window: int,
               psa_holds: list[tuple[Match, threading.Event]] | None = None,
               ledger_holds: list[tuple[Match, threading.Event]] | None = None,
               ) -> tuple[ConnectWiseConnector, QboConnector, Recording, Recording]:
    ledger_config, psa_config = sandbox_configs(url)
    on_psa, on_ledger = Recording("connectwise", log, psa_holds), Recording("qbo", log,
                                                                            ledger_holds)
    psa = ConnectWiseConnector(psa_config, transport=on_psa, max_concurrency=cw_window)
    ledger = QboConnector(ledger_config, token_store=TokenStore(folder / "qbo.json"),
                          transport=on_ledger, max_concurrency=qbo_window)
    return psa, ledger, on_psa, on_ledger


def is_invoice_page(what: str) -> bool:
    return what.split(" ")[0].endswith("/finance/invoices")


def counts(entity: str) -> Match:
    return lambda what: f"SELECT COUNT(*) FROM {entity}" in what


def cw_count(path: str) -> Match:
    return lambda what: what.split(" ")[0].endswith(f"/{path}/count")


def test_the_ledger_is_read_while_the_psa_is_and_steps_of_one_system_overlap(
        tmp_path: Path) -> None:
    """PSA invoice pages held until a ledger request has started; the ledger's
    customer count held until its invoice count has started, ConnectWise's
    company count until its contact count has: all met, within each window, and
    applied PSA first, then the ledger."""
    log = Log()
    ledger_started = log.started(lambda what: "/v3/company/" in what)
    psa_holds = [(is_invoice_page, ledger_started),
                 (cw_count("company/companies"), log.started(cw_count("company/contacts")))]
    ledger_holds = [(counts("Customer"), log.started(counts("Invoice")))]
    phases: list[tuple[str, int]] = []
    with running_emulator() as (server, _book, _plan), Cache(tmp_path / "c.db") as cache:
        psa, ledger, on_psa, on_ledger = connectors(
            server.url, tmp_path, log, qbo_window=3, cw_window=2, psa_holds=psa_holds,
            ledger_holds=ledger_holds)
        with psa, ledger:
            run = run_full_sync(cache, psa, ledger, since=None, progress=lambda p: phases.append(
                (p.phase, p.step_index)))
        assert run.status is SyncStatus.SUCCEEDED, run.error
        assert on_psa.met and all(on_psa.met)  # each held request met the one it waited for
        assert on_ledger.met == [True]
    last_invoice_page_end = max(i for i, (kind, _s, what) in enumerate(log.events)
                                if kind == "end" and is_invoice_page(what))
    first_ledger_start = min(i for i, (kind, system, _w) in enumerate(log.events)
                             if kind == "start" and system == "qbo")
    assert first_ledger_start < last_invoice_page_end
    assert log.peak["qbo"] <= 3 and log.peak["connectwise"] <= 2
    applied = [index for phase, index in phases if phase == "apply"]
    assert applied == sorted(applied) == list(range(len(run.steps)))


def test_overlapping_reads_send_the_same_requests_as_one_at_a_time(tmp_path: Path) -> None:
    """Windows of 1 read every step in turn; wider windows overlap them: the same
    number of requests per system, the same data, never more in flight than allowed."""
    results = []
    with running_emulator() as (server, _book, _plan):
        for qbo_window, cw_window in ((1, 1), (4, 3)):
            log = Log()
            with tempfile.TemporaryDirectory() as scratch, Cache(Path(scratch) / "c.db") as cache:
                psa, ledger, _, _ = connectors(server.url, Path(scratch), log,
                                               qbo_window=qbo_window, cw_window=cw_window)
                with psa, ledger:
                    run = run_full_sync(cache, psa, ledger, since=None)
                assert run.status is SyncStatus.SUCCEEDED, run.error
                results.append((dict(log.sent), cache.records.counts()))
            assert log.peak["qbo"] <= qbo_window and log.peak["connectwise"] <= cw_window
    (serial_sent, serial_data), (overlapped_sent, overlapped_data) = results
    assert overlapped_sent == serial_sent
    assert overlapped_data == serial_data


class Watched:
    """Counts the reads of one system active at once; ``meet`` makes a read wait
    (at most HOLD) until the other system has a read active."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.entered = threading.Event()
        self.met: list[bool] = []

    def wrap(self, read: Callable[..., Iterator[Any]], meet: Watched | None = None
             ) -> Callable[..., Iterator[Any]]:
        def reading(since: datetime | None = None) -> Iterator[Any]:
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            self.entered.set()
            try:
                if meet is not None:
                    self.met.append(meet.entered.wait(HOLD))
                yield from read(since)
            finally:
                with self.lock:
                    self.active -= 1
        return reading


def test_a_window_of_one_reads_the_steps_of_a_system_in_turn_beside_the_other(
        cache: Cache) -> None:
    psa = FakePsa(companies_by_id={"1": PsaCompany("1", "C1", "Alpha Co")})
    ledger = FakeLedger(customers_by_id={"58": LedgerCustomer("58", "Alpha Co")},
                        max_concurrency=1)
    for n in range(30):
        psa.touch(PsaInvoice(id=f"p{n}", number=f"{1000 + n}", company_id="1",
                             date=date(2026, 3, 1), total=Decimal("10.00"),
                             owing=Decimal("10.00")))
        ledger.touch(LedgerInvoice(id=f"q{n}", doc_number=f"{1000 + n}", customer_id="58",
                                   date=date(2026, 3, 1), total=Decimal("10.00"),
                                   balance=Decimal("10.00")))
    on_psa, on_ledger = Watched(), Watched()
    psa.invoices = on_psa.wrap(psa.invoices, meet=on_ledger)  # type: ignore[method-assign]
    for name in ("customers", "invoices", "credit_memos", "payments"):
        setattr(ledger, name, on_ledger.wrap(getattr(ledger, name)))
    seen: list[SyncProgress] = []
    run = run_full_sync(cache, psa, ledger, since=None, progress=seen.append)
    assert run.status is SyncStatus.SUCCEEDED, run.error
    assert on_psa.met == [True]  # the PSA's invoices were read while the ledger was
    assert on_ledger.peak == 1  # the ledger's window of one: its steps in turn
    assert any(len(p.reading) > 1 for p in seen if p.phase == "fetch")
    assert cache.records.counts()["psa_invoice"] == cache.records.counts()["ledger_invoice"] == 30


def test_a_gate_caps_the_windows_and_the_steps_own_requests_of_one_system() -> None:
    """Three steps of one system, each a request of its own then a window of 4
    pages, under a gate of 3: never more than 3 in flight, every page delivered."""
    gate = RequestGate(3)
    lock = threading.Lock()
    now = peak = 0
    release = threading.Event()

    def request(value: int) -> int:
        nonlocal now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        release.wait(0.01)  # long enough for the others to pile up, if the gate let them
        with lock:
            now -= 1
        return value

    got: dict[int, list[int]] = {}

    def step(n: int) -> None:
        with gated(gate):
            request(-1)  # the step's own request (a count)
            got[n] = list(fetch_in_order(request, 12, 4, name=f"t{n}"))
            request(-2)  # and one after its window

    threads = [threading.Thread(target=step, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HOLD)
    assert got == {n: list(range(12)) for n in range(3)}
    assert 1 <= peak <= 3


@pytest.mark.parametrize("failing", ["customers", "invoices"])
def test_a_ledger_failure_beside_the_psa_names_the_ledger_step_and_writes_nothing(
        cache: Cache, failing: str) -> None:
    psa = FakePsa(companies_by_id={"1": PsaCompany("1", "C1", "Alpha Co")})
    ledger = FakeLedger(customers_by_id={"58": LedgerCustomer("58", "Alpha Co")})

    def broken(since: datetime | None = None) -> Iterator[Any]:
        raise ValueError("the ledger broke")

    setattr(ledger, failing, broken)
    run = run_full_sync(cache, psa, ledger, since=None)
    assert run.status is SyncStatus.FAILED
    failed = [f"{s.system} {s.name}" for s in run.steps if s.status is SyncStatus.FAILED]
    assert failed == [f"ledger {failing}"]
    assert cache.records.counts()["psa_company"] == 0
