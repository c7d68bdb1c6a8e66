"""The invoice pages' typed path reads exactly what the checked reader reads.

QBO and ConnectWise invoice pages are decoded into typed structs
(``qbo_wire``, ``connectwise_invoice_wire``) and read directly; a page the
structs refuse, or a record they cannot read as it is, goes to the checked
``EntityReader``. For every variation of a real payload below, sent in a page
as the API would send it, both ways must give the same record, or the same
RecordError text.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import pytest

from recon_tui.cache.records import (
    COMPANY,
    CONTACT,
    CREDIT,
    CUSTOMER,
    LEDGER_INVOICE,
    PSA_INVOICE,
    company_row,
    contact_row,
    credit_row,
    customer_row,
    ledger_invoice_row,
    psa_invoice_row,
)
from recon_tui.connectors.connectwise_invoice_wire import decode_invoice_page as decode_cw_page
from recon_tui.connectors.connectwise_invoice_wire import read_invoice as read_cw_invoice
from recon_tui.connectors.connectwise_records import invoice_from_cw
from recon_tui.connectors.http import loads_exact
from recon_tui.connectors.qbo_records import invoice_from_qbo
from recon_tui.connectors.qbo_wire import decode_invoice_page, invoice_from_wire, read_invoice
from recon_tui.connectors.records import RecordError
from recon_tui.models import Contact, LedgerCustomer, OrganizationalCredit, PsaCompany
from recon_tui.money import MoneyError, to_api_money, to_money

PAYLOADS = Path(__file__).parent / "reference_payloads"

#: Values each field is tried with: absent, null, wrong types, edge amounts and times.
VALUES: list[Any] = [
    "<absent>", None, "", "   ", 0, 17, True, False, [], {}, "x", "12.34", Decimal("12.345"),
    Decimal("-0.005"), Decimal("99999999999.995"), Decimal("1E+30"), Decimal("NaN"),
    Decimal("Infinity"), "2026-03-02", "2026-03-02T00:00:00Z", " 2026-03-02T10:15:00-08:00 ",
    "2026-03-02T10:15:00.1234567", "2026-13-45T00:00:00Z", "CreditMemo", "Voided: dup",
]


def _outcome(parse: Any, data: Any) -> object:
    try:
        return parse(data)
    except RecordError as exc:
        return ("error", str(exc))


def _variants(base: dict[str, Any], paths: list[str]) -> list[dict[str, Any]]:
    out = [copy.deepcopy(base)]
    for path in paths:
        *parents, leaf = path.split(".")
        for value in VALUES:
            variant = copy.deepcopy(base)
            node = variant
            for part in parents:
                node = node.setdefault(part, {})
            if value == "<absent>":
                node.pop(leaf, None)
            else:
                node[leaf] = copy.deepcopy(value)
            out.append(variant)
        for shape in (None, "text", [], 7):  # the parent itself missing or not an object
            if parents:
                variant = copy.deepcopy(base)
                variant[parents[0]] = shape
                out.append(variant)
    return out


CW_PATHS = ["id", "invoiceNumber", "type", "total", "balance", "company.id", "date", "dueDate",
            "status.name", "currency.currencyCode", "_info.lastUpdated", "customFields"]
QBO_PATHS = ["Id", "DocNumber", "TotalAmt", "Balance", "PrivateNote", "CustomerRef.value",
             "TxnDate", "DueDate", "CurrencyRef.value", "MetaData.LastUpdatedTime"]


def _cw_invoice() -> dict[str, Any]:
    return loads_exact((PAYLOADS / "connectwise" / "invoice.json").read_bytes())


def _qbo_invoice() -> dict[str, Any]:
    body = loads_exact((PAYLOADS / "qbo" / "query_invoice.json").read_bytes())
    return body["QueryResponse"]["Invoice"][0]


def _cw_wire_outcome(invoice: dict[str, Any], link_field: str | None) -> object:
    """The invoice sent in a ConnectWise page and read as the connector reads it."""
    content = _AS_SENT.encode([invoice])
    rows = decode_cw_page(content)
    if rows is None:
        rows = loads_exact(content)
    return _outcome(lambda row: read_cw_invoice(row, False, link_field), rows[0])


@pytest.mark.parametrize("link_field", [None, "QBO Invoice Id"])
def test_connectwise_invoice_wire_path_matches_the_checked_reader(
        link_field: str | None) -> None:
    base = _cw_invoice()
    base["customFields"] = [{"id": 4, "caption": "QBO Invoice Id", "value": " 1203 "}]
    typed = 0
    for variant in filter(_finite, _variants(base, CW_PATHS)):
        def parse(d: Any) -> object:
            return invoice_from_cw(d, exported=False, link_field=link_field)
        assert _cw_wire_outcome(variant, link_field) == _outcome(parse, variant), variant
        typed += decode_cw_page(_AS_SENT.encode([variant])) is not None
    assert typed > 50  # many variants take the typed way, the rest the generic one


def _qbo_wire_outcome(invoice: dict[str, Any]) -> object:
    """The invoice sent in a query page and read as the connector reads it:
    decoded into the typed structs when they take the page, else generically."""
    content = _AS_SENT.encode({"QueryResponse": {"Invoice": [invoice]}})
    rows = decode_invoice_page(content)
    if rows is None:
        rows = loads_exact(content)["QueryResponse"]["Invoice"]
    return _outcome(read_invoice, rows[0])


#: Amounts as JSON numbers, as QBO sends them (msgspec's default is a string).
_AS_SENT = msgspec.json.Encoder(decimal_format="number")


def _finite(value: Any) -> bool:
    """JSON has no NaN or Infinity: a page cannot carry them (the generic variants do)."""
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return not isinstance(value, list) or all(_finite(v) for v in value)


CW_COMPANY_PATHS = ["id", "identifier", "name", "status.name", "deletedFlag",
                    "_info.lastUpdated"]
CW_CONTACT_PATHS = ["id", "company.id", "firstName", "lastName", "portalSecurityLevel",
                    "inactiveFlag", "disablePortalLoginFlag", "communicationItems",
                    "_info.lastUpdated"]
_EMAILS: list[Any] = [
    [], [{"communicationType": "Email", "value": " a@x.test "}],
    [{"communicationType": "Phone", "value": "555"},
     {"communicationType": "Email", "value": "b@x.test"},
     {"communicationType": "Email", "value": "c@x.test", "defaultFlag": True}],
    [{"communicationType": "Email", "value": "   "}, "junk", None,
     {"communicationType": "Email", "value": 7}],
]


@pytest.mark.parametrize(("payload", "paths", "parse"), [
    ("company.json", CW_COMPANY_PATHS, "company_from_cw"),
    ("contact.json", CW_CONTACT_PATHS, "contact_from_cw"),
    ("contact_portal_disabled.json", CW_CONTACT_PATHS, "contact_from_cw"),
])
def test_connectwise_master_data_fast_path_matches_the_checked_reader(
        payload: str, paths: list[str], parse: str) -> None:
    """A decoded dict takes the fast path; the same record as another Mapping
    takes the checked reader: both give the same record or the same error."""
    from recon_tui.connectors import connectwise_records

    read = getattr(connectwise_records, parse)
    base = loads_exact((PAYLOADS / "connectwise" / payload).read_bytes())
    variants = _variants(base, paths)
    for emails in _EMAILS:
        variant = copy.deepcopy(base)
        variant["communicationItems"] = emails
        variants.append(variant)
    for level in (1, 6, 0, 7, -1):
        variant = copy.deepcopy(base)
        variant["portalSecurityLevel"] = level
        variants.append(variant)
    for variant in variants:
        assert _outcome(read, variant) == _outcome(read, MappingProxyType(variant)), variant
    fast = getattr(connectwise_records, "_fast_" + parse.split("_")[0])
    assert fast(base) == read(MappingProxyType(base))  # the reference takes the fast way


QBO_CUSTOMER_PATHS = ["Id", "DisplayName", "CompanyName", "Active", "Balance",
                      "MetaData.LastUpdatedTime"]
QBO_PAYMENT_PATHS = ["Id", "CustomerRef.value", "TxnDate", "UnappliedAmt", "TotalAmt",
                     "PaymentRefNum", "MetaData.LastUpdatedTime"]


@pytest.mark.parametrize(("payload", "entity", "paths", "parse"), [
    ("customer_read.json", "Customer", QBO_CUSTOMER_PATHS, "customer_from_qbo"),
    ("payment_read.json", "Payment", QBO_PAYMENT_PATHS, "credit_from_payment"),
    ("payment_read.json", "Payment", QBO_PAYMENT_PATHS, "payment_from_qbo"),
])
def test_qbo_customer_and_payment_fast_path_matches_the_checked_reader(
        payload: str, entity: str, paths: list[str], parse: str) -> None:
    """As for ConnectWise's master data: a dict read directly, the same record as
    another Mapping read by the checked reader, the same outcome."""
    from recon_tui.connectors import qbo_records

    read = getattr(qbo_records, parse)
    base = loads_exact((PAYLOADS / "qbo" / payload).read_bytes())[entity]
    for variant in _variants(base, paths):
        assert _outcome(read, variant) == _outcome(read, MappingProxyType(variant)), variant
    assert read(base) == read(MappingProxyType(base))


def test_qbo_invoice_wire_path_matches_the_checked_reader() -> None:
    typed = 0
    for variant in filter(_finite, _variants(_qbo_invoice(), QBO_PATHS)):
        assert (_qbo_wire_outcome(variant)
                == _outcome(invoice_from_qbo, MappingProxyType(variant))), variant
        rows = decode_invoice_page(_AS_SENT.encode({"QueryResponse": {"Invoice": [variant]}}))
        typed += rows is not None
    assert typed > 50  # many variants take the typed way, the rest the generic one


def test_the_typed_path_is_taken_and_gives_the_reference_invoices(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from recon_tui.connectors import connectwise_records

    def no_reader(*args: object) -> None:
        raise AssertionError("the checked reader was used for a plain invoice")

    monkeypatch.setattr(connectwise_records, "_reader", no_reader)
    rows = decode_cw_page(_AS_SENT.encode([_cw_invoice()]))
    assert rows is not None
    cw = read_cw_invoice(rows[0], True, None)
    assert (cw.id, cw.number, cw.total, cw.owing) == ("8812", "24-0311", Decimal("1362.50"),
                                                      Decimal("862.50"))
    page = (PAYLOADS / "qbo" / "query_invoice.json").read_bytes()
    rows = decode_invoice_page(page)
    assert rows is not None  # Intuit's own example page takes the typed way
    qbo = invoice_from_wire(rows[0])
    assert qbo == invoice_from_qbo(_qbo_invoice())
    assert (qbo.id, qbo.doc_number, qbo.total) == ("1203", "1102", Decimal("480.00"))


@pytest.mark.parametrize("value", [v for v in VALUES if v != "<absent>"] + [
    Decimal("99999999999.99"), -17, Decimal("-99999999999.994"), Decimal("0.005")])
def test_api_money_fast_path_matches_the_checked_way(value: Any) -> None:
    def checked(v: Any) -> object:
        try:
            amount = to_money(v)
        except MoneyError as exc:
            return ("error", str(exc))
        if abs(amount) >= Decimal("100000000000"):
            return ("error", "range")
        return amount

    def fast(v: Any) -> object:
        try:
            return to_api_money(v)
        except MoneyError as exc:
            return ("error", "range" if "at most" in str(exc) else str(exc))

    got, want = fast(value), checked(value)
    assert got == want and str(got) == str(want)


def test_rows_follow_the_table_columns() -> None:
    """Rows are tuples in each spec's column order (what the upsert writes)."""
    from datetime import UTC, date, datetime

    from recon_tui.models import CreditKind, DocKind, LedgerInvoice, PsaInvoice

    moment = datetime(2026, 3, 2, 10, 15, 0, 123456, tzinfo=UTC)
    cases = [
        (COMPANY, company_row(PsaCompany("1", "ACME", "Acme", "Active", True, moment, False)),
         {"id": "1", "identifier": "ACME", "deleted": 1, "portal_active": 0,
          "updated_at": "2026-03-02T10:15:00.123+00:00"}),
        (CONTACT, contact_row(Contact("5", "1", "Ann", "Lee", 3, "a@b.c", True, None, True)),
         {"company_id": "1", "email": "a@b.c", "portal_security_level": 3, "inactive": 1,
          "portal_login_disabled": 1, "updated_at": None}),
        (PSA_INVOICE, psa_invoice_row(PsaInvoice(
            "9", "N1", "1", date(2026, 3, 2), Decimal("10.50"), Decimal("0.25"),
            due_date=date(2026, 4, 1), status="Sent", ledger_invoice_id="77", exported=True,
            kind=DocKind.CREDIT_MEMO, updated_at=moment.replace(tzinfo=None))),
         {"number": "N1", "date": "2026-03-02", "due_date": "2026-04-01", "total_cents": 1050,
          "owing_cents": 25, "ledger_invoice_id": "77", "exported": 1, "kind": "credit memo",
          "updated_at": "2026-03-02T10:15:00.123+00:00"}),
        (CUSTOMER, customer_row(LedgerCustomer("3", "Acme", "Acme Inc", False,
                                               Decimal("-4.10"))),
         {"display_name": "Acme", "active": 0, "balance_cents": -410}),
        (LEDGER_INVOICE, ledger_invoice_row(LedgerInvoice(
            "8", "N1", "3", date(2026, 3, 2), Decimal("10.50"), Decimal("1.00"), voided=True)),
         {"doc_number": "N1", "customer_id": "3", "balance_cents": 100, "voided": 1,
          "due_date": None, "kind": "invoice"}),
        (CREDIT, credit_row(OrganizationalCredit(
            "4", CreditKind.UNAPPLIED_PAYMENT, "3", date(2026, 3, 2), Decimal("5.00"),
            total=Decimal("9.00"), doc_number="P4")),
         {"id": "Payment:4", "source_id": "4", "kind": "Payment", "amount_cents": 500,
          "total_cents": 900, "doc_number": "P4"}),
    ]
    for spec, row, expected in cases:
        assert len(row) == len(spec.columns)
        named = dict(zip(spec.columns, row, strict=True))
        assert {k: named[k] for k in expected} == expected
