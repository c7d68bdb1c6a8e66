"""The QBO and ConnectWise parsers: shapes in, domain records out, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from recon_tui.connectors.connectwise_records import (
    company_from_cw,
    contact_from_cw,
    invoice_from_cw,
)
from recon_tui.connectors.qbo_records import (
    credit_from_credit_memo,
    credit_from_payment,
    customer_from_qbo,
    invoice_from_qbo,
)
from recon_tui.connectors.records import RecordError, parse_utc_datetime
from recon_tui.models import CreditKind, DocKind


def load(text: str) -> dict:
    """Entities arrive as JSON parsed with parse_float=Decimal, as every reader does."""
    return json.loads(text, parse_float=Decimal)


QBO_INVOICE = """{
 "domain": "QBO", "sparse": false, "Id": "9001", "SyncToken": "1",
 "MetaData": {"CreateTime": "2026-03-02T10:15:00-08:00",
              "LastUpdatedTime": "2026-03-20T09:05:00-07:00"},
 "DocNumber": "10001", "TxnDate": "2026-03-02", "DueDate": "2026-04-01",
 "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
 "LinkedTxn": [{"TxnId": "9100", "TxnType": "Payment"}],
 "Line": [{"Id": "1", "Amount": 7030.8, "DetailType": "SalesItemLineDetail",
           "SalesItemLineDetail": {"ItemRef": {"value": "7"}, "UnitPrice": 7030.8, "Qty": 1}},
          {"Amount": 7030.8, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
 "CustomerRef": {"value": "58", "name": "Refund [/] pending [bold]x"},
 "TotalAmt": 7030.8, "Balance": 3717.0
}"""

CW_INVOICE = """{
 "id": 4501, "invoiceNumber": "220399-1", "type": "Standard",
 "status": {"id": 3, "name": "Partially Paid"},
 "company": {"id": 287, "identifier": "Refund", "name": "Refund [/] pending [bold]x"},
 "date": "2026-03-02T00:00:00Z", "dueDate": "2026-04-01T00:00:00Z",
 "subtotal": 50.0, "salesTax": 0.0, "total": 50.0, "payments": 10.0, "credits": 0.0,
 "balance": 40.0,
 "currency": {"id": 2, "currencyCode": "CAD"},
 "customFields": [{"id": 7, "caption": "Ledger Invoice Id", "type": "Text",
                   "entryMethod": "EntryField", "numberOfDecimals": 0, "value": "9001"}],
 "_info": {"lastUpdated": "2026-03-05T18:15:00Z", "dateEntered": "2026-03-02T17:00:00Z"}
}"""


# --------------------------------------------------------------------------- QBO
def test_qbo_invoice_fields_and_exact_amounts() -> None:
    inv = invoice_from_qbo(load(QBO_INVOICE))
    assert inv.id == "9001"
    assert inv.doc_number == "10001"
    assert inv.customer_id == "58"
    assert inv.date == date(2026, 3, 2)
    assert inv.due_date == date(2026, 4, 1)
    assert inv.total == Decimal("7030.80") and isinstance(inv.total, Decimal)
    assert inv.balance == Decimal("3717.00")
    assert inv.total - inv.balance == Decimal("3313.80")
    assert str(inv.total) == "7030.80"
    assert inv.currency == "USD"
    assert not inv.voided
    assert inv.updated_at == datetime(2026, 3, 20, 16, 5, tzinfo=UTC)


def test_qbo_invoice_voided_needs_note_and_zero_total() -> None:
    data = load(QBO_INVOICE)
    data.update(TotalAmt=Decimal("0"), Balance=0, PrivateNote="Voided")
    assert invoice_from_qbo(data).voided
    data["PrivateNote"] = "Voided - duplicate of 10002"
    assert invoice_from_qbo(data).voided
    data["TotalAmt"] = Decimal("50.00")
    assert not invoice_from_qbo(data).voided, "a note alone does not void an invoice"
    data.update(TotalAmt=0, PrivateNote="Zero-rated courtesy invoice")
    assert not invoice_from_qbo(data).voided, "a zero total alone does not either"


def test_qbo_invoice_defaults_for_optional_fields() -> None:
    data = load(QBO_INVOICE)
    for key in ("DocNumber", "DueDate", "CurrencyRef", "MetaData", "PrivateNote"):
        data.pop(key, None)
    inv = invoice_from_qbo(data)
    assert inv.doc_number == ""
    assert inv.due_date is None
    assert inv.currency == "USD"
    assert inv.updated_at is None


def test_qbo_invoice_foreign_currency() -> None:
    data = load(QBO_INVOICE)
    data["CurrencyRef"] = {"value": "CAD", "name": "Canadian Dollar"}
    data["ExchangeRate"] = Decimal("0.7291")
    assert invoice_from_qbo(data).currency == "CAD"


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("TotalAmt", ("TotalAmt",)),
        ("Balance", ("Balance",)),
        ("TxnDate", ("TxnDate",)),
        ("CustomerRef.value", ("CustomerRef", "value")),
        ("Id", ("Id",)),
    ],
)
def test_qbo_invoice_missing_field_is_named(field: str, path: tuple[str, ...]) -> None:
    data = load(QBO_INVOICE)
    node = data
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    with pytest.raises(ValueError) as info:
        invoice_from_qbo(data)
    message = str(info.value)
    assert f"'{field}'" in message
    assert "QBO Invoice" in message
    assert "missing" in message
    if field != "Id":
        assert "9001" in message
    assert isinstance(info.value, RecordError)
    assert info.value.field == field


def test_qbo_float_amount_is_refused_naming_the_field() -> None:
    data = json.loads(QBO_INVOICE)  # floats: the mistake the money layer refuses
    with pytest.raises(ValueError, match=r"QBO Invoice 9001: bad amount .*'TotalAmt'"):
        invoice_from_qbo(data)


def test_qbo_bad_values_are_named() -> None:
    data = load(QBO_INVOICE)
    data["TxnDate"] = "02/03/2026"
    with pytest.raises(ValueError, match=r"9001.*'TxnDate'"):
        invoice_from_qbo(data)
    data = load(QBO_INVOICE)
    data["Balance"] = "lots"
    with pytest.raises(ValueError, match=r"9001.*'Balance'"):
        invoice_from_qbo(data)
    data = load(QBO_INVOICE)
    data["MetaData"]["LastUpdatedTime"] = "yesterday"
    with pytest.raises(ValueError, match=r"9001.*'MetaData.LastUpdatedTime'"):
        invoice_from_qbo(data)
    with pytest.raises(ValueError, match="expected an object"):
        invoice_from_qbo(["not", "an", "entity"])  # type: ignore[arg-type]


def test_qbo_customer() -> None:
    data = load(
        """{"Id": "97", "SyncToken": "3", "DisplayName": "Atomar's Best Tackle",
        "CompanyName": "Atomar's Best Tackle", "Active": false, "Balance": 365.0,
        "BalanceWithJobs": 365.0, "CurrencyRef": {"value": "USD"},
        "MetaData": {"CreateTime": "2019-01-01T10:00:00-08:00",
                     "LastUpdatedTime": "2026-10-28T09:00:00-07:00"}}"""
    )
    cust = customer_from_qbo(data)
    assert cust.id == "97"
    assert cust.display_name == "Atomar's Best Tackle"
    assert cust.company_name == "Atomar's Best Tackle"
    assert cust.active is False
    assert cust.balance == Decimal("365.00")
    assert cust.updated_at == datetime(2026, 10, 28, 16, 0, tzinfo=UTC)
    del data["DisplayName"]
    with pytest.raises(ValueError, match=r"QBO Customer 97: missing required field 'DisplayName'"):
        customer_from_qbo(data)
    data["DisplayName"] = "  "
    with pytest.raises(ValueError, match="'DisplayName'"):
        customer_from_qbo(data)
    data["DisplayName"] = "x"
    data["Active"] = "yes"
    with pytest.raises(ValueError, match="'Active'"):
        customer_from_qbo(data)


def test_qbo_customer_defaults() -> None:
    cust = customer_from_qbo({"Id": 5, "DisplayName": "Solo"})
    assert cust.id == "5"
    assert cust.active is True
    assert cust.balance == Decimal("0.00")
    assert cust.company_name == ""


def test_credit_memo_amount_is_remaining_credit() -> None:
    data = load(
        """{"Id": "11261", "DocNumber": "CM-1004", "TxnDate": "2026-10-28",
        "TotalAmt": 10.0, "RemainingCredit": 10.0, "Balance": 10.0,
        "CustomerRef": {"value": "97", "name": "Atomar's Best Tackle"},
        "MetaData": {"LastUpdatedTime": "2026-10-28T09:00:00-07:00"}}"""
    )
    credit = credit_from_credit_memo(data)
    assert credit.id == "11261"
    assert credit.kind is CreditKind.CREDIT_MEMO
    assert credit.source == "Credit memo"
    assert credit.customer_id == "97"
    assert credit.amount == Decimal("10.00")
    assert credit.total == Decimal("10.00")
    assert credit.doc_number == "CM-1004"
    assert credit.date == date(2026, 10, 28)
    data["RemainingCredit"] = 0
    assert credit_from_credit_memo(data).amount == Decimal("0.00")
    del data["RemainingCredit"]
    data["Balance"] = Decimal("4.50")
    assert credit_from_credit_memo(data).amount == Decimal("4.50")
    del data["Balance"]
    with pytest.raises(ValueError, match=r"CreditMemo 11261.*'Balance'"):
        credit_from_credit_memo(data)


def test_payment_amount_is_unapplied_missing_means_zero() -> None:
    data = load(
        """{"Id": "10914", "TxnDate": "2026-10-30", "TotalAmt": 3884.0, "UnappliedAmt": 250.0,
        "CustomerRef": {"value": "68"}, "PaymentRefNum": "65885",
        "Line": [{"Amount": 3634.0, "LinkedTxn": [{"TxnId": "10754", "TxnType": "Invoice"}]}]}"""
    )
    credit = credit_from_payment(data)
    assert credit.kind is CreditKind.UNAPPLIED_PAYMENT
    assert credit.source == "Unapplied payment"
    assert credit.amount == Decimal("250.00")
    assert credit.total == Decimal("3884.00")
    assert credit.doc_number == "65885"
    assert credit.updated_at is None
    del data["UnappliedAmt"]
    assert credit_from_payment(data).amount == Decimal("0.00")
    del data["CustomerRef"]
    with pytest.raises(ValueError, match=r"QBO Payment 10914.*'CustomerRef.value'"):
        credit_from_payment(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02T10:15:00-08:00", datetime(2026, 3, 2, 18, 15, tzinfo=UTC)),
        ("2026-07-02T10:15:00-07:00", datetime(2026, 7, 2, 17, 15, tzinfo=UTC)),
        ("2026-03-02T10:15:00Z", datetime(2026, 3, 2, 10, 15, tzinfo=UTC)),
        ("2026-03-02T10:15:00.123+00:00", datetime(2026, 3, 2, 10, 15, 0, 123000, tzinfo=UTC)),
        ("2026-03-02T10:15:00", datetime(2026, 3, 2, 10, 15, tzinfo=UTC)),
    ],
)
def test_parse_datetimes_give_aware_utc(text: str, expected: datetime) -> None:
    for parse in (parse_utc_datetime,):
        value = parse(text)
        assert value == expected
        assert value.utcoffset() is not None and value.utcoffset().total_seconds() == 0


def test_parse_datetime_rejects_garbage() -> None:
    for parse in (parse_utc_datetime,):
        with pytest.raises(ValueError):
            parse("not a time")
        with pytest.raises(ValueError):
            parse(12)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- ConnectWise
LINK = "Ledger Invoice Id"


def test_cw_invoice_fields() -> None:
    inv = invoice_from_cw(load(CW_INVOICE), link_field=LINK)
    assert inv.id == "4501"
    assert inv.number == "220399-1"
    assert inv.company_id == "287"
    assert inv.date == date(2026, 3, 2)
    assert inv.due_date == date(2026, 4, 1)
    assert inv.total == Decimal("50.00")
    assert inv.owing == Decimal("40.00")
    assert inv.status == "Partially Paid"
    assert inv.exported is True
    assert inv.ledger_invoice_id == "9001"
    assert inv.currency == "CAD"
    assert inv.updated_at == datetime(2026, 3, 5, 18, 15, tzinfo=UTC)
    assert inv.kind is DocKind.INVOICE


def test_cw_custom_field_link_is_read_only_when_configured() -> None:
    """Real ConnectWise has no field for the ledger's invoice id: the custom field is
    something an MSP may define, so it is off unless named."""
    assert invoice_from_cw(load(CW_INVOICE)).ledger_invoice_id is None
    assert invoice_from_cw(load(CW_INVOICE), link_field="Other").ledger_invoice_id is None


def test_cw_credit_memo_is_kept_as_positive_credit() -> None:
    data = load(CW_INVOICE)
    data |= {"type": "CreditMemo", "total": Decimal("-75.00"), "balance": Decimal("-25.00")}
    memo = invoice_from_cw(data)
    assert memo.kind is DocKind.CREDIT_MEMO
    assert (memo.total, memo.owing) == (Decimal("75.00"), Decimal("25.00"))


def test_cw_invoice_date_is_the_written_date_part() -> None:
    data = load(CW_INVOICE)
    data["date"] = "2026-03-02T23:30:00-08:00"  # would be March 3rd in UTC
    assert invoice_from_cw(data).date == date(2026, 3, 2)


def test_cw_invoice_not_exported_and_unlinked() -> None:
    data = load(CW_INVOICE)
    data["customFields"][0].pop("value")
    inv = invoice_from_cw(data, exported=False, link_field=LINK)
    assert inv.exported is False
    assert inv.ledger_invoice_id is None
    data["customFields"][0]["value"] = "   "
    inv = invoice_from_cw(data, link_field=LINK)
    assert inv.ledger_invoice_id is None
    data["customFields"] = [{"id": 3, "caption": "PO Number", "value": "PO-77"}]
    assert invoice_from_cw(data, link_field=LINK).ledger_invoice_id is None
    del data["customFields"]
    del data["currency"]
    del data["status"]
    inv = invoice_from_cw(data)
    assert inv.ledger_invoice_id is None
    assert inv.currency == "USD"
    assert inv.status == ""


def test_cw_invoice_exported_without_recorded_link() -> None:
    data = load(CW_INVOICE)
    data["customFields"][0]["value"] = None
    inv = invoice_from_cw(data)
    assert inv.exported is True
    assert inv.ledger_invoice_id is None


@pytest.mark.parametrize("field", ["invoiceNumber", "total", "balance", "date", "company.id"])
def test_cw_invoice_missing_field_is_named(field: str) -> None:
    data = load(CW_INVOICE)
    if field == "company.id":
        del data["company"]["id"]
    else:
        del data[field]
    with pytest.raises(ValueError) as info:
        invoice_from_cw(data)
    message = str(info.value)
    assert f"'{field}'" in message
    assert "ConnectWise invoice 4501" in message


def test_cw_invoice_bad_values_are_named() -> None:
    data = load(CW_INVOICE)
    data["total"] = 50.0
    with pytest.raises(ValueError, match=r"ConnectWise invoice 4501: bad amount .*'total'"):
        invoice_from_cw(data)
    data = load(CW_INVOICE)
    data["dueDate"] = "soon"
    with pytest.raises(ValueError, match=r"4501.*'dueDate'"):
        invoice_from_cw(data)
    data = load(CW_INVOICE)
    data["customFields"] = "nope"
    with pytest.raises(ValueError, match=r"4501.*'customFields'"):
        invoice_from_cw(data, link_field=LINK)


def test_cw_company() -> None:
    data = load(
        """{"id": 458, "identifier": "UmbrellaHP", "name": "Umbrella Health Partners",
        "status": {"id": 2, "name": "Inactive"}, "deletedFlag": true,
        "types": [{"id": 1, "name": "Client"}],
        "_info": {"lastUpdated": "2026-03-05T22:14:00Z", "dateEntered": "2019-02-01T16:20:00Z"}}"""
    )
    company = company_from_cw(data)
    assert company.id == "458"
    assert company.identifier == "UmbrellaHP"
    assert company.name == "Umbrella Health Partners"
    assert company.status == "Inactive"
    assert company.deleted is True
    assert company.updated_at == datetime(2026, 3, 5, 22, 14, tzinfo=UTC)
    del data["name"]
    with pytest.raises(ValueError, match=r"ConnectWise company 458: missing required field 'name'"):
        company_from_cw(data)
    plain = company_from_cw({"id": 1, "name": "Plain"})
    assert (plain.status, plain.deleted, plain.identifier) == ("Active", False, "")


def test_cw_contact() -> None:
    data = load(
        """{"id": 1201, "firstName": "Zoë", "lastName": "Müller",
        "company": {"id": 412, "identifier": "CafeZurich", "name": "Café Zürich GmbH"},
        "portalSecurityLevel": 5, "inactiveFlag": false,
        "communicationItems": [
          {"type": {"id": 2, "name": "Direct"}, "value": "555-1234",
           "communicationType": "Phone", "defaultFlag": true},
          {"type": {"id": 1, "name": "Email"}, "value": "old@cafe.example.com",
           "communicationType": "Email", "defaultFlag": false},
          {"type": {"id": 1, "name": "Email"}, "value": "zoe@cafe.example.com",
           "communicationType": "Email", "defaultFlag": true}],
        "_info": {"lastUpdated": "2026-01-09T13:37:00Z"}}"""
    )
    contact = contact_from_cw(data)
    assert contact.id == "1201"
    assert contact.company_id == "412"
    assert contact.full_name == "Zoë Müller"
    assert contact.portal_security_level == 5
    assert contact.email == "zoe@cafe.example.com"
    assert contact.inactive is False
    assert contact.updated_at == datetime(2026, 1, 9, 13, 37, tzinfo=UTC)
    data["communicationItems"][2]["defaultFlag"] = False
    assert contact_from_cw(data).email == "old@cafe.example.com"
    data["communicationItems"] = []
    data.pop("portalSecurityLevel")
    bare = contact_from_cw(data)
    assert bare.email is None and bare.portal_security_level is None


def test_cw_contact_errors_name_the_field() -> None:
    base = {"id": 9, "company": {"id": 1}, "portalSecurityLevel": 7}
    pattern = r"ConnectWise contact 9: out of range.*'portalSecurityLevel'"
    with pytest.raises(ValueError, match=pattern):
        contact_from_cw(base)
    with pytest.raises(ValueError, match=r"contact 9.*'portalSecurityLevel'"):
        contact_from_cw(base | {"portalSecurityLevel": "6"})
    with pytest.raises(ValueError, match=r"contact 9: missing required field 'company.id'"):
        contact_from_cw({"id": 9, "company": None})
    with pytest.raises(ValueError, match=r"contact <no id>: missing required field 'id'"):
        contact_from_cw({"company": {"id": 1}})
    with pytest.raises(ValueError, match=r"contact 9.*'inactiveFlag'"):
        contact_from_cw({"id": 9, "company": {"id": 1}, "inactiveFlag": "no"})


# --------------------------------------------------------------------------- names
MARKUP_NAMES = [
    "Refund [/] pending [bold]x",
    "[bold]ACME Corp",
    "Foo [/] Bar Ltd",
    "Smith & Sons",
    'O\'Brien "Quality" Plumbing',
    "Café Zürich GmbH",
    "Ærø Shipping ApS",
    "東京テック株式会社",
]


@pytest.mark.parametrize("name", MARKUP_NAMES)
def test_names_survive_parsing_byte_for_byte(name: str) -> None:
    text = json.dumps({"Id": "1", "DisplayName": name, "CompanyName": name})
    cust = customer_from_qbo(load(text))
    assert cust.display_name.encode() == name.encode()
    assert cust.company_name.encode() == name.encode()
    text = json.dumps({"id": 1, "identifier": "X", "name": name}, ensure_ascii=False)
    assert company_from_cw(load(text)).name.encode() == name.encode()
