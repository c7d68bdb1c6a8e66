"""The report's sections beside the invoice rows: money on account in the
ledger, ledger customers nobody mapped, and who can (not) see invoices in the
PSA's portal. Read from the cache, scoped to one client or the whole book."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from recon_tui.cache import Cache
from recon_tui.money import ZERO

__all__ = ["CreditLine", "PortalClient", "PortalContact", "UnmappedCustomer", "credit_lines",
           "portal_sections", "unmapped_customers"]


@dataclass(frozen=True, slots=True)
class CreditLine:
    """Money on account in the ledger: a credit memo's remaining credit or a
    payment's unapplied amount."""

    customer_id: str
    customer: str
    psa_company: str | None
    source: str  # "Credit memo" | "Unapplied payment"
    credit_id: str
    doc_number: str
    date: date
    amount: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class UnmappedCustomer:
    """A ledger customer no PSA company is mapped to: its invoices sit apart from
    any client's view until someone maps it."""

    customer_id: str
    name: str
    active: bool
    invoice_count: int
    invoices_in_period: int
    balance: Decimal
    unapplied_credits: Decimal


@dataclass(frozen=True, slots=True)
class PortalContact:
    """An active PSA contact below the portal level that may see invoices."""

    company_id: str
    company: str
    contact_id: str
    name: str
    email: str | None
    level: int | None


@dataclass(frozen=True, slots=True)
class PortalClient:
    """A PSA company none of whose contacts can see invoices in the portal."""

    company_id: str
    company: str
    active_contacts: int
    highest_level: int | None
    deleted: bool
    reason: str


def credit_lines(cache: Cache, companies: dict, customers: dict, mapping: dict[str, str],
             scope: set[str] | None) -> list[CreditLine]:
    credits = (cache.records.credits() if scope is None
               else cache.recon.client_credits(sorted(scope)))
    lines = []
    for credit in credits:
        customer = customers.get(credit.customer_id)
        company = companies.get(mapping.get(credit.customer_id, ""))
        lines.append(CreditLine(
            customer_id=credit.customer_id,
            customer=customer.display_name if customer else credit.customer_id,
            psa_company=company.name if company else None,
            source=credit.source, credit_id=credit.id, doc_number=credit.doc_number,
            date=credit.date, amount=credit.amount, total=credit.total))
    lines.sort(key=lambda c: (c.customer.casefold(), c.date, c.credit_id))
    return lines


def unmapped_customers(cache: Cache, in_period: Mapping[str, int],
                       scope: set[str] | None) -> list[UnmappedCustomer]:
    """``in_period``: the invoice rows in the period per ledger customer."""
    credit_sums: dict[str, Decimal] = {}
    for credit in cache.records.credits():
        if credit.amount > 0:
            credit_sums[credit.customer_id] = credit_sums.get(credit.customer_id, ZERO) \
                + credit.amount
    result = []
    for customer, invoice_count, balance in cache.mapper.unmapped_customer_queue():
        if scope is not None and customer.id not in scope:
            continue
        result.append(UnmappedCustomer(
            customer_id=customer.id, name=customer.display_name, active=customer.active,
            invoice_count=invoice_count, invoices_in_period=in_period.get(customer.id, 0),
            balance=balance, unapplied_credits=credit_sums.get(customer.id, ZERO)))
    return result


def portal_sections(cache: Cache, companies: dict, level: int,
            scope: set[str] | None) -> tuple[list[PortalContact], list[PortalClient]]:
    by_company: dict[str, list] = {}
    for contact in cache.recon.contacts():
        by_company.setdefault(contact.company_id, []).append(contact)
    contacts: list[PortalContact] = []
    clients: list[PortalClient] = []
    company_ids = sorted(companies) if scope is None else sorted(scope)
    for company_id in company_ids:
        company = companies.get(company_id)
        if company is None:
            continue
        active = [c for c in by_company.get(company_id, []) if not c.inactive]
        shut_out = [c for c in active if c.portal_login_disabled or not company.portal_active]
        below = [c for c in active if (c.portal_security_level or 0) < level
                 or c in shut_out]
        for c in below:
            contacts.append(PortalContact(company_id, company.name, c.id, c.full_name,
                                          c.email, c.portal_security_level))
        if len(below) == len(active):
            levels = [c.portal_security_level for c in active
                      if c.portal_security_level is not None]
            highest = max(levels) if levels else None
            reason = _nobody_sees_why(active, shut_out, level, company.portal_active)
            clients.append(PortalClient(company_id, company.name, len(active), highest,
                                        company.deleted, reason))
    contacts.sort(key=lambda c: (c.company.casefold(), c.name.casefold(), c.contact_id))
    clients.sort(key=lambda c: (c.company.casefold(), c.company_id))
    return contacts, clients


def _nobody_sees_why(active: list, shut_out: list, level: int, portal_active: bool) -> str:
    """Why no contact of a company can see invoices, in the portal's own terms."""
    if not portal_active:
        return "the company's client portal is switched off in the PSA"
    if not active:
        return "no active contacts"
    if shut_out:
        names = ", ".join(c.full_name or c.id for c in shut_out)
        rest = len(active) - len(shut_out)
        tail = f"; the other {rest} are below level {level}" if rest else ""
        return f"portal login disabled for {names}{tail}"
    if len(active) == 1:
        return f"its only active contact is below level {level}"
    return f"all {len(active)} active contacts are below level {level}"
