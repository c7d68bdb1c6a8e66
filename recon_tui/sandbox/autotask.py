"""Emulated Autotask PSA REST v1.0 endpoints, derived from the ConnectWise book.

Both PSAs serve the same clients: Companies, Contacts, ClientPortalUsers and
Invoices are derived once from ``book.connectwise`` (same ids and amounts) and
cached on the book (rebuilt when a collection's size changes; call
:func:`invalidate` after editing records in place).

Served under ``/atservicesrest/v1.0/``:

* headers ``ApiIntegrationCode``, ``UserName``, ``Secret`` checked against the
  sandbox credentials (config.example.toml), else 401 ``{"errors": [...]}``;
* ``POST {Entity}/query`` with ``{"filter": [...], "MaxRecords": N,
  "IncludeFields": [...]}``, ``GET {Entity}/query?search=<json>``; ops ``eq noteq
  gt gte lt lte beginsWith endsWith contains exist notExist in notIn`` and
  ``{"op": "and"|"or", "items": [...]}`` groups; field names case-insensitive;
  at least one filter required; fields Autotask cannot query (Invoices
  ``dueDate``) refused; ``MaxRecords`` 1..500 (default 500);
* ``{"items", "pageDetails": {"count", "requestCount", "prevPageUrl",
  "nextPageUrl"}}`` with id-keyset cursors shaped like Autotask's
  (``{Entity}/query/next?paging={"pageSize","previousIds","nextIds"}&search=...``).
  After a POST query the next page must be POSTed (a GET gets 405, as on the real
  API); after a GET query the cursor is a GET URL;
* ``{Entity}/query/count`` (``{"queryCount": N}``), ``{Entity}/{id}``
  (``{"item": ...}``), ``{Entity}/entityInformation/fields`` (with the
  ClientPortalUsers ``securityLevel`` picklist), and ``zoneInformation``;
* no credit memos: Autotask has no such entity (credits are negative charges on an
  invoice), so the ConnectWise book's credit memos have no Autotask twin; an
  invoice is exported (``webServiceDate`` set) unless the ConnectWise book lists
  it as unposted; a portal user whose ConnectWise login is disabled is inactive.

Sources: https://autotask.net/help/developerhelp/content/apis/REST/API_Calls/REST_Advanced_Query_Features.htm
(``IncludeFields``, counts), .../REST/Entities/CompaniesEntity.htm
(``isClientPortalActive``), .../REST/Entities/ClientPortalUsersEntity.htm
(``securityLevel``, ``isClientPortalActive``), and apigrate/autotask-restapi
``README.md`` (``query/count`` answering ``{"queryCount": N}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recon_tui.sandbox import connectwise as cw_sandbox
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import autotask_error

__all__ = [
    "API_ROOT",
    "CW_TO_AT_PORTAL_LEVEL",
    "ENTITIES",
    "INTEGRATION_CODE",
    "SECRET",
    "USERNAME",
    "FilterError",
    "autotask_view",
    "grow_book",
    "invalidate",
    "routes",
]

API_ROOT = "/atservicesrest/v1.0"
USERNAME = "sandbox-api@example.com"
SECRET = "sandbox-secret"
INTEGRATION_CODE = "SANDBOXINTEGRATIONCODE00000"
MAX_RECORDS = 500
RESOURCE_ID = 29682885  # the sandbox's API user, as creator/voider
PORTAL_USER_ID_BASE = 30_000_000

CW_TO_AT_PORTAL_LEVEL = {1: 1, 2: 1, 3: 2, 4: 4, 5: 3, 6: 5}
"""ConnectWise portal level -> Autotask client-portal securityLevel, the inverse of
``autotask_records.DEFAULT_PORTAL_LEVELS`` (only level 2 has no twin and comes back 1)."""

PORTAL_PICKLIST = (
    (1, "Basic"),
    (2, "Advanced"),
    (3, "Manager"),
    (4, "Taskfire Resource"),
    (5, "Taskfire Administrator"),
)

# Field types per entity: what the filter engine needs to compare values.
_S, _I, _B, _D, _M = "string", "integer", "boolean", "datetime", "decimal"
ENTITIES: dict[str, dict[str, str]] = {
    "Companies": {
        "id": _I,
        "companyName": _S,
        "companyNumber": _S,
        "companyType": _I,
        "isActive": _B,
        "isClientPortalActive": _B,
        "createDate": _D,
        "lastActivityDate": _D,
        "lastTrackedModifiedDateTime": _D,
        "parentCompanyID": _I,
        "phone": _S,
        "webAddress": _S,
    },
    "Contacts": {
        "id": _I,
        "companyID": _I,
        "firstName": _S,
        "lastName": _S,
        "emailAddress": _S,
        "isActive": _I,
        "createDate": _D,
        "lastActivityDate": _D,
        "lastModifiedDate": _D,
        "title": _S,
    },
    "ClientPortalUsers": {
        "id": _I,
        "contactID": _I,
        "userName": _S,
        "securityLevel": _I,
        "isClientPortalActive": _B,
        "dateFormat": _I,
        "timeFormat": _I,
        "numberFormat": _I,
        "password": _S,
    },
    "Invoices": {
        "id": _I,
        "invoiceNumber": _S,
        "companyID": _I,
        "invoiceDateTime": _D,
        "createDateTime": _D,
        "creatorResourceID": _I,
        "dueDate": _D,
        "fromDate": _D,
        "toDate": _D,
        "invoiceTotal": _M,
        "totalTaxValue": _M,
        "paidDate": _D,
        "isVoided": _B,
        "voidedDate": _D,
        "voidedByResourceID": _I,
        "webServiceDate": _D,
        "batchID": _I,
        "paymentTerm": _I,
        "invoiceEditorTemplateID": _I,
        "comments": _S,
        "orderNumber": _S,
        "taxGroup": _I,
        "taxRegionName": _S,
    },
}
_UNQUERYABLE = {"Invoices": {"duedate", "taxregionid"}, "ClientPortalUsers": {"password"}}
_BY_LOWER = {name.lower(): name for name in ENTITIES}


class FilterError(ValueError):
    """A query the emulator refuses, with Autotask's kind of wording."""


def _errors(status: int, message: str) -> JSONResponse:
    return JSONResponse(autotask_error(message), status_code=status)


# --------------------------------------------------------------------------- derivation
def _at_time(text: Any) -> str | None:
    """ConnectWise ``...Z`` -> Autotask's zone-less UTC form."""
    if not isinstance(text, str) or not text:
        return None
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond // 1000:03d}" if moment.microsecond else ""
    )


def _at_day(text: Any) -> str | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT00:00:00")


def _info(record: Mapping[str, Any], key: str) -> Any:
    info = record.get("_info")
    return info.get(key) if isinstance(info, Mapping) else None


def _email(contact: Mapping[str, Any]) -> str:
    items = [
        i
        for i in contact.get("communicationItems") or []
        if isinstance(i, Mapping)
        and i.get("communicationType") == "Email"
        and isinstance(i.get("value"), str)
    ]
    chosen = next((i for i in items if i.get("defaultFlag") is True), items[0] if items else None)
    return chosen["value"] if chosen else ""


def _company(cw: Mapping[str, Any]) -> dict[str, Any]:
    status = cw.get("status") or {}
    updated = _at_time(_info(cw, "lastUpdated"))
    return {
        "id": cw["id"],
        "companyName": cw.get("name"),
        "companyNumber": cw.get("identifier") or "",
        "companyType": 1,
        "isActive": status.get("name") == "Active" and not cw.get("deletedFlag"),
        "isClientPortalActive": True,
        "createDate": _at_time(_info(cw, "dateEntered")) or updated,
        "lastActivityDate": updated,
        "lastTrackedModifiedDateTime": updated,
        "parentCompanyID": None,
        "phone": "",
        "webAddress": None,
        "userDefinedFields": [],
    }


def _contact(cw: Mapping[str, Any]) -> dict[str, Any]:
    updated = _at_time(_info(cw, "lastUpdated"))
    return {
        "id": cw["id"],
        "companyID": (cw.get("company") or {}).get("id"),
        "firstName": cw.get("firstName") or "",
        "lastName": cw.get("lastName") or "",
        "emailAddress": _email(cw),
        "isActive": 0 if cw.get("inactiveFlag") else 1,
        "title": "",
        "createDate": _at_time(_info(cw, "dateEntered")) or updated,
        "lastActivityDate": updated,
        "lastModifiedDate": updated,
        "userDefinedFields": [],
    }


def _portal_user(cw: Mapping[str, Any]) -> dict[str, Any] | None:
    level = cw.get("portalSecurityLevel")
    if not isinstance(level, int) or isinstance(level, bool) or level not in CW_TO_AT_PORTAL_LEVEL:
        return None
    return {
        "id": PORTAL_USER_ID_BASE + int(cw["id"]),
        "contactID": cw["id"],
        "userName": _email(cw) or f"contact{cw['id']}@portal.example.com",
        "securityLevel": CW_TO_AT_PORTAL_LEVEL[level],
        "isClientPortalActive": not cw.get("inactiveFlag") and not cw.get("disablePortalLoginFlag"),
        "dateFormat": 1,
        "timeFormat": 1,
        "numberFormat": 1,
        "password": None,
    }


def _invoice(cw: Mapping[str, Any], unposted: set[str]) -> dict[str, Any]:
    """The Autotask twin of a ConnectWise invoice. An invoice the accounting
    interface has exported (not among the unposted) gets ``webServiceDate``, the
    day after it was entered, as an accounting integration would set it."""
    status = str((cw.get("status") or {}).get("name") or "")
    total = cw.get("total")
    balance = cw.get("balance")
    voided = status.lower() in ("void", "voided")
    updated = _at_time(_info(cw, "lastUpdated"))
    created = _at_time(_info(cw, "dateEntered")) or _at_time(cw.get("date"))
    paid = (
        not voided
        and balance is not None
        and Decimal(str(balance)) == 0
        and total is not None
        and Decimal(str(total)) != 0
    )
    exported = None
    if str(cw.get("invoiceNumber")) not in unposted and created is not None:
        day = datetime.fromisoformat(created).date() + timedelta(days=1)
        exported = f"{day.isoformat()}T06:00:00"
    return {
        "id": cw["id"],
        "invoiceNumber": cw.get("invoiceNumber"),
        "companyID": (cw.get("company") or {}).get("id"),
        "invoiceDateTime": _at_day(cw.get("date")),
        "createDateTime": created,
        "creatorResourceID": RESOURCE_ID,
        "dueDate": _at_day(cw.get("dueDate")),
        "fromDate": None,
        "toDate": None,
        "invoiceTotal": total,
        "totalTaxValue": cw.get("salesTax", Decimal("0.00")),
        "paidDate": _at_day(_info(cw, "lastUpdated")) if paid else None,
        "isVoided": voided,
        "voidedDate": updated if voided else None,
        "voidedByResourceID": RESOURCE_ID if voided else None,
        "webServiceDate": exported,
        "batchID": 1,
        "paymentTerm": 1,
        "invoiceEditorTemplateID": 1,
        "comments": "",
        "orderNumber": "",
        "taxGroup": None,
        "taxRegionName": "",
    }


@dataclass
class _View:
    signature: tuple[int, ...]
    entities: dict[str, dict[int, dict[str, Any]]]


_VIEW_ATTR = "_autotask_view"


def autotask_view(book: SandboxBook) -> dict[str, dict[int, dict[str, Any]]]:
    """The Autotask entities derived from the ConnectWise book, derived once."""
    with book.lock:
        cw = book.connectwise
        signature = tuple(len(cw.get(name, {}))
                          for name in ("companies", "contacts", "invoices", "unpostedinvoices"))
        view: _View | None = getattr(book, _VIEW_ATTR, None)
        if view is not None and view.signature == signature:
            return view.entities
        contacts = cw.get("contacts", {}).values()
        portal = [u for u in (_portal_user(c) for c in contacts) if u is not None]
        unposted = {str(u.get("invoiceNumber"))
                    for u in cw.get("unpostedinvoices", {}).values()}
        entities = {
            "Companies": {int(c["id"]): _company(c) for c in cw.get("companies", {}).values()},
            "Contacts": {int(c["id"]): _contact(c) for c in contacts},
            "ClientPortalUsers": {int(u["id"]): u for u in portal},
            "Invoices": {
                int(i["id"]): _invoice(i, unposted)
                for i in cw.get("invoices", {}).values()
                # Autotask has no credit-memo entity (credits are negative charges).
                if i.get("type") != "CreditMemo"
            },
        }
        setattr(book, _VIEW_ATTR, _View(signature, entities))
        return entities


def invalidate(book: SandboxBook) -> None:
    """Forget the derived view (after editing ConnectWise records in place)."""
    with book.lock:
        if hasattr(book, _VIEW_ATTR):
            delattr(book, _VIEW_ATTR)


def grow_book(book: SandboxBook, at_least: int = 2600) -> None:
    """Grow the ConnectWise book (hence every Autotask entity, ClientPortalUsers
    included) to at least ``at_least`` records each, for paging tests."""
    with book.lock:
        memos = sum(1 for i in book.connectwise.get("invoices", {}).values()
                    if i.get("type") == "CreditMemo")
    cw_sandbox.grow_book(book, at_least, extra_invoices=memos)  # memos have no Autotask twin
    invalidate(book)


# --------------------------------------------------------------------------- filters
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "noteq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_TEXT = {
    "beginswith": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.endswith(b),
    "contains": lambda a, b: b in a,
}
Predicate = Callable[[Mapping[str, Any]], bool]


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _coerce(value: Any, kind: str, field: str) -> Any:
    """A filter value (or a record value) in the field's comparable type."""
    try:
        if kind == _D:
            return _parse_time(value)
        if kind == _I:
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, Decimal) and value != value.to_integral_value():
                raise ValueError(value)
            return int(str(value).strip())
        if kind == _M:
            if isinstance(value, bool):
                raise ValueError(value)
            return Decimal(str(value).strip())
        if kind == _B:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise ValueError(value)
        return str(value).casefold()
    except (ValueError, InvalidOperation, TypeError):
        raise FilterError(f"Value {value!r} is not valid for field {field} ({kind}).") from None


def _compile(item: Any, entity: str) -> Predicate:
    if not isinstance(item, Mapping):
        raise FilterError(f"Each filter must be an object, got {json.dumps(item)[:60]}.")
    op = str(item.get("op", "")).strip().lower()
    if op in ("and", "or"):
        items = item.get("items")
        if not isinstance(items, list) or not items:
            raise FilterError(f"A grouping '{op}' filter needs a non-empty 'items' list.")
        parts = [_compile(sub, entity) for sub in items]
        if op == "and":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    fields = ENTITIES[entity]
    raw_field = item.get("field")
    if not isinstance(raw_field, str) or not raw_field.strip():
        raise FilterError(f"Filter with op '{op}' needs a 'field'.")
    lower = {name.lower(): name for name in fields}
    key = raw_field.strip().lower()
    if key in _UNQUERYABLE.get(entity, set()):
        raise FilterError(f"The field {raw_field} of {entity} cannot be queried.")
    if key not in lower:
        raise FilterError(f"Unable to find {raw_field} in the {entity} entity.")
    field = lower[key]
    kind = fields[field]
    if op == "exist":
        return lambda r: r.get(field) not in (None, "")
    if op == "notexist":
        return lambda r: r.get(field) in (None, "")
    if "value" not in item:
        raise FilterError(f"Filter on {field} with op '{op}' needs a 'value'.")
    value = item["value"]
    if op in ("in", "notin"):
        if not isinstance(value, list) or not value:
            raise FilterError(f"Filter on {field} with op '{op}' needs a non-empty list value.")
        wanted = {_coerce(v, kind, field) for v in value}

        def hit(r: Mapping[str, Any]) -> bool:
            return r.get(field) is not None and _coerce(r[field], kind, field) in wanted

        return hit if op == "in" else (lambda r: not hit(r))
    if op in _TEXT:
        if kind != _S:
            raise FilterError(
                f"Operator '{item.get('op')}' is only valid for text; {field} is {kind}."
            )
        needle = str(value).casefold()
        test = _TEXT[op]
        return lambda r: isinstance(r.get(field), str) and test(r[field].casefold(), needle)
    if op not in _COMPARE:
        raise FilterError(f"Unknown filter operator '{item.get('op')}'.")
    if value is None:
        raise FilterError(f"Filter on {field}: use exist/notExist to test for null.")
    if kind == _B and op not in ("eq", "noteq"):
        raise FilterError(f"Operator '{item.get('op')}' is not valid for boolean {field}.")
    target = _coerce(value, kind, field)
    compare = _COMPARE[op]

    def predicate(r: Mapping[str, Any]) -> bool:
        current = r.get(field)
        if current is None:
            return op == "noteq"
        return compare(_coerce(current, kind, field), target)

    return predicate


def _predicates(entity: str, filters: Any) -> list[Predicate]:
    """The query's filters compiled (every problem with them raised here, before
    any record is looked at)."""
    if not isinstance(filters, list) or not filters:
        raise FilterError(
            "A query needs a 'filter' with at least one expression, "
            'for everything use {"op": "gte", "field": "id", "value": 0}.'
        )
    return [_compile(item, entity) for item in filters]


def _id_bounds(filters: list[Any]) -> tuple[int | None, int | None]:
    """(low, high), inclusive, None for open: what the leading ``id`` filters allow
    (the top-level list is an ``and`` evaluated in order, so a record outside them
    fails there first). Exact: an id-range read looks only at its range."""
    low: int | None = None
    high: int | None = None
    for item in filters:
        op = str(item.get("op", "")).strip().lower() if isinstance(item, Mapping) else ""
        field = item.get("field") if isinstance(item, Mapping) else None
        if (op not in ("eq", "gt", "gte", "lt", "lte") or not isinstance(field, str)
                or field.strip().lower() != "id"):
            break
        target = _coerce(item.get("value"), _I, "id")
        below = {"gt": target + 1, "gte": target, "eq": target}.get(op)
        above = {"lt": target - 1, "lte": target, "eq": target}.get(op)
        if below is not None:
            low = below if low is None else max(low, below)
        if above is not None:
            high = above if high is None else min(high, above)
    return low, high


def _scan(book: SandboxBook, entity: str, records: dict[int, dict[str, Any]],
          filters: list[Any], predicates: list[Predicate], *, start: int | None = None,
          limit: int | None = None) -> list[dict[str, Any]]:
    """The records matching every predicate in id order, from id ``start`` on,
    ``limit`` of them at most (all when None), over the book's index."""
    with book.lock:
        index = book.index.order(("autotask", entity), records, None)
        begin, end = 0, len(index.ordered)
        if index.numbers is not None:
            begin, end = index.span(*_id_bounds(filters))
            if start is not None:
                begin = max(begin, index.first_after(start, inclusive=True))
        out = []
        for record in index.records(begin, end):
            if index.numbers is None and start is not None and int(record["id"]) < start:
                continue
            if all(p(record) for p in predicates):
                out.append(record)
                if limit is not None and len(out) >= limit:
                    break
        return out


# --------------------------------------------------------------------------- HTTP
def _authorized(request: Request) -> str | None:
    """None when the three credential headers match, else what is wrong."""
    headers = request.headers
    if not headers.get("apiintegrationcode"):
        return "The ApiIntegrationCode header is missing."
    if not headers.get("username") or not headers.get("secret"):
        return "The UserName and Secret headers are required."
    if headers.get("apiintegrationcode") != INTEGRATION_CODE:
        return "The API tracking identifier (ApiIntegrationCode) is not valid."
    if headers.get("username", "").lower() != USERNAME or headers.get("secret") != SECRET:
        return "User name or secret is not valid for this zone."
    return None


def _json(body: object, status: int = 200) -> Response:
    from recon_tui.sandbox.app import dumps  # late: app imports this module

    return Response(dumps(body), status_code=status, media_type="application/json")


def _entity(request: Request) -> str | None:
    return _BY_LOWER.get(str(request.path_params.get("entity", "")).lower())


def _query_keys(body: Mapping[str, Any]) -> dict[str, Any]:
    """Autotask reads body keys case-insensitively (``MaxRecords``/``maxRecords``)."""
    return {str(k).lower(): v for k, v in body.items()}


def _max_records(value: Any) -> int:
    if value is None:
        return MAX_RECORDS
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise FilterError("MaxRecords must be a whole number from 1 to 500.")
    try:
        size = int(str(value))
    except ValueError:
        raise FilterError("MaxRecords must be a whole number from 1 to 500.") from None
    if not 1 <= size <= MAX_RECORDS:
        raise FilterError(f"MaxRecords must be from 1 to 500, got {size}.")
    return size


def _project(record: Mapping[str, Any], include: Any, entity: str) -> dict[str, Any]:
    if not include:
        return dict(record)
    if not isinstance(include, list):
        raise FilterError("IncludeFields must be a list of field names.")
    lower = {name.lower(): name for name in ENTITIES[entity]}
    wanted = {"id"}
    for name in include:
        key = str(name).lower()
        if key not in lower:
            raise FilterError(f"Unable to find {name} in the {entity} entity.")
        wanted.add(lower[key])
    return {k: v for k, v in record.items() if k in wanted} | {"userDefinedFields": []}


def _cursor_url(
    request: Request,
    entity: str,
    *,
    post: bool,
    search: Mapping[str, Any],
    size: int,
    previous: list[int],
    next_id: int,
) -> str:
    paging = json.dumps(
        {"pageSize": size, "previousIds": previous, "nextIds": [next_id]}, separators=(",", ":")
    )
    search_text = json.dumps(search, separators=(",", ":"), default=str)
    root = str(request.base_url).rstrip("/") + API_ROOT
    path = f"{root}/{entity}/query/next" if post else f"{root}/{entity}/query"
    return f"{path}?{urlencode({'paging': paging, 'search': search_text})}"


def _page(
    request: Request,
    book: SandboxBook,
    entity: str,
    query: Mapping[str, Any],
    *,
    post: bool,
    paging: Mapping[str, Any] | None,
) -> Response:
    keys = _query_keys(query)
    records = autotask_view(book)[entity]
    filters = keys.get("filter")
    predicates = _predicates(entity, filters)
    if paging is None:
        size, previous, start = _max_records(keys.get("maxrecords")), [], None
    else:
        try:
            size = _max_records(paging.get("pageSize"))
            previous = [int(i) for i in paging.get("previousIds") or []]
            start = int((paging.get("nextIds") or [None])[0])
        except (TypeError, ValueError, AttributeError):
            raise FilterError("The paging cursor is not valid.") from None
    # The first page looks at every record (as a count does); a later one reads
    # from its cursor until one past the page (to know whether there is more).
    selected = _scan(book, entity, records, filters, predicates, start=start,
                     limit=None if paging is None else size + 1)
    page = selected[:size]
    search = {"filter": keys.get("filter")}
    if keys.get("includefields"):
        search["IncludeFields"] = keys["includefields"]
    next_url = prev_url = None
    first_id = int(page[0]["id"]) if page else None
    if len(selected) > size and first_id is not None:
        next_url = _cursor_url(
            request,
            entity,
            post=post,
            search=search,
            size=size,
            previous=[*previous, first_id],
            next_id=int(selected[size]["id"]),
        )
    if previous:
        prev_url = _cursor_url(
            request,
            entity,
            post=post,
            search=search,
            size=size,
            previous=previous[:-1],
            next_id=previous[-1],
        )
    items = [_project(r, keys.get("includefields"), entity) for r in page]
    return _json(
        {
            "items": items,
            "pageDetails": {
                "count": len(items),
                "requestCount": size,
                "prevPageUrl": prev_url,
                "nextPageUrl": next_url,
            },
        }
    )


async def _body(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FilterError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise FilterError("The request body must be a JSON object.")
    return body


def _search_param(request: Request) -> dict[str, Any] | None:
    text = request.query_params.get("search")
    if text is None:
        return None
    try:
        search = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        raise FilterError("The search parameter is not valid JSON.") from None
    if not isinstance(search, dict):
        raise FilterError("The search parameter must be a JSON object.")
    return search


def _paging_param(request: Request) -> dict[str, Any] | None:
    text = request.query_params.get("paging")
    if text is None:
        return None
    try:
        paging = json.loads(text)
    except json.JSONDecodeError:
        raise FilterError("The paging cursor is not valid.") from None
    if not isinstance(paging, dict):
        raise FilterError("The paging cursor is not valid.")
    return paging


def _guarded(handler: Callable[[Request, str], Any]) -> Callable[[Request], Any]:
    """Auth, entity lookup and error envelopes around an entity handler."""

    async def endpoint(request: Request) -> Response:
        problem = _authorized(request)
        if problem is not None:
            return _errors(401, problem)
        entity = _entity(request)
        if entity is None:
            return _errors(
                404,
                f"The entity {request.path_params.get('entity')} is not available in this sandbox.",
            )
        try:
            return await handler(request, entity)
        except FilterError as exc:
            return _errors(400, str(exc))

    return endpoint


def routes(book: SandboxBook) -> list[Route]:
    """The Autotask endpoints over ``book`` (entities derived from its ConnectWise side)."""

    async def query(request: Request, entity: str) -> Response:
        if request.method == "POST":
            body = await _body(request)
            if body is None:
                raise FilterError("A query body with a 'filter' is required.")
            return _page(request, book, entity, body, post=True, paging=None)
        search = _search_param(request)
        if search is None:
            raise FilterError("A GET query needs a 'search' parameter holding the filter JSON.")
        return _page(request, book, entity, search, post=False, paging=_paging_param(request))

    async def query_next(request: Request, entity: str) -> Response:
        if request.method != "POST":
            return _errors(405, "The requested resource does not support http method 'GET'.")
        paging = _paging_param(request)
        if paging is None:
            raise FilterError("The paging parameter is required.")
        body = await _body(request)
        search = body if body and _query_keys(body).get("filter") else _search_param(request)
        if search is None:
            raise FilterError("The query filter is missing (send the original body).")
        return _page(request, book, entity, search, post=True, paging=paging)

    async def count(request: Request, entity: str) -> Response:
        search = await _body(request) if request.method == "POST" else _search_param(request)
        if search is None:
            raise FilterError("A count needs a filter.")
        filters = _query_keys(search).get("filter")
        predicates = _predicates(entity, filters)
        selected = _scan(book, entity, autotask_view(book)[entity], filters, predicates)
        return _json({"queryCount": len(selected)})

    async def one(request: Request, entity: str) -> Response:
        item = autotask_view(book)[entity].get(int(request.path_params["record_id"]))
        return _json({"item": item})

    async def fields(request: Request, entity: str) -> Response:
        out = []
        for name, kind in ENTITIES[entity].items():
            picklist = None
            if entity == "ClientPortalUsers" and name == "securityLevel":
                picklist = [
                    {
                        "value": str(v),
                        "label": label,
                        "isDefaultValue": v == 1,
                        "sortOrder": v,
                        "parentValue": "",
                        "isActive": True,
                        "isSystem": True,
                    }
                    for v, label in PORTAL_PICKLIST
                ]
            out.append(
                {
                    "name": name,
                    "dataType": kind,
                    "length": 0,
                    "isRequired": name == "id",
                    "isReadOnly": name == "id",
                    "isQueryable": name.lower() not in _UNQUERYABLE.get(entity, set()),
                    "isReference": name.endswith("ID"),
                    "referenceEntityType": "",
                    "isPickList": picklist is not None,
                    "picklistValues": picklist,
                    "picklistParentValueField": "",
                    "isSupportedWebhookField": False,
                }
            )
        return _json({"fields": out})

    async def zone(request: Request) -> Response:
        root = str(request.base_url).rstrip("/")
        return _json(
            {"zoneName": "Sandbox", "url": f"{root}/atservicesrest/", "webUrl": f"{root}/", "ci": 0}
        )

    entity = f"{API_ROOT}/{{entity}}"
    return [
        Route(f"{API_ROOT}/zoneInformation", zone, methods=["GET"]),
        Route(f"{entity}/query/next", _guarded(query_next), methods=["GET", "POST"]),
        Route(f"{entity}/query/count", _guarded(count), methods=["GET", "POST"]),
        Route(f"{entity}/query", _guarded(query), methods=["GET", "POST"]),
        Route(f"{entity}/entityInformation/fields", _guarded(fields), methods=["GET"]),
        Route(f"{entity}/{{record_id:int}}", _guarded(one), methods=["GET"]),
    ]
