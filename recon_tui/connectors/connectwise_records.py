"""ConnectWise PSA (Manage REST v4_6) JSON -> domain records.

Pure functions, no I/O. ConnectWise ids are integers; the domain keeps every id as
a string so both systems share one cache shape. Errors are ``RecordError`` (a
``ValueError``) naming the entity, its id and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from recon_tui.connectors.records import EntityReader, RecordError, parse_utc_datetime
from recon_tui.models import Contact, PsaCompany, PsaInvoice

__all__ = [
    "LEDGER_ID_CAPTION",
    "RecordError",
    "company_from_cw",
    "contact_from_cw",
    "invoice_from_cw",
]

LEDGER_ID_CAPTION = "Ledger Invoice Id"
"""Caption of the invoice custom field where the accounting integration records the
ledger's invoice id when it exports an invoice."""


def _reader(entity: str, data: object) -> EntityReader:
    return EntityReader("ConnectWise", entity, data, "id")


def _updated(r: EntityReader) -> datetime | None:
    return r.moment("_info.lastUpdated", parse_utc_datetime)


def _day(r: EntityReader, path: str, *, required: bool) -> Any:
    """The date part of an ISO datetime as written: "2026-03-02T00:00:00Z" is March 2nd."""
    value = r.get(path) if required else r.get(path, None)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).strip()).date()
    except ValueError as exc:
        raise r.error(path, f"bad date {value!r} for") from exc


def company_from_cw(d: Mapping[str, Any]) -> PsaCompany:
    """A company; ``deletedFlag`` marks one in the recycle bin (its invoices still count)."""
    r = _reader("company", d)
    return PsaCompany(
        id=r.required_text("id"),
        identifier=r.text("identifier", ""),
        name=r.required_text("name"),
        status=r.text("status.name", "Active"),
        deleted=r.flag("deletedFlag", False),
        updated_at=_updated(r),
    )


def _email(r: EntityReader) -> str | None:
    """The default e-mail among communicationItems, else the first e-mail."""
    items = r.get("communicationItems", [])
    if not isinstance(items, list):
        raise r.error("communicationItems", f"bad value {items!r} for")
    emails = [
        item
        for item in items
        if isinstance(item, Mapping)
        and item.get("communicationType") == "Email"
        and isinstance(item.get("value"), str)
        and item["value"].strip()
    ]
    if not emails:
        return None
    chosen = next((item for item in emails if item.get("defaultFlag") is True), emails[0])
    return chosen["value"].strip()


def contact_from_cw(d: Mapping[str, Any]) -> Contact:
    """A contact; its portal security level (1..6) decides whether it can see invoices."""
    r = _reader("contact", d)
    level = r.get("portalSecurityLevel", None)
    if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
        raise r.error("portalSecurityLevel", f"bad value {level!r} for")
    if level is not None and not 1 <= level <= 6:
        raise r.error("portalSecurityLevel", f"out of range 1..6: {level!r} for")
    return Contact(
        id=r.required_text("id"),
        company_id=r.required_text("company.id"),
        first_name=r.text("firstName", ""),
        last_name=r.text("lastName", ""),
        portal_security_level=level,
        email=_email(r),
        inactive=r.flag("inactiveFlag", False),
        updated_at=_updated(r),
    )


def _ledger_invoice_id(r: EntityReader) -> str | None:
    fields = r.get("customFields", [])
    if not isinstance(fields, list):
        raise r.error("customFields", f"bad value {fields!r} for")
    for custom in fields:
        if isinstance(custom, Mapping) and custom.get("caption") == LEDGER_ID_CAPTION:
            value = custom.get("value")
            if value is None or isinstance(value, bool):
                return None
            text = str(value).strip()
            return text or None
    return None


def invoice_from_cw(d: Mapping[str, Any]) -> PsaInvoice:
    """An invoice as billed, with the balance the PSA last knew.

    ``exported`` is "sits in a GL batch"; the ledger id comes from the custom field the
    integration fills in, when it did.
    """
    r = _reader("invoice", d)
    batch = r.get("glBatch", None)
    return PsaInvoice(
        id=r.required_text("id"),
        number=r.required_text("invoiceNumber"),
        company_id=r.required_text("company.id"),
        date=_day(r, "date", required=True),
        total=r.money("total"),
        owing=r.money("balance"),
        due_date=_day(r, "dueDate", required=False),
        status=r.text("status.name", ""),
        ledger_invoice_id=_ledger_invoice_id(r),
        exported=isinstance(batch, Mapping) and bool(batch),
        currency=r.text("currency.currencyCode", "USD"),
        updated_at=_updated(r),
    )
