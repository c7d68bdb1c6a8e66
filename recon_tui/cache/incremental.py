"""The incremental refresh's reads and writes: the documents connected to a
day's changes, the stored rows they held, and the rows re-paired in their place
(a daily sync, a single-invoice resync or a mapping touches these, never the book).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from recon_tui.cache.pairing_sql import LEDGER_MEMO_BASE, ORDERED
from recon_tui.cache.records import (
    PSA_INVOICE_BY_LINK_SELECT,
    PSA_INVOICE_SELECT,
    iso_text,
    ledger_invoice_from,
    ledger_spec,
    psa_invoice_from,
)
from recon_tui.models import DocKind, InvoicePair, LedgerInvoice, PsaInvoice, ReconStatus
from recon_tui.money import to_cents

#: The ledger tables in the order the engine meets their documents, each with the
#: base its rowids are offset by to make a document's position.
_LEDGER_TABLES = (("ledger_invoice", 0), ("ledger_credit_memo", LEDGER_MEMO_BASE))


class IncrementalQueries:
    """What the incremental refresh reads and writes (``recon_tui.refresh``)."""

    conn: sqlite3.Connection

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

    def ledger_documents_of(self, kind: DocKind, *, ids: Sequence[str] = (),
                            numbers: Sequence[str] = ()) -> dict[int, LedgerInvoice]:
        """The ledger documents of ``kind`` by id or doc number, by position (see
        ``pairing_sql``): wherever they are kept, as the full recompute pairs them.
        A ledger may list a credit memo among its invoices (a ``ledger_invoice``
        row of kind credit memo), and one id may then be held by both tables."""
        found: dict[int, LedgerInvoice] = {}
        for table, base in _LEDGER_TABLES:
            select = f"SELECT rowid AS pos, * FROM {table} WHERE kind = '{kind.value}' AND "
            for sql, values in ((select + "id IN ({marks})", ids),
                                (select + "doc_number IN ({marks})", numbers)):
                for row in self._in(sql, values):
                    found[base + row["pos"]] = ledger_invoice_from(row)
        return found

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

