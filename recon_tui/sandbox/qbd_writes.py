"""The sample company receiving a payment: ``ReceivePaymentAddRq``.

The request, from the OSR's ReceivePaymentAdd page
(https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/receivepaymentadd:
"to record a customer's payment against an invoice ..., to set a discount ...,
to set a credit") and the element list public builders follow (CustomerRef,
ARAccountRef, TxnDate, RefNumber, TotalAmount, PaymentMethodRef, Memo,
DepositToAccountRef, then ``IsAutoApply`` OR ``AppliedToTxnAdd``: TxnID,
PaymentAmount, SetCredit with CreditTxnID and AppliedAmount, DiscountAmount).
A credit applied this way is a payment of TotalAmount 0 whose AppliedToTxnAdd
sets the credit ("in credit-only messages, the outcome may be linked
transactions", Intuit, "Requests for receive payments, bill payments and
deposits").

The payment goes into the same book the QBO emulator serves, in QBO's shape
(lines linking the Invoice and the CreditMemo), through the QBO emulator's own
payment rules (:func:`qbo_writes._save_payment`: the linked records must exist,
be the customer's, and keep their balances between zero and their totals), so
both ledgers of the sample stay one book. A payment QuickBooks would refuse for
those rules is answered with statusCode 1000: the OSR's status list does not say
which specific code each refusal gets, so the sample company gives the generic
error rather than guess one. ``IsAutoApply`` (QuickBooks picks the invoices) is
not modelled: statusCode 1030.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbd_query import QueryStatus
from recon_tui.sandbox.qbd_status import StatusAnswer
from recon_tui.sandbox.qbd_xml import QbxmlRequest, RequestError
from recon_tui.sandbox.qbo_writes import _Refused, _save_payment

__all__ = ["receive_payment_add"]


def _amount(text: str | None, what: str) -> Decimal:
    """AMTTYPE; a value the schema refuses is a parse error (0x80040400)."""
    if text is None:
        return Decimal("0")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise RequestError(f"{what} {text!r} is not an amount") from None
    if not value.is_finite():
        raise RequestError(f"{what} {text!r} is not an amount")
    return value


def _customer_id(book: SandboxBook, request: QbxmlRequest) -> str:
    listed = request.text("ReceivePaymentAdd/CustomerRef/ListID")
    if listed is not None:
        return listed
    name = request.text("ReceivePaymentAdd/CustomerRef/FullName")
    for customer_id, customer in book.qbo.get("Customer", {}).items():
        if name is not None and customer.get("DisplayName") == name:
            return customer_id
    raise QueryStatus(StatusAnswer(3120, name or ""))


def _lines(request: QbxmlRequest) -> list[dict[str, Any]]:
    """QBO payment lines for the AppliedToTxnAdd elements: the invoice line carries
    the cash and the credits applied to it, each credit its own line."""
    lines: list[dict[str, Any]] = []
    for applied in request.element.findall("ReceivePaymentAdd/AppliedToTxnAdd"):
        invoice_id = (applied.findtext("TxnID") or "").strip()
        if not invoice_id:
            raise RequestError("AppliedToTxnAdd needs a TxnID")
        cash = _amount(applied.findtext("PaymentAmount"), "PaymentAmount")
        credits = []
        for credit in applied.findall("SetCredit"):
            memo_id = (credit.findtext("CreditTxnID") or "").strip()
            if not memo_id or credit.findtext("AppliedAmount") is None:
                raise RequestError("SetCredit needs CreditTxnID and AppliedAmount")
            credits.append((memo_id, _amount(credit.findtext("AppliedAmount"), "AppliedAmount")))
        lines.append({"Amount": cash + sum((c[1] for c in credits), Decimal("0")),
                      "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]})
        lines.extend({"Amount": part, "LinkedTxn": [{"TxnId": memo_id, "TxnType": "CreditMemo"}]}
                     for memo_id, part in credits)
    return lines


def receive_payment_add(book: SandboxBook, request: QbxmlRequest) -> dict[str, Any]:
    """Apply the request to the book (the caller holds its lock) and return the new
    payment in QBO's shape; QueryStatus when QuickBooks would refuse it."""
    if request.element.find("ReceivePaymentAdd") is None:
        raise RequestError("ReceivePaymentAddRq needs a ReceivePaymentAdd")
    if request.text("ReceivePaymentAdd/IsAutoApply") is not None:
        raise QueryStatus(StatusAnswer(1030))
    customer_id = _customer_id(book, request)
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": _amount(request.text("ReceivePaymentAdd/TotalAmount"), "TotalAmount"),
        "Line": _lines(request),
    }
    for tag, key in (("TxnDate", "TxnDate"), ("RefNumber", "PaymentRefNum"),
                     ("Memo", "PrivateNote")):
        value = request.text(f"ReceivePaymentAdd/{tag}")
        if value is not None:
            body[key] = value
    if customer_id not in book.qbo.get("Customer", {}):
        raise QueryStatus(StatusAnswer(3120, customer_id))
    for line in body["Line"]:
        link = line["LinkedTxn"][0]
        if link["TxnId"] not in book.qbo.get(link["TxnType"], {}):
            raise QueryStatus(StatusAnswer(3120, link["TxnId"]))
    try:
        payment = _save_payment(book, body, None)
    except _Refused:
        raise QueryStatus(StatusAnswer(1000)) from None
    book.changed()
    return payment
