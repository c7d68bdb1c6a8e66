"""ConnectWise PSA (Manage REST v4_6) JSON -> domain records.

Pure functions, no I/O. ConnectWise ids are integers; the domain keeps every id as
a string so both systems share one cache shape. Errors are ``RecordError`` (a
``ValueError``) naming the entity, its id and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from recon_tui.connectors.fast_fields import fast_child, fast_flag, fast_required, fast_text
from recon_tui.connectors.records import (
    EntityReader,
    RecordError,
    Slow,
    day_of_moment,
    fast_moment,
    parse_utc_datetime,
)
from recon_tui.models import Contact, DocKind, PsaCompany, PsaInvoice

# The master data's fast path (companies and contacts: 40,000 records at 10,000
# clients) is at the end of this module, after the checked readers it mirrors.

__all__ = [
    "CREDIT_MEMO_TYPE",
    "RecordError",
    "company_from_cw",
    "contact_from_cw",
    "invoice_from_cw",
]

CREDIT_MEMO_TYPE = "CreditMemo"
"""``type`` of a credit memo among ``finance/invoices`` (the Invoice model's type is
one of Agreement, CreditMemo, DownPayment, Miscellaneous, Progress, Standard)."""


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
    if type(d) is dict:
        try:
            return _fast_company(d)
        except Slow:
            pass  # the checked reader decides, and names what is wrong
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
    return _email_among(items)


def _email_among(items: list[Any]) -> str | None:
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
    """A contact; its portal security level (1..6) decides whether it can see
    invoices, unless it is inactive or ``disablePortalLoginFlag`` shuts it out."""
    if type(d) is dict:
        try:
            return _fast_contact(d)
        except Slow:
            pass  # the checked reader decides, and names what is wrong
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
        portal_login_disabled=r.flag("disablePortalLoginFlag", False),
    )


def _custom_field(r: EntityReader, caption: str) -> str | None:
    """The value of the custom field with this caption, if it holds one."""
    fields = r.get("customFields", [])
    if not isinstance(fields, list):
        raise r.error("customFields", f"bad value {fields!r} for")
    return _custom_value(fields, caption)


def _custom_value(fields: list[Any], caption: str) -> str | None:
    for custom in fields:
        if isinstance(custom, Mapping) and custom.get("caption") == caption:
            value = custom.get("value")
            if value is None or isinstance(value, bool):
                return None
            text = str(value).strip()
            return text or None
    return None


def invoice_from_cw(d: Mapping[str, Any], *, exported: bool = True,
                    link_field: str | None = None) -> PsaInvoice:
    """An invoice or credit memo as billed, with the balance the PSA last knew.

    ConnectWise keeps no field holding the accounting system's invoice id, so
    ``ledger_invoice_id`` is read only from a custom field the MSP named
    (``link_field``; most books have none and pair by number). ``exported`` comes
    from the accounting interface's unposted list, which the caller reads. A
    ``CreditMemo`` carries negative amounts; they are kept as positive credit.
    """
    r = _reader("invoice", d)
    kind = DocKind.CREDIT_MEMO if r.text("type", "") == CREDIT_MEMO_TYPE else DocKind.INVOICE
    total, owing = r.money("total"), r.money("balance")
    if kind is DocKind.CREDIT_MEMO:
        total, owing = -total, -owing
    return PsaInvoice(
        id=r.required_text("id"),
        number=r.required_text("invoiceNumber"),
        company_id=r.required_text("company.id"),
        date=_day(r, "date", required=True),
        total=total,
        owing=owing,
        due_date=_day(r, "dueDate", required=False),
        status=r.text("status.name", ""),
        ledger_invoice_id=_custom_field(r, link_field) if link_field else None,
        exported=exported,
        currency=r.text("currency.currencyCode", "USD"),
        updated_at=_updated(r),
        kind=kind,
    )


def _fast_day(value: Any) -> date | None:
    """As ``_day`` for a value read: the date part of an ISO datetime string."""
    if value is None:
        return None
    if type(value) is not str:
        raise Slow
    return day_of_moment(value)


# --------------------------------------------------------------------------- fast path
# As for invoices (``connectwise_invoice_wire``): a plain decoded dict is read
# directly, and anything the checked reader might refuse or read otherwise (a
# wrong type, a blank required field, a bad date) raises ``Slow`` and goes to it.


def _fast_company(d: dict[str, Any]) -> PsaCompany:
    return PsaCompany(
        id=fast_required(d.get("id")),
        identifier=fast_text(d.get("identifier"), ""),
        name=fast_required(d.get("name")),
        status=fast_text(fast_child(d, "status", "name"), "Active"),
        deleted=fast_flag(d.get("deletedFlag"), False),
        updated_at=fast_moment(fast_child(d, "_info", "lastUpdated")),
    )


def _fast_contact(d: dict[str, Any]) -> Contact:
    level = d.get("portalSecurityLevel")
    if level is not None and (type(level) is not int or not 1 <= level <= 6):
        raise Slow
    items = d.get("communicationItems")
    if items is None:
        items = []
    elif type(items) is not list:
        raise Slow
    return Contact(
        id=fast_required(d.get("id")),
        company_id=fast_required(fast_child(d, "company", "id")),
        first_name=fast_text(d.get("firstName"), ""),
        last_name=fast_text(d.get("lastName"), ""),
        portal_security_level=level,
        email=_email_among(items),
        inactive=fast_flag(d.get("inactiveFlag"), False),
        updated_at=fast_moment(fast_child(d, "_info", "lastUpdated")),
        portal_login_disabled=fast_flag(d.get("disablePortalLoginFlag"), False),
    )
