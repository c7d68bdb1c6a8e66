"""ConnectWise invoice payments: ``finance/invoices/{id}/payments``.

The ``Payment`` model (ConnectWise Manage API 3.0, as published in the
pyconnectwise model ``Payment``): ``id``, ``type``, ``invoice`` (an
InvoiceReference: ``id``, ``identifier``), ``credit`` (an InvoiceReference to
the credit memo applied, when it is a credit), ``amount``, ``paymentDate``,
``appliedBy``, ``_info``. GET lists an invoice's payments (paged), POST adds
one.

ConnectWise has no request id for a POST: a payment whose answer was lost may
still have been applied. ``post_payment`` is therefore sent once (never
retried after it left), and a caller that retries first re-reads the list
(``recon_tui.workflows.payment_fix.find_posted``) to see whether it is
already there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from recon_tui.connectors.records import EntityReader, RecordError, parse_utc_datetime
from recon_tui.transactions import InvoiceTxn, Side, TxnKind

SYSTEM = "ConnectWise"


def payments_path(invoice_id: str) -> str:
    return f"finance/invoices/{invoice_id}/payments"


def _day(r: EntityReader, path: str) -> date:
    moment = r.moment(path, parse_utc_datetime)
    if moment is None:
        raise r.error(path, "is missing")
    return moment.date()


def payment_from_cw(d: Mapping[str, Any], invoice_id: str) -> InvoiceTxn:
    """One ConnectWise invoice payment as an application to ``invoice_id``.
    A payment with a ``credit`` reference is a credit memo applied."""
    r = EntityReader(SYSTEM, "Payment", d, "id")
    credit = r.get("credit", None)
    credit_id = ""
    reference = ""
    if isinstance(credit, Mapping) and credit.get("id") not in (None, ""):
        cr = EntityReader(SYSTEM, "Payment", credit, "id")
        credit_id = cr.required_text("id")
        reference = cr.text("identifier", "") or ""
    amount = r.money("amount")
    if amount <= 0:
        raise r.error("amount", f"is {amount}, not a positive amount")
    return InvoiceTxn(
        side=Side.PSA, invoice_id=invoice_id, txn_id=r.required_text("id"),
        kind=TxnKind.CREDIT if credit_id else TxnKind.PAYMENT,
        date=_day(r, "paymentDate"), amount=amount, reference=reference,
        method=r.text("type", "") or "", credit_id=credit_id,
        updated_at=r.moment("_info.lastUpdated", parse_utc_datetime))


def parse_payments(records: Iterable[Mapping[str, Any]], invoice_id: str) -> list[InvoiceTxn]:
    """Every record, or RecordError naming the bad one."""
    return [payment_from_cw(record, invoice_id) for record in records]


def payment_body(invoice_id: str, amount: Decimal, payment_date: date) -> dict[str, Any]:
    """The POST body: the fields the Payment model marks required or we set."""
    return {"invoice": {"id": int(invoice_id) if invoice_id.isdigit() else invoice_id},
            "amount": amount, "paymentDate": f"{payment_date.isoformat()}T00:00:00Z"}


__all__ = ["RecordError", "parse_payments", "payment_body", "payment_from_cw",
           "payments_path"]
