"""Stored rows back into records (documents, master data, credits), by position.

``row["name"]`` on a ``sqlite3.Row`` walks the row's column names for every
column, and the refresh, the diagnosis, the auto-mapping and the PSA-payments
choice read thousands of records a sync: these readers find each column's position once
per query's column list (``SELECT *`` after a migration, ``p.*`` with a link)
and read by index. ``recon_tui.cache.records`` re-exports them.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

from recon_tui.models import (
    Contact,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.money import from_cents

#: Column name -> position, per distinct column list a query gave (a handful).
_POSITIONS: dict[tuple[str, ...], dict[str, int]] = {}
_KINDS_BY_VALUE = {k.value: k for k in DocKind}
_CREDIT_KINDS = {k.value: k for k in CreditKind}


def positions(row: sqlite3.Row) -> dict[str, int]:
    """Where each column of ``row``'s query sits, worked out once per column
    list: ``row["name"]`` on a ``sqlite3.Row`` walks its column names each time,
    so the readers of whole books read by position instead, whatever order
    (``SELECT *`` after a migration, ``p.*`` plus a link) the query gave."""
    keys = tuple(row.keys())
    found = _POSITIONS.get(keys)
    if found is None:
        found = _POSITIONS[keys] = {k: i for i, k in enumerate(keys)}
    return found


def _kind(value: str) -> DocKind:
    return _KINDS_BY_VALUE.get(value) or DocKind(value)


def psa_invoice_from(row: sqlite3.Row) -> PsaInvoice:
    """A PSA invoice, read through PSA_INVOICE_SELECT so it carries its effective link."""
    at = positions(row)
    updated, due = row[at["updated_at"]], row[at["due_date"]]
    return PsaInvoice(id=row[at["id"]], number=row[at["number"]],
                      company_id=row[at["company_id"]], date=date.fromisoformat(row[at["date"]]),
                      due_date=date.fromisoformat(due) if due else None,
                      total=from_cents(row[at["total_cents"]]),
                      owing=from_cents(row[at["owing_cents"]]), status=row[at["status"]],
                      ledger_invoice_id=row[at["link"]], exported=bool(row[at["exported"]]),
                      currency=row[at["currency"]],
                      updated_at=datetime.fromisoformat(updated) if updated else None,
                      kind=_kind(row[at["kind"]]))


def ledger_invoice_from(row: sqlite3.Row) -> LedgerInvoice:
    at = positions(row)
    updated, due = row[at["updated_at"]], row[at["due_date"]]
    return LedgerInvoice(id=row[at["id"]], doc_number=row[at["doc_number"]],
                         customer_id=row[at["customer_id"]],
                         date=date.fromisoformat(row[at["date"]]),
                         due_date=date.fromisoformat(due) if due else None,
                         total=from_cents(row[at["total_cents"]]),
                         balance=from_cents(row[at["balance_cents"]]),
                         voided=bool(row[at["voided"]]), currency=row[at["currency"]],
                         updated_at=datetime.fromisoformat(updated) if updated else None,
                         kind=_kind(row[at["kind"]]))


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def company_from(row: sqlite3.Row) -> PsaCompany:
    at = positions(row)
    return PsaCompany(id=row[at["id"]], identifier=row[at["identifier"]], name=row[at["name"]],
                      status=row[at["status"]], deleted=bool(row[at["deleted"]]),
                      portal_active=bool(row[at["portal_active"]]),
                      updated_at=_moment(row[at["updated_at"]]))


def contact_from(row: sqlite3.Row) -> Contact:
    at = positions(row)
    return Contact(id=row[at["id"]], company_id=row[at["company_id"]],
                   first_name=row[at["first_name"]], last_name=row[at["last_name"]],
                   email=row[at["email"]], portal_security_level=row[at["portal_security_level"]],
                   inactive=bool(row[at["inactive"]]),
                   portal_login_disabled=bool(row[at["portal_login_disabled"]]),
                   updated_at=_moment(row[at["updated_at"]]))


def customer_from(row: sqlite3.Row) -> LedgerCustomer:
    at = positions(row)
    return LedgerCustomer(id=row[at["id"]], display_name=row[at["display_name"]],
                          company_name=row[at["company_name"]], active=bool(row[at["active"]]),
                          balance=from_cents(row[at["balance_cents"]]),
                          updated_at=_moment(row[at["updated_at"]]))


def credit_from(row: sqlite3.Row) -> OrganizationalCredit:
    at = positions(row)
    kind = row[at["kind"]]
    return OrganizationalCredit(id=row[at["source_id"]],
                                kind=_CREDIT_KINDS.get(kind) or CreditKind(kind),
                                customer_id=row[at["customer_id"]],
                                date=date.fromisoformat(row[at["date"]]),
                                amount=from_cents(row[at["amount_cents"]]),
                                total=from_cents(row[at["total_cents"]]),
                                doc_number=row[at["doc_number"]],
                                updated_at=_moment(row[at["updated_at"]]))
