"""The QuickBooks Desktop connector over the channel seam, against the sample company.

The channel here calls ``SampleCompany.answer`` in process: the real emulator
answering real qbXML documents (the Web Connector's SOAP leg is tested with the
qbwc package). The full read of the sample book must equal what the QBO
connector reads of the same book from the QBO emulator, record by record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from recon_tui.connectors.base import (
    AccessDenied,
    BadData,
    ConnectorError,
    LedgerConnector,
    NotFound,
    ServerError,
)
from recon_tui.connectors.qbd import QbdConnector
from recon_tui.connectors.qbd_errors import QbdNameInUse, QbdStale, hresult_error
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import CreditKind
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbd_company import SampleCompany
from recon_tui.sandbox.qbd_status import HResultError
from recon_tui.transactions import TxnKind
from tests.emulator import backend_for, running_emulator

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class CompanyChannel:
    """A QbxmlChannel that hands each request to the sample company, as the
    Web Connector hands it to QuickBooks; an HRESULT becomes the error the Web
    Connector channel raises. ``tamper`` may rewrite an answer (a lossy proxy)."""

    def __init__(self, company: SampleCompany,
                 tamper: Callable[[str, str], str] | None = None) -> None:
        self.company = company
        self.tamper = tamper
        self.steps: list[str] = []

    def exchange(self, request: str, *, step: str) -> str:
        self.steps.append(step)
        try:
            answer = self.company.answer(request)
        except HResultError as exc:
            raise hresult_error(exc.hresult, exc.message, step=step) from None
        return self.tamper(request, answer) if self.tamper else answer


def sample_book() -> SandboxBook:
    return SandboxBook.from_dir(sample_data_dir())


@pytest.fixture
def company() -> SampleCompany:
    return SampleCompany(sample_book(), now=lambda: NOW)


def connector(company: SampleCompany, *, page_size: int = 500,
              tamper: Callable[[str, str], str] | None = None) -> QbdConnector:
    return QbdConnector(CompanyChannel(company, tamper), book="sample", page_size=page_size,
                        now=lambda: NOW)


@pytest.fixture(scope="module")
def qbo_read() -> Iterator[dict[str, list[object]]]:
    """What the QBO connector reads of the sample book from the QBO emulator."""
    with running_emulator() as (server, _book, _plan):
        backend = backend_for(server)
        try:
            ledger = backend.ledger
            yield {"customers": list(ledger.customers()), "invoices": list(ledger.invoices()),
                   "credit_memos": list(ledger.credit_memos()),
                   "payments": list(ledger.payments())}
        finally:
            backend.close()


def by_id(records: list[object]) -> dict[str, object]:
    return {getattr(r, "id", None) or r.credit.id: r for r in records}  # type: ignore[attr-defined]


def test_it_is_a_ledger_connector_with_one_request_in_flight(company: SampleCompany) -> None:
    qbd = connector(company)
    assert isinstance(qbd, LedgerConnector)
    assert (qbd.kind, qbd.max_concurrency, qbd.book) == ("qbd", 1, "qbd:sample")


def test_a_full_read_equals_the_qbo_read_of_the_same_book(
        company: SampleCompany, qbo_read: dict[str, list[object]]) -> None:
    qbd = connector(company)
    assert by_id(list(qbd.customers())) == by_id(qbo_read["customers"])
    assert by_id(list(qbd.invoices())) == by_id(qbo_read["invoices"])
    assert by_id(list(qbd.credit_memos())) == by_id(qbo_read["credit_memos"])
    desktop = by_id(list(qbd.payments()))
    online = by_id(qbo_read["payments"])
    assert desktop.keys() == online.keys()
    for payment_id, payment in desktop.items():
        theirs = online[payment_id]
        assert payment.credit == theirs.credit  # type: ignore[attr-defined]
        # Desktop names the credit memo applied (its RefNumber in the LinkedTxn);
        # a QBO Payment line does not, so QBO's credit applications carry no reference.
        ours = [(t.invoice_id, t.kind, t.amount, t.credit_id, t.date,
                 t.reference if t.kind is TxnKind.PAYMENT else "", t.method)
                for t in payment.applications]  # type: ignore[attr-defined]
        assert ours == [(t.invoice_id, t.kind, t.amount, t.credit_id, t.date, t.reference,
                         t.method) for t in theirs.applications]  # type: ignore[attr-defined]
    credit = [t for p in desktop.values() for t in p.applications  # type: ignore[attr-defined]
              if t.kind is TxnKind.CREDIT]
    assert {(t.credit_id, t.reference) for t in credit} >= {("10537", "CM-1003")}
    cad = by_id(list(qbd.invoices()))["9989"]
    assert cad.currency == "CAD"  # type: ignore[attr-defined]
    assert all(isinstance(i.total, Decimal) for i in qbd.invoices())


def test_small_pages_read_the_same_records_one_exchange_each(company: SampleCompany) -> None:
    whole = connector(company)
    paged = connector(company, page_size=7)
    customers = list(paged.customers())
    assert customers == list(whole.customers())
    assert paged.requests_sent == -(-len(customers) // 7)
    assert list(paged.payments()) == list(whole.payments())


def test_a_record_deleted_during_the_read_fails_it(company: SampleCompany) -> None:
    qbd = connector(company, page_size=100)
    read = qbd.invoices()
    next(read)
    later = sorted(company.book.qbo["Invoice"], key=int)[500]  # on a page not yet read
    company.delete("Invoice", later, at=NOW)
    with pytest.raises(BadData, match="incomplete") as caught:
        list(read)
    assert "\n" not in str(caught.value)


def test_a_page_that_loses_a_record_on_the_way_fails_the_read(company: SampleCompany) -> None:
    def drop_one(request: str, answer: str) -> str:
        if 'iterator="Continue"' not in request:
            return answer
        start = answer.find("<CustomerRet>")
        return answer[:start] + answer[answer.index("</CustomerRet>", start) + 14:]
    with pytest.raises(BadData, match="page 2 held 9 records where 10 were due"):
        list(connector(company, page_size=10, tamper=drop_one).customers())


def test_an_answer_without_an_iterator_count_cannot_prove_itself(company: SampleCompany) -> None:
    def strip_count(_request: str, answer: str) -> str:
        return answer.replace("iteratorRemainingCount=", "data-x=")
    with pytest.raises(BadData, match="cannot prove itself complete"):
        list(connector(company, tamper=strip_count).customers())


@pytest.mark.parametrize(("code", "kind", "fix"), [
    (3100, QbdNameInUse, "rename one of them"),
    (3200, QbdStale, "sync again, then retry"),
    (500, NotFound, "run a full sync"),
    (1000, ServerError, "Verify Data"),
])
def test_each_status_code_is_one_line_with_its_fix(company: SampleCompany, code: int,
                                                   kind: type[ConnectorError], fix: str) -> None:
    company.faults.status(code, request="InvoiceQueryRq", value="1416315972")
    with pytest.raises(kind) as caught:
        list(connector(company).invoices())
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("QuickBooks Desktop: read invoices: InvoiceQueryRq answered "
                           f"{code} ")
    assert fix in text
    assert caught.value.code == str(code)


@pytest.mark.parametrize(("hresult", "kind", "fix"), [
    ("0x80040410", ConnectorError, "File > Switch to Multi-user Mode"),
    ("0x80040422", ConnectorError, "multi-user mode"),
    ("0x80040414", ConnectorError, "open invoice or payment screen"),
    ("0x8004041B", ConnectorError, "close them"),
    ("0x8004041C", ServerError, "Verify Data, then Rebuild Data"),
    ("0x8004041A", AccessDenied, "Integrated Applications"),
])
def test_the_desktop_traps_are_one_line_with_their_fix(company: SampleCompany, hresult: str,
                                                       kind: type[ConnectorError],
                                                       fix: str) -> None:
    company.faults.hresult(hresult, at_open=True)
    with pytest.raises(kind) as caught:
        list(connector(company).customers())
    text = str(caught.value)
    assert "\n" not in text and hresult in text and fix in text
    assert text.startswith("QuickBooks Desktop: read customers: QuickBooks reported ")


def test_deletions_come_from_the_deletion_log_inside_90_days(company: SampleCompany) -> None:
    company.delete("Invoice", "9001", at=NOW - timedelta(days=2))
    company.delete("ReceivePayment", "9024", at=NOW - timedelta(days=1))
    qbd = connector(company)
    held = {"Invoice": {"9001", "9002"}, "Payment": {"9024", "9025"}, "CreditMemo": {"10537"}}
    found = qbd.deleted_ids(held, NOW - timedelta(days=10))
    assert found == {"Invoice": {"9001"}, "Payment": {"9024"}, "CreditMemo": set()}
    assert qbd.requests_sent == 1


def test_older_than_the_log_the_id_lists_are_compared_in_full(company: SampleCompany) -> None:
    company.delete("Invoice", "9001", at=NOW - timedelta(days=200))
    qbd = connector(company, page_size=300)
    held = {"Invoice": {"9001", "9002", "never-was"}}
    assert qbd.deleted_ids(held, NOW - timedelta(days=120)) == {"Invoice": {"9001", "never-was"}}
    assert qbd.deleted_ids(held, None) == {"Invoice": {"9001", "never-was"}}


def test_a_failed_or_short_read_never_counts_as_a_deletion(company: SampleCompany) -> None:
    company.faults.status(1000, request="TxnDeletedQueryRq")
    with pytest.raises(ServerError):
        connector(company).deleted_ids({"Invoice": {"9001"}}, NOW - timedelta(days=1))

    def drop_last_page(request: str, answer: str) -> str:
        if 'iterator="Continue"' in request and 'iteratorRemainingCount="0"' in answer:
            return answer.replace('iteratorRemainingCount="0"', 'iteratorRemainingCount="1"')
        return answer
    with pytest.raises(BadData):
        connector(company, page_size=400, tamper=drop_last_page).deleted_ids(
            {"Invoice": {"9001"}}, None)


def test_one_record_by_id_or_number(company: SampleCompany) -> None:
    qbd = connector(company)
    invoice = qbd.invoice_by_id("9001")
    assert invoice is not None and invoice.doc_number == "10001"
    assert qbd.invoice_by_id("no-such") is None
    assert qbd.invoice_by_doc_number("10001") == invoice
    assert qbd.invoice_by_doc_number("no-such") is None
    memo = qbd.credit_memo_by_id("10537")
    assert memo is not None and memo.balance == Decimal("150.00")
    assert qbd.credit_memo_by_doc_number("CM-1003") == memo
    company.faults.status(1000, request="InvoiceQueryRq")
    with pytest.raises(ServerError):
        qbd.invoice_by_id("9001")


def test_a_dated_read_rereads_what_payments_changed(company: SampleCompany) -> None:
    """Invoice 10581 was paid by payment 10725 on 2026-09-28; its own TimeModified
    is that day too, but a dated read after it must still see it when a later
    payment changes it."""
    book = company.book
    payment = book.qbo["Payment"]["10725"]
    payment["MetaData"]["LastUpdatedTime"] = "2026-11-30T10:00:00-08:00"
    book.changed()
    read = {i.id for i in connector(company).invoices(datetime(2026, 11, 29, tzinfo=UTC))}
    assert "10581" in read


def test_customer_reads_for_a_resync(company: SampleCompany) -> None:
    qbd = connector(company)
    payments = list(qbd.customer_payments("71"))
    assert payments and all(p.credit.customer_id == "71" for p in payments)
    memos = list(qbd.customer_memo_credits("71"))
    assert [m.id for m in memos] == ["10537"]
    credits = list(qbd.customer_credits("71"))
    assert {c.id for c in credits} == {m.id for m in memos} | {p.credit.id for p in payments}


def test_a_credit_memo_is_applied_once_through_receive_payment_add(
        company: SampleCompany) -> None:
    qbd = connector(company)
    before = {p.credit.id for p in qbd.payments()}
    invoice = qbd.apply_credit("71", "10942", "CreditMemo", "10537", Decimal("50"), "req-1")
    assert invoice.balance == Decimal("4061.00")
    memo = qbd.credit_memo_by_id("10537")
    assert memo is not None and memo.balance == Decimal("100.00")
    again = qbd.apply_credit("71", "10942", "CreditMemo", "10537", Decimal("50"), "req-1")
    assert again.balance == Decimal("4061.00")
    new = [p for p in qbd.payments() if p.credit.id not in before]
    assert len(new) == 1
    [txn] = new[0].applications
    assert (txn.invoice_id, txn.kind, txn.amount, txn.credit_id, txn.reference) == (
        "10942", TxnKind.CREDIT, Decimal("50.00"), "10537", "CM-1003")
    assert new[0].credit.total == Decimal("0.00")
    adds = [r for r in company.requests if "<ReceivePaymentAddRq" in r]
    assert len(adds) == 1
    assert "<SetCredit><CreditTxnID>10537</CreditTxnID><AppliedAmount>50.00</AppliedAmount>" \
        in adds[0]
    assert "[recon-tui req-1]" in adds[0]


def test_a_write_whose_answer_was_lost_is_not_applied_twice(company: SampleCompany) -> None:
    lost = {"once": True}

    def drop_the_answer(request: str, answer: str) -> str:
        if "<ReceivePaymentAddRq" in request and lost.pop("once", False):
            raise ConnectorError("QuickBooks Desktop", "the Web Connector session ended")
        return answer
    qbd = connector(company, tamper=drop_the_answer)
    with pytest.raises(ConnectorError, match="session ended"):
        qbd.record_payment("78", "9002", Decimal("100"), NOW.date(), "CHK-1", "Check", "req-2")
    invoice = qbd.record_payment("78", "9002", Decimal("100"), NOW.date(), "CHK-1", "Check",
                                 "req-2")
    assert invoice.balance == Decimal("320.00")
    assert sum("<ReceivePaymentAddRq" in r for r in company.requests) == 1


def test_a_write_that_does_not_fit_is_one_line_before_anything_is_sent(
        company: SampleCompany) -> None:
    qbd = connector(company)
    with pytest.raises(ConnectorError) as caught:
        qbd.apply_credit("71", "10942", "CreditMemo", "10537", Decimal("151"), "req-3")
    assert str(caught.value) == (
        "QuickBooks Desktop: apply credit 10537 to invoice 10942: 151.00 is more than the "
        "credit memo has left (150.00); sync, then choose the amount again")
    with pytest.raises(ConnectorError, match="not applied from recon-tui on QuickBooks Desktop"):
        qbd.apply_credit("71", "10942", CreditKind.UNAPPLIED_PAYMENT, "10649", Decimal("1"), "r")
    assert not any("<ReceivePaymentAddRq" in r for r in company.requests)


HOSTILE = ["[bold]ACME[/] <b>&amp; Sons</b>", "Tab\there & <there>", "Esc \x1b[31m red\x07",
           "Line\r\nbreak", "Café Zürich 東京 \U0001f600", "quote \" and ' and ]]>"]


def test_hostile_names_survive_the_xml_round_trip_literally(company: SampleCompany) -> None:
    customers = company.book.qbo["Customer"]
    for index, name in enumerate(HOSTILE):
        customers[f"h{index}"] = {**customers["58"], "Id": f"h{index}", "DisplayName": name,
                                  "FullyQualifiedName": name, "CompanyName": name}
    read = {c.id: c for c in connector(company).customers()}
    for index, name in enumerate(HOSTILE):
        assert (read[f"h{index}"].display_name, read[f"h{index}"].company_name) == (name, name)


def test_a_control_character_sent_as_a_reference_is_read_literally(
        company: SampleCompany) -> None:
    customers = company.book.qbo["Customer"]
    customers["h9"] = {**customers["58"], "Id": "h9", "DisplayName": "Bell\x07 \x1b[1m",
                       "FullyQualifiedName": "Bell\x07 \x1b[1m"}

    def as_references(_request: str, answer: str) -> str:
        return answer.replace("\x07", "&#7;").replace("\x1b", "&#x1B;")
    read = {c.id: c for c in connector(company, tamper=as_references).customers()}
    assert read["h9"].display_name == "Bell\x07 \x1b[1m"


def test_a_hostile_request_value_is_sent_escaped(company: SampleCompany) -> None:
    assert connector(company).invoice_by_doc_number('<RefNumber>1</RefNumber>&"') is None
    assert "&lt;RefNumber&gt;1&lt;/RefNumber&gt;&amp;" in company.requests[-1]
