"""The QuickBooks Online emulator: OAuth2 token endpoint and the v3 Accounting API
subset recon-tui uses, over ``book.qbo`` (entities in their API shape).

It behaves the way the real service does where connectors tend to go wrong:

* refresh tokens rotate on every refresh and the previous one stops working
  (``invalid_grant``); the seed token ``sandbox-refresh-token`` is always
  accepted so a restarted emulator still lets the demo in (unless
  ``QboAuth.seed_reusable`` is off); ``--faults slow@token:1+N`` with
  ``--slow-ms 500`` makes the token endpoint as slow as Intuit's;
* queries go through a real parser of QBO's SQL-like subset: a default page
  of 100, at most 1000, no ``OR``, inactive customers hidden unless the WHERE
  clause mentions ``Active``, no entity key in an empty answer;
* CDC looks back 30 days at most and reports deletions as ``status: Deleted``;
* writes honour ``requestid`` (a repeat returns the first answer, applied once)
  and ``SyncToken`` (stale -> fault 5010);
* ``invoice``, ``payment`` and ``creditmemo`` take ``?operation=delete`` with
  ``{"Id", "SyncToken"}`` and answer ``{"<Entity>": {"status": "Deleted", ...}}``:
  a hard delete, gone from queries and reads, reported by CDC (deleting a payment
  reopens what it paid; deleting an applied credit memo is not modelled);
* errors come in QBO's ``Fault`` envelope (lowercase ``fault`` for auth).

Sources, beside each behaviour above: queries, ``COUNT(*)`` and paging,
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries;
change data capture (30 days, 1,000 objects, ``status: Deleted``),
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture;
deletes, the entity pages of
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
and .../payment and .../invoice; ``COUNT(*)`` answering ``{"totalCount": N}`` as
python-quickbooks reads it (ej2/python-quickbooks ``quickbooks/mixins.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import error_for, now_iso, qbo_auth_fault
from recon_tui.sandbox.qbo_auth import CLIENT_ID, CLIENT_SECRET, SEED_REFRESH_TOKEN, QboAuth
from recon_tui.sandbox.qbo_parse import QueryError, parse_query
from recon_tui.sandbox.qbo_query import (
    _as_moment,
    _changed_since,
    _entity_name,
    _lookup,
    _sort_key,
    run_query,
)
from recon_tui.sandbox.qbo_writes import (
    NOT_FOUND_DETAIL,
    STALE_DETAIL,
    _business,
    _fault,
    _json,
    _not_found,
    _now_qbo,
    _Refused,
    _save_payment,
)
from recon_tui.sandbox.scale import make_big_ledger
from recon_tui.sandbox.wire import encode

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "NOT_FOUND_DETAIL",
    "SEED_REFRESH_TOKEN",
    "STALE_DETAIL",
    "QboAuth",
    "QboEmulatorState",
    "QueryError",
    "make_big_ledger",
    "parse_query",
    "routes",
    "run_query",
]

CDC_LOOKBACK = timedelta(days=30)
CDC_OBJECT_LIMIT = 1000

#: Path segment -> entity name, for reads (``GET invoice/{id}``).
READABLE = {
    "invoice": "Invoice",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "customer": "Customer",
}


@dataclass(frozen=True, slots=True)
class QboRequest:
    """One authorised API request, as the emulator saw it."""

    method: str
    path: str
    params: dict[str, str]


@dataclass
class QboEmulatorState:
    """Everything the QBO routes keep besides the book's entities."""

    auth: QboAuth = field(default_factory=QboAuth)
    #: requestid -> (status, body) of the first successful write with that id.
    writes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: deque[QboRequest] = field(default_factory=lambda: deque(maxlen=20_000))
    #: Test support: this many next writes commit, then answer 503 as if the
    #: response were lost on the way back (the client retries with its requestid).
    fail_after_commit: int = 0

    def queries(self) -> list[str]:
        """The query texts received, in order."""
        return [r.params.get("query", "") for r in self.requests if r.path.endswith("/query")]


# =========================================================================== routes
Handler = Callable[[Request], Awaitable[Response]]


def routes(book: SandboxBook) -> list[Route]:
    """The token endpoint and the v3 company routes, over ``book``.

    The emulator's own state goes on ``book.qbo_state`` (tokens fresh on every
    start, like a restarted service; the requestid log kept with the book).
    """
    previous = getattr(book, "qbo_state", None)
    state = QboEmulatorState()
    if previous is not None:
        state.writes = previous.writes
    book.qbo_state = state  # type: ignore[attr-defined]

    def authed(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not state.auth.access_ok(token.strip()):
                return _json(qbo_auth_fault(), 401)
            minor = request.query_params.get("minorversion")
            if minor is not None and not minor.isdigit():
                return _fault(
                    400, "Invalid minorversion", f"minorversion {minor!r} is not a number", "4000"
                )
            state.requests.append(
                QboRequest(request.method, request.url.path, dict(request.query_params))
            )
            return await handler(request)

        return endpoint

    async def token(request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        from recon_tui.sandbox import onboarding  # late: it imports this module

        if scheme.lower() != "basic" or not onboarding.client_ok(book, client_id, secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if form.get("grant_type", [""])[0] == "authorization_code":
            return onboarding.exchange_code(book, state.auth, client_id, form)
        if form.get("grant_type", [""])[0] != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        answer = state.auth.grant(form.get("refresh_token", [""])[0])
        if answer is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def query(request: Request) -> Response:
        text = request.query_params.get("query", "")
        try:
            result = run_query(book, text)
        except QueryError as exc:
            return _fault(400, exc.message, exc.detail, exc.code)
        return _json({"QueryResponse": result, "time": now_iso()})

    async def read(request: Request) -> Response:
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

    async def cdc(request: Request) -> Response:
        names = [
            n.strip() for n in request.query_params.get("entities", "").split(",") if n.strip()
        ]
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
                rows = (changed + deleted)[:budget]
                budget -= len(rows)
                responses.append(
                    {entity: rows, "startPosition": 1, "maxResults": len(rows)} if rows else {}
                )
            body = encode({"CDCResponse": [{"QueryResponse": responses}], "time": now_iso()})
        return Response(body, media_type="application/json")

    async def write(request: Request, apply: Callable[[dict[str, Any]], Response]) -> Response:
        """Shared by every write: JSON body, requestid replay, lost-response simulation."""
        try:
            body = json.loads(await request.body(), parse_float=Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError):
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

    def deletion(entity: str, body: dict[str, Any]) -> dict[str, Any] | Response:
        """The record a ``?operation=delete`` names, or the fault QBO answers."""
        record = book.qbo.setdefault(entity, {}).get(str(body.get("Id", "")))
        if record is None:
            return _not_found()
        if str(body.get("SyncToken")) != str(record.get("SyncToken")):
            return _fault(400, "Stale Object Error", STALE_DETAIL, "5010")
        return record

    def deleted(entity: str, record_id: str) -> Response:
        """Hard delete: gone from queries and reads, reported by CDC as Deleted."""
        del book.qbo[entity][record_id]
        book.qbo_deleted.append((entity, record_id, _now_qbo()))
        return _json({entity: {"domain": "QBO", "status": "Deleted", "Id": record_id},
                      "time": now_iso()})

    async def payment(request: Request) -> Response:
        if request.query_params.get("operation") == "delete":
            # Deleting a payment gives back what it paid: its invoices reopen and the
            # credit memos it used regain their credit (the lines are unwound).
            def remove(body: dict[str, Any]) -> Response:
                found = deletion("Payment", body)
                if isinstance(found, Response):
                    return found
                _save_payment(book, {"TotalAmt": 0, "Line": []}, found)
                return deleted("Payment", str(found["Id"]))

            return await write(request, remove)

        def apply(body: dict[str, Any]) -> Response:
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

        return await write(request, apply)

    async def invoice(request: Request) -> Response:
        if request.query_params.get("operation") != "delete":
            return _fault(
                400,
                "Unsupported Operation",
                "The emulator supports only operation=delete on invoices",
                "500",
            )

        def apply(body: dict[str, Any]) -> Response:
            found = deletion("Invoice", body)
            if isinstance(found, Response):
                return found
            customer = book.qbo.get("Customer", {}).get(
                str((found.get("CustomerRef") or {}).get("value", ""))
            )
            if customer is not None:  # its open balance leaves the customer's
                customer["Balance"] = Decimal(customer.get("Balance", 0)) - Decimal(
                    found.get("Balance", 0)
                )
            return deleted("Invoice", str(found["Id"]))

        return await write(request, apply)

    async def credit_memo(request: Request) -> Response:
        if request.query_params.get("operation") != "delete":
            return _fault(400, "Unsupported Operation",
                          "The emulator supports only operation=delete on credit memos", "500")

        def remove(body: dict[str, Any]) -> Response:
            found = deletion("CreditMemo", body)
            if isinstance(found, Response):
                return found
            if Decimal(found.get("RemainingCredit", 0)) != Decimal(found.get("TotalAmt", 0)):
                # Not modelled here: QBO unlinks an applied memo from its payments.
                return _business("the emulator deletes only credit memos not yet applied")
            return deleted("CreditMemo", str(found["Id"]))

        return await write(request, remove)

    company = "/v3/company/{realm:str}"
    return [
        Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
        Route(f"{company}/query", authed(query), methods=["GET"]),
        Route(f"{company}/cdc", authed(cdc), methods=["GET"]),
        Route(f"{company}/payment", authed(payment), methods=["POST"]),
        Route(f"{company}/invoice", authed(invoice), methods=["POST"]),
        Route(f"{company}/creditmemo", authed(credit_memo), methods=["POST"]),
        Route(f"{company}/{{entity:str}}/{{entity_id:str}}", authed(read), methods=["GET"]),
    ]
