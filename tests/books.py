"""Small hand-built books shared by the tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recon_tui.cache import Cache
from recon_tui.models import (
    CompanyMapping,
    Contact,
    CreditKind,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.refresh import refresh_reconciliation


def psa_invoice(number: str, company: str, total: str, owing: str, **kw) -> PsaInvoice:
    return PsaInvoice(id=f"p{number}", number=number, company_id=company,
                      date=kw.pop("day", date(2026, 3, 1)), total=Decimal(total),
                      owing=Decimal(owing), **kw)


def ledger_invoice(doc: str, customer: str, total: str, balance: str, **kw) -> LedgerInvoice:
    return LedgerInvoice(id=kw.pop("id", f"l{doc}"), doc_number=doc, customer_id=customer,
                         date=kw.pop("day", date(2026, 3, 1)), total=Decimal(total),
                         balance=Decimal(balance), **kw)


def seed_book(cache: Cache) -> None:
    cache.records.upsert_companies([
        PsaCompany("1", "NORTH", "Northwind Traders"),
        PsaCompany("2", "ATOM", "Atomars Best Tackle LLC"),
        PsaCompany("3", "QUIET", "Quiet Co"),
    ])
    cache.records.upsert_contacts([
        Contact("c1", "1", "Ada", "North", portal_security_level=6),
        Contact("c2", "2", "Bob", "Atom", portal_security_level=2),
    ])
    cache.records.upsert_customers([
        LedgerCustomer("58", "Northwind Traders"),
        LedgerCustomer("59", "Atomar's Best Tackle"),
    ])
    cache.records.upsert_psa_invoices([
        psa_invoice("110273", "1", "50.00", "40.00"),
        psa_invoice("10040", "2", "120.00", "120.00"),
        psa_invoice("10050", "3", "99.00", "99.00"),
    ])
    cache.records.upsert_ledger_invoices([
        ledger_invoice("110273", "58", "50.00", "50.00"),
        ledger_invoice("10040", "59", "120.00", "120.00"),
    ])
    cache.records.upsert_credits([
        OrganizationalCredit("11261", CreditKind.CREDIT_MEMO, "59", date(2026, 2, 1),
                             Decimal("10.00"), Decimal("10.00")),
    ])
    cache.records.add_mappings([CompanyMapping("58", "1", MappingMethod.AUTO_EXACT)])
    refresh_reconciliation(cache)
