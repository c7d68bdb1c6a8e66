"""The materialised reconciliation: writing it, whole or in part, and the
queries the clients and client screens page through."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from recon_tui.cache.pairing_sql import ORDERED, client_summaries, pair_all
from recon_tui.cache.records import (
    PSA_INVOICE_BY_LINK_SELECT,
    PSA_INVOICE_SELECT,
    BookTotals,
    PairRow,
    company_from,
    contact_from,
    credit_from,
    customer_from,
    iso_text,
    ledger_invoice_from,
    ledger_spec,
    pair_row_from,
    psa_invoice_from,
    summary_from,
)
from recon_tui.models import (
    ClientSummary,
    Contact,
    DocKind,
    InvoicePair,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    ReconStatus,
)
from recon_tui.money import from_cents, to_cents

_SUMMARY_COLUMNS = (
    "client_key, name, name_sort, psa_company_id, ledger_customer_ids, ledger_name, "
    "psa_owing_cents, ledger_balance_cents, difference_cents, abs_difference_cents, "
    "unapplied_credit_cents, discrepant_count, invoice_count, mapped, max_portal_level, search")
_SUMMARY_INSERT = (f"INSERT INTO client_summary ({_SUMMARY_COLUMNS}) VALUES "
                   f"({', '.join('?' * 16)})")


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
            self._unordered()
            self._insert_pairs(pairs)
            self._insert_summaries(summaries, levels)

    def recompute_reconciliation(self, *, now: datetime | None = None) -> int:
        """Re-pair both books and re-sum every client in SQL (the full recompute:
        nothing of the books is loaded into Python), remembering the matched pairs
        as links; one transaction, so a reader sees the old state or the new.
        Returns the row count. Every discrepant row is left without a cause."""
        with self.transaction():
            count = pair_all(self.conn, iso_text(now or datetime.now(UTC)) or "")
            self._store_summaries(client_summaries(self.conn), self.max_portal_levels())
        return count

    # -- incremental refresh (one invoice, one mapping) without touching the rest

    def psa_documents_related(self, kind: DocKind, *, ids: Sequence[str] = (),
                              numbers: Sequence[str] = (),
                              ledger_ids: Sequence[str] = ()) -> list[PsaInvoice]:
        """PSA documents of ``kind`` by id, by number, or linked (by custom field
        or remembered link) to given ledger ids."""
        found: dict[str, PsaInvoice] = {}
        select = f"{PSA_INVOICE_SELECT} WHERE p.kind = '{kind.value}' AND "
        by_link = f"{PSA_INVOICE_BY_LINK_SELECT} WHERE p.kind = '{kind.value}' AND "
        for sql, values in ((select + "p.id IN ({marks})", ids),
                            (select + "p.number IN ({marks})", numbers),
                            (select + "p.ledger_invoice_id IN ({marks})", ledger_ids),
                            (by_link + "l.ledger_id IN ({marks})", ledger_ids)):
            for row in self._in(sql, values):
                found[row["id"]] = psa_invoice_from(row)
        return list(found.values())

    def ledger_documents_related(self, kind: DocKind, *, ids: Sequence[str] = (),
                                 numbers: Sequence[str] = ()) -> list[LedgerInvoice]:
        """Ledger documents of ``kind`` by id or by doc number."""
        table = ledger_spec(kind).table
        found: dict[str, LedgerInvoice] = {}
        for sql, values in ((f"SELECT * FROM {table} WHERE id IN ({{marks}})", ids),
                            (f"SELECT * FROM {table} WHERE doc_number IN ({{marks}})",
                             numbers)):
            for row in self._in(sql, values):
                found[row["id"]] = ledger_invoice_from(row)
        return list(found.values())

    def pair_partners(self, kind: DocKind, *, psa_ids: Sequence[str] = (),
                      ledger_ids: Sequence[str] = ()) -> tuple[set[str], set[str]]:
        """The PSA and ledger ids of every stored row of ``kind`` touching these
        ids: a re-pair must take in whatever a stale row still holds, or that row's
        other side would drop out of the reconciliation."""
        of_kind = f"SELECT psa_invoice_id, ledger_invoice_id FROM invoice_pair WHERE kind = " \
                  f"'{kind.value}'"
        rows = self._in(of_kind + " AND psa_invoice_id IN ({marks})", psa_ids)
        rows += self._in(of_kind + " AND ledger_invoice_id IN ({marks})", ledger_ids)
        return ({r[0] for r in rows if r[0] is not None},
                {r[1] for r in rows if r[1] is not None})

    def pair_client_keys(self, kind: DocKind, *, psa_ids: Sequence[str] = (),
                         ledger_ids: Sequence[str] = ()) -> set[str]:
        """Clients whose rows involve these documents (before a re-pair)."""
        of_kind = f"SELECT client_key FROM invoice_pair WHERE kind = '{kind.value}'"
        rows = self._in(of_kind + " AND psa_invoice_id IN ({marks})", psa_ids)
        rows += self._in(of_kind + " AND ledger_invoice_id IN ({marks})", ledger_ids)
        return {r[0] for r in rows}

    def replace_pairs_for(self, kind: DocKind, psa_ids: Sequence[str], ledger_ids: Sequence[str],
                          pairs: Iterable[tuple[str, InvoicePair]]) -> None:
        """Drop every row touching these documents and insert their fresh pairs."""
        of_kind = f"DELETE FROM invoice_pair WHERE kind = '{kind.value}'"
        with self.transaction():
            self._in(of_kind + " AND psa_invoice_id IN ({marks})", psa_ids)
            self._in(of_kind + " AND ledger_invoice_id IN ({marks})", ledger_ids)
            self._unordered()
            self._insert_pairs(pairs)

    def remember_links(self, pairs: Iterable[InvoicePair], *, now: datetime | None = None) -> int:
        """Remember every matched pair, as real integrations do: the next sync pairs
        them by link, so a renumbered or deleted ledger copy is noticed. A link
        already known keeps its first-seen time; a changed one is replaced."""
        stamp = iso_text(now or datetime.now(UTC))
        rows = [(p.psa.id, p.ledger.id, stamp,
                 "custom field" if p.psa.ledger_invoice_id == p.ledger.id else "number")
                for p in pairs
                if p.status is ReconStatus.MATCHED and p.psa is not None and p.ledger is not None]
        # Most pairs were remembered by an earlier sync: write only what is new.
        if len(rows) > 5_000:
            known = dict(self.conn.execute("SELECT psa_invoice_id, ledger_id FROM invoice_link"))
        else:
            known = dict(self._in("SELECT psa_invoice_id, ledger_id FROM invoice_link "
                                  "WHERE psa_invoice_id IN ({marks})", [r[0] for r in rows]))
        rows = [r for r in rows if known.get(r[0]) != r[1]]
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO invoice_link(psa_invoice_id, ledger_id, first_seen, method) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(psa_invoice_id) DO UPDATE SET "
                "ledger_id=excluded.ledger_id, first_seen=excluded.first_seen, "
                "method=excluded.method WHERE invoice_link.ledger_id != excluded.ledger_id",
                rows)
        return len(rows)

    def links(self) -> dict[str, tuple[str, str]]:
        """psa_invoice_id -> (ledger id, how the link was made), for tests and the report."""
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT psa_invoice_id, ledger_id, method FROM invoice_link")}

    def move_ledger_only_pairs(self, ledger_customer_id: str, client_key: str) -> None:
        """After a mapping change, the customer's ledger-only rows follow it."""
        with self.transaction():
            self.conn.execute(
                "UPDATE invoice_pair SET client_key=?, cause=NULL WHERE ledger_customer_id=? "
                "AND psa_invoice_id IS NULL", (client_key, ledger_customer_id))

    def client_invoice_pairs(self, client_key: str) -> list[InvoicePair]:
        """A client's rows as domain pairs, for re-computing its roll-up."""
        rows = self.conn.execute(
            "SELECT status, kind, psa_invoice_id, ledger_invoice_id FROM invoice_pair "
            "WHERE client_key=?", (client_key,)).fetchall()
        psa: dict[str, PsaInvoice] = {}
        ledger: dict[tuple[str, str], LedgerInvoice] = {}
        for kind in DocKind:
            of_kind = [r for r in rows if r["kind"] == kind.value]
            psa |= {i.id: i for i in self.psa_documents_related(
                kind, ids=[r["psa_invoice_id"] for r in of_kind if r["psa_invoice_id"]])}
            ledger |= {(kind.value, i.id): i for i in self.ledger_documents_related(
                kind, ids=[r["ledger_invoice_id"] for r in of_kind if r["ledger_invoice_id"]])}
        pairs = []
        for r in rows:
            status = ReconStatus(r["status"])
            ledger_side = None if status is ReconStatus.EXPECTED_NOT_FOUND else ledger.get(
                (r["kind"], r["ledger_invoice_id"]))
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

    def _unordered(self) -> None:
        """Rows written here are not numbered in the full recompute's order: the
        next one must renumber them even if it pairs the same."""
        self.conn.execute("DELETE FROM meta WHERE key = ?", (ORDERED,))

    def _insert_pairs(self, pairs: Iterable[tuple[str, InvoicePair]]) -> None:
        sql = ("INSERT INTO invoice_pair (client_key, status, invoice_date, psa_invoice_id, "
               "ledger_invoice_id, psa_company_id, ledger_customer_id, psa_number, "
               "ledger_number, psa_status, psa_total_cents, psa_owing_cents, "
               "ledger_total_cents, ledger_owing_cents, ledger_voided, diff_total_cents, "
               "diff_owing_cents, discrepant, kind) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

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
                    int(p.discrepant), p.kind.value,
                )

        self.conn.executemany(sql, rows())

    def _store_summaries(self, summaries: Iterable[ClientSummary],
                         levels: dict[str, int | None]) -> None:
        """Make the client rows these, writing only the ones that differ (most
        clients' rows survive a recompute unchanged)."""
        new = {row[0]: row for row in self._summary_rows(summaries, levels)}
        old = {row[0]: tuple(row) for row in self.conn.execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM client_summary")}
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

    def max_portal_levels(self) -> dict[str, int | None]:
        """Highest portal security level among the contacts of each company who can
        log in to the portal at all: active, portal login not disabled, and the
        company's portal switched on."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT c.company_id, max(c.portal_security_level) FROM psa_contact c "
            "LEFT JOIN psa_company co ON co.id = c.company_id "
            "WHERE c.inactive = 0 AND c.portal_login_disabled = 0 "
            "AND coalesce(co.portal_active, 1) = 1 GROUP BY c.company_id")}

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
    def count_client_pairs(self, client_key: str, kind: DocKind = DocKind.INVOICE) -> int:
        return self.conn.execute(
            "SELECT count(*) FROM invoice_pair WHERE client_key=? AND kind=?",
            (client_key, kind.value)).fetchone()[0]

    def client_pairs(self, client_key: str, offset: int = 0, limit: int = 100,
                     kind: DocKind = DocKind.INVOICE) -> list[PairRow]:
        """One kind of a client's rows: discrepant first (largest owing gap first),
        then newest first."""
        rows = self.conn.execute(
            "SELECT * FROM invoice_pair WHERE client_key=? AND kind=? ORDER BY discrepant DESC, "
            "abs(diff_owing_cents) DESC, abs(diff_total_cents) DESC, invoice_date DESC, id "
            "LIMIT ? OFFSET ?", (client_key, kind.value, limit, offset))
        return [pair_row_from(r) for r in rows]

    def count_pairs(self) -> int:
        return self.conn.execute("SELECT count(*) FROM invoice_pair").fetchone()[0]

    def pair_row(self, pair_id: int) -> PairRow | None:
        row = self.conn.execute("SELECT * FROM invoice_pair WHERE id=?", (pair_id,)).fetchone()
        return pair_row_from(row) if row else None

    def pair_rows(self, pair_ids: Sequence[int]) -> dict[int, PairRow]:
        """Rows by id, a page at a time (the diagnosis reads a page of rows at once)."""
        return {r["id"]: pair_row_from(r) for r in self._in(
            "SELECT * FROM invoice_pair WHERE id IN ({marks})", pair_ids)}  # type: ignore[arg-type]

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
