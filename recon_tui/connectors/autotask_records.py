"""Autotask PSA (REST v1.0) JSON -> domain records.

Pure functions, no I/O. Autotask ids are integers; the domain keeps them as
strings. Autotask sends every time in UTC, usually without a zone
("2018-11-13T17:32:34", "2016-03-30T13:10:35.563"); a time without a zone is
therefore read as UTC. Errors are ``RecordError`` naming the entity, id and field.

Field choices (see the module docstring of ``connectors.autotask`` for the evidence):

* **Company**: ``companyNumber`` is the identifier, ``companyName`` the name,
  ``isActive`` the status. Autotask has no recycle bin, so ``deleted`` is False.
  ``updated_at`` is the later of ``lastActivityDate`` and
  ``lastTrackedModifiedDateTime``.
* **Contact**: ``companyID``, ``firstName``, ``lastName``, ``emailAddress``,
  ``isActive`` (an integer 1/0 on Contacts; a boolean is accepted too); the portal
  security level comes from the contact's ClientPortalUsers row, see
  :func:`portal_level`. ``updated_at`` is ``lastModifiedDate``.
* **Invoice**: see :func:`invoice_from_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from recon_tui.connectors.records import EntityReader, RecordError, parse_utc_datetime
from recon_tui.models import Contact, PsaCompany, PsaInvoice
from recon_tui.money import ZERO

__all__ = [
    "CUSTOM_PORTAL_LEVEL",
    "DEFAULT_PORTAL_LEVELS",
    "RecordError",
    "company_from_at",
    "contact_from_at",
    "invoice_from_at",
    "portal_level",
    "portal_levels_from_picklist",
]

DEFAULT_PORTAL_LEVELS: Mapping[int, int] = {1: 1, 2: 3, 3: 5, 4: 4, 5: 6}
"""Autotask client-portal ``securityLevel`` -> recon-tui's 1..6 portal scale.

recon-tui's scale is ConnectWise's (6 highest; 5 is the default "client admin"
minimum that may see invoices). Autotask ships three Client Portal system levels
(Basic, Advanced, Manager) and two Taskfire ones (Resource = 4, Administrator = 5,
the two values Autotask documents). Manager and Taskfire Administrator are the
levels Autotask describes as able to manage their organization's portal users, so
they land at or above the client-admin line:

=====  ========================  =====
value  Autotask level            ours
=====  ========================  =====
1      Basic (own tickets)       1
2      Advanced (all tickets)    3
3      Manager (manages users)   5
4      Taskfire Resource         4
5      Taskfire Administrator    6
=====  ========================  =====

The values of Basic, Advanced and Manager are not documented; the connector reads
the tenant's picklist (``ClientPortalUsers/entityInformation/fields``) and maps by
label when it can (:func:`portal_levels_from_picklist`), so this table is only the
fallback.
"""

CUSTOM_PORTAL_LEVEL = 1
"""A custom security level: the API does not expose its permissions, so it cannot be
shown to reach invoices and counts as the lowest level (the contact gets flagged,
never silently trusted)."""

_LABEL_RULES: tuple[tuple[str, int], ...] = (
    ("admin", 6),  # Taskfire Administrator
    ("manager", 5),  # Client Portal Manager
    ("resource", 4),  # Taskfire Resource
    ("advanced", 3),
    ("basic", 1),
)



def _reader(entity: str, data: object) -> EntityReader:
    return EntityReader("Autotask", entity, data, "id")


def _day(r: EntityReader, path: str, *, required: bool) -> date | None:
    """The calendar date as written ("2026-03-02T00:00:00" is March 2nd)."""
    value = r.get(path) if required else r.get(path, None)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise r.error(path, f"bad date {value!r} for") from exc


def _latest(r: EntityReader, *paths: str) -> datetime | None:
    moments = [m for m in (r.moment(p, parse_utc_datetime) for p in paths) if m is not None]
    return max(moments) if moments else None


def _active(r: EntityReader, path: str) -> bool:
    """``isActive``: boolean on Companies, integer 1/0 on Contacts."""
    value = r.get(path, True)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    raise r.error(path, f"bad value {value!r} for")


def company_from_at(d: Mapping[str, Any]) -> PsaCompany:
    """A company; inactive ones are still read (their invoices still count).
    ``isClientPortalActive`` false switches the client portal off for the whole
    company: none of its contacts can see invoices, whatever their level."""
    r = _reader("company", d)
    return PsaCompany(
        id=r.required_text("id"),
        identifier=r.text("companyNumber", "").strip(),
        name=r.required_text("companyName"),
        status="Active" if _active(r, "isActive") else "Inactive",
        deleted=False,
        updated_at=_latest(r, "lastActivityDate", "lastTrackedModifiedDateTime"),
        portal_active=r.flag("isClientPortalActive", True),
    )


def portal_levels_from_picklist(values: Iterable[Mapping[str, Any]]) -> dict[int, int]:
    """Map a tenant's ``securityLevel`` picklist onto our scale by label.

    Labels naming a known level (administrator, manager, resource, advanced, basic)
    decide; an unrecognised system level falls back to :data:`DEFAULT_PORTAL_LEVELS`;
    anything else is a custom level (:data:`CUSTOM_PORTAL_LEVEL`).
    """
    levels: dict[int, int] = {}
    for entry in values:
        try:
            value = int(str(entry.get("value")).strip())
        except (TypeError, ValueError):
            continue
        label = str(entry.get("label") or "").lower()
        mapped = next((level for word, level in _LABEL_RULES if word in label), None)
        if mapped is None:
            system = entry.get("isSystem") is True
            mapped = (
                DEFAULT_PORTAL_LEVELS.get(value, CUSTOM_PORTAL_LEVEL)
                if system
                else CUSTOM_PORTAL_LEVEL
            )
        levels[value] = mapped
    return levels


def portal_level(
    portal_user: Mapping[str, Any] | None,
    levels: Mapping[int, int] = DEFAULT_PORTAL_LEVELS,
) -> int | None:
    """The contact's level on our 1..6 scale; None without an active portal login.

    A contact is a portal user only when it has a ClientPortalUsers row whose
    ``isClientPortalActive`` is true (rows are never deleted, only deactivated).
    """
    if portal_user is None:
        return None
    r = _reader("client portal user", portal_user)
    if not r.flag("isClientPortalActive", True):
        return None
    raw = r.get("securityLevel", None)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise r.error("securityLevel", f"bad value {raw!r} for")
    return levels.get(raw, CUSTOM_PORTAL_LEVEL)


def contact_from_at(
    d: Mapping[str, Any],
    portal_user: Mapping[str, Any] | None = None,
    *,
    levels: Mapping[int, int] = DEFAULT_PORTAL_LEVELS,
) -> Contact:
    """A contact, with the portal level of its ClientPortalUsers row (if any)."""
    r = _reader("contact", d)
    email = r.text("emailAddress", "").strip()
    return Contact(
        id=r.required_text("id"),
        company_id=r.required_text("companyID"),
        first_name=r.text("firstName", "").strip(),
        last_name=r.text("lastName", "").strip(),
        portal_security_level=portal_level(portal_user, levels),
        email=email or None,
        inactive=not _active(r, "isActive"),
        updated_at=_latest(r, "lastModifiedDate") or _latest(r, "lastActivityDate"),
    )


def invoice_from_at(d: Mapping[str, Any], *, numbering: str = "number") -> PsaInvoice:
    """An Autotask invoice (Autotask has no credit-memo entity: credits are negative
    charges on an invoice, and a negative invoice does not sync to QBO).

    * number: ``invoiceNumber``, else the id (what Autotask prints when the number
      is blank); with ``numbering`` "id" always the id, because the accounting
      integration was set to number QBO invoices with the Autotask invoice ID
      (its "Invoice numbering option"), and pairing goes by what QBO holds;
    * total: ``invoiceTotal``, the invoice amount including tax (``totalTaxValue``
      is its tax part); in the customer's currency under Multi-currency;
    * owing: Autotask records only whether an invoice is paid (``paidDate``, a
      date), not partial payments, so owing is 0 once ``paidDate`` is set and the
      whole total before;
    * ``isVoided``: status "Voided", total and owing 0 (a void bills nothing);
    * exported: ``webServiceDate`` is set. Autotask documents it as the field an
      external application sets to flag the date and time it processed the
      invoice, which is what an accounting integration does when it pulls one into
      the ledger. Autotask keeps no ledger invoice id, so ``ledger_invoice_id`` is
      None and pairing goes by number (then by the link the cache remembers);
    * updated_at: the latest of ``createDateTime``, ``paidDate``, ``voidedDate`` and
      ``webServiceDate`` (Invoices have no last-modified field).
    """
    r = _reader("invoice", d)
    invoice_id = r.required_text("id")
    number = r.text("invoiceNumber", "").strip() or invoice_id
    if numbering == "id":
        number = invoice_id
    voided = r.flag("isVoided", False)
    total = r.money("invoiceTotal")
    paid = _day(r, "paidDate", required=False)
    if voided:
        status, total, owing = "Voided", ZERO, ZERO
    elif paid is not None:
        status, owing = "Paid", ZERO
    else:
        status, owing = "Open", total
    return PsaInvoice(
        id=invoice_id,
        number=number,
        company_id=r.required_text("companyID"),
        date=_day(r, "invoiceDateTime", required=True),  # type: ignore[arg-type]
        total=total,
        owing=owing,
        due_date=_day(r, "dueDate", required=False),
        status=status,
        ledger_invoice_id=None,
        exported=r.get("webServiceDate", None) is not None,
        updated_at=_latest(r, "createDateTime", "paidDate", "voidedDate", "webServiceDate"),
    )
