"""QuickBooks Online writes: applying a credit, recording a payment.

Every write carries ``requestid`` (Intuit: "the same requestid sent again is
not applied twice"), chosen and stored by the caller before the first attempt,
so a retry, or the same step run again after a crash, is applied once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from recon_tui.connectors.base import ConnectorError
from recon_tui.models import CreditKind, LedgerInvoice
from recon_tui.money import ZERO, MoneyError, to_money

SYSTEM = "qbo"
NOT_FOUND_CODE = "610"
STALE_OBJECT_CODE = "5010"
#: QBO's PaymentRefNum holds at most 21 characters.
REF_NUM_LIMIT = 21


class QboWrites:
    """The write half of QboConnector (it provides ``_post``, ``_read`` and
    ``invoice_by_id``)."""

    def apply_credit(
        self,
        customer_id: str,
        invoice_id: str,
        credit_kind: CreditKind | str,
        credit_id: str,
        amount: Decimal,
        request_id: str,
    ) -> LedgerInvoice:
        """Apply an organizational credit to one invoice, then return the invoice as QBO
        now has it.

        A credit memo is applied the way QBO's UI does it: a Payment of total 0 whose
        lines link the invoice and the credit memo. An unapplied payment gets a line
        linking the invoice (sparse update; QBO replaces the whole Line array, so the
        existing lines are sent back too). ``request_id`` goes out as ``requestid``:
        the same id sent again (a retry, or this call repeated after a crash) is not
        applied twice.
        """
        kind = CreditKind(credit_kind)
        try:
            value = to_money(amount)
        except MoneyError as exc:
            raise ConnectorError(SYSTEM, f"apply credit: {exc}") from None
        if value <= ZERO:
            raise ConnectorError(SYSTEM, f"apply credit: the amount must be positive, got {value}")
        if not request_id:
            raise ConnectorError(SYSTEM, "apply credit: a request id is required")
        invoice_line = {"Amount": value, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
        params = {"requestid": request_id}
        if kind is CreditKind.CREDIT_MEMO:
            operation = f"apply credit memo {credit_id} to invoice {invoice_id}"
            payment = {
                "CustomerRef": {"value": customer_id},
                "TotalAmt": ZERO,
                "PrivateNote": f"recon-tui: credit memo {credit_id} applied to invoice "
                f"{invoice_id}",
                "Line": [
                    invoice_line,
                    {"Amount": value, "LinkedTxn": [{"TxnId": credit_id, "TxnType": "CreditMemo"}]},
                ],
            }
            self._post("payment", payment, operation, params)
        else:
            operation = f"apply unapplied payment {credit_id} to invoice {invoice_id}"
            self._apply_unapplied_payment(customer_id, credit_id, invoice_line, params, operation)
        refreshed = self.invoice_by_id(invoice_id)
        if refreshed is None:
            raise ConnectorError(
                SYSTEM,
                f"{operation}: invoice {invoice_id} is gone from "
                "QuickBooks after the credit was applied",
            )
        return refreshed

    def _apply_unapplied_payment(
        self,
        customer_id: str,
        payment_id: str,
        invoice_line: dict[str, Any],
        params: dict[str, str],
        operation: str,
    ) -> None:
        """Read the payment, add the invoice line, sparse-update it; once more on a
        stale SyncToken (someone edited the payment between our read and write)."""
        for attempt in (1, 2):
            current = self._read(
                "payment", "Payment", payment_id, f"{operation}: read payment {payment_id}"
            )
            if current is None:
                raise ConnectorError(
                    SYSTEM,
                    f"{operation}: payment {payment_id} does not exist in QuickBooks",
                    code=NOT_FOUND_CODE,
                )
            owner = (current.get("CustomerRef") or {}).get("value")
            if str(owner) != customer_id:
                raise ConnectorError(
                    SYSTEM,
                    f"{operation}: payment {payment_id} belongs to "
                    f"customer {owner}, not {customer_id}",
                )
            lines = [line for line in current.get("Line") or [] if isinstance(line, dict)]
            update = {
                "Id": payment_id,
                "SyncToken": current.get("SyncToken"),
                "sparse": True,
                "Line": [*lines, invoice_line],
            }
            try:
                self._post("payment", update, operation, params)
                return
            except ConnectorError as exc:
                if exc.code != STALE_OBJECT_CODE or attempt == 2:
                    raise

    def record_payment(
        self,
        customer_id: str,
        invoice_id: str,
        amount: Decimal,
        txn_date: date,
        reference: str,
        note: str,
        request_id: str,
    ) -> LedgerInvoice:
        """Receive Payment against one invoice (a Payment whose one line links it),
        then return the invoice as QBO now has it. ``request_id`` makes a retry, or
        the same step run again after a crash, apply once."""
        try:
            value = to_money(amount)
        except MoneyError as exc:
            raise ConnectorError(SYSTEM, f"record payment: {exc}") from None
        if value <= ZERO:
            raise ConnectorError(SYSTEM, f"record payment: the amount must be positive, "
                                 f"got {value}")
        if not request_id:
            raise ConnectorError(SYSTEM, "record payment: a request id is required")
        operation = f"record a payment of {value} on invoice {invoice_id}"
        payment: dict[str, Any] = {
            "CustomerRef": {"value": customer_id},
            "TotalAmt": value,
            "TxnDate": txn_date.isoformat(),
            "PrivateNote": note[:4000],
            "Line": [{"Amount": value,
                      "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
        }
        if reference:
            payment["PaymentRefNum"] = reference[:REF_NUM_LIMIT]
        self._post("payment", payment, operation, {"requestid": request_id})  # type: ignore[attr-defined]
        refreshed = self.invoice_by_id(invoice_id)  # type: ignore[attr-defined]
        if refreshed is None:
            raise ConnectorError(SYSTEM, f"{operation}: invoice {invoice_id} is gone from "
                                 "QuickBooks after the payment was recorded")
        return refreshed
