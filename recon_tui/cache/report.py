"""What the reconciliation report reads, in one consistent view."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from recon_tui.models import (
    DocKind,
    InvoicePair,
    LedgerInvoice,
    PsaInvoice,
    ReconStatus,
)
from recon_tui.money import from_cents

#: One report row: the pair, its client key, PSA company name, ledger customer
#: name, and its stored cause (None for a row that agrees or one not diagnosed).
ReportPair = tuple[InvoicePair, str, str | None, str | None, str | None]


class CauseGroup(NamedTuple):
    """Discrepant rows of one kind, cause and status, summed (the report's causes
    block folds these; the status decides what a group adds to the Invoice
    Difference)."""

    kind: DocKind
    cause: str | None
    status: ReconStatus
    count: int
    difference_total: Decimal
    difference_owing: Decimal
    psa_total: Decimal


class ReportQueries:
    """What the reconciliation report reads, in one consistent view."""

    conn: sqlite3.Connection

    # -- report
    @contextmanager
    def report_view(self) -> Iterator[None]:
        """One consistent view of the cache for a whole report: a deferred read
        transaction, so every query sees the database as of the first one (WAL),
        whatever a sync commits meanwhile. Nested use joins the open transaction."""
        with self._lock:
            if self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN DEFERRED")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    def _report_where(self, start: date, end: date,
                      client_key: str | None) -> tuple[str, list[str]]:
        where, params = "p.invoice_date BETWEEN ? AND ?", [start.isoformat(), end.isoformat()]
        if client_key is not None:
            where += " AND p.client_key = ?"
            params.append(client_key)
        return where, params

    def report_date_range(self, client_key: str | None = None) -> tuple[date, date] | None:
        """The first and last invoice dates of the materialised pairs (one client's,
        or the whole book's); None when there are none. The report's default period
        covers them all."""
        where, params = ("WHERE client_key = ?", [client_key]) if client_key else ("", [])
        first, last = self.conn.execute(
            f"SELECT min(invoice_date), max(invoice_date) FROM invoice_pair {where}",
            params).fetchone()
        if first is None or last is None:
            return None
        return date.fromisoformat(first), date.fromisoformat(last)

    def report_pair_count(self, start: date, end: date, client_key: str | None = None) -> int:
        """Rows of the snapshot report: materialised pairs dated in [start, end]."""
        where, params = self._report_where(start, end, client_key)
        return self.conn.execute(f"SELECT count(*) FROM invoice_pair p WHERE {where}",
                                 params).fetchone()[0]

    def report_cause_groups(self, start: date, end: date,
                            client_key: str | None = None) -> list[CauseGroup]:
        """The discrepant rows dated in [start, end] counted and summed per kind,
        cause and status: one GROUP BY, whatever the size of the book. A row not
        diagnosed yet has cause None."""
        where, params = self._report_where(start, end, client_key)
        return [
            CauseGroup(DocKind(kind), cause, ReconStatus(status), count,
                       from_cents(diff_total), from_cents(diff_owing), from_cents(psa_total))
            for kind, cause, status, count, diff_total, diff_owing, psa_total
            in self.conn.execute(
                "SELECT kind, cause, status, count(*), coalesce(sum(diff_total_cents), 0), "
                "coalesce(sum(diff_owing_cents), 0), coalesce(sum(psa_total_cents), 0) "
                f"FROM invoice_pair p WHERE {where} AND discrepant "
                "GROUP BY kind, cause, status ORDER BY kind, cause, status", params)
        ]

    def iter_report_pairs(self, start: date, end: date, client_key: str | None = None
                          ) -> Iterator[ReportPair]:
        """The materialised pairs dated in [start, end] (optionally one client's) as
        domain pairs, each with its client key, its PSA company name, its ledger
        customer name and its cause (read with the row: only a discrepant row has
        one). A side missing from the row stays None; the names fall back to
        the client's mapped counterpart (a PSA-only row of a mapped company gets the
        mapped ledger customers' names, a mapped customer's ledger-only row its
        company's name). Names and currencies come from small lookups rather than
        joins, so 200,000 rows stream in a few seconds."""
        where, params = self._report_where(start, end, client_key)
        companies = dict(self.conn.execute("SELECT id, name FROM psa_company").fetchall())
        customers = dict(self.conn.execute(
            "SELECT id, display_name FROM ledger_customer").fetchall())
        clients = {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT client_key, name, ledger_name FROM client_summary")}
        # Most books use one currency: only the invoices in another are looked up.
        counts: dict[str, int] = {}
        for table in ("psa_invoice", "ledger_invoice"):
            for currency, n in self.conn.execute(
                    f"SELECT currency, count(*) FROM {table} GROUP BY currency"):
                counts[currency] = counts.get(currency, 0) + n
        main = max(counts, key=lambda c: (counts[c], c)) if counts else "USD"
        psa_currency = dict(self.conn.execute(
            "SELECT id, currency FROM psa_invoice WHERE currency != ?", (main,)).fetchall())
        ledger_currency = dict(self.conn.execute(
            "SELECT id, currency FROM ledger_invoice WHERE currency != ?", (main,)).fetchall())
        days: dict[str, date] = {}
        kinds = {kind.value: kind for kind in DocKind}
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: this loop is the hot path
        cursor.execute(
            "SELECT status, client_key, invoice_date, psa_invoice_id, ledger_invoice_id, "
            "psa_company_id, ledger_customer_id, psa_number, ledger_number, psa_status, "
            "psa_total_cents, psa_owing_cents, ledger_total_cents, ledger_owing_cents, "
            "ledger_voided, kind, CASE WHEN discrepant THEN cause END "
            f"FROM invoice_pair p WHERE {where}", params)
        expected_not_found = ReconStatus.EXPECTED_NOT_FOUND
        for (status_text, client, day_text, psa_id, ledger_id, company_id, customer_id,
             psa_number, ledger_number, psa_status, psa_total, psa_owing, ledger_total,
             ledger_owing, voided, kind_text, cause) in cursor:
            status = ReconStatus(status_text)
            kind = kinds[kind_text]
            day = days.get(day_text)
            if day is None:
                day = days[day_text] = date.fromisoformat(day_text)
            psa = None
            if psa_id is not None:
                psa = PsaInvoice(
                    id=psa_id, number=psa_number or "", company_id=company_id or "", date=day,
                    total=from_cents(psa_total), owing=from_cents(psa_owing),
                    status=psa_status or "",
                    ledger_invoice_id=ledger_id if status is expected_not_found else None,
                    exported=status is expected_not_found,
                    currency=psa_currency.get(psa_id, main), kind=kind)
            ledger = None
            if ledger_total is not None:
                ledger = LedgerInvoice(
                    id=ledger_id or "", doc_number=ledger_number or "",
                    customer_id=customer_id or "", date=day, total=from_cents(ledger_total),
                    balance=from_cents(ledger_owing), voided=bool(voided),
                    currency=ledger_currency.get(ledger_id, main), kind=kind)
            client_name, client_ledger_name = clients.get(client, (None, None))
            company = companies.get(company_id) or (
                client_name if client.startswith("psa:") else None)
            customer = customers.get(customer_id) or client_ledger_name or None
            yield InvoicePair(status, psa, ledger), client, company, customer, cause
