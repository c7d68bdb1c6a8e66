"""What the reconciliation report reads, in one consistent view."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from recon_tui.cache.part import CachePart
from recon_tui.cache.report_spool import EXPECTED_NOT_FOUND, MATCHED, PAGE, ReportSpool
from recon_tui.models import (
    DocKind,
    InvoicePair,
    LedgerInvoice,
    PsaInvoice,
    ReconStatus,
)
from recon_tui.money import from_cents
from recon_tui.reconcile import natural_key

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


class ReportReads(CachePart):
    """What the reconciliation report reads (``cache.report``), in one consistent
    view: the period, the counts, the causes, the spool of rows."""

    def view(self) -> AbstractContextManager[None]:
        """One consistent view of the cache for a whole report (the core's
        :meth:`~recon_tui.cache.core.CacheCore.read_view`)."""
        return self._core.read_view()

    def _report_where(self, start: date, end: date,
                      client_key: str | None) -> tuple[str, list[str]]:
        where, params = "p.invoice_date BETWEEN ? AND ?", [start.isoformat(), end.isoformat()]
        if client_key is not None:
            where += " AND p.client_key = ?"
            params.append(client_key)
        return where, params

    def date_range(self, client_key: str | None = None) -> tuple[date, date] | None:
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

    def pair_count(self, start: date, end: date, client_key: str | None = None) -> int:
        """Rows of the snapshot report: materialised pairs dated in [start, end]."""
        where, params = self._report_where(start, end, client_key)
        return self.conn.execute(f"SELECT count(*) FROM invoice_pair p WHERE {where}",
                                 params).fetchone()[0]

    def cause_groups(self, start: date, end: date,
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

    def _main_currency(self) -> str:
        """The currency most invoices are in (a missing one reads as it)."""
        counts: dict[str, int] = {}
        for table in ("psa_invoice", "ledger_invoice"):
            for currency, n in self.conn.execute(
                    f"SELECT currency, count(*) FROM {table} GROUP BY currency"):
                counts[currency] = counts.get(currency, 0) + n
        return max(counts, key=lambda c: (counts[c], c)) if counts else "USD"

    def spool(self, start: date, end: date, client_key: str | None = None,
                     progress: Callable[[int], None] | None = None) -> ReportSpool:
        """The report's rows dated in [start, end] copied into a new spool, in the
        report's order (:func:`recon_tui.reconcile.pair_sort_key`: date, natural
        invoice number, PSA rows first, ids, status), every column a row prints
        computed here: names with the client's fallbacks, both sides, the
        differences (ledger minus PSA, a missing side 0), what a row adds to the
        Invoice Difference, whether it is discrepant. Read in pages; the sort is
        SQLite's (spilling to disk), so memory stays flat on any book."""
        self.conn.create_function("recon_natural_key", 1,
                                  lambda text: natural_key(text)[0], deterministic=True)
        named = {"enf": EXPECTED_NOT_FOUND, "matched": MATCHED, "main": self._main_currency(),
                 "start": start.isoformat(), "end": end.isoformat(), "client": client_key}
        spool = ReportSpool()
        try:
            cursor = self.conn.cursor()
            cursor.row_factory = None  # plain tuples: the hot path
            cursor.arraysize = PAGE
            cursor.execute(_spool_sql(client_key is not None), named)

            def pages() -> Iterator[tuple]:
                while batch := cursor.fetchmany():
                    yield from batch

            spool.fill(pages(), progress)
        except BaseException:
            spool.close()
            raise
        return spool

    def iter_pairs(self, start: date, end: date, client_key: str | None = None
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
        lookups = self._pair_lookups()
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: this loop is the hot path
        cursor.execute(
            "SELECT status, client_key, invoice_date, psa_invoice_id, ledger_invoice_id, "
            "psa_company_id, ledger_customer_id, psa_number, ledger_number, psa_status, "
            "psa_total_cents, psa_owing_cents, ledger_total_cents, ledger_owing_cents, "
            "ledger_voided, kind, CASE WHEN discrepant THEN cause END "
            f"FROM invoice_pair p WHERE {where}", params)
        for values in cursor:
            yield lookups.pair(values)

    def _pair_lookups(self) -> _PairLookups:
        """The names and the currencies off the main one, read once per report."""
        main = self._main_currency()
        # Most books use one currency: only the invoices in another are looked up.
        return _PairLookups(
            companies=dict(self.conn.execute("SELECT id, name FROM psa_company").fetchall()),
            customers=dict(self.conn.execute(
                "SELECT id, display_name FROM ledger_customer").fetchall()),
            clients={r[0]: (r[1], r[2]) for r in self.conn.execute(
                "SELECT client_key, name, ledger_name FROM client_summary")},
            main=main,
            psa_currency=dict(self.conn.execute(
                "SELECT id, currency FROM psa_invoice WHERE currency != ?",
                (main,)).fetchall()),
            ledger_currency=dict(self.conn.execute(
                "SELECT id, currency FROM ledger_invoice WHERE currency != ?",
                (main,)).fetchall()))


_KINDS = {kind.value: kind for kind in DocKind}


@dataclass
class _PairLookups:
    """What :meth:`ReportReads.iter_pairs` looks up beside each row."""

    companies: dict[str, str]
    customers: dict[str, str]
    clients: dict[str, tuple[str, str]]
    main: str
    psa_currency: dict[str, str]
    ledger_currency: dict[str, str]
    days: dict[str, date] = field(default_factory=dict)

    def pair(self, values: tuple) -> ReportPair:
        """One ``invoice_pair`` row (the SELECT above) as a report pair."""
        (status_text, client, day_text, psa_id, ledger_id, company_id, customer_id,
         psa_number, ledger_number, psa_status, psa_total, psa_owing, ledger_total,
         ledger_owing, voided, kind_text, cause) = values
        status = ReconStatus(status_text)
        kind = _KINDS[kind_text]
        day = self.days.get(day_text)
        if day is None:
            day = self.days[day_text] = date.fromisoformat(day_text)
        psa = None
        if psa_id is not None:
            expected_not_found = status is ReconStatus.EXPECTED_NOT_FOUND
            psa = PsaInvoice(
                id=psa_id, number=psa_number or "", company_id=company_id or "", date=day,
                total=from_cents(psa_total), owing=from_cents(psa_owing),
                status=psa_status or "",
                ledger_invoice_id=ledger_id if expected_not_found else None,
                exported=expected_not_found,
                currency=self.psa_currency.get(psa_id, self.main), kind=kind)
        ledger = None
        if ledger_total is not None:
            ledger = LedgerInvoice(
                id=ledger_id or "", doc_number=ledger_number or "",
                customer_id=customer_id or "", date=day, total=from_cents(ledger_total),
                balance=from_cents(ledger_owing), voided=bool(voided),
                currency=self.ledger_currency.get(ledger_id, self.main), kind=kind)
        client_name, client_ledger_name = self.clients.get(client, (None, None))
        company = self.companies.get(company_id) or (
            client_name if client.startswith("psa:") else None)
        customer = self.customers.get(customer_id) or client_ledger_name or None
        return InvoicePair(status, psa, ledger), client, company, customer, cause


@functools.lru_cache(maxsize=2)
def _spool_sql(one_client: bool) -> str:
    """The SELECT that fills a spool: its columns in
    :data:`~recon_tui.cache.report_spool.COLUMNS` order, in the report's order."""
    where = "p.invoice_date BETWEEN :start AND :end" + (
        " AND p.client_key = :client" if one_client else "")
    psa = "p.psa_invoice_id IS NOT NULL"
    ledger = "p.ledger_total_cents IS NOT NULL"
    number = (f"CASE WHEN {psa} THEN coalesce(p.psa_number, '') "
              "ELSE coalesce(p.ledger_number, '') END")
    diff_total = "coalesce(p.ledger_total_cents, 0) - coalesce(p.psa_total_cents, 0)"
    diff_owing = "coalesce(p.ledger_owing_cents, 0) - coalesce(p.psa_owing_cents, 0)"
    return (
        "SELECT p.invoice_date, "
        "coalesce(nullif(cu.display_name, ''), nullif(s.ledger_name, '')), "
        "coalesce(nullif(co.name, ''), "
        "CASE WHEN substr(p.client_key, 1, 4) = 'psa:' THEN s.name END), "
        f"CASE WHEN {psa} THEN coalesce(p.psa_number, '') END, "
        f"CASE WHEN {psa} THEN coalesce(p.psa_status, '') END, "
        f"CASE WHEN {psa} THEN coalesce(p.psa_total_cents, 0) END, "
        f"CASE WHEN {psa} THEN coalesce(p.psa_owing_cents, 0) END, "
        f"CASE WHEN {ledger} THEN coalesce(p.ledger_number, '') END, "
        f"CASE WHEN {ledger} THEN p.ledger_total_cents END, "
        f"CASE WHEN {ledger} THEN coalesce(p.ledger_owing_cents, 0) END, "
        f"{diff_total}, {diff_owing}, p.status, "
        "CASE WHEN p.discrepant THEN p.cause END, p.client_key, p.psa_invoice_id, "
        f"CASE WHEN {ledger} THEN coalesce(p.ledger_invoice_id, '') "
        "WHEN p.status = :enf THEN p.ledger_invoice_id END, "
        f"CASE WHEN {ledger} THEN coalesce(p.ledger_customer_id, '') END, "
        f"CASE WHEN {ledger} THEN coalesce(p.ledger_voided, 0) != 0 ELSE 0 END, "
        f"CASE WHEN {ledger} THEN coalesce(li.currency, :main) "
        "ELSE coalesce(pi.currency, :main) END, "
        f"CASE p.status WHEN :matched THEN {diff_total} "
        "WHEN :enf THEN -coalesce(p.psa_total_cents, 0) ELSE 0 END, "
        f"p.kind, (p.status != :matched OR {diff_total} != 0 OR {diff_owing} != 0) "
        "FROM invoice_pair p "
        "LEFT JOIN psa_company co ON co.id = p.psa_company_id "
        "LEFT JOIN ledger_customer cu ON cu.id = p.ledger_customer_id "
        "LEFT JOIN client_summary s ON s.client_key = p.client_key "
        "LEFT JOIN psa_invoice pi ON pi.id = p.psa_invoice_id "
        "LEFT JOIN ledger_invoice li ON li.id = p.ledger_invoice_id "
        f"WHERE {where} "
        f"ORDER BY p.invoice_date, recon_natural_key({number}), {number}, {psa} = 0, "
        f"coalesce(p.psa_invoice_id, ''), "
        f"CASE WHEN {ledger} THEN coalesce(p.ledger_invoice_id, '') ELSE '' END, "
        "p.status, p.id")
