"""QuickBooks Desktop writes: a payment received, a credit memo applied, each as
one ``ReceivePaymentAddRq`` (OSR ReceivePaymentAdd: "to record a customer's
payment against an invoice ..., to set a credit"; AppliedToTxnAdd with TxnID,
PaymentAmount and SetCredit's CreditTxnID and AppliedAmount).

A credit memo is applied as Desktop's Receive Payments window applies it
(Customers > Receive Payments > Discounts & Credits): a payment of TotalAmount 0
whose AppliedToTxnAdd sets the credit on the invoice.

Applied once: qbXML has no request id a retried add is recognised by, so the
payment's ``Memo`` carries ``[recon-tui <request id>]`` and, before adding,
the customer's payments are read for that mark. A retry after an answer lost on
the way back (a dropped Web Connector session) then finds the payment already
there and only reads the invoice. An unapplied payment is applied in QuickBooks
(a ReceivePaymentMod of that payment; not done here yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from recon_tui.connectors.base import ConnectorError, NotFound
from recon_tui.connectors.qbd_errors import SYSTEM
from recon_tui.connectors.qbd_requests import Child, Query
from recon_tui.models import CreditKind, LedgerInvoice
from recon_tui.money import CENT, ZERO

if TYPE_CHECKING:
    from recon_tui.connectors.qbd_records import Response

__all__ = ["QbdWrites"]

MEMO_LIMIT = 4095  # ReceivePaymentAdd Memo: "max length = 4095 for QBD"


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


class QbdWrites:
    """record_payment and apply_credit for :class:`~recon_tui.connectors.qbd.QbdConnector`."""

    if TYPE_CHECKING:
        def _send(self, built: Query, step: str) -> Response: ...
        def _checked(self, response: Response, step: str, *,
                     ok: tuple[int, ...] = (0, 1)) -> Response: ...
        def _request_id(self) -> str: ...
        def _iterate(self, name: str, step: str, **filters: Any) -> Iterator[dict[str, Any]]: ...
        def invoice_by_id(self, invoice_id: str) -> LedgerInvoice | None: ...
        def credit_memo_by_id(self, memo_id: str) -> LedgerInvoice | None: ...

    def record_payment(self, customer_id: str, invoice_id: str, amount: Decimal,
                       txn_date: date, reference: str, note: str,
                       request_id: str) -> LedgerInvoice:
        """Receive ``amount`` against one invoice; the same ``request_id`` applies once."""
        step = f"record a payment on invoice {invoice_id}"
        if amount <= ZERO:
            raise ConnectorError(SYSTEM, f"{step}: the amount must be more than 0")
        applied: list[Child] = [("TxnID", invoice_id), ("PaymentAmount", _money(amount))]
        return self._receive(customer_id, invoice_id, step, request_id, total=amount,
                             applied=applied, txn_date=txn_date, reference=reference, note=note)

    def apply_credit(self, customer_id: str, invoice_id: str, credit_kind: CreditKind | str,
                     credit_id: str, amount: Decimal, request_id: str) -> LedgerInvoice:
        """Apply credit memo ``credit_id`` to one invoice (see the module)."""
        step = f"apply credit {credit_id} to invoice {invoice_id}"
        if amount <= ZERO:
            raise ConnectorError(SYSTEM, f"{step}: the amount must be more than 0")
        if str(credit_kind) != CreditKind.CREDIT_MEMO.value:
            raise ConnectorError(SYSTEM, f"{step}: an unapplied payment is not applied from "
                                         "recon-tui on QuickBooks Desktop yet: apply it in "
                                         "QuickBooks (Customers > Receive Payments), then sync")
        applied: list[Child] = [
            ("TxnID", invoice_id), ("PaymentAmount", "0.00"),
            ("SetCredit", [("CreditTxnID", credit_id), ("AppliedAmount", _money(amount))])]
        return self._receive(customer_id, invoice_id, step, request_id, total=ZERO,
                             applied=applied,
                             check=lambda: self._check_room(invoice_id, credit_id, amount, step))

    def _check_room(self, invoice_id: str, memo_id: str, amount: Decimal, step: str) -> None:
        """One clear line before QuickBooks refuses: the credit and the invoice must
        both hold ``amount`` (a retried write that already took it passes: it is
        found by its mark before anything is sent)."""
        memo, invoice = self.credit_memo_by_id(memo_id), self.invoice_by_id(invoice_id)
        if memo is None or invoice is None:
            missing = "credit memo" if memo is None else "invoice"
            raise NotFound(SYSTEM, f"{step}: the {missing} is not in the company file; sync, "
                                   "then try again")
        if amount > memo.balance or amount > invoice.balance:
            short = "credit memo" if amount > memo.balance else "invoice"
            left = memo.balance if short == "credit memo" else invoice.balance
            raise ConnectorError(SYSTEM, f"{step}: {_money(amount)} is more than the {short} "
                                         f"has left ({_money(left)}); sync, then choose the "
                                         "amount again")

    def _receive(self, customer_id: str, invoice_id: str, step: str, request_id: str, *,
                 total: Decimal, applied: list[Child], txn_date: date | None = None,
                 reference: str = "", note: str = "",
                 check: Callable[[], None] | None = None) -> LedgerInvoice:
        """The payment added unless a retry finds it there; ``check`` runs first."""
        mark = f"[recon-tui {request_id}]"
        if not self._already_received(customer_id, mark, step):
            if check is not None:
                check()
            memo = f"{note.strip()[:MEMO_LIMIT - len(mark) - 1]} {mark}".strip()
            add: list[Child] = [("CustomerRef", [("ListID", customer_id)])]
            if txn_date is not None:
                add.append(("TxnDate", txn_date.isoformat()))
            if reference:
                add.append(("RefNumber", reference))
            add += [("TotalAmount", _money(total)), ("Memo", memo), ("AppliedToTxnAdd", applied)]
            built = Query("ReceivePaymentAddRq", request_id=self._request_id())
            built.add("ReceivePaymentAdd", add)
            self._checked(self._send(built, step), step, ok=(0,))
        invoice = self.invoice_by_id(invoice_id)
        if invoice is None:
            raise NotFound(SYSTEM, f"{step}: the invoice is no longer in the company file")
        return invoice

    def _already_received(self, customer_id: str, mark: str, step: str) -> bool:
        """Whether one of the customer's payments carries ``mark`` (a retried write)."""
        for record in self._iterate("ReceivePaymentQueryRq", f"{step} (look for a retry)",
                                    customer_id=customer_id, include_ret=("TxnID", "Memo")):
            if mark in str(record.get("Memo", "")):
                return True
        return False
