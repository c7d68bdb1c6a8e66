"""Emulated ConnectWise invoice payments: ``finance/invoices/{id}/payments``.

Served under ``/v4_6_release/apis/3.0/`` with the same Basic auth and
``clientId`` header as every ConnectWise route (:mod:`connectwise`):

* ``GET finance/invoices/{id}/payments``: the invoice's payments, numbered
  pages (``page``/``pageSize``, default 25, at most 1000, with the ``Link``
  header) or forward-only keyset pages, ``conditions``, ``orderBy`` and
  ``fields`` as on the other list routes; 404 in ConnectWise's envelope for an
  invoice that does not exist. There is no ``/count`` for this sub-resource;
* ``GET .../payments/{paymentId}``: one payment;
* ``POST .../payments`` with ``{"amount", "paymentDate", "invoice": {"id"}}``
  (``credit: {"id"}`` applies a credit memo instead of money): 201 and the
  payment; the invoice's ``payments`` (or ``credits``), ``balance``, ``status``
  and ``_info`` change with it, as does a credit memo's;
* ``DELETE .../payments/{paymentId}``: 204; the invoice's figures go back.

The record is the ``Payment`` model and nothing else: ``id``, ``invoice``
(``{"id", "identifier"}``), ``credit`` (the same, for a credit memo applied),
``amount``, ``paymentDate``, ``appliedBy``, ``_info``. ``type`` is in the model
too, but no published source lists its values (pyconnectwise types it as a bare
``str``; the Ruby and PHP clients generated from ConnectWise's schema likewise),
so the emulator never serves it and ignores it in a POST.

Sources: ConnectWise's reference is behind a login; the shapes follow the
clients generated from its OpenAPI schema: HealthITAU/pyconnectwise
``src/pyconnectwise/models/manage/__init__.py`` (class ``Payment``,
``InvoiceReference``) and ``endpoints/manage/FinanceInvoicesIdPaymentsEndpoint.py``
(GET paged with page/pageSize, POST) and ``FinanceInvoicesIdPaymentsIdEndpoint.py``
(GET, PUT, PATCH, DELETE; no count endpoint exists for payments);
sowderca/connectwise-ruby-sdk ``docs/Payment.md`` (``amount`` the one required
field) and ``lib/.../invoice_payments_api.rb`` (conditions, orderBy, page,
pageSize). What ConnectWise answers for more than the balance is not published:
the emulator refuses it (400, like a payment of zero or less) so a balance never
goes below zero; a lost answer retried blindly then shows as a refusal or, for a
part payment, as two payments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recon_tui.jsonio import decode
from recon_tui.sandbox import connectwise as cw
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.cw_conditions import ConditionError, _parse_datetime, parse_conditions
from recon_tui.sandbox.cw_pages import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    _forward_page,
    _int_param,
    _json,
    _numbered_page,
)
from recon_tui.sandbox.cw_query import _known_paths, _matches, _order_by, _sorted

__all__ = ["API_MEMBER", "PaymentRefused", "apply_payment", "remove_payment", "routes"]

#: The member whose API keys the emulator accepts: what ConnectWise records in
#: ``appliedBy`` and ``_info.updatedBy`` for a payment posted through the API.
API_MEMBER = "sandbox-api"
COUNTER = "connectwise payments"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#: The status names and ids of the sample book's invoices (ConnectWise lets each
#: company name its own; these are the ones ``sample_data`` uses).
STATUS = {"New": 1, "Sent": 2, "Partially Paid": 3, "Paid": 4, "Void": 5}

#: Every field a payment can have, so ``conditions`` and ``orderBy`` know them
#: even on an invoice that has no payment yet.
_TEMPLATE: dict[str, Any] = {
    "id": 0, "invoice": {"id": 0, "identifier": ""}, "credit": {"id": 0, "identifier": ""},
    "amount": ZERO, "paymentDate": "", "appliedBy": "",
    "_info": {"lastUpdated": "", "updatedBy": "", "dateEntered": "", "enteredBy": ""},
}


class PaymentRefused(ValueError):
    """A payment ConnectWise would not take; ``field`` names the culprit."""

    def __init__(self, message: str, field: str = "amount", status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reference(invoice: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(invoice["id"]), "identifier": str(invoice.get("invoiceNumber", ""))}


def _settle(book: SandboxBook, invoice: dict[str, Any], moment: datetime) -> None:
    """Status and ``_info`` after the invoice's payments or credits changed (a credit
    memo's amounts are negative: its balance is minus what is left of it)."""
    total = Decimal(invoice.get("total", 0))
    balance = Decimal(invoice.get("balance", 0))
    unposted = {str(u.get("invoiceNumber"))
                for u in book.connectwise.get("unpostedinvoices", {}).values()}
    opened = "New" if str(invoice.get("invoiceNumber")) in unposted else "Sent"
    if balance == 0:
        name = "Paid"
    elif invoice.get("type") != "CreditMemo" and balance < total:
        name = "Partially Paid"
    else:
        name = opened
    invoice["status"] = {"id": STATUS[name], "name": name}
    info = invoice.setdefault("_info", {})
    info["lastUpdated"] = _stamp(moment)
    info["updatedBy"] = API_MEMBER


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise PaymentRefused("amount must be a number")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise PaymentRefused("amount must be a number") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise PaymentRefused("amount must be a number with at most two decimals")
    if amount <= 0:
        raise PaymentRefused("amount must be greater than zero")
    return amount.quantize(CENT)


def _payment_date(value: Any, now: datetime) -> str:
    if value is None or value == "":
        return _stamp(now.replace(hour=0, minute=0, second=0, microsecond=0))
    if not isinstance(value, str):
        raise PaymentRefused("paymentDate must be a date-time like 2026-11-20T00:00:00Z",
                             "paymentDate")
    try:
        return _stamp(_parse_datetime(value))
    except ValueError:
        raise PaymentRefused("paymentDate must be a date-time like 2026-11-20T00:00:00Z",
                             "paymentDate") from None


def _ref_id(value: Any, field: str) -> int:
    raw = value.get("id") if isinstance(value, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise PaymentRefused(f"{field}/id must be a record id", f"{field}/id")
    return int(raw)


def apply_payment(book: SandboxBook, invoice_id: int, body: dict[str, Any], *,
                  now: datetime | None = None, applied_by: str = API_MEMBER
                  ) -> dict[str, Any]:
    """Validate and record one payment (or credit memo applied) on an invoice.

    Raises :class:`PaymentRefused`; nothing changes then. Takes the book's lock."""
    moment = now or datetime.now(UTC)
    with book.lock:
        invoices = book.connectwise.setdefault("invoices", {})
        invoice = invoices.get(invoice_id)
        if invoice is None:
            raise PaymentRefused(f"Invoice with id {invoice_id} not found", "id", 404)
        if "invoice" in body and _ref_id(body["invoice"], "invoice") != invoice_id:
            raise PaymentRefused("invoice/id must be the invoice of the URL", "invoice/id")
        amount = _amount(body.get("amount"))
        date_text = _payment_date(body.get("paymentDate"), moment)
        if invoice.get("type") == "CreditMemo":
            raise PaymentRefused("payments apply to invoices, not to credit memos", "id")
        if invoice.get("status", {}).get("name") == "Void":
            raise PaymentRefused("the invoice is void", "id")
        balance = Decimal(invoice.get("balance", 0))
        if amount > balance:
            raise PaymentRefused(f"amount {amount} exceeds the invoice balance {balance}")
        memo = None
        if body.get("credit") is not None:
            memo = invoices.get(_ref_id(body["credit"], "credit"))
            if memo is None or memo.get("type") != "CreditMemo":
                raise PaymentRefused("credit/id must name a credit memo", "credit/id")
            if (memo.get("company") or {}).get("id") != (invoice.get("company") or {}).get("id"):
                raise PaymentRefused("the credit memo belongs to another company", "credit/id")
            remaining = -Decimal(memo.get("balance", 0))
            if amount > remaining:
                raise PaymentRefused(f"amount {amount} exceeds the credit memo's remaining "
                                     f"credit {remaining}")
        payments = book.connectwise.setdefault("payments", {})
        stamp = _stamp(moment)
        record: dict[str, Any] = {"id": book.next_id(COUNTER, payments),
                                  "invoice": _reference(invoice)}
        if memo is not None:
            record["credit"] = _reference(memo)
        record |= {"amount": amount, "paymentDate": date_text, "appliedBy": applied_by,
                   "_info": {"lastUpdated": stamp, "updatedBy": applied_by,
                             "dateEntered": stamp, "enteredBy": applied_by}}
        payments[record["id"]] = record
        _move(book, invoice, memo, amount, moment)
        return record


def _move(book: SandboxBook, invoice: dict[str, Any], memo: dict[str, Any] | None,
          amount: Decimal, moment: datetime) -> None:
    """Apply ``amount`` (negative: take it back) to the invoice and the memo."""
    field = "credits" if memo is not None else "payments"
    invoice[field] = Decimal(invoice.get(field, 0)) + amount
    invoice["balance"] = Decimal(invoice.get("balance", 0)) - amount
    _settle(book, invoice, moment)
    if memo is not None:
        memo["credits"] = Decimal(memo.get("credits", 0)) - amount
        memo["balance"] = Decimal(memo.get("balance", 0)) + amount
        _settle(book, memo, moment)
    _forget_autotask_view(book)
    book.changed()


def remove_payment(book: SandboxBook, invoice_id: int, payment_id: int, *,
                   now: datetime | None = None) -> dict[str, Any] | None:
    """Delete one payment of an invoice and give back what it applied (None when
    the invoice has no such payment)."""
    moment = now or datetime.now(UTC)
    with book.lock:
        payments = book.connectwise.setdefault("payments", {})
        record = payments.get(payment_id)
        invoices = book.connectwise.get("invoices", {})
        invoice = invoices.get(invoice_id)
        if record is None or invoice is None or record["invoice"]["id"] != invoice_id:
            return None
        del payments[payment_id]
        memo = invoices.get(record["credit"]["id"]) if record.get("credit") else None
        _move(book, invoice, memo, -Decimal(record["amount"]), moment)
        return record


def invoice_payments(book: SandboxBook, invoice_id: int) -> list[dict[str, Any]]:
    with book.lock:
        return [p for p in book.connectwise.get("payments", {}).values()
                if p["invoice"]["id"] == invoice_id]


def _forget_autotask_view(book: SandboxBook) -> None:
    from recon_tui.sandbox.autotask import invalidate

    invalidate(book)


# --------------------------------------------------------------------------- HTTP
Handler = Callable[[Request], Awaitable[Response]]
#: A payment route handler: the book, the request and its (known) invoice id.
InvoiceHandler = Callable[[SandboxBook, Request, int], Awaitable[Response]]


def _guarded(book: SandboxBook, handler: InvoiceHandler) -> Handler:
    """Auth first, then the invoice must exist (404 in ConnectWise's envelope)."""

    async def endpoint(request: Request) -> Response:
        if not cw._authorized(request):
            return cw._unauthorized(request)
        invoice_id = request.path_params["invoice_id"]
        with book.lock:
            known = invoice_id in book.connectwise.get("invoices", {})
        if not known:
            return cw._error(404, "NotFound", f"Invoice with id {invoice_id} not found")
        return await handler(book, request, invoice_id)

    return endpoint


async def _listing(book: SandboxBook, request: Request, invoice_id: int) -> Response:
    """``GET .../payments``: conditions, then a numbered or forward-only page."""
    records = invoice_payments(book, invoice_id)
    paths = _known_paths([_TEMPLATE, *records])
    try:
        conditions = request.query_params.get("conditions")
        if conditions is not None:
            tree = parse_conditions(conditions)
            records = [r for r in records if _matches(tree, r, paths)]
        size = min(_int_param(request, "pageSize", DEFAULT_PAGE_SIZE, 1),
                   MAX_PAGE_SIZE)
        if request.headers.get("pagination-type", "").strip().lower() == "forward-only":
            return _forward_page(request, records, size)
        order_text = request.query_params.get("orderBy", "").strip()
        order = _order_by(order_text, paths) if order_text else []
        page = _int_param(request, "page", 1, 1)
        return _numbered_page(request, _sorted(records, order), page, size)
    except ConditionError as exc:
        return cw._error(400, "InvalidObject", str(exc), field=exc.field,
                         resource="payment")


async def _one(book: SandboxBook, request: Request, invoice_id: int) -> Response:
    """``GET .../payments/{paymentId}``: one payment of this invoice."""
    payment_id = request.path_params["payment_id"]
    found = [p for p in invoice_payments(book, invoice_id) if p["id"] == payment_id]
    if not found:
        return cw._error(404, "NotFound", f"Payment with id {payment_id} not found")
    return _json(found[0])


async def _create(book: SandboxBook, request: Request, invoice_id: int) -> Response:
    """``POST .../payments``: 201 and the payment, or the refusal."""
    try:
        body = decode(await request.body())
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return cw._error(400, "InvalidObject", "The request body must be a JSON object")
    try:
        record = apply_payment(book, invoice_id, body)
    except PaymentRefused as exc:
        if exc.status == 404:
            return cw._error(404, "NotFound", str(exc))
        return cw._error(400, "InvalidObject", str(exc), field=exc.field,
                         resource="payment")
    response = _json(record)
    response.status_code = 201
    return response


async def _delete(book: SandboxBook, request: Request, invoice_id: int) -> Response:
    """``DELETE .../payments/{paymentId}``: 204, the invoice's figures back."""
    payment_id = request.path_params["payment_id"]
    if remove_payment(book, invoice_id, payment_id) is None:
        return cw._error(404, "NotFound", f"Payment with id {payment_id} not found")
    return Response(status_code=204)


#: (path under the invoice's payments, method, handler), in matching order.
PAYMENT_ROUTES: list[tuple[str, str, InvoiceHandler]] = [
    ("", "GET", _listing),
    ("", "POST", _create),
    ("/{payment_id:int}", "GET", _one),
    ("/{payment_id:int}", "DELETE", _delete),
]


def routes(book: SandboxBook) -> list[Route]:
    """The payment routes over ``book``."""
    base = f"{cw.API_ROOT}/finance/invoices/{{invoice_id:int}}/payments"
    return [Route(f"{base}{path}", _guarded(book, handler), methods=[method])
            for path, method, handler in PAYMENT_ROUTES]
