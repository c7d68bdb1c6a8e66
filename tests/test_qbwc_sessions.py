"""Web Connector sessions over real sockets: the emulated QBWC
(recon_tui.sandbox.web_connector) against the SOAP service (recon_tui.qbwc),
each session one full sync into a real cache.

The ledger here is a small stand-in whose reads go through the session's
channel (one qbXML exchange per step), so these tests pin the service, the
channel and the sync wiring whatever the Desktop connector does with the
documents; tests/test_qbwc_desktop.py runs the real connector and sample company.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from defusedxml import ElementTree as safe_et

from recon_tui.cache import Cache
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.qbd_channel import QbxmlChannel
from recon_tui.models import LedgerCustomer, LedgerInvoice, PsaCompany, PsaInvoice, SyncStatus
from recon_tui.qbwc.app import QbwcServer, create_app
from recon_tui.qbwc.runner import RUN_KIND, DesktopSync
from recon_tui.qbwc.service import QbwcService, SessionOutcome, SessionRun
from recon_tui.sandbox.qbd_status import HResultError
from recon_tui.sandbox.web_connector import WebConnector
from tests.fake_books import FakeLedger, FakePsa

USER, PASSWORD = "recon", "correct horse battery"
HISTORY = {"sync_run", "sync_step", "sync_change"}

CUSTOMER_QUERY = ('<?xml version="1.0"?><?qbxml version="13.0"?><QBXML>'
                  '<QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"/>'
                  "</QBXMLMsgsRq></QBXML>")
INVOICE_QUERY = CUSTOMER_QUERY.replace("CustomerQueryRq", "InvoiceQueryRq")


@dataclass
class ChannelLedger(FakeLedger):
    """FakeLedger whose customers and invoices are read over the channel."""

    kind: str = "qbd"
    book: str = "qbd:test-company"
    max_concurrency: int = 1
    channel: QbxmlChannel | None = None
    seen: list[str] = field(default_factory=list)

    def customers(self, since: datetime | None = None) -> Iterator[LedgerCustomer]:
        assert self.channel is not None
        root = safe_et.fromstring(self.channel.exchange(CUSTOMER_QUERY, step="customers"))
        return iter([LedgerCustomer(c.findtext("ListID"), c.findtext("Name"))
                     for c in root.iter("CustomerRet")])

    def invoices(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        assert self.channel is not None
        self.seen.append(self.channel.exchange(INVOICE_QUERY, step="invoices"))
        return super().invoices(since)


class Company:
    """Plays QuickBooks for the stand-in ledger's two requests."""

    def __init__(self, customers: dict[str, str]) -> None:
        self.customers = customers
        self.fail: Exception | None = None

    def answer(self, request: str) -> str:
        if self.fail is not None:
            raise self.fail
        if "CustomerQueryRq" in request:
            rets = "".join(f"<CustomerRet><ListID>{i}</ListID><Name>{n}</Name></CustomerRet>"
                           for i, n in self.customers.items())
            return (f'<?xml version="1.0"?><QBXML><QBXMLMsgsRs><CustomerQueryRs '
                    f'statusCode="0">{rets}</CustomerQueryRs></QBXMLMsgsRs></QBXML>')
        return ('<?xml version="1.0"?><QBXML><QBXMLMsgsRs><InvoiceQueryRs statusCode="1"/>'
                "</QBXMLMsgsRs></QBXML>")


def books() -> tuple[FakePsa, ChannelLedger]:
    psa = FakePsa(companies_by_id={"1": PsaCompany("1", "C1", "Alpha Co")})
    ledger = ChannelLedger()
    for n in range(5):
        psa.touch(PsaInvoice(id=f"p{n}", number=f"{1000 + n}", company_id="1",
                             date=date(2026, 3, 1), total=Decimal("10.00"),
                             owing=Decimal("10.00")))
        ledger.touch(LedgerInvoice(id=f"q{n}", doc_number=f"{1000 + n}", customer_id="58",
                                   date=date(2026, 3, 1), total=Decimal("10.00"),
                                   balance=Decimal("10.00")))
    return psa, ledger


@dataclass
class Desk:
    """A running service over a cache, and what its sessions ended with."""

    server: QbwcServer
    service: QbwcService
    cache_path: Path
    outcomes: list[SessionOutcome]

    def connector(self, company: Company, password: str = PASSWORD) -> WebConnector:
        return WebConnector(self.server.url, company.answer, username=USER, password=password)

    def wait_outcomes(self, n: int, seconds: float = 20.0) -> list[SessionOutcome]:
        deadline = time.monotonic() + seconds
        while len(self.outcomes) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.outcomes) >= n, "the session's sync never ended"
        return self.outcomes


@contextmanager
def desk(tmp_path: Path, psa: FakePsa, ledger: ChannelLedger, *,
         response_timeout: float = 10.0) -> Iterator[Desk]:
    def open_ledger(channel: QbxmlChannel) -> ChannelLedger:
        ledger.channel = channel
        return ledger

    outcomes: list[SessionOutcome] = []
    runner = DesktopSync(tmp_path / "cache.db", open_psa=lambda: psa, open_ledger=open_ledger)
    service = QbwcService(username=USER, password=PASSWORD, start_sync=runner, poll_wait=0.5,
                          response_timeout=response_timeout,
                          on_outcome=lambda _run, outcome: outcomes.append(outcome))
    with QbwcServer(create_app(service)) as server:
        try:
            yield Desk(server, service, tmp_path / "cache.db", outcomes)
        finally:
            service.shutdown()


def data_of(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table but the history, read as the file holds it."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr)
                for t in tables if t not in HISTORY}
    finally:
        conn.close()


@dataclass(frozen=True)
class Run:
    kind: str
    status: SyncStatus
    error: str | None


def runs_of(path: Path) -> list[Run]:
    """The history as the file holds it, newest first (read apart from the cache's
    own API, which is being split today)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [Run(kind, SyncStatus(status), error) for kind, status, error in conn.execute(
            "SELECT kind, status, error FROM sync_run ORDER BY id DESC")]
    finally:
        conn.close()


def test_a_web_connector_session_runs_one_full_sync_into_the_cache(tmp_path: Path) -> None:
    psa, ledger = books()
    company = Company({"58": "Alpha Co"})
    with desk(tmp_path, psa, ledger) as d, d.connector(company) as qbwc:
        report = qbwc.run()
        [outcome] = d.wait_outcomes(1)
    assert outcome.succeeded, outcome.line
    assert report.percents[-1] == 100 and report.closed == outcome.line
    assert [("CustomerQueryRq" in r, "InvoiceQueryRq" in r) for r in report.requests] in (
        [(True, False), (False, True)], [(False, True), (True, False)])
    [run] = runs_of(d.cache_path)
    assert run.kind == RUN_KIND and run.status is SyncStatus.SUCCEEDED
    cache = Cache(d.cache_path, read_only=True)
    try:
        assert [c.display_name for c in cache.records.customers().values()] == ["Alpha Co"]
        counts = cache.records.counts()
        assert counts["ledger_invoice"] == 5 and counts["psa_invoice"] == 5
    finally:
        cache.close()


def test_a_wrong_password_is_refused_and_writes_nothing(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    psa, ledger = books()
    caplog.set_level(logging.DEBUG)
    with desk(tmp_path, psa, ledger) as d, d.connector(Company({}), "hunter2-wrong") as qbwc:
        report = qbwc.run()
        time.sleep(0.3)
        assert d.outcomes == []
    assert report.refused and report.requests == []
    assert not d.cache_path.exists()
    assert "hunter2-wrong" not in caplog.text and PASSWORD not in caplog.text
    assert "wrong user name or password" in caplog.text


def test_a_wrong_user_name_is_refused_the_same_way(tmp_path: Path) -> None:
    psa, ledger = books()
    with desk(tmp_path, psa, ledger) as d, WebConnector(
            d.server.url, Company({}).answer, username="admin", password=PASSWORD) as qbwc:
        assert qbwc.run().refused
    assert not d.cache_path.exists()


def first_sync(tmp_path: Path) -> tuple[FakePsa, ChannelLedger, dict[str, list[tuple]]]:
    """A cache holding one good sync, and the ledger then changed."""
    psa, ledger = books()
    with desk(tmp_path, psa, ledger) as d, d.connector(Company({"58": "Alpha Co"})) as qbwc:
        qbwc.run()
        assert d.wait_outcomes(1)[0].succeeded
    before = data_of(tmp_path / "cache.db")
    ledger.touch(LedgerInvoice(id="q9", doc_number="1009", customer_id="58",
                               date=date(2026, 3, 2), total=Decimal("99.00"),
                               balance=Decimal("99.00")))
    return psa, ledger, before


def test_a_session_dropped_mid_way_leaves_the_cache_as_it_was(tmp_path: Path) -> None:
    psa, ledger, before = first_sync(tmp_path)
    with desk(tmp_path, psa, ledger, response_timeout=1.0) as d:
        with d.connector(Company({"58": "Alpha Co", "59": "Beta Ltd"})) as qbwc:
            report = qbwc.run(drop_after=1)
        [outcome] = d.wait_outcomes(1)
    assert report.closed is None and len(report.requests) == 1
    assert not outcome.succeeded
    assert "no answer from the Web Connector" in outcome.line and "\n" not in outcome.line
    assert data_of(d.cache_path) == before
    latest = runs_of(d.cache_path)[0]
    assert latest.status is SyncStatus.FAILED and "nothing written" in (latest.error or "")


def test_a_company_file_qbwc_cannot_open_ends_the_session_unwritten(tmp_path: Path) -> None:
    psa, ledger, before = first_sync(tmp_path)
    company = Company({"58": "Alpha Co"})
    company.fail = HResultError("0x80040408", "Could not start QuickBooks.", at_open=True)
    with desk(tmp_path, psa, ledger) as d, d.connector(company) as qbwc:
        report = qbwc.run()
        [outcome] = d.wait_outcomes(1)
    assert report.connection_error == "done"
    assert ("opening the company file: QuickBooks reported 0x80040408 (Could not start "
            "QuickBooks.); fix: QuickBooks could not start; open QuickBooks") in outcome.line
    assert data_of(d.cache_path) == before


def test_connection_error_before_any_request_ends_the_session_unwritten(
        tmp_path: Path) -> None:
    """As QBWC does it: connectionError right after authenticate, when it cannot
    open the company file (QuickBooks asks for a file other than the open one)."""
    psa, ledger, before = first_sync(tmp_path)
    with desk(tmp_path, psa, ledger) as d, d.connector(Company({})) as qbwc:
        report = qbwc.run(connection_error=("0x8004040A", "A company file is already open."))
        [outcome] = d.wait_outcomes(1)
    assert report.connection_error == "done" and report.requests == []
    assert "QuickBooks reported 0x8004040A" in outcome.line and "[ledger] company_file" in (
        outcome.line)
    assert data_of(d.cache_path) == before


def test_quickbooks_failing_a_request_is_a_negative_percent_and_the_reason(
        tmp_path: Path) -> None:
    psa, ledger, before = first_sync(tmp_path)
    company = Company({"58": "Alpha Co"})
    company.fail = HResultError("0x80040410", "The company file is in use (single-user).")
    with desk(tmp_path, psa, ledger) as d, d.connector(company) as qbwc:
        report = qbwc.run()
        [outcome] = d.wait_outcomes(1)
    assert report.percents == [-1]
    assert report.last_error == outcome.line
    assert "customers: QuickBooks reported 0x80040410" in outcome.line
    assert "File > Switch to Multi-user Mode" in outcome.line
    assert report.closed == outcome.line
    assert data_of(d.cache_path) == before


def test_a_new_sign_in_stops_an_abandoned_session_unwritten_and_syncs(
        tmp_path: Path) -> None:
    psa, ledger = books()
    company = Company({"58": "Alpha Co"})
    with desk(tmp_path, psa, ledger) as d:
        with d.connector(company) as gone:  # signs in, then is never heard from again
            ticket, answer = gone.call("authenticate", strUserName=USER, strPassword=PASSWORD)
        assert answer == ""
        with d.connector(company) as qbwc:
            report = qbwc.run()
            abandoned, synced = d.wait_outcomes(2)
            assert qbwc.call("closeConnection", ticket=ticket) == (
                "unknown or expired Web Connector session")
    assert not abandoned.succeeded and "nothing written" in abandoned.line
    assert "a new Web Connector session started" in abandoned.line or (
        "cancelled" in abandoned.line)
    assert synced.succeeded and report.closed == synced.line
    newest, older = runs_of(d.cache_path)
    assert newest.status is SyncStatus.SUCCEEDED
    assert older.status in (SyncStatus.FAILED, SyncStatus.CANCELLED)


def test_an_unknown_ticket_is_answered_not_crashed(tmp_path: Path) -> None:
    psa, ledger = books()
    with desk(tmp_path, psa, ledger) as d, d.connector(Company({})) as qbwc:
        assert qbwc.call("sendRequestXML", ticket="nope", strHCPResponse="",
                         strCompanyFileName="", qbXMLCountry="US", qbXMLMajorVers=13,
                         qbXMLMinorVers=0) == ""
        assert "unknown" in str(qbwc.call("getLastError", ticket="nope"))
        assert qbwc.call("receiveResponseXML", ticket="nope", response="", hresult="",
                         message="") == -1


def test_a_request_that_is_not_soap_gets_a_fault_not_a_traceback(tmp_path: Path) -> None:
    import httpx

    psa, ledger = books()
    with desk(tmp_path, psa, ledger) as d:
        reply = httpx.post(d.server.url, content=b"<not-soap/>")
    assert reply.status_code == 500 and b"faultstring" in reply.content
    assert b"Traceback" not in reply.content



def test_a_psa_that_fails_ends_the_session_with_the_reason_for_qbwc(tmp_path: Path) -> None:
    psa, ledger = books()

    def refused(since: datetime | None = None) -> Iterator[PsaCompany]:
        raise ConnectorError("ConnectWise", "401 Unauthorized: check [psa] private_key")

    psa.companies = refused  # type: ignore[method-assign]
    with desk(tmp_path, psa, ledger) as d, d.connector(Company({"58": "Alpha Co"})) as qbwc:
        report = qbwc.run()
        [outcome] = d.wait_outcomes(1)
    assert not outcome.succeeded and "check [psa] private_key" in outcome.line
    assert report.last_error == outcome.line and report.closed == outcome.line
    assert runs_of(d.cache_path)[0].status is SyncStatus.FAILED


def test_a_sync_with_nothing_to_send_yet_has_qbwc_wait_and_ask_again(tmp_path: Path) -> None:
    psa, ledger = books()
    reads = ledger.customers

    def late(since: datetime | None = None) -> Iterator[LedgerCustomer]:
        time.sleep(1.5)  # longer than the service waits in one sendRequestXML (0.5 s)
        return reads(since)

    ledger.customers = late  # type: ignore[method-assign]
    with desk(tmp_path, psa, ledger) as d, d.connector(Company({"58": "Alpha Co"})) as qbwc:
        report = qbwc.run()
        [outcome] = d.wait_outcomes(1)
    assert outcome.succeeded, outcome.line
    assert report.noops >= 1 and report.percents[-1] == 100


def test_a_long_write_after_the_last_answer_still_ends_at_100_percent(tmp_path: Path) -> None:
    """The last response is in, the sync writes the cache for longer than one call
    waits: receiveResponseXML waits for it, so QBWC hears 100, not an 'error'."""
    def sync(run: SessionRun) -> SessionOutcome:
        run.channel.exchange(CUSTOMER_QUERY, step="customers")
        run.applying = True
        time.sleep(1.5)  # three times the service's poll_wait
        return SessionOutcome(True, "sync #1 succeeded")

    service = QbwcService(username=USER, password=PASSWORD, start_sync=sync, poll_wait=0.5,
                          response_timeout=10.0)
    with QbwcServer(create_app(service)) as server, WebConnector(
            server.url, Company({}).answer, username=USER, password=PASSWORD) as qbwc:
        report = qbwc.run()
    service.shutdown()
    assert report.percents == [100] and report.noops == 0 and report.last_error == ""
    assert report.closed == "sync #1 succeeded"


def test_a_response_to_no_request_is_refused_not_taken_for_the_next_one(
        tmp_path: Path) -> None:
    psa, ledger = books()
    with desk(tmp_path, psa, ledger) as d, d.connector(Company({"58": "Alpha Co"})) as qbwc:
        ticket, _ = qbwc.call("authenticate", strUserName=USER, strPassword=PASSWORD)
        assert qbwc.call("receiveResponseXML", ticket=ticket, response="<QBXML/>",
                         hresult="", message="") == -1
        assert "without a request in flight" in str(qbwc.call("getLastError", ticket=ticket))
        qbwc.call("closeConnection", ticket=ticket)
        [outcome] = d.wait_outcomes(1)
    assert not outcome.succeeded and "nothing written" in outcome.line
