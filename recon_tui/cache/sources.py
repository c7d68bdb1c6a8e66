"""Reads of the synced records and the company mapping (half of ``cache.records``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from recon_tui.cache.part import CachePart
from recon_tui.cache.records import (
    PSA_INVOICE_SELECT,
    company_from,
    credit_from,
    customer_from,
    iso_text,
    ledger_invoice_from,
    parse_datetime,
    psa_invoice_from,
)
from recon_tui.models import (
    CompanyMapping,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)


class SourceQueries(CachePart):
    """Reads of the synced records and the company mapping."""

    # -- reads of source records
    def companies(self) -> dict[str, PsaCompany]:
        return {r["id"]: company_from(r) for r in self.conn.execute("SELECT * FROM psa_company")}

    def company(self, company_id: str) -> PsaCompany | None:
        row = self.conn.execute("SELECT * FROM psa_company WHERE id=?", (company_id,)).fetchone()
        return company_from(row) if row else None

    def customers(self) -> dict[str, LedgerCustomer]:
        return {r["id"]: customer_from(r)
                for r in self.conn.execute("SELECT * FROM ledger_customer")}

    def unmapped_customers(self) -> list[LedgerCustomer]:
        """The ledger customers no mapping names, in the order ``customers`` gives
        them: the automatic mapping's only candidates, so the daily sync of a
        mapped book loads none (10,000 customers and companies were read into
        models every sync to find that none was left)."""
        return [customer_from(r) for r in self.conn.execute(
            "SELECT * FROM ledger_customer c WHERE NOT EXISTS (SELECT 1 FROM "
            "company_mapping m WHERE m.ledger_customer_id = c.id)")]

    def iter_companies(self) -> Iterator[PsaCompany]:
        """Every PSA company, read as iterated (not at the call)."""
        for r in self.conn.execute("SELECT * FROM psa_company"):
            yield company_from(r)

    def customer(self, customer_id: str) -> LedgerCustomer | None:
        row = self.conn.execute("SELECT * FROM ledger_customer WHERE id=?",
                                (customer_id,)).fetchone()
        return customer_from(row) if row else None

    def iter_psa_invoices(self) -> Iterator[PsaInvoice]:
        """Every PSA invoice and credit memo, each with its effective link."""
        for row in self.conn.execute(PSA_INVOICE_SELECT):
            yield psa_invoice_from(row)

    def iter_ledger_invoices(self) -> Iterator[LedgerInvoice]:
        for row in self.conn.execute("SELECT * FROM ledger_invoice"):
            yield ledger_invoice_from(row)

    def iter_ledger_documents(self) -> Iterator[LedgerInvoice]:
        """Every ledger invoice, then every ledger credit memo."""
        yield from self.iter_ledger_invoices()
        for row in self.conn.execute("SELECT * FROM ledger_credit_memo"):
            yield ledger_invoice_from(row)

    def psa_invoice(self, invoice_id: str) -> PsaInvoice | None:
        row = self.conn.execute(f"{PSA_INVOICE_SELECT} WHERE p.id=?", (invoice_id,)).fetchone()
        return psa_invoice_from(row) if row else None

    def ledger_credit_memo(self, memo_id: str) -> LedgerInvoice | None:
        row = self.conn.execute("SELECT * FROM ledger_credit_memo WHERE id=?",
                                (memo_id,)).fetchone()
        return ledger_invoice_from(row) if row else None

    def ledger_invoice(self, invoice_id: str) -> LedgerInvoice | None:
        row = self.conn.execute("SELECT * FROM ledger_invoice WHERE id=?",
                                (invoice_id,)).fetchone()
        return ledger_invoice_from(row) if row else None

    def credits(self) -> list[OrganizationalCredit]:
        return [credit_from(r) for r in self.conn.execute(
            "SELECT * FROM ledger_credit WHERE amount_cents != 0")]

    def counts(self) -> dict[str, int]:
        """Row counts per source table, for status lines and tests."""
        tables = ("psa_company", "psa_contact", "psa_invoice", "ledger_customer",
                  "ledger_invoice", "ledger_credit_memo", "ledger_credit", "company_mapping",
                  "invoice_link", "invoice_pair", "client_summary")
        return {t: self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    # -- mapping
    def mapping(self) -> dict[str, str]:
        """ledger_customer_id -> psa_company_id."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping")}

    def mappings(self) -> list[CompanyMapping]:
        return [CompanyMapping(r["ledger_customer_id"], r["psa_company_id"],
                               MappingMethod(r["method"]), parse_datetime(r["created_at"]))
                for r in self.conn.execute("SELECT * FROM company_mapping")]

    def add_mappings(self, mappings: Iterable[CompanyMapping]) -> int:
        rows = [(m.ledger_customer_id, m.psa_company_id, m.method.value,
                 iso_text(m.created_at or datetime.now(UTC))) for m in mappings]
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO company_mapping(ledger_customer_id, psa_company_id, method, "
                "created_at) VALUES (?, ?, ?, ?) ON CONFLICT(ledger_customer_id) DO UPDATE SET "
                "psa_company_id=excluded.psa_company_id, method=excluded.method, "
                "created_at=excluded.created_at", rows)
        return len(rows)

    def remove_mapping(self, ledger_customer_id: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM company_mapping WHERE ledger_customer_id=?",
                              (ledger_customer_id,))

    def unmapped_customer_count(self) -> int:
        return self.conn.execute(
            "SELECT count(*) FROM ledger_customer c WHERE NOT EXISTS "
            "(SELECT 1 FROM company_mapping m WHERE m.ledger_customer_id = c.id)").fetchone()[0]
