"""What the company mapper asks of the cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from recon_tui.cache.part import CachePart
from recon_tui.cache.records import (
    customer_from,
    parse_datetime,
)
from recon_tui.cache.schema import CHUNK
from recon_tui.models import (
    CompanyMapping,
    LedgerCustomer,
    MappingMethod,
)
from recon_tui.money import from_cents

#: Shared invoice numbers listed per company; the count is always exact.
SHARED_NUMBERS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class CompanyFacts:
    """What the cache knows of a PSA company that can tell a person whether it is
    the ledger customer in front of them (the mapper's "why it ranks")."""

    company_id: str
    email_domains: tuple[str, ...] = ()  # its contacts' e-mail domains, most used first
    psa_invoice_count: int = 0
    psa_owing: Decimal = Decimal("0.00")  # what the PSA says the company owes
    shared_count: int = 0  # invoice numbers both in its PSA invoices and the customer's
    shared_numbers: tuple[str, ...] = ()  # the first few of them, natural order


class MappingReads(CachePart):
    """What the company mapper asks of the cache (``cache.mapper``): the queue of
    unmapped customers, a customer's mapping, and the facts that rank candidates.
    The mapping writes stay with the record writes (they re-pair clients)."""

    def unmapped_customer_queue(self) -> list[tuple[LedgerCustomer, int, Decimal]]:
        """Every unmapped ledger customer with its invoice count and open balance,
        biggest balance first, then most invoices: the mapper works the money first."""
        rows = self.conn.execute(
            "SELECT c.*, count(i.id) AS invoice_count, "
            "coalesce(sum(i.balance_cents), 0) AS open_cents "
            "FROM ledger_customer c LEFT JOIN ledger_invoice i ON i.customer_id = c.id "
            "WHERE NOT EXISTS (SELECT 1 FROM company_mapping m "
            "WHERE m.ledger_customer_id = c.id) "
            "GROUP BY c.id ORDER BY abs(open_cents) DESC, invoice_count DESC, "
            "c.display_name COLLATE NOCASE, c.id")
        return [(customer_from(r), r["invoice_count"], from_cents(r["open_cents"]))
                for r in rows]

    def company_mapping(self, ledger_customer_id: str) -> CompanyMapping | None:
        """One customer's mapping with its method and time, so an undo restores it exactly."""
        row = self.conn.execute("SELECT * FROM company_mapping WHERE ledger_customer_id=?",
                                (ledger_customer_id,)).fetchone()
        if row is None:
            return None
        return CompanyMapping(row["ledger_customer_id"], row["psa_company_id"],
                              MappingMethod(row["method"]), parse_datetime(row["created_at"]))

    def deleted_company_ids(self, company_ids: Sequence[str]) -> set[str]:
        """Which of these PSA companies sit in the PSA's recycle bin (one query per page)."""
        return {r[0] for r in self._in(
            "SELECT id FROM psa_company WHERE deleted = 1 AND id IN ({marks})", company_ids)}

    def company_facts(self, company_ids: Sequence[str],
                      customer_id: str) -> dict[str, CompanyFacts]:
        """Each company's contacts' e-mail domains, its PSA invoices and open balance,
        and the invoice numbers it shares with the ledger customer's invoices (the
        same exact number the pairing uses: ConnectWise invoiceNumber = QBO DocNumber).
        A few indexed queries for the handful of candidates on screen."""
        ids = list(dict.fromkeys(company_ids))
        domains: dict[str, list[str]] = {}
        for row in self._in(
                "SELECT company_id, lower(trim(substr(email, instr(email, '@') + 1))) AS d, "
                "count(*) AS n FROM psa_contact WHERE company_id IN ({marks}) "
                "AND instr(email, '@') > 0 GROUP BY company_id, d "
                "HAVING d != '' ORDER BY company_id, n DESC, d", ids):
            domains.setdefault(row["company_id"], []).append(row["d"])
        invoices = {r["company_id"]: (r["n"], r["owing"]) for r in self._in(
            "SELECT company_id, count(*) AS n, coalesce(sum(owing_cents), 0) AS owing "
            "FROM psa_invoice WHERE kind = 'invoice' AND company_id IN ({marks}) "
            "GROUP BY company_id", ids)}
        shared: dict[str, list[str]] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for row in self.conn.execute(
                    "SELECT DISTINCT p.company_id, p.number FROM ledger_invoice l "
                    "JOIN psa_invoice p ON p.number = l.doc_number AND p.kind = 'invoice' "
                    "WHERE l.customer_id = ? AND l.doc_number != '' AND p.company_id IN "
                    f"({', '.join('?' for _ in chunk)})", (customer_id, *chunk)):
                shared.setdefault(row["company_id"], []).append(row["number"])
        result = {}
        for cid in ids:
            count, owing = invoices.get(cid, (0, 0))
            numbers = sorted(shared.get(cid, ()), key=_natural)
            result[cid] = CompanyFacts(cid, tuple(domains.get(cid, ())), count,
                                       from_cents(owing), len(numbers),
                                       tuple(numbers[:SHARED_NUMBERS_SHOWN]))
        return result


def _natural(number: str) -> tuple[int, int, str]:
    """"9" before "10", numbers before other text."""
    digits = number.strip()
    if digits.isascii() and digits.isdigit():
        return 0, int(digits), digits
    return 1, 0, digits
