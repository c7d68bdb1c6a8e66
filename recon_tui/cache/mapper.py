"""What the company mapper asks of the cache."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from decimal import Decimal

from recon_tui.cache.records import (
    customer_from,
    parse_datetime,
)
from recon_tui.models import (
    CompanyMapping,
    LedgerCustomer,
    MappingMethod,
)
from recon_tui.money import from_cents


class MapperQueries:
    """What the company mapper asks of the cache."""

    conn: sqlite3.Connection

    # -- company mapper
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
