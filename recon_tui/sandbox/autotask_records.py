"""The Autotask side of the sandbox book: Companies, Contacts, ClientPortalUsers and
Invoices derived from ``book.connectwise`` (same ids and amounts), and the field
types of each entity that the query engine compares by.

Both PSAs serve the same clients, so the records are derived once and cached on
the book (rebuilt when a collection's size changes; call :func:`invalidate` after
editing records in place). No credit memos: Autotask has no such entity (credits
are negative charges on an invoice), so the ConnectWise book's credit memos have
no Autotask twin; an invoice is exported (``webServiceDate`` set) unless the
ConnectWise book lists it as unposted; a portal user whose ConnectWise login is
disabled is inactive.

Sources: https://autotask.net/help/developerhelp/content/apis/REST/Entities/CompaniesEntity.htm
(``isClientPortalActive``), .../REST/Entities/ClientPortalUsersEntity.htm
(``securityLevel``, ``isClientPortalActive``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from recon_tui.sandbox import connectwise as cw_sandbox
from recon_tui.sandbox.book import SandboxBook

__all__ = [
    "BOOLEAN",
    "CW_TO_AT_PORTAL_LEVEL",
    "DATETIME",
    "DECIMAL",
    "ENTITIES",
    "INTEGER",
    "STRING",
    "UNQUERYABLE",
    "autotask_view",
    "grow_book",
    "invalidate",
]

RESOURCE_ID = 29682885  # the sandbox's API user, as creator/voider
PORTAL_USER_ID_BASE = 30_000_000

CW_TO_AT_PORTAL_LEVEL = {1: 1, 2: 1, 3: 2, 4: 4, 5: 3, 6: 5}
"""ConnectWise portal level -> Autotask client-portal securityLevel, the inverse of
``recon_tui.connectors.autotask_records.DEFAULT_PORTAL_LEVELS`` (only level 2 has
no twin and comes back 1)."""

# Field types per entity: what the filter engine needs to compare values.
STRING, INTEGER, BOOLEAN, DATETIME, DECIMAL = "string", "integer", "boolean", "datetime", "decimal"
_S, _I, _B, _D, _M = STRING, INTEGER, BOOLEAN, DATETIME, DECIMAL
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
UNQUERYABLE = {"Invoices": {"duedate", "taxregionid"}, "ClientPortalUsers": {"password"}}
"""Lower-cased fields Autotask refuses in a filter (and marks not queryable)."""


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
