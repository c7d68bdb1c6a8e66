"""The sample QuickBooks Desktop company: qbXML in, Desktop's shapes out.

Read with the standard parser (through defusedxml), independently of the
connector, so a shape both got wrong the same way would still show here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree as SafeET

from recon_tui.connectors.sample import sample_data_dir
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbd_company import SampleCompany
from recon_tui.sandbox.qbd_status import HResultError


def request(body: str, on_error: str = "stopOnError") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
            f'<QBXML><QBXMLMsgsRq onError="{on_error}">{body}</QBXMLMsgsRq></QBXML>')


def responses(text: str) -> list[Element]:
    root = SafeET.fromstring(text)
    assert root.tag == "QBXML"
    msgs = root.find("QBXMLMsgsRs")
    assert msgs is not None
    return list(msgs)


@pytest.fixture
def company() -> SampleCompany:
    return SampleCompany(SandboxBook.from_dir(sample_data_dir()),
                         now=lambda: datetime(2026, 12, 1, tzinfo=UTC))


def test_customer_query_answers_customer_rets_with_status_ok(company: SampleCompany) -> None:
    out = responses(company.answer(request(
        '<CustomerQueryRq requestID="7"><ActiveStatus>All</ActiveStatus></CustomerQueryRq>')))
    assert len(out) == 1
    rs = out[0]
    assert rs.tag == "CustomerQueryRs"
    assert (rs.get("requestID"), rs.get("statusCode"), rs.get("statusSeverity"),
            rs.get("statusMessage")) == ("7", "0", "Info", "Status OK")
    rets = rs.findall("CustomerRet")
    assert len(rets) == len(company.book.qbo["Customer"])
    first = rets[0]
    assert [child.tag for child in first][:8] == [
        "ListID", "TimeCreated", "TimeModified", "EditSequence", "Name", "FullName",
        "IsActive", "Sublevel"]
    assert first.findtext("Balance") == "2440.00"


def test_inactive_customers_are_left_out_unless_asked_for(company: SampleCompany) -> None:
    """ActiveStatus defaults to ActiveOnly (OSR): Initech LLC is inactive."""
    default = responses(company.answer(request("<CustomerQueryRq />")))[0]
    names = {ret.findtext("Name") for ret in default.findall("CustomerRet")}
    assert "Initech LLC" not in names
    everyone = responses(company.answer(request(
        "<CustomerQueryRq><ActiveStatus>All</ActiveStatus></CustomerQueryRq>")))[0]
    assert "Initech LLC" in {ret.findtext("Name") for ret in everyone.findall("CustomerRet")}


def test_an_iterator_pages_through_every_record_once(company: SampleCompany) -> None:
    first = responses(company.answer(request(
        '<InvoiceQueryRq iterator="Start"><MaxReturned>400</MaxReturned></InvoiceQueryRq>')))[0]
    key = first.get("iteratorID")
    assert key and key.startswith("{") and key.endswith("}")
    seen = [ret.findtext("TxnID") for ret in first.findall("InvoiceRet")]
    remaining = int(first.get("iteratorRemainingCount", "-1"))
    assert len(seen) == 400
    assert remaining == len(company.book.qbo["Invoice"]) - 400
    while remaining:
        page = responses(company.answer(request(
            f'<InvoiceQueryRq iterator="Continue" iteratorID="{key}">'
            "<MaxReturned>400</MaxReturned></InvoiceQueryRq>")))[0]
        seen += [ret.findtext("TxnID") for ret in page.findall("InvoiceRet")]
        remaining = int(page.get("iteratorRemainingCount", "-1"))
    assert sorted(seen) == sorted(company.book.qbo["Invoice"])
    assert len(set(seen)) == len(seen)
    again = responses(company.answer(request(
        f'<InvoiceQueryRq iterator="Continue" iteratorID="{key}" />')))[0]
    assert again.get("statusSeverity") == "Error"


def test_an_unknown_id_answers_500_and_an_empty_filter_answers_1(company: SampleCompany) -> None:
    out = responses(company.answer(request(
        "<InvoiceQueryRq><TxnID>no-such</TxnID></InvoiceQueryRq>"
        "<InvoiceQueryRq><RefNumber>no-such</RefNumber></InvoiceQueryRq>", "continueOnError")))
    assert [rs.get("statusCode") for rs in out] == ["500", "1"]
    assert '"no-such"' in (out[0].get("statusMessage") or "")


def test_stop_on_error_leaves_the_rest_unanswered(company: SampleCompany) -> None:
    company.faults.status(3200, request="InvoiceQueryRq", value="1416315972")
    out = responses(company.answer(request(
        "<InvoiceQueryRq><TxnID>9001</TxnID></InvoiceQueryRq>"
        "<CustomerQueryRq><ListID>58</ListID></CustomerQueryRq>")))
    assert len(out) == 1
    assert out[0].get("statusCode") == "3200"
    assert out[0].get("statusMessage") == 'The provided edit sequence "1416315972" is out-of-date.'


def test_a_file_open_in_single_user_mode_fails_with_its_hresult(company: SampleCompany) -> None:
    company.faults.hresult("0x80040410", at_open=True)
    with pytest.raises(HResultError) as caught:
        company.answer(request("<CustomerQueryRq />"))
    assert caught.value.hresult == "0x80040410"
    assert caught.value.at_open
    assert "open in a mode other than" in caught.value.message
    responses(company.answer(request("<CustomerQueryRq />")))  # used up: answers again


def test_a_document_that_is_not_qbxml_is_a_parse_hresult(company: SampleCompany) -> None:
    for text in ("<QBXML><QBXMLMsgsRq onError='stopOnError'><CustomerQueryRq>",
                 request("<CustomerQueryRq><MaxReturned>ten</MaxReturned></CustomerQueryRq>"),
                 '<QBXML><QBXMLMsgsRq><CustomerQueryRq /></QBXMLMsgsRq></QBXML>'):
        with pytest.raises(HResultError) as caught:
            company.answer(text)
        assert caught.value.hresult == "0x80040400"


def test_a_deleted_payment_is_gone_listed_and_reopens_its_invoice(company: SampleCompany) -> None:
    before = company.book.qbo["Invoice"]["9009"]["Balance"]
    company.delete("ReceivePayment", "9024", at=datetime(2026, 11, 30, tzinfo=UTC))
    after = company.book.qbo["Invoice"]["9009"]["Balance"]
    assert after == Decimal(str(before)) + Decimal("1289.85")
    out = responses(company.answer(request(
        "<ReceivePaymentQueryRq><TxnID>9024</TxnID></ReceivePaymentQueryRq>"
        "<TxnDeletedQueryRq><TxnDelType>ReceivePayment</TxnDelType>"
        "<TxnDelType>CreditMemo</TxnDelType></TxnDeletedQueryRq>", "continueOnError")))
    assert out[0].get("statusCode") == "500"
    deleted = [(ret.findtext("TxnDelType"), ret.findtext("TxnID")) for ret in out[1]]
    assert ("ReceivePayment", "9024") in deleted
    assert ("CreditMemo", "12003") in deleted  # the book's own deletion log


def test_iterators_end_with_the_quickbooks_session(company: SampleCompany) -> None:
    first = responses(company.answer(request(
        '<CustomerQueryRq iterator="Start"><MaxReturned>5</MaxReturned></CustomerQueryRq>')))[0]
    company.end_session()
    page = responses(company.answer(request(
        f'<CustomerQueryRq iterator="Continue" iteratorID="{first.get("iteratorID")}">'
        "<MaxReturned>5</MaxReturned></CustomerQueryRq>")))[0]
    assert (page.get("statusCode"), page.get("statusSeverity")) == ("1000", "Error")
