"""QuickBooks Online JSON entities -> domain records.

Pure functions, no I/O: the live connector (fed by a real account or the
sandbox) hands these the entity dicts found inside ``QueryResponse`` (parsed with
``parse_float=Decimal``). A malformed entity raises ``RecordError`` naming the
entity, its Id and the field, so a sync failure points at the exact record.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from recon_tui.connectors.fast_fields import (
    fast_child,
    fast_day,
    fast_flag,
    fast_money,
    fast_required,
    fast_text,
)
from recon_tui.connectors.records import (
    EntityReader,
    Slow,
    fast_moment,
    parse_utc_datetime,
)
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
    "credit_from_credit_memo",
    "credit_from_payment",
    "credit_memo_from_qbo",
    "customer_from_qbo",
    "invoice_from_qbo",
    "payment_from_qbo",
]


def _reader(entity: str, data: object) -> EntityReader:
    return EntityReader("QBO", entity, data, "Id")


def customer_from_qbo(d: Mapping[str, Any]) -> LedgerCustomer:
    """A QBO Customer. Inactive customers are still read: their invoices still count.
    A decoded dict is read directly (every sync reads every customer); anything
    unusual goes to the checked reader, which gives the same or names the fault."""
    if type(d) is dict:
        try:
            return LedgerCustomer(
                id=fast_required(d.get("Id")), display_name=fast_required(d.get("DisplayName")),
                company_name=fast_text(d.get("CompanyName"), ""),
                active=fast_flag(d.get("Active"), True), balance=fast_money(d.get("Balance"), ZERO),
                updated_at=fast_moment(fast_child(d, "MetaData", "LastUpdatedTime")))
        except Slow:
            pass
    r = _reader("Customer", d)
    return LedgerCustomer(
        id=r.required_text("Id"),
        display_name=r.required_text("DisplayName"),
        company_name=r.text("CompanyName", ""),
        active=r.flag("Active", True),
        balance=r.money("Balance", ZERO),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_utc_datetime),
    )


def invoice_from_qbo(d: Mapping[str, Any]) -> LedgerInvoice:
    """A QBO Invoice. Voiding in QBO zeroes the amounts and notes "Voided"; both must hold."""
    r = _reader("Invoice", d)
    total = r.money("TotalAmt")
    note = r.text("PrivateNote", "")
    return LedgerInvoice(
        id=r.required_text("Id"),
        doc_number=r.text("DocNumber", ""),
        customer_id=r.required_text("CustomerRef.value"),
        date=r.day("TxnDate"),
        total=total,
        balance=r.money("Balance"),
        due_date=r.day("DueDate", None),
        voided=total == ZERO and note.lstrip().startswith("Voided"),
        currency=r.text("CurrencyRef.value", "USD"),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_utc_datetime),
    )


def credit_memo_from_qbo(d: Mapping[str, Any]) -> LedgerInvoice:
    """A CreditMemo as a ledger document: ``total`` its TotalAmt, ``balance`` what
    is left of the credit (RemainingCredit, else Balance)."""
    r = _reader("CreditMemo", d)
    remaining = r.get("RemainingCredit", None)
    left = r.money("RemainingCredit") if remaining is not None else r.money("Balance")
    return LedgerInvoice(
        id=r.required_text("Id"),
        doc_number=r.text("DocNumber", ""),
        customer_id=r.required_text("CustomerRef.value"),
        date=r.day("TxnDate"),
        total=r.money("TotalAmt"),
        balance=left,
        currency=r.text("CurrencyRef.value", "USD"),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_utc_datetime),
        kind=DocKind.CREDIT_MEMO,
    )


def credit_from_credit_memo(d: Mapping[str, Any]) -> OrganizationalCredit:
    """A CreditMemo as an organizational credit: what remains is RemainingCredit."""
    return OrganizationalCredit.from_credit_memo(credit_memo_from_qbo(d))


def credit_from_payment(d: Mapping[str, Any]) -> OrganizationalCredit:
    """A Payment as an organizational credit: what remains is UnappliedAmt (absent = 0)."""
    if type(d) is dict:
        try:
            return OrganizationalCredit(
                id=fast_required(d.get("Id")), kind=CreditKind.UNAPPLIED_PAYMENT,
                customer_id=fast_required(fast_child(d, "CustomerRef", "value")),
                date=fast_day(d.get("TxnDate")), amount=fast_money(d.get("UnappliedAmt"), ZERO),
                total=fast_money(d.get("TotalAmt")),
                doc_number=fast_text(d.get("PaymentRefNum"), ""),
                updated_at=fast_moment(fast_child(d, "MetaData", "LastUpdatedTime")))
        except Slow:
            pass  # the checked reader decides, and names what is wrong
    r = _reader("Payment", d)
    return OrganizationalCredit(
        id=r.required_text("Id"),
        kind=CreditKind.UNAPPLIED_PAYMENT,
        customer_id=r.required_text("CustomerRef.value"),
        date=r.day("TxnDate"),
        amount=r.money("UnappliedAmt", ZERO),
        total=r.money("TotalAmt"),
        doc_number=r.text("PaymentRefNum", ""),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_utc_datetime),
    )


def _lines(r: EntityReader) -> list[tuple[str, str, Decimal]]:
    """A Payment's ``Line`` array as (TxnType, TxnId, Amount): each line links the
    transaction its Amount applies to (QBO: Payment.Line[].LinkedTxn)."""
    lines = r.get("Line", [])
    if not isinstance(lines, list):
        raise r.error("Line", "is not a list")
    out: list[tuple[str, str, Decimal]] = []
    for index, line in enumerate(lines):
        lr = EntityReader("QBO", "Payment", line, "Id")
        amount = lr.money("Amount", ZERO)
        linked = lr.get("LinkedTxn", [])
        if not isinstance(linked, list):
            raise r.error(f"Line[{index}].LinkedTxn", "is not a list")
        for txn in linked:
            tr = EntityReader("QBO", "Payment", txn, "TxnId")
            out.append((tr.text("TxnType", ""), tr.required_text("TxnId"), amount))
    return out


def payment_from_qbo(d: Mapping[str, Any]) -> LedgerPayment:
    """A Payment: its unapplied amount as a credit on account, and what each of its
    lines applies to an invoice (part of it a credit memo, when a line links one)."""
    credit = credit_from_payment(d)
    r = _reader("Payment", d)
    applications = applications_from_lines(
        credit.id, credit.date, _lines(r), reference=credit.doc_number,
        method=r.text("PaymentMethodRef.name", "") or "",
        updated_at=credit.updated_at)
    return LedgerPayment(credit, applications)
