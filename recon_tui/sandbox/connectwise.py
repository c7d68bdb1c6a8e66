"""Emulated ConnectWise PSA (Manage REST 3.0) endpoints over ``book.connectwise``.

Served under ``/v4_6_release/apis/3.0/``:

* ``GET company/companies``, ``company/contacts``, ``finance/invoices`` (lists),
  ``.../{id}`` (one record) and ``.../count`` (``{"count": N}``);
* Basic auth ``sandbox+sandbox-public:sandbox-private`` and a ``clientId`` header,
  else 401 in ConnectWise's ``{"code", "message", "errors"}`` envelope;
* ``conditions`` (the subset people and the connector use: ``field op value``
  joined by ``and``/``or``, ``not``, parentheses; ops ``= != < > <= >=``,
  ``contains``, ``like`` with ``*`` or ``%``, ``in (...)``; values ``"strings"``,
  ``[datetimes]``, numbers, ``true``/``false``/``null``; nested fields like
  ``company/id``; ``lastUpdated`` resolving to ``_info/lastUpdated``); anything else
  is a 400 in the real envelope saying where the parse failed;
* ``orderBy=field asc|desc[, ...]``, ``page``/``pageSize`` (default 25, max 1000)
  with a ``Link`` header carrying first/prev/next/last like the real API;
* with header ``pagination-type: forward-only``: keyset pages in id order and a
  ``Link: <absolute url with pageId=...>; rel="next"`` header, empty on the last
  page (ConnectWise sends the header, blank, when there is nothing more).

* ``fields=id,company/id,_info/lastUpdated``: only those paths of each record;
* ``DELETE finance/invoices/{id}`` (204, and the invoice leaves the unposted list);
* ``finance/accounting/unpostedinvoices`` (and ``/count``): what the accounting
  interface has not exported yet (``id``, ``billingLogId``, ``invoiceNumber``,
  ``invoiceType``, ``company``, ``invoiceDate``, ``total``...), numbered pages.

Records go out exactly as stored (amounts as exact JSON numbers), in the shapes
of API version 2022.1: no ``glBatch`` on invoices, no ledger-id field (the
optional custom field is on a few invoices of the sample book only).

The conditions language lives in :mod:`cw_conditions` and :mod:`cw_query`, the
paging in :mod:`cw_pages` (indexed, so a page costs the page on a big book).

Sources: ConnectWise publishes its reference behind a login; the shapes and
endpoints follow the public clients generated from its OpenAPI schema
(HealthITAU/pyconnectwise ``src/pyconnectwise/models/manage/__init__.py``:
Invoice ``type`` Agreement/CreditMemo/DownPayment/Miscellaneous/Progress/Standard,
Contact ``disablePortalLoginFlag``, UnpostedInvoice, Count; its endpoints
``FinanceInvoicesIdEndpoint`` (GET, DELETE), ``FinanceInvoicesCountEndpoint``,
``FinanceAccountingUnpostedinvoicesEndpoint``), and for ``fields`` and forward-only
paging christaylorcodes/ConnectWiseManageAPI ``Invoke-CWMGetMaster.ps1`` and
``Invoke-CWMAllResult.ps1``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.cw_conditions import ConditionError, parse_conditions
from recon_tui.sandbox.cw_pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, _json, count_of, list_page
from recon_tui.sandbox.envelopes import connectwise_error

__all__ = [
    "API_ROOT",
    "CLIENT_ID",
    "COMPANY_ID",
    "DEFAULT_PAGE_SIZE",
    "ENDPOINTS",
    "MAX_PAGE_SIZE",
    "PRIVATE_KEY",
    "PUBLIC_KEY",
    "ConditionError",
    "grow_book",
    "parse_conditions",
    "routes",
]
API_ROOT = "/v4_6_release/apis/3.0"
COMPANY_ID = "sandbox"
PUBLIC_KEY = "sandbox-public"
PRIVATE_KEY = "sandbox-private"
CLIENT_ID = "00000000-0000-0000-0000-000000000000"
_EXPECTED_AUTH = base64.b64encode(f"{COMPANY_ID}+{PUBLIC_KEY}:{PRIVATE_KEY}".encode()).decode()

ENDPOINTS: dict[str, str] = {
    "company/companies": "companies",
    "company/contacts": "contacts",
    "finance/invoices": "invoices",
    "finance/accounting/unpostedinvoices": "unpostedinvoices",
}
"""URL path -> collection in ``book.connectwise``."""

DELETABLE = {"finance/invoices": "invoices"}
"""Collections whose records ``DELETE .../{id}`` removes (answering 204)."""


# --------------------------------------------------------------------------- errors
def _error(
    status: int, code: str, message: str, *, field: str | None = None, resource: str | None = None
) -> JSONResponse:
    body = connectwise_error(code, message)
    if field is not None:
        body["errors"] = [
            {
                "code": "InvalidField" if field != "conditions" else "InvalidConditions",
                "message": message,
                "resource": resource or "",
                "field": field,
            }
        ]
    return JSONResponse(body, status_code=status)


# --------------------------------------------------------------------------- HTTP
def _authorized(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return (
        scheme.lower() == "basic"
        and token.strip() == _EXPECTED_AUTH
        and bool(request.headers.get("clientid", "").strip())
    )


def _unauthorized(request: Request) -> JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or token.strip() != _EXPECTED_AUTH:
        message = "Invalid company, public key or private key"
    else:
        message = "A clientId header is required on every request (developer.connectwise.com)"
    return _error(401, "Unauthorized", message)


def _list_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        try:
            with book.lock:
                return list_page(book, collection, request)
        except ConditionError as exc:
            return _error(400, "InvalidObject", f"{exc}", field=exc.field, resource=collection)

    return handler


def _count_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        try:
            with book.lock:
                count = count_of(book, collection, request)
        except ConditionError as exc:
            return _error(400, "InvalidObject", f"{exc}", field=exc.field, resource=collection)
        return _json({"count": count})

    return handler


def _one_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        record_id = request.path_params["record_id"]
        with book.lock:
            record = book.connectwise.get(collection, {}).get(record_id)
        if record is None:
            noun = collection[:-1].capitalize()
            return _error(404, "NotFound", f"{noun} with id {record_id} not found")
        return _json(record)

    return handler


def _delete_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        record_id = request.path_params["record_id"]
        with book.lock:
            record = book.connectwise.get(collection, {}).pop(record_id, None)
            if record is not None and collection == "invoices":
                # A deleted invoice leaves the accounting interface's unposted list too.
                unposted = book.connectwise.get("unpostedinvoices", {})
                for key in [k for k, u in unposted.items()
                            if u.get("billingLogId") == record_id
                            or u.get("invoiceNumber") == record.get("invoiceNumber")]:
                    del unposted[key]
        if record is None:
            noun = collection[:-1].capitalize()
            return _error(404, "NotFound", f"{noun} with id {record_id} not found")
        return Response(status_code=204)

    return handler


def routes(book: SandboxBook) -> list[Route]:
    """The ConnectWise endpoints over ``book``."""
    out: list[Route] = []
    for path, collection in ENDPOINTS.items():
        out.append(
            Route(f"{API_ROOT}/{path}/count", _count_endpoint(book, collection), methods=["GET"])
        )
        out.append(
            Route(
                f"{API_ROOT}/{path}/{{record_id:int}}",
                _one_endpoint(book, collection),
                methods=["GET"],
            )
        )
        if path in DELETABLE:
            out.append(
                Route(
                    f"{API_ROOT}/{path}/{{record_id:int}}",
                    _delete_endpoint(book, collection),
                    methods=["DELETE"],
                )
            )
        out.append(Route(f"{API_ROOT}/{path}", _list_endpoint(book, collection), methods=["GET"]))
    return out


# --------------------------------------------------------------------------- test support
def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _synthetic_company(n: int, base: datetime) -> dict[str, Any]:
    """Company ``n`` of a grown book: an active client."""
    return {
        "id": n,
        "identifier": f"Synth{n}",
        "name": f"Synthetic Client {n}",
        "status": {"id": 1, "name": "Active"},
        "deletedFlag": False,
        "types": [{"id": 1, "name": "Client"}],
        "_info": {
            "lastUpdated": _iso(base + timedelta(hours=n % 7000)),
            "dateEntered": _iso(base - timedelta(days=400)),
        },
    }


def _company_ref(company: dict[str, Any]) -> dict[str, Any]:
    """The ``company`` reference a contact or an invoice carries."""
    return {"id": company["id"], "identifier": company["identifier"], "name": company["name"]}


def _synthetic_contact(n: int, company: dict[str, Any], base: datetime) -> dict[str, Any]:
    """Contact ``n`` of ``company``, with one e-mail (every 11th inactive)."""
    return {
        "id": n,
        "firstName": "Synth",
        "lastName": f"Contact{n}",
        "company": _company_ref(company),
        "portalSecurityLevel": 1 + n % 6,
        "inactiveFlag": n % 11 == 0,
        "communicationItems": [
            {
                "id": n * 10 + 1,
                "type": {"id": 1, "name": "Email"},
                "value": f"contact{n}@synthetic.example.com",
                "defaultFlag": True,
                "communicationType": "Email",
            }
        ],
        "_info": {"lastUpdated": _iso(base + timedelta(hours=n % 7000))},
    }


def _synthetic_invoice(n: int, company: dict[str, Any], base: datetime) -> dict[str, Any]:
    """Invoice ``n`` of ``company`` (every third paid in full)."""
    total = Decimal(f"{100 + n % 900}.{n % 100:02d}")
    paid = n % 3 == 0
    day = date(2025, 12, 1) + timedelta(days=n % 330)
    return {
        "id": n,
        "invoiceNumber": f"S{n}",
        "type": "Standard",
        "status": {"id": 4 if paid else 2, "name": "Paid" if paid else "Sent"},
        "company": _company_ref(company),
        "applyToType": "All",
        "date": f"{day.isoformat()}T00:00:00Z",
        "dueDate": f"{(day + timedelta(days=30)).isoformat()}T00:00:00Z",
        "billingTerms": {"id": 1, "name": "Net 30 days"},
        "subtotal": total,
        "salesTax": Decimal("0.00"),
        "total": total,
        "payments": total if paid else Decimal("0.00"),
        "credits": Decimal("0.00"),
        "balance": Decimal("0.00") if paid else total,
        "currency": {"id": 1, "currencyCode": "USD", "name": "US Dollars"},
        "_info": {
            "lastUpdated": _iso(base + timedelta(hours=n % 7000)),
            "dateEntered": f"{day.isoformat()}T18:05:00Z",
        },
    }


def grow_book(book: SandboxBook, at_least: int = 2600, *, extra_invoices: int = 0) -> None:
    """Add synthetic companies, contacts and invoices until each collection holds
    ``at_least`` records (invoices ``extra_invoices`` more), for paging tests
    (deterministic; ids above the demo's)."""
    base = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    with book.lock:
        cw = book.connectwise
        companies = cw.setdefault("companies", {})
        contacts = cw.setdefault("contacts", {})
        invoices = cw.setdefault("invoices", {})
        next_id = max(companies, default=0) + 1
        while len(companies) < at_least:
            companies[next_id] = _synthetic_company(next_id, base)
            next_id += 1
        company_ids = sorted(companies)
        next_id = max(contacts, default=0) + 1
        while len(contacts) < at_least:
            company = companies[company_ids[next_id % len(company_ids)]]
            contacts[next_id] = _synthetic_contact(next_id, company, base)
            next_id += 1
        next_id = max(invoices, default=0) + 1
        while len(invoices) < at_least + extra_invoices:
            company = companies[company_ids[next_id % len(company_ids)]]
            invoices[next_id] = _synthetic_invoice(next_id, company, base)
            next_id += 1
