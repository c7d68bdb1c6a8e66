"""The incremental refresh's reads and writes: the documents connected to a
day's changes, the stored rows they held, and the rows re-paired in their place
(a daily sync, a single-invoice resync or a mapping touches these, never the book).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from recon_tui.cache.pair_store import ORDERED, PAIR_COLUMNS
from recon_tui.cache.pairing_sql import LEDGER_MEMO_BASE, WHITESPACE
from recon_tui.cache.part import CachePart
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


def _stripped(numbers: Sequence[str]) -> list[str]:
    """Numbers as pairing compares them (``str.strip()``, SQL ``trim`` over
    WHITESPACE): a ledger's " CM-2 " competes for the PSA's "CM-2"."""
    return sorted({n.strip() for n in numbers} - {""})



def _by_psa_ids(of_kind: str) -> str:
    """``of_kind`` narrowed to a list of PSA ids. ``+kind`` keeps SQLite off
    idx_pair_kind_ledger (kind first, so it walked every row of the kind: 60 ms at
    100,000 invoices) and on the unique psa_invoice_id index (under 2 ms)."""
    return of_kind.replace(" WHERE kind =", " WHERE +kind =") + " AND psa_invoice_id IN ({marks})"

class IncrementalQueries(CachePart):
    """What the incremental refresh reads and writes (``recon_tui.refresh``), the
    part of ``cache.recon`` a daily sync, a resync or a mapping uses."""

    def psa_documents_related(self, kind: DocKind, *, ids: Sequence[str] = (),
                              numbers: Sequence[str] = (),
                              ledger_ids: Sequence[str] = ()) -> list[PsaInvoice]:
        """PSA documents of ``kind`` by id, by number, or linked (by custom field
        or remembered link) to given ledger ids."""
        found: dict[str, PsaInvoice] = {}
        select = f"{PSA_INVOICE_SELECT} WHERE p.kind = '{kind.value}' AND "
        by_link = f"{PSA_INVOICE_BY_LINK_SELECT} WHERE p.kind = '{kind.value}' AND "
        for sql, values in ((select + "p.id IN ({marks})", ids),
                            (select + f"trim(p.number, '{WHITESPACE}') IN ({{marks}})",
                             _stripped(numbers)),
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
                                (select + f"trim(doc_number, '{WHITESPACE}') IN ({{marks}})",
                                 _stripped(numbers))):
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
        rows = self._in(_by_psa_ids(of_kind), psa_ids)
        rows += self._in(of_kind + " AND ledger_invoice_id IN ({marks})", ledger_ids)
        return ({r[0] for r in rows if r[0] is not None},
                {r[1] for r in rows if r[1] is not None})

    def pair_client_keys(self, kind: DocKind, *, psa_ids: Sequence[str] = (),
                         ledger_ids: Sequence[str] = ()) -> set[str]:
        """Clients whose rows involve these documents (before a re-pair)."""
        of_kind = f"SELECT client_key FROM invoice_pair WHERE kind = '{kind.value}'"
        rows = self._in(_by_psa_ids(of_kind), psa_ids)
        rows += self._in(of_kind + " AND ledger_invoice_id IN ({marks})", ledger_ids)
        return {r[0] for r in rows}

    def replace_pairs_for(self, kind: DocKind, psa_ids: Sequence[str], ledger_ids: Sequence[str],
                          pairs: Iterable[tuple[str, InvoicePair]]) -> None:
        """Make the rows touching these documents their fresh pairs.

        A fresh row that keeps its stored row's place in the full recompute's order
        (the same document, date and number: a day's payments and edits mostly)
        is updated in place under its id, cause cleared; only the others are
        deleted and appended. When every row kept its place the stored rows stay
        numbered in order, and the next full recompute need not renumber them."""
        of_kind = f"SELECT id, {PAIR_COLUMNS} FROM invoice_pair WHERE kind = '{kind.value}'"
        with self.transaction():
            stored = {r[0]: tuple(r)[1:] for r in (
                self._in(_by_psa_ids(of_kind), psa_ids)
                + self._in(of_kind + " AND ledger_invoice_id IN ({marks})", ledger_ids))}
            fresh = list(pair_rows(pairs))
            kept, gone, added = _in_place(stored, fresh)
            self._in("DELETE FROM invoice_pair WHERE id IN ({marks})",
                     gone)  # type: ignore[arg-type]
            self.conn.executemany(_UPDATE_PAIR, kept)
            if gone or added:
                self._unordered()
            self.conn.executemany(_INSERT_PAIR, added)

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
        self.conn.executemany(_INSERT_PAIR, pair_rows(pairs))


_INSERT_PAIR = (f"INSERT INTO invoice_pair ({PAIR_COLUMNS}) VALUES "
                f"({', '.join('?' * len(PAIR_COLUMNS.split(',')))})")
_UPDATE_PAIR = ("UPDATE invoice_pair SET cause = NULL, "
                + ", ".join(f"{c.strip()} = ?" for c in PAIR_COLUMNS.split(","))
                + " WHERE id = ?")


def pair_rows(pairs: Iterable[tuple[str, InvoicePair]]) -> Iterator[tuple]:
    """Each (client key, pair) as an invoice_pair row, its columns in PAIR_COLUMNS'
    order."""
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


def _place(row: tuple) -> tuple:
    """What decides a row's place in the full recompute's order (``pairing_sql``'s
    _SORTED): kind, date, number, then the PSA id, or for a ledger-only row its
    ledger id and status."""
    number = row[7] if row[7] is not None else row[8]
    if row[3] is not None:
        return row[18], row[2], number, row[3]
    return row[18], row[2], number, None, row[4], row[1]


def _in_place(stored: dict[int, tuple], fresh: list[tuple]
              ) -> tuple[list[tuple], list[int], list[tuple]]:
    """(updates as row + id, ids to delete, rows to append): each fresh row takes
    the id of the stored row in the same place. Two rows in one place (equal keys
    are ordered by the recompute's own creation order) are not guessed at: all of
    them are deleted and appended."""
    by_place: dict[tuple, list[int]] = {}
    for pair_id, row in stored.items():
        by_place.setdefault(_place(row), []).append(pair_id)
    places = [_place(row) for row in fresh]
    if len(set(places)) < len(places) or any(len(ids) > 1 for ids in by_place.values()):
        return [], sorted(stored), fresh
    kept, added = [], []
    for place, row in zip(places, fresh, strict=True):
        ids = by_place.pop(place, None)
        if ids:
            kept.append((*row, ids[0]))
        else:
            added.append(row)
    gone = sorted(i for ids in by_place.values() for i in ids)
    return kept, gone, added
