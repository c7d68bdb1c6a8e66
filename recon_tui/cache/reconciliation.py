"""The materialised reconciliation (``cache.recon``): writing it, whole or in
part, and the queries the clients and client screens page through.

A part of the cache (``part.py``): it shares the core's connection and writes
only inside the core's transactions, so a sync's recompute and its record writes
commit together."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from recon_tui.cache.client_sql import SUMMARY_COLUMNS, client_rows, some_client_rows
from recon_tui.cache.core import CacheCore
from recon_tui.cache.diagnosis_sql import diagnose_in_sql
from recon_tui.cache.held import HeldRecords
from recon_tui.cache.incremental import IncrementalQueries
from recon_tui.cache.pairing_sql import pair_all
from recon_tui.cache.records import (
    PAIR_ROW_COLUMNS,
    PSA_INVOICE_SELECT,
    BookTotals,
    PairRow,
    company_from,
    contact_from,
    credit_from,
    customer_from,
    iso_text,
    pair_row_from,
    pair_row_from_values,
    psa_invoice_from,
    summary_from,
)
from recon_tui.models import (
    ClientSummary,
    Contact,
    DocKind,
    InvoicePair,
    LedgerCustomer,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.money import from_cents, to_cents

_SUMMARY_COLUMNS = SUMMARY_COLUMNS
_SUMMARY_INSERT = (f"INSERT INTO client_summary ({_SUMMARY_COLUMNS}) VALUES "
                   f"({', '.join('?' * 16)})")


class Reconciliation(IncrementalQueries):
    """The materialised reconciliation, whole or in part, and the queries the
    clients and client screens page through (``cache.recon``)."""

    def __init__(self, core: CacheCore, records: HeldRecords) -> None:
        super().__init__(core)
        self._records = records  # the totals' unmapped count is the records' own

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
            self._unordered()
            self._insert_pairs(pairs)
            self._insert_summaries(summaries, levels)

    def recompute_reconciliation(self, *, now: datetime | None = None) -> int:
        """Re-pair both books and re-sum every client in SQL (the full recompute:
        nothing of the books is loaded into Python), remembering the matched pairs
        as links; one transaction, so a reader sees the old state or the new.
        Returns the row count. Every discrepant row gets its cause where the cache
        alone decides it (``diagnosis_sql``); the rest are left without one."""
        with self.transaction():
            count = pair_all(self.conn, iso_text(now or datetime.now(UTC)) or "")
            self._store_summaries(client_rows(self.conn, self.max_portal_levels()))
        return count

    def diagnose_pending_in_sql(self) -> None:
        """Give the discrepant rows waiting for a cause the ones the cache alone
        decides (``diagnosis_sql``); the rest keep waiting for the Python diagnosis."""
        with self.transaction():
            diagnose_in_sql(self.conn, every=False)

    def replace_client_summaries(self, client_keys: Sequence[str],
                                 summaries: Iterable[ClientSummary]) -> None:
        with self.transaction():
            self._in("DELETE FROM client_summary WHERE client_key IN ({marks})", client_keys)
            self._insert_summaries(summaries, self.max_portal_levels())

    def refresh_client_rows(self, client_keys: Sequence[str]) -> list[ClientSummary]:
        """Re-sum these clients from their stored rows in SQL, as the full recompute
        sums every client, and store what differs; returns their summaries (a client
        with nothing left has none, and loses its row)."""
        with self.transaction():
            companies = sorted({k[4:] for k in client_keys if k.startswith("psa:")})
            rows = some_client_rows(self.conn, client_keys, self.max_portal_levels(companies))
            self._store_summaries(rows, keys=client_keys)
            return [summary_from(r) for r in self._in(
                "SELECT * FROM client_summary WHERE client_key IN ({marks})", client_keys)]

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

    def _store_summaries(self, rows: Iterable[tuple], keys: Sequence[str] | None = None) -> None:
        """Make the client rows (every one, or those of ``keys``) these, writing
        only the ones that differ (most clients' rows survive a recompute unchanged)."""
        new = {row[0]: row for row in rows}
        select = f"SELECT {_SUMMARY_COLUMNS} FROM client_summary"
        stored = (self.conn.execute(select) if keys is None
                  else self._in(select + " WHERE client_key IN ({marks})", keys))
        old = {row[0]: tuple(row) for row in stored}
        gone = [key for key, row in old.items() if new.get(key) != row]
        self._in("DELETE FROM client_summary WHERE client_key IN ({marks})", gone)
        self.conn.executemany(_SUMMARY_INSERT,
                              (row for key, row in new.items() if old.get(key) != row))

    def _insert_summaries(self, summaries: Iterable[ClientSummary],
                          levels: dict[str, int | None]) -> None:
        self.conn.executemany(_SUMMARY_INSERT, self._summary_rows(summaries, levels))

    @staticmethod
    def _summary_rows(summaries: Iterable[ClientSummary],
                      levels: dict[str, int | None]) -> Iterator[tuple]:
        """Each summary as a client_summary row (its columns in _SUMMARY_COLUMNS' order)."""
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

    def max_portal_levels(self, company_ids: Sequence[str] | None = None
                          ) -> dict[str, int | None]:
        """Highest portal security level among the contacts of each company (every
        one, or these) who can log in to the portal at all: active, portal login
        not disabled, and the company's portal switched on."""
        sql = ("SELECT c.company_id, max(c.portal_security_level) FROM psa_contact c "
               "LEFT JOIN psa_company co ON co.id = c.company_id "
               "WHERE c.inactive = 0 AND c.portal_login_disabled = 0 "
               "AND coalesce(co.portal_active, 1) = 1 {only} GROUP BY c.company_id")
        rows = (self.conn.execute(sql.format(only="")) if company_ids is None else self._in(
            sql.format(only="AND c.company_id IN ({marks})"), company_ids))
        return {r[0]: r[1] for r in rows}

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
                          unmapped_customers=self._unmapped_customers())

    def _unmapped_customers(self) -> int:
        """The mapper's count, asked of ``cache.records`` (which declares it)."""
        return self._records.unmapped_customer_count()

    # -- the client detail screen
    def count_client_pairs(self, client_key: str, kind: DocKind = DocKind.INVOICE) -> int:
        return self.conn.execute(
            "SELECT count(*) FROM invoice_pair WHERE client_key=? AND kind=?",
            (client_key, kind.value)).fetchone()[0]

    def client_pairs(self, client_key: str, offset: int = 0, limit: int = 100,
                     kind: DocKind = DocKind.INVOICE) -> list[PairRow]:
        """One kind of a client's rows: discrepant first (largest owing gap first),
        then newest first."""
        rows = self.conn.execute(
            f"SELECT {PAIR_ROW_COLUMNS} FROM invoice_pair WHERE client_key=? AND kind=? "
            "ORDER BY discrepant DESC, abs(diff_owing_cents) DESC, abs(diff_total_cents) DESC, "
            "invoice_date DESC, id LIMIT ? OFFSET ?", (client_key, kind.value, limit, offset))
        return [pair_row_from_values(r) for r in rows]

    def count_pairs(self) -> int:
        return self.conn.execute("SELECT count(*) FROM invoice_pair").fetchone()[0]

    def pair_row(self, pair_id: int) -> PairRow | None:
        row = self.conn.execute("SELECT * FROM invoice_pair WHERE id=?", (pair_id,)).fetchone()
        return pair_row_from(row) if row else None

    def pair_rows(self, pair_ids: Sequence[int]) -> dict[int, PairRow]:
        """Rows by id, a page at a time (the diagnosis reads a page of rows at once)."""
        return {r[0]: pair_row_from_values(r) for r in self._in(
            f"SELECT {PAIR_ROW_COLUMNS} FROM invoice_pair WHERE id IN ({{marks}})",
            pair_ids)}  # type: ignore[arg-type]

    def psa_invoices_by_id(self, ids: Sequence[str]) -> dict[str, PsaInvoice]:
        """PSA documents of any kind by id, each with its effective link."""
        return {r["id"]: psa_invoice_from(r)
                for r in self._in(f"{PSA_INVOICE_SELECT} WHERE p.id IN ({{marks}})", ids)}

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
