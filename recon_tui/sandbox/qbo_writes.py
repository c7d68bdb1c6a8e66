"""QBO's answers and its payment bookkeeping: faults in QBO's envelope, and a
payment create/update/delete moving exactly the balances it links.

Split from :mod:`qbo` (its write routes call :func:`save_payment`; the demo's
after-sync events too).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.responses import Response

from recon_tui.jsonio import encode
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import qbo_fault

NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made "
    "inactive. Check the fields with accounts, customers, items, vendors "
    "or employees."
)
STALE_DETAIL = (
    "Stale Object Error : You and root were working on this at the same time. "
    "root finished before you did, so your work was not saved."
)



def _json(body: Any, status: int = 200) -> Response:
    return Response(encode(body), status_code=status, media_type="application/json")


def _fault(
    status: int, message: str, detail: str, code: str, fault_type: str = "ValidationFault"
) -> Response:
    return _json(qbo_fault(message, detail, code, fault_type), status)


def _not_found() -> Response:
    return _fault(400, "Object Not Found", NOT_FOUND_DETAIL, "610")


def _business(detail: str, code: str = "6000") -> Response:
    return _fault(
        400,
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        code,
    )


def _now_qbo() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _touch(record: dict[str, Any], moment: str) -> None:
    """What every QBO write does to the record it changes."""
    record["SyncToken"] = str(int(str(record.get("SyncToken", "0")) or 0) + 1)
    meta = record.setdefault("MetaData", {})
    meta["LastUpdatedTime"] = moment


def _next_id(book: SandboxBook) -> str:
    """One above every numeric Id the book holds or has deleted (each entity's
    highest kept while its key set is the same: a write need not walk the book)."""
    highest = 0
    for entity, records in book.qbo.items():
        highest = max(highest, book.index.per_key_set(
            ("qbo highest id", entity), records,
            lambda records=records: max((int(k) for k in records if k.isdigit()), default=0)))
    for _, key, _ in book.qbo_deleted:
        if key.isdigit():
            highest = max(highest, int(key))
    return str(highest + 1)


class _Refused(Exception):
    """A write that QBO would refuse, carrying the response to send."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def _money(value: Any, what: str) -> Decimal:
    invalid = _Refused(_fault(400, "Request has invalid or unsupported property",
                              f"Property Name:{what} has an invalid value", "2010"))
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise invalid
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise invalid from None
    if not amount.is_finite() or amount < 0:
        raise _Refused(_business(f"{what} must be zero or more"))
    return amount


def _applied(lines: Any) -> dict[tuple[str, str], Decimal]:
    """(TxnType, TxnId) -> amount, from a payment's Line array (validated)."""
    if not isinstance(lines, list):
        raise _Refused(
            _fault(
                400,
                "Request has invalid or unsupported property",
                "Property Name:Line must be an array",
                "2010",
            )
        )
    applied: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        if not isinstance(line, dict):
            raise _Refused(
                _fault(
                    400,
                    "Request has invalid or unsupported property",
                    "Property Name:Line has an invalid element",
                    "2010",
                )
            )
        amount = _money(line.get("Amount"), "Line.Amount")
        links = line.get("LinkedTxn") or []
        if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
            raise _Refused(_business("each payment line must link exactly one transaction"))
        txn_type, txn_id = links[0].get("TxnType"), str(links[0].get("TxnId", ""))
        if txn_type not in ("Invoice", "CreditMemo"):
            raise _Refused(_business(f"a payment line cannot link a {txn_type}"))
        key = (str(txn_type), txn_id)
        applied[key] = applied.get(key, Decimal(0)) + amount
    return applied


def _payment_customer(
    customers: dict[str, Any], body: dict[str, Any], existing: dict[str, Any] | None
) -> str:
    """The customer a payment belongs to: named by a create (which must also give
    TotalAmt), fixed for an update."""
    if existing is None:
        customer_id = str((body.get("CustomerRef") or {}).get("value", ""))
        if customer_id not in customers:
            raise _Refused(
                _fault(
                    400,
                    "Invalid Reference Id",
                    f"Invalid Reference Id : Customer {customer_id or '(none)'}",
                    "2500",
                )
            )
        if "TotalAmt" not in body:
            raise _Refused(
                _fault(
                    400,
                    "Required param missing, need to supply the required value for the API",
                    "Required parameter TotalAmt is missing in the request",
                    "2020",
                )
            )
        return customer_id
    customer_id = str((existing.get("CustomerRef") or {}).get("value", ""))
    asked = (body.get("CustomerRef") or {}).get("value")
    if asked is not None and str(asked) != customer_id:
        raise _Refused(_business("a payment cannot move to another customer"))
    return customer_id


def _unapplied(total: Decimal, new: dict[tuple[str, str], Decimal]) -> Decimal:
    """What stays unapplied: the amount plus the credits used, less what is paid."""
    unapplied = total
    for (txn_type, _), amount in new.items():
        unapplied += amount if txn_type == "CreditMemo" else -amount
    if unapplied < 0:
        raise _Refused(
            _business("the amounts applied exceed the payment amount plus the credits used")
        )
    return unapplied


Change = tuple[dict[str, Any], str, Decimal]


def _balance_changes(
    book: SandboxBook,
    customer_id: str,
    new: dict[tuple[str, str], Decimal],
    old: dict[tuple[str, str], Decimal],
) -> list[Change]:
    """(record, field, value after) for each linked balance the lines move, checked
    before anything changes: the linked record exists, is the customer's, and its
    balance stays between zero and its total."""
    changes: list[Change] = []
    for key in sorted(set(new) | set(old)):
        delta = new.get(key, Decimal(0)) - old.get(key, Decimal(0))
        if delta == 0:
            continue
        txn_type, txn_id = key
        record = book.qbo.get(txn_type, {}).get(txn_id)
        if record is None:
            raise _Refused(
                _fault(
                    400,
                    "Invalid Reference Id",
                    f"Invalid Reference Id : {txn_type} {txn_id}",
                    "2500",
                )
            )
        owner = str((record.get("CustomerRef") or {}).get("value", ""))
        if owner != customer_id:
            raise _Refused(_business(f"{txn_type} {txn_id} belongs to another customer"))
        field_name = "Balance" if txn_type == "Invoice" else "RemainingCredit"
        current = Decimal(record.get(field_name, record.get("Balance", 0)))
        after = current - delta
        if after < 0:
            what = "invoice balance" if txn_type == "Invoice" else "credit memo's remaining credit"
            raise _Refused(
                _business(
                    f"the amount applied to {txn_type} {txn_id} exceeds the {what} ({current})"
                )
            )
        if after > Decimal(record.get("TotalAmt", after)):
            raise _Refused(_business(f"{txn_type} {txn_id} would exceed its total"))
        changes.append((record, field_name, after))
    return changes


def _apply_changes(
    changes: list[Change],
    new: dict[tuple[str, str], Decimal],
    payment_id: str,
    moment: str,
) -> None:
    """Move the checked balances; an invoice's LinkedTxn lists the payment while the
    payment still pays some of it."""
    for record, field_name, after in changes:
        record[field_name] = after
        if field_name == "RemainingCredit":
            record["Balance"] = after
        if record.get("Id") is not None and field_name == "Balance":
            links = [
                t
                for t in record.get("LinkedTxn") or []
                if not (t.get("TxnType") == "Payment" and str(t.get("TxnId")) == payment_id)
            ]
            if new.get(("Invoice", str(record["Id"])), Decimal(0)) > 0:
                links.append({"TxnId": payment_id, "TxnType": "Payment"})
            record["LinkedTxn"] = links
        _touch(record, moment)


def _payment_record(
    customers: dict[str, Any],
    body: dict[str, Any],
    existing: dict[str, Any] | None,
    customer_id: str,
    payment_id: str,
    moment: str,
) -> dict[str, Any]:
    """The payment as QBO stores it: a new record from a create's body, or the
    existing one with the update's fields laid over it."""
    if existing is None:
        payment: dict[str, Any] = {
            "domain": "QBO",
            "sparse": False,
            "Id": payment_id,
            "SyncToken": "-1",
            "MetaData": {"CreateTime": moment, "LastUpdatedTime": moment},
            "TxnDate": body.get("TxnDate") or datetime.now(UTC).date().isoformat(),
            "CurrencyRef": body.get("CurrencyRef")
            or {"value": "USD", "name": "United States Dollar"},
            "CustomerRef": {
                "value": customer_id,
                "name": customers[customer_id].get("DisplayName", ""),
            },
        }
        for key in ("PrivateNote", "PaymentRefNum", "DepositToAccountRef"):
            if key in body:
                payment[key] = body[key]
        return payment
    for key, value in body.items():
        if key not in ("Id", "SyncToken", "sparse", "MetaData", "domain", "CustomerRef"):
            existing[key] = value
    return existing


def _save_payment(
    book: SandboxBook, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    """Validate then apply a payment create or update; the caller holds book.lock.

    Works on the difference between the lines before and after, so adding a line to
    an unapplied payment, or a zero payment linking an invoice and a credit memo,
    move exactly the linked balances. Everything is checked before the book changes.
    """
    payments = book.qbo.setdefault("Payment", {})
    customers = book.qbo.get("Customer", {})
    customer_id = _payment_customer(customers, body, existing)
    total = _money(body.get("TotalAmt", existing.get("TotalAmt") if existing else 0), "TotalAmt")
    new_lines = body["Line"] if "Line" in body else (existing or {}).get("Line", [])
    new = _applied(new_lines)
    old = _applied((existing or {}).get("Line", []))
    unapplied = _unapplied(total, new)
    changes = _balance_changes(book, customer_id, new, old)

    # Everything checked: now change the book.
    moment = _now_qbo()
    payment_id = existing["Id"] if existing else _next_id(book)
    _apply_changes(changes, new, payment_id, moment)
    customer = customers.get(customer_id)
    old_total = Decimal((existing or {}).get("TotalAmt", 0))
    if customer is not None and total != old_total:
        customer["Balance"] = Decimal(customer.get("Balance", 0)) - (total - old_total)

    payment = _payment_record(customers, body, existing, customer_id, payment_id, moment)
    payment["TotalAmt"] = total
    payment["UnappliedAmt"] = unapplied
    payment["Line"] = new_lines
    _touch(payment, moment)
    payments[payment_id] = payment
    return payment
