"""QuickBooks Desktop qbXML responses -> domain records (money as Decimal).

Pure functions, no I/O. A response document is read with defusedxml (no entity
expansion: the text comes over the network), each ``XxxRs`` checked for its
status, each ``XxxRet`` turned into a plain dict (a repeated child, such as
``LinkedTxn`` or ``AppliedToTxnRet``, into a list) and read through the same
:class:`EntityReader` the other connectors use, so a malformed record fails with
the record's id and the field.

What each record means, from the OSR response pages (CustomerQuery,
InvoiceQuery, CreditMemoQuery, ReceivePaymentQuery) and public payloads (see
``recon_tui.sandbox.qbd_records`` for the list):

* Customer: ``ListID``, ``FullName`` (unique across the list; ``Name`` is one
  level of a ``Parent:Job`` hierarchy), ``CompanyName``, ``IsActive``,
  ``Balance``, ``TimeModified``;
* Invoice: total = ``Subtotal`` + ``SalesTaxTotal`` (InvoiceRet carries no
  total of its own), balance = ``BalanceRemaining``; voided when the total is 0
  and the ``Memo`` begins with ``VOID`` (voiding "sets its amount to zero but
  keeps a record of it", OSR TxnVoid; the OSR does not say how a voided
  InvoiceRet shows it, so both must hold: a zero invoice alone is not voided);
* CreditMemo: ``TotalAmount``, what is left = ``CreditRemaining``;
* ReceivePayment: ``TotalAmount``, unapplied = ``UnusedPayment``; each
  ``AppliedToTxnRet`` of TxnType Invoice pays ``Amount`` in cash, and each of its
  ``LinkedTxn`` of TxnType CreditMemo is a credit applied there (Amount is
  negative: it reduces the invoice). Other LinkedTxn (other payments of the same
  invoice, as public payloads show) are not this payment's money and are skipped.

Characters XML 1.0 cannot carry (C0 controls but tab, LF, CR) make a document
unparseable; a company file holding one in a name would fail the whole read. So
they are moved, raw or as a character reference (``&#27;``), to private-use
code points before parsing and back after, and a name keeps them literally (the
screens render names literally).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from recon_tui.connectors.base import BadData
from recon_tui.connectors.qbd_errors import SYSTEM
from recon_tui.connectors.records import EntityReader, RecordError, parse_utc_datetime
from recon_tui.models import (
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
)
from recon_tui.money import ZERO
from recon_tui.transactions import LedgerPayment, applications_from_lines

__all__ = [
    "Response",
    "credit_from_memo",
    "credit_memo_from_qbd",
    "customer_from_qbd",
    "invoice_from_qbd",
    "parse_responses",
    "payment_credit_from_qbd",
    "payment_from_qbd",
]

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PRIVATE_BASE = 0xF0000  # Supplementary Private Use Area-A: never in a real name
_PRIVATE = re.compile("[\U000f0000-\U000f001f]")


_ILLEGAL_REF = re.compile(r"&#(?:([0-9]{1,7})|x([0-9a-fA-F]{1,6}));")


def _hidden_ref(match: re.Match[str]) -> str:
    """A character reference to a C0 control XML 1.0 forbids (``&#27;``), as its
    private-use stand-in; any other reference stays for the parser."""
    code = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
    if code < 0x20 and chr(code) not in "\t\n\r":
        return chr(_PRIVATE_BASE + code)
    return match.group()


def _hide(text: str) -> str:
    """Raw or referenced C0 controls moved out of the parser's way (see the module)."""
    text = _ILLEGAL.sub(lambda m: chr(_PRIVATE_BASE + ord(m.group())), text)
    return _ILLEGAL_REF.sub(_hidden_ref, text) if "&#" in text else text


def _unhide(text: str) -> str:
    return _PRIVATE.sub(lambda m: chr(ord(m.group()) - _PRIVATE_BASE), text)


class Response:
    """One ``XxxRs``: its status attributes and its ``XxxRet`` records as dicts."""

    def __init__(self, element: Element) -> None:
        self.name = element.tag
        self.request_id = element.get("requestID")
        raw_code = element.get("statusCode", "")
        if not raw_code.lstrip("-").isdigit():
            raise BadData(SYSTEM, f"{self.name} has no statusCode")
        self.code = int(raw_code)
        self.severity = element.get("statusSeverity", "")
        self.message = _unhide(element.get("statusMessage", ""))
        remaining = element.get("iteratorRemainingCount")
        if remaining is not None and not remaining.isdigit():
            raise BadData(SYSTEM, f"{self.name}: iteratorRemainingCount {remaining!r} is not a "
                                  "count")
        self.remaining = None if remaining is None else int(remaining)
        self.iterator_id = element.get("iteratorID")
        self.records = [_as_dict(child) for child in element]


def _as_dict(element: Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        value: Any = _as_dict(child) if len(child) else _unhide(child.text or "")
        held = out.get(child.tag)
        if held is None:
            out[child.tag] = value
        elif isinstance(held, list):
            held.append(value)
        else:
            out[child.tag] = [held, value]
    return out


def parse_responses(text: str, *, step: str) -> list[Response]:
    """Every ``XxxRs`` of a response document, in order; BadData when it is not one."""
    try:
        root = SafeET.fromstring(_hide(text.lstrip("\ufeff")))
    except Exception as exc:  # ParseError, or defusedxml refusing entities or a DTD
        raise BadData(SYSTEM, f"{step}: the answer is not qbXML ({type(exc).__name__})") from None
    msgs = root.find("QBXMLMsgsRs") if root.tag == "QBXML" else None
    if msgs is None:
        raise BadData(SYSTEM, f"{step}: the answer holds no <QBXML><QBXMLMsgsRs>")
    return [Response(child) for child in msgs]


def _many(value: object) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _reader(entity: str, data: Mapping[str, Any], id_key: str) -> EntityReader:
    return EntityReader("QBD", entity, data, id_key)


def _flag(r: EntityReader, path: str, default: bool) -> bool:
    value = r.get(path, None)
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise r.error(path, f"bad boolean {value!r} for")


def _day(r: EntityReader, path: str) -> date:
    value = r.day(path)
    if value is None:
        raise r.error(path, "missing required field")
    return value


def _moment(r: EntityReader) -> datetime | None:
    return r.moment("TimeModified", parse_utc_datetime)


def customer_from_qbd(d: Mapping[str, Any]) -> LedgerCustomer:
    """A CustomerRet. Inactive customers are read too: their invoices still count."""
    r = _reader("Customer", d, "ListID")
    return LedgerCustomer(
        id=r.required_text("ListID"),
        display_name=r.required_text("FullName"),
        company_name=r.text("CompanyName", ""),
        active=_flag(r, "IsActive", True),
        balance=r.money("Balance", ZERO),
        updated_at=_moment(r),
    )


def invoice_from_qbd(d: Mapping[str, Any], currency: str) -> LedgerInvoice:
    """An InvoiceRet (see the module for total, balance and voided)."""
    r = _reader("Invoice", d, "TxnID")
    total = r.money("Subtotal") + r.money("SalesTaxTotal", ZERO)
    memo = r.text("Memo", "")
    return LedgerInvoice(
        id=r.required_text("TxnID"),
        doc_number=r.text("RefNumber", ""),
        customer_id=r.required_text("CustomerRef.ListID"),
        date=_day(r, "TxnDate"),
        total=total,
        balance=r.money("BalanceRemaining"),
        due_date=r.day("DueDate", None),
        voided=total == ZERO and memo.lstrip().upper().startswith("VOID"),
        currency=currency,
        updated_at=_moment(r),
    )


def credit_memo_from_qbd(d: Mapping[str, Any], currency: str) -> LedgerInvoice:
    """A CreditMemoRet as a ledger document: total TotalAmount, balance CreditRemaining."""
    r = _reader("CreditMemo", d, "TxnID")
    return LedgerInvoice(
        id=r.required_text("TxnID"),
        doc_number=r.text("RefNumber", ""),
        customer_id=r.required_text("CustomerRef.ListID"),
        date=_day(r, "TxnDate"),
        total=r.money("TotalAmount"),
        balance=r.money("CreditRemaining"),
        currency=currency,
        updated_at=_moment(r),
        kind=DocKind.CREDIT_MEMO,
    )


def credit_from_memo(d: Mapping[str, Any], currency: str) -> OrganizationalCredit:
    return OrganizationalCredit.from_credit_memo(credit_memo_from_qbd(d, currency))


def payment_credit_from_qbd(d: Mapping[str, Any]) -> OrganizationalCredit:
    """A ReceivePaymentRet as a credit on account: what remains is UnusedPayment."""
    r = _reader("ReceivePayment", d, "TxnID")
    return OrganizationalCredit(
        id=r.required_text("TxnID"),
        kind=CreditKind.UNAPPLIED_PAYMENT,
        customer_id=r.required_text("CustomerRef.ListID"),
        date=_day(r, "TxnDate"),
        amount=r.money("UnusedPayment", ZERO),
        total=r.money("TotalAmount"),
        doc_number=r.text("RefNumber", ""),
        updated_at=_moment(r),
    )


def payment_from_qbd(d: Mapping[str, Any]) -> LedgerPayment:
    """A ReceivePaymentRet read with IncludeLineItems: its credit on account and
    what it applies to each invoice, credit memos applied there included."""
    credit = payment_credit_from_qbd(d)
    r = _reader("ReceivePayment", d, "TxnID")
    method = r.text("PaymentMethodRef.FullName", "") or ""
    applications = []
    for index, applied in enumerate(_many(r.get("AppliedToTxnRet", None))):
        where = f"AppliedToTxnRet[{index}]"
        if not isinstance(applied, Mapping):
            raise r.error(where, "is not an element")
        ar = EntityReader("QBD", "ReceivePayment", applied, "TxnID")
        if ar.text("TxnType", "Invoice") != "Invoice":
            continue
        invoice_id = ar.required_text("TxnID")
        credits, numbers = [], {}
        for link in _many(applied.get("LinkedTxn")):
            lr = EntityReader("QBD", "ReceivePayment", link, "TxnID")
            if lr.text("TxnType", "") != "CreditMemo":
                continue
            memo_id = lr.required_text("TxnID")
            credits.append(("CreditMemo", memo_id, abs(lr.money("Amount"))))
            numbers[memo_id] = lr.text("RefNumber", "")
        cash = ar.money("Amount", ZERO)
        lines = [("Invoice", invoice_id, cash + sum((c[2] for c in credits), ZERO)), *credits]
        applications.extend(applications_from_lines(
            credit.id, credit.date, lines, reference=credit.doc_number, method=method,
            updated_at=credit.updated_at, credit_numbers=numbers))
    return LedgerPayment(credit, tuple(applications))


def as_bad_data(exc: RecordError, step: str) -> BadData:
    """A record that cannot be read fails the read, naming the record and field."""
    return BadData(SYSTEM, f"{step}: {exc}")


def currency_code(ref: object, codes: Mapping[str, str], home: str) -> str | None:
    """The ISO code of a CurrencyRef (by ListID, else FullName); ``home`` when the
    record names none (a file without multicurrency); None when it is unknown."""
    if not isinstance(ref, Mapping):
        return home
    for key in ("ListID", "FullName"):
        value = ref.get(key)
        if isinstance(value, str) and value in codes:
            return codes[value]
    return None


def currency_codes(records: list[dict[str, Any]]) -> dict[str, str]:
    """CurrencyRet records -> {ListID or Name: CurrencyCode}."""
    out: dict[str, str] = {}
    for record in records:
        code = record.get("CurrencyCode")
        if not isinstance(code, str) or not code:
            continue
        for key in ("ListID", "Name"):
            value = record.get(key)
            if isinstance(value, str) and value:
                out[value] = code
    return out

