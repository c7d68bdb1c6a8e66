"""The QBO emulator's v3 route handlers other than the query: reads, change data
capture and the writes, each a named function of ``(book, state, request)``.

Split from :mod:`qbo`, whose :func:`~recon_tui.sandbox.qbo.routes` binds them to
their paths (the router table). The rules a write applies live in
:mod:`qbo_writes`; the query language in :mod:`qbo_parse` and :mod:`qbo_query`.

Sources: change data capture (30 days, 1,000 objects, ``status: Deleted``),
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture;
deletes (``?operation=delete`` with ``{"Id", "SyncToken"}``), the entity pages of
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
and .../payment and .../invoice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from recon_tui.jsonio import JsonError, decode, encode
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import error_for, now_iso
from recon_tui.sandbox.qbo_parse import QueryError
from recon_tui.sandbox.qbo_query import _as_moment, _changed_since, _entity_name, _lookup, _sort_key
from recon_tui.sandbox.qbo_writes import (
    STALE_DETAIL,
    _business,
    _fault,
    _json,
    _not_found,
    _now_qbo,
    _Refused,
    _save_payment,
)

if TYPE_CHECKING:
    from recon_tui.sandbox.qbo import QboEmulatorState

__all__ = ["CDC_LOOKBACK", "CDC_OBJECT_LIMIT", "READABLE", "cdc", "credit_memo", "invoice",
           "payment", "read"]

CDC_LOOKBACK = timedelta(days=30)
CDC_OBJECT_LIMIT = 1000

#: Path segment -> entity name, for reads (``GET invoice/{id}``).
READABLE = {
    "invoice": "Invoice",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "customer": "Customer",
}

Apply = Callable[[dict[str, Any]], Response]


# =========================================================================== reads
async def read(book: SandboxBook, state: QboEmulatorState, request: Request) -> Response:
    """``GET {entity}/{id}``: one record in its API shape, or QBO's not-found fault."""
    entity = READABLE.get(request.path_params["entity"].lower())
    if entity is None:
        return _fault(
            400,
            "Unsupported Operation",
            f"Operation read is not supported for {request.path_params['entity']}",
            "500",
        )
    entity_id = request.path_params["entity_id"]
    with book.lock:
        record = book.qbo.get(entity, {}).get(entity_id)
        body = encode({entity: record, "time": now_iso()}) if record else None
    if body is None:
        return _not_found()
    return Response(body, media_type="application/json")


async def cdc(book: SandboxBook, state: QboEmulatorState, request: Request) -> Response:
    """``GET cdc``: what changed since a moment at most 30 days back, deletions as
    ``status: Deleted``, 1,000 objects at most over all the entities asked."""
    names = [n.strip() for n in request.query_params.get("entities", "").split(",") if n.strip()]
    since_text = request.query_params.get("changedSince", "")
    since = _as_moment(since_text)
    if not names or since is None:
        return _fault(
            400,
            "Required param missing, need to supply the required value for the API",
            "entities and changedSince are required",
            "2020",
        )
    if datetime.now(UTC) - since > CDC_LOOKBACK:
        return _fault(
            400, "Invalid changedSince", "changedSince must be within the last 30 days", "4001"
        )
    try:
        entities = [_entity_name(book, n) for n in names]
    except QueryError as exc:
        return _fault(400, exc.message, exc.detail, exc.code)
    budget = CDC_OBJECT_LIMIT
    responses: list[dict[str, Any]] = []
    with book.lock:
        for entity in entities:
            rows = _cdc_rows(book, entity, since)[:budget]
            budget -= len(rows)
            responses.append(
                {entity: rows, "startPosition": 1, "maxResults": len(rows)} if rows else {}
            )
        body = encode({"CDCResponse": [{"QueryResponse": responses}], "time": now_iso()})
    return Response(body, media_type="application/json")


def _cdc_rows(book: SandboxBook, entity: str, since: datetime) -> list[dict[str, Any]]:
    """One entity's changes since ``since``: the records by LastUpdatedTime, then the
    deletions (the caller holds book.lock)."""
    changed = [
        r
        for r in book.qbo[entity].values()
        if _changed_since(_lookup(r, "MetaData.LastUpdatedTime"), since)
    ]
    changed.sort(key=lambda r: _sort_key(_lookup(r, "MetaData.LastUpdatedTime")))
    deleted = [
        {
            "domain": "QBO",
            "status": "Deleted",
            "Id": key,
            "MetaData": {"LastUpdatedTime": when},
        }
        for name, key, when in book.qbo_deleted
        if name == entity and _changed_since(when, since)
    ]
    return changed + deleted


# =========================================================================== writes
async def _write(
    book: SandboxBook, state: QboEmulatorState, request: Request, apply: Apply
) -> Response:
    """Shared by every write: JSON body, requestid replay, lost-response simulation."""
    try:
        body = decode(await request.body())
    except JsonError:
        body = None
    if not isinstance(body, dict):
        return _fault(
            400,
            "Request has invalid or unsupported property",
            "The request body must be a JSON object",
            "2010",
        )
    request_id = request.query_params.get("requestid")
    with book.lock:
        if request_id and request_id in state.writes:
            status, cached = state.writes[request_id]
            return Response(cached, status_code=status, media_type="application/json")
        try:
            response = apply(body)
        except _Refused as refused:
            return refused.response
        if request_id and response.status_code == 200:
            state.writes[request_id] = (response.status_code, bytes(response.body))
        if state.fail_after_commit > 0:
            state.fail_after_commit -= 1
            return JSONResponse(
                error_for("qbo", 503, "Service unavailable (after commit)"), status_code=503
            )
    return response


def _deletion(book: SandboxBook, entity: str, body: dict[str, Any]) -> dict[str, Any] | Response:
    """The record a ``?operation=delete`` names, or the fault QBO answers."""
    record = book.qbo.setdefault(entity, {}).get(str(body.get("Id", "")))
    if record is None:
        return _not_found()
    if str(body.get("SyncToken")) != str(record.get("SyncToken")):
        return _fault(400, "Stale Object Error", STALE_DETAIL, "5010")
    return record


def _deleted(book: SandboxBook, entity: str, record_id: str) -> Response:
    """Hard delete: gone from queries and reads, reported by CDC as Deleted."""
    del book.qbo[entity][record_id]
    book.qbo_deleted.append((entity, record_id, _now_qbo()))
    return _json({entity: {"domain": "QBO", "status": "Deleted", "Id": record_id},
                  "time": now_iso()})


async def payment(book: SandboxBook, state: QboEmulatorState, request: Request) -> Response:
    """``POST payment``: create, update (by Id and SyncToken) or ``?operation=delete``."""
    if request.query_params.get("operation") == "delete":
        return await _write(book, state, request, partial(_delete_payment, book))
    return await _write(book, state, request, partial(_save_payment_body, book))


def _delete_payment(book: SandboxBook, body: dict[str, Any]) -> Response:
    """Deleting a payment gives back what it paid: its invoices reopen and the
    credit memos it used regain their credit (the lines are unwound)."""
    found = _deletion(book, "Payment", body)
    if isinstance(found, Response):
        return found
    _save_payment(book, {"TotalAmt": 0, "Line": []}, found)
    return _deleted(book, "Payment", str(found["Id"]))


def _save_payment_body(book: SandboxBook, body: dict[str, Any]) -> Response:
    """A create, or an update of the payment the body's Id names at its SyncToken."""
    payments = book.qbo.setdefault("Payment", {})
    existing = None
    if body.get("Id") is not None:
        existing = payments.get(str(body["Id"]))
        if existing is None:
            return _not_found()
        if str(body.get("SyncToken")) != str(existing.get("SyncToken")):
            return _fault(400, "Stale Object Error", STALE_DETAIL, "5010")
    saved = _save_payment(book, body, existing)
    return _json({"Payment": saved, "time": now_iso()})


async def invoice(book: SandboxBook, state: QboEmulatorState, request: Request) -> Response:
    """``POST invoice?operation=delete``: the only invoice write the emulator takes."""
    if request.query_params.get("operation") != "delete":
        return _fault(
            400,
            "Unsupported Operation",
            "The emulator supports only operation=delete on invoices",
            "500",
        )
    return await _write(book, state, request, partial(_delete_invoice, book))


def _delete_invoice(book: SandboxBook, body: dict[str, Any]) -> Response:
    """The invoice goes; its open balance leaves the customer's."""
    found = _deletion(book, "Invoice", body)
    if isinstance(found, Response):
        return found
    customer = book.qbo.get("Customer", {}).get(
        str((found.get("CustomerRef") or {}).get("value", ""))
    )
    if customer is not None:
        customer["Balance"] = Decimal(customer.get("Balance", 0)) - Decimal(
            found.get("Balance", 0)
        )
    return _deleted(book, "Invoice", str(found["Id"]))


async def credit_memo(book: SandboxBook, state: QboEmulatorState, request: Request) -> Response:
    """``POST creditmemo?operation=delete``, for memos not yet applied."""
    if request.query_params.get("operation") != "delete":
        return _fault(400, "Unsupported Operation",
                      "The emulator supports only operation=delete on credit memos", "500")
    return await _write(book, state, request, partial(_delete_credit_memo, book))


def _delete_credit_memo(book: SandboxBook, body: dict[str, Any]) -> Response:
    """A memo whose credit is untouched goes; an applied one is refused."""
    found = _deletion(book, "CreditMemo", body)
    if isinstance(found, Response):
        return found
    if Decimal(found.get("RemainingCredit", 0)) != Decimal(found.get("TotalAmt", 0)):
        # Not modelled here: QBO unlinks an applied memo from its payments.
        return _business("the emulator deletes only credit memos not yet applied")
    return _deleted(book, "CreditMemo", str(found["Id"]))
