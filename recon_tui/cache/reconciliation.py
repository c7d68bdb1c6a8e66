"""The materialised reconciliation: writing it, whole or in part, and the
queries the clients and client screens page through."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from recon_tui.cache.records import (
    BookTotals,
    PairRow,
    company_from,
    contact_from,
    credit_from,
    customer_from,
    ledger_invoice_from,
    pair_row_from,
    psa_invoice_from,
    summary_from,
)
from recon_tui.models import (
    ClientSummary,
    Contact,
    InvoicePair,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    ReconStatus,
)
from recon_tui.money import from_cents, to_cents


class ReconciliationQueries:
    """The materialised reconciliation, whole or in part, and the queries the
    clients and client screens page through."""

    conn: sqlite3.Connection

    # -- materialised reconciliation
    def replace_reconciliation(
        self,
        pairs: Iterable[tuple[str, InvoicePair]],
        summaries: Iterable[ClientSummary],
        contact_levels: dict[str, int | None] | None = None,
    ) -> None:
        """Swap in a freshly computed reconciliation in one transaction, so a
        reader never sees pairs and summaries from different computations."""
        levels = contact_levels if contact_levels is not None else self.max_portal_levels()
        with self.transaction():
            self.conn.execute("DELETE FROM invoice_pair")
            self.conn.execute("DELETE FROM client_summary")
            self._insert_pairs(pairs)
            self._insert_summaries(summaries, levels)

    # -- incremental refresh (one invoice, one mapping) without touching the rest

    def psa_invoices_related(self, *, ids: Sequence[str] = (), numbers: Sequence[str] = (),
                             ledger_ids: Sequence[str] = ()) -> list[PsaInvoice]:
        """PSA invoices by id, by number, or linked to given ledger invoice ids."""
        found: dict[str, PsaInvoice] = {}
        for sql, values in (("SELECT * FROM psa_invoice WHERE id IN ({marks})", ids),
                            ("SELECT * FROM psa_invoice WHERE number IN ({marks})", numbers),
                            ("SELECT * FROM psa_invoice WHERE ledger_invoice_id IN ({marks})",
                             ledger_ids)):
            for row in self._in(sql, values):
                found[row["id"]] = psa_invoice_from(row)
        return list(found.values())

    def ledger_invoices_related(self, *, ids: Sequence[str] = (),
                                numbers: Sequence[str] = ()) -> list[LedgerInvoice]:
        """Ledger invoices by id or by doc number."""
        found: dict[str, LedgerInvoice] = {}
        for sql, values in (("SELECT * FROM ledger_invoice WHERE id IN ({marks})", ids),
                            ("SELECT * FROM ledger_invoice WHERE doc_number IN ({marks})",
                             numbers)):
            for row in self._in(sql, values):
                found[row["id"]] = ledger_invoice_from(row)
        return list(found.values())

    def pair_client_keys(self, *, psa_ids: Sequence[str] = (),
                         ledger_ids: Sequence[str] = ()) -> set[str]:
        """Clients whose rows involve these invoices (before a re-pair)."""
        rows = self._in("SELECT client_key FROM invoice_pair WHERE psa_invoice_id IN ({marks})",
                        psa_ids)
        rows += self._in(
            "SELECT client_key FROM invoice_pair WHERE ledger_invoice_id IN ({marks})",
            ledger_ids)
        return {r[0] for r in rows}

    def replace_pairs_for(self, psa_ids: Sequence[str], ledger_ids: Sequence[str],
                          pairs: Iterable[tuple[str, InvoicePair]]) -> None:
        """Drop every row touching these invoices and insert their fresh pairs."""
        with self.transaction():
            self._in("DELETE FROM invoice_pair WHERE psa_invoice_id IN ({marks})", psa_ids)
            self._in("DELETE FROM invoice_pair WHERE ledger_invoice_id IN ({marks})",
                     ledger_ids)
            self._insert_pairs(pairs)

    def move_ledger_only_pairs(self, ledger_customer_id: str, client_key: str) -> None:
        """After a mapping change, the customer's ledger-only rows follow it."""
        with self.transaction():
            self.conn.execute(
                "UPDATE invoice_pair SET client_key=? WHERE ledger_customer_id=? "
                "AND psa_invoice_id IS NULL", (client_key, ledger_customer_id))

    def client_invoice_pairs(self, client_key: str) -> list[InvoicePair]:
        """A client's rows as domain pairs, for re-computing its roll-up."""
        rows = self.conn.execute(
            "SELECT status, psa_invoice_id, ledger_invoice_id FROM invoice_pair "
            "WHERE client_key=?", (client_key,)).fetchall()
        psa = {i.id: i for i in self.psa_invoices_related(
            ids=[r["psa_invoice_id"] for r in rows if r["psa_invoice_id"]])}
        ledger = {i.id: i for i in self.ledger_invoices_related(
            ids=[r["ledger_invoice_id"] for r in rows if r["ledger_invoice_id"]])}
        pairs = []
        for r in rows:
            status = ReconStatus(r["status"])
            ledger_side = None if status is ReconStatus.EXPECTED_NOT_FOUND else ledger.get(
                r["ledger_invoice_id"])
            pairs.append(InvoicePair(status, psa.get(r["psa_invoice_id"]), ledger_side))
        return pairs

    def replace_client_summaries(self, client_keys: Sequence[str],
                                 summaries: Iterable[ClientSummary]) -> None:
        with self.transaction():
            self._in("DELETE FROM client_summary WHERE client_key IN ({marks})", client_keys)
            self._insert_summaries(summaries, self.max_portal_levels())

    def companies_by_id(self, ids: Sequence[str]) -> dict[str, PsaCompany]:
        return {r["id"]: company_from(r)
                for r in self._in("SELECT * FROM psa_company WHERE id IN ({marks})", ids)}

    def customers_by_id(self, ids: Sequence[str]) -> dict[str, LedgerCustomer]:
        return {r["id"]: customer_from(r)
                for r in self._in("SELECT * FROM ledger_customer WHERE id IN ({marks})", ids)}

    def mapping_for_companies(self, company_ids: Sequence[str]) -> dict[str, str]:
        """ledger_customer_id -> psa_company_id for the given companies."""
        return {r[0]: r[1] for r in self._in(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping "
            "WHERE psa_company_id IN ({marks})", company_ids)}

    def mapping_for_customers(self, customer_ids: Sequence[str]) -> dict[str, str]:
        return {r[0]: r[1] for r in self._in(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping "
            "WHERE ledger_customer_id IN ({marks})", customer_ids)}

    def _insert_pairs(self, pairs: Iterable[tuple[str, InvoicePair]]) -> None:
        sql = ("INSERT INTO invoice_pair (client_key, status, invoice_date, psa_invoice_id, "
               "ledger_invoice_id, psa_company_id, ledger_customer_id, psa_number, "
               "ledger_number, psa_status, psa_total_cents, psa_owing_cents, "
               "ledger_total_cents, ledger_owing_cents, ledger_voided, diff_total_cents, "
               "diff_owing_cents, discrepant) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

        def rows() -> Iterator[tuple]:
            for key, p in pairs:
                psa, led = p.psa, p.ledger
                expected_ledger_id = led.id if led else (psa.ledger_invoice_id if psa else None)
                yield (
                    key, p.status.value, p.invoice_date.isoformat(),
                    psa.id if psa else None, expected_ledger_id,
                    psa.company_id if psa else None, led.customer_id if led else None,
                    psa.number if psa else None, led.doc_number if led else None,
                    psa.status if psa else None,
                    to_cents(psa.total) if psa else None, to_cents(psa.owing) if psa else None,
                    to_cents(led.total) if led else None,
                    to_cents(led.balance) if led else None,
                    int(led.voided) if led else 0,
                    to_cents(p.difference_total), to_cents(p.difference_owing),
                    int(p.discrepant),
                )

        self.conn.executemany(sql, rows())

    def _insert_summaries(self, summaries: Iterable[ClientSummary],
                          levels: dict[str, int | None]) -> None:
        sql = ("INSERT INTO client_summary (client_key, name, name_sort, psa_company_id, "
               "ledger_customer_ids, ledger_name, psa_owing_cents, ledger_balance_cents, "
               "difference_cents, abs_difference_cents, unapplied_credit_cents, "
               "discrepant_count, invoice_count, mapped, max_portal_level, search) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

        def rows() -> Iterator[tuple]:
            for s in summaries:
                diff = to_cents(s.difference)
                yield (
                    s.client_key, s.name, s.name.casefold(), s.psa_company_id,
                    "\x1f".join(s.ledger_customer_ids), s.ledger_name,
                    to_cents(s.psa_owing), to_cents(s.ledger_balance), diff, abs(diff),
                    to_cents(s.unapplied_credits), s.discrepant_count, s.invoice_count,
                    int(s.mapped),
                    levels.get(s.psa_company_id) if s.psa_company_id else None,
                    f"{s.name}\x1f{s.ledger_name}".casefold(),
                )

        self.conn.executemany(sql, rows())

    def max_portal_levels(self) -> dict[str, int | None]:
        """Highest portal security level among each company's active contacts."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT company_id, max(portal_security_level) FROM psa_contact "
            "WHERE inactive = 0 GROUP BY company_id")}

    # -- the clients screen
    @staticmethod
    def _client_filter(text: str, discrepant_only: bool, unmapped_only: bool,
                       portal_below: int | None) -> tuple[str, list]:
        clauses, params = [], []
        for word in text.casefold().split():
            clauses.append("instr(search, ?) > 0")
            params.append(word)
        if discrepant_only:
            clauses.append("(discrepant_count > 0 OR abs_difference_cents > 0)")
        if unmapped_only:
            clauses.append("mapped = 0")
        if portal_below is not None:
            clauses.append("psa_company_id IS NOT NULL AND "
                           "(max_portal_level IS NULL OR max_portal_level < ?)")
            params.append(portal_below)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return where, params

    def count_clients(self, text: str = "", *, discrepant_only: bool = False,
                      unmapped_only: bool = False, portal_below: int | None = None) -> int:
        where, params = self._client_filter(text, discrepant_only, unmapped_only, portal_below)
        return self.conn.execute(f"SELECT count(*) FROM client_summary {where}",
                                 params).fetchone()[0]

    def client_page(self, text: str = "", offset: int = 0, limit: int = 100, *,
                    discrepant_only: bool = False, unmapped_only: bool = False,
                    portal_below: int | None = None) -> list[ClientSummary]:
        """Worst difference first, then most discrepant invoices, then name."""
        where, params = self._client_filter(text, discrepant_only, unmapped_only, portal_below)
        rows = self.conn.execute(
            f"SELECT * FROM client_summary {where} ORDER BY abs_difference_cents DESC, "
            f"discrepant_count DESC, name_sort LIMIT ? OFFSET ?", [*params, limit, offset])
        return [summary_from(r) for r in rows]

    def client(self, client_key: str) -> ClientSummary | None:
        row = self.conn.execute("SELECT * FROM client_summary WHERE client_key=?",
                                (client_key,)).fetchone()
        return summary_from(row) if row else None

    def book_totals(self) -> BookTotals:
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(psa_owing_cents), 0), "
            "coalesce(sum(ledger_balance_cents), 0), coalesce(sum(unapplied_credit_cents), 0), "
            "coalesce(sum(discrepant_count > 0 OR abs_difference_cents > 0), 0) "
            "FROM client_summary").fetchone()
        return BookTotals(clients=row[0], psa_owing=from_cents(row[1]),
                          ledger_balance=from_cents(row[2]),
                          unapplied_credits=from_cents(row[3]), discrepant_clients=row[4],
                          unmapped_customers=self.unmapped_customer_count())

    # -- the client detail screen
    def count_client_pairs(self, client_key: str) -> int:
        return self.conn.execute("SELECT count(*) FROM invoice_pair WHERE client_key=?",
                                 (client_key,)).fetchone()[0]

    def client_pairs(self, client_key: str, offset: int = 0, limit: int = 100) -> list[PairRow]:
        """Discrepant rows first (largest owing gap first), then newest first."""
        rows = self.conn.execute(
            "SELECT * FROM invoice_pair WHERE client_key=? ORDER BY discrepant DESC, "
            "abs(diff_owing_cents) DESC, abs(diff_total_cents) DESC, invoice_date DESC, id "
            "LIMIT ? OFFSET ?", (client_key, limit, offset))
        return [pair_row_from(r) for r in rows]

    def count_pairs(self) -> int:
        return self.conn.execute("SELECT count(*) FROM invoice_pair").fetchone()[0]

    def pair_row(self, pair_id: int) -> PairRow | None:
        row = self.conn.execute("SELECT * FROM invoice_pair WHERE id=?", (pair_id,)).fetchone()
        return pair_row_from(row) if row else None

    def pairs_for_number(self, number: str) -> list[PairRow]:
        """Rows whose PSA number or ledger doc number is ``number``."""
        rows = self.conn.execute(
            "SELECT * FROM invoice_pair WHERE psa_number=? UNION "
            "SELECT * FROM invoice_pair WHERE ledger_number=?", (number, number))
        return [pair_row_from(r) for r in rows]

    def client_credits(self, customer_ids: Sequence[str]) -> list[OrganizationalCredit]:
        if not customer_ids:
            return []
        marks = ", ".join("?" for _ in customer_ids)
        rows = self.conn.execute(
            f"SELECT * FROM ledger_credit WHERE customer_id IN ({marks}) AND amount_cents != 0 "
            f"ORDER BY date, id", list(customer_ids))
        return [credit_from(r) for r in rows]

    def company_contacts(self, company_id: str) -> list[Contact]:
        rows = self.conn.execute(
            "SELECT * FROM psa_contact WHERE company_id=? ORDER BY inactive, "
            "coalesce(portal_security_level, 0) DESC, last_name, first_name", (company_id,))
        return [contact_from(r) for r in rows]

    def contacts(self) -> list[Contact]:
        return [contact_from(r) for r in self.conn.execute("SELECT * FROM psa_contact")]
