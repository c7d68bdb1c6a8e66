"""Finding a row by the number a person types: PSA invoice numbers, ledger doc
numbers, credit ids and credit doc numbers.

The clients filter and the command palette ask on every keystroke, so each
lookup is an indexed equality or range query (``idx_pair_psa_number``,
``idx_pair_ledger_number``, ``idx_pair_kind_ledger``, ``idx_ledger_memo_doc``,
the primary keys), never a scan of the invoices: a prefix ``p`` is the range
``p <= number < p'`` where ``p'`` is ``p`` with its last character bumped, which
under SQLite's BINARY collation holds exactly the strings starting with ``p``.
The reference number of an unapplied payment has no index of its own: it is read
over the payments only, the ``Payment:`` range of the credits' primary key (a few
per customer at most), never over every credit memo.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from recon_tui.cache.part import CachePart
from recon_tui.models import CreditKind, DocKind
from recon_tui.money import ZERO, from_cents

#: Below this many characters only an exact number matches (a prefix of "11"
#: would match half the book).
PREFIX_MIN = 4
#: Hits kept per lookup: enough to pick from, few enough to show.
HIT_LIMIT = 20

_PAIR_COLUMNS = ("r.id, r.kind, r.client_key, r.psa_number, r.ledger_number, "
                 "r.diff_total_cents, r.diff_owing_cents, r.discrepant, r.cause, "
                 "s.name AS client_name")
_PAIR_FROM = "FROM invoice_pair r LEFT JOIN client_summary s ON s.client_key = r.client_key"
_CREDIT_COLUMNS = ("c.id, c.source_id, c.kind, c.doc_number, c.amount_cents, "
                   "coalesce('psa:' || m.psa_company_id, 'ledger:' || c.customer_id) "
                   "AS client_key")
_CREDIT_JOIN = "LEFT JOIN company_mapping m ON m.ledger_customer_id = c.customer_id"


@dataclass(frozen=True, slots=True)
class NumberHit:
    """One row found by a typed number, and the client that owns it.

    ``what`` is "invoice", "credit memo" (a credit-memo row of the client screen)
    or "credit" (an organizational credit of the credits panel). ``amount`` is the
    row's difference (ledger minus PSA) or what is left of a credit.
    """

    what: str
    number: str
    client_key: str
    client_name: str
    exact: bool
    pair_id: int | None = None
    credit_key: str | None = None
    amount: Decimal = ZERO
    discrepant: bool = False
    cause: str | None = None


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return None
    bumped = last + 1
    if 0xD800 <= bumped <= 0xDFFF:  # surrogates cannot be stored as text
        bumped = 0xE000
    return prefix[:-1] + chr(bumped)


def lookup_variants(text: str) -> list[str]:
    """What was typed, as typed and upper-cased ("cm-7" finds "CM-7"); a leading
    '#' is how people write numbers, not part of them."""
    cleaned = text.strip().removeprefix("#").strip()
    if not cleaned or any(0xD800 <= ord(ch) <= 0xDFFF for ch in cleaned):
        return []
    return list(dict.fromkeys((cleaned, cleaned.upper())))


class NumberLookup(CachePart):
    """Number lookups for the clients filter and the command palette
    (``cache.lookup``), and where a found row sits on its client's screen."""

    def find_number(self, text: str, limit: int = HIT_LIMIT) -> list[NumberHit]:
        """Rows whose number is ``text`` (exact) or, from PREFIX_MIN characters,
        starts with it; exact hits first, then by number."""
        found: dict[tuple[str, str], NumberHit] = {}
        for exact in (True, False):
            for variant in lookup_variants(text):
                if not exact and len(variant) < PREFIX_MIN:
                    continue
                for hit in (*self._pair_hits(variant, exact, limit),
                            *self._credit_hits(variant, exact, limit)):
                    key = ("pair", str(hit.pair_id)) if hit.pair_id is not None \
                        else ("credit", hit.credit_key or "")
                    found.setdefault(key, hit)
        hits = list(found.values())
        hits.sort(key=lambda h: (not h.exact, h.number, h.client_name, h.pair_id or 0))
        return hits[:limit]

    def _match(self, column: str, value: str, exact: bool) -> tuple[str, list[str]] | None:
        if exact:
            return f"{column} = ?", [value]
        upper = _successor(value)
        if upper is None:
            return None
        return f"{column} >= ? AND {column} < ?", [value, upper]

    def _pair_hits(self, value: str, exact: bool, limit: int) -> list[NumberHit]:
        hits: list[NumberHit] = []
        for column, label in (("r.psa_number", "psa_number"),
                              ("r.ledger_number", "ledger_number")):
            match = self._match(column, value, exact)
            if match is None:
                continue
            where, params = match
            rows = self.conn.execute(
                f"SELECT {_PAIR_COLUMNS} {_PAIR_FROM} WHERE {where} ORDER BY {column} LIMIT ?",
                [*params, limit]).fetchall()
            hits.extend(_pair_hit(r, r[label], exact) for r in rows)
        # A credit memo's ledger id is its credit id (what QBO and the checklist call it).
        match = self._match("r.ledger_invoice_id", value, exact)
        if match is not None:
            where, params = match
            rows = self.conn.execute(
                f"SELECT {_PAIR_COLUMNS}, r.ledger_invoice_id {_PAIR_FROM} "
                f"WHERE r.kind = ? AND {where} ORDER BY r.ledger_invoice_id LIMIT ?",
                [DocKind.CREDIT_MEMO.value, *params, limit]).fetchall()
            hits.extend(_pair_hit(r, r["ledger_invoice_id"], exact) for r in rows)
        return hits

    def _credit_hits(self, value: str, exact: bool, limit: int) -> list[NumberHit]:
        rows: list[sqlite3.Row] = []
        for kind in CreditKind:  # by id: the primary key is "<kind>:<source id>"
            match = self._match("c.id", f"{kind.value}:{value}", exact)
            if match is None:
                continue
            where, params = match
            rows += self.conn.execute(
                f"SELECT {_CREDIT_COLUMNS}, c.source_id AS matched FROM ledger_credit c "
                f"{_CREDIT_JOIN} WHERE {where} LIMIT ?", [*params, limit]).fetchall()
        match = self._match("d.doc_number", value, exact)
        if match is not None:  # a credit memo's doc number, through the memo table's index
            where, params = match
            rows += self.conn.execute(
                f"SELECT {_CREDIT_COLUMNS}, c.doc_number AS matched FROM ledger_credit_memo d "
                f"JOIN ledger_credit c ON c.id = '{CreditKind.CREDIT_MEMO.value}:' || d.id "
                f"{_CREDIT_JOIN} WHERE {where} LIMIT ?", [*params, limit]).fetchall()
        match = self._match("c.doc_number", value, exact)
        payments = self._match("c.id", f"{CreditKind.UNAPPLIED_PAYMENT.value}:", False)
        if match is not None and payments is not None:
            # An unapplied payment's reference, among the open payments only.
            where, params = match
            in_range, range_params = payments
            rows += self.conn.execute(
                f"SELECT {_CREDIT_COLUMNS}, c.doc_number AS matched FROM ledger_credit c "
                f"{_CREDIT_JOIN} WHERE {in_range} AND c.kind = ? AND c.amount_cents != 0 "
                f"AND {where} LIMIT ?",
                [*range_params, CreditKind.UNAPPLIED_PAYMENT.value, *params, limit]).fetchall()
        names = self._client_names([r["client_key"] for r in rows])
        return [NumberHit("credit", r["matched"], r["client_key"],
                          names.get(r["client_key"], ""), exact, credit_key=r["id"],
                          amount=from_cents(r["amount_cents"]))
                for r in rows if r["amount_cents"] != 0 and r["client_key"] in names]

    def _client_names(self, keys: list[str]) -> dict[str, str]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        marks = ", ".join("?" for _ in unique)
        return {r[0]: r[1] for r in self.conn.execute(
            f"SELECT client_key, name FROM client_summary WHERE client_key IN ({marks})",
            unique)}

    # -- the client screen, opened at a row
    def client_pair_index(self, pair_id: int) -> int | None:
        """Where a row sits in its client's list (``client_pairs``' order): the
        number of the client's rows of its kind that sort before it."""
        row = self.conn.execute(
            "SELECT count(*) FROM invoice_pair r, "
            "(SELECT * FROM invoice_pair WHERE id = ?) t "
            "WHERE r.client_key = t.client_key AND r.kind = t.kind AND "
            "(t.discrepant, abs(t.diff_owing_cents), abs(t.diff_total_cents), t.invoice_date, "
            "r.id) < (r.discrepant, abs(r.diff_owing_cents), abs(r.diff_total_cents), "
            "r.invoice_date, t.id)", (pair_id,)).fetchone()
        exists = self.conn.execute("SELECT 1 FROM invoice_pair WHERE id = ?",
                                   (pair_id,)).fetchone()
        return row[0] if exists else None

    def pair_id_for(self, kind: DocKind, psa_invoice_id: str | None,
                    ledger_invoice_id: str | None) -> int | None:
        """The row of these documents now: a resync re-inserts rows under new ids."""
        if psa_invoice_id:
            row = self.conn.execute(
                "SELECT id FROM invoice_pair WHERE psa_invoice_id = ?",
                (psa_invoice_id,)).fetchone()
            if row:
                return int(row[0])
        if ledger_invoice_id:
            row = self.conn.execute(
                "SELECT id FROM invoice_pair WHERE kind = ? AND ledger_invoice_id = ? "
                "ORDER BY psa_invoice_id IS NOT NULL DESC, id LIMIT 1",
                (kind.value, ledger_invoice_id)).fetchone()
            if row:
                return int(row[0])
        return None


def _pair_hit(row: sqlite3.Row, number: str, exact: bool) -> NumberHit:
    owing = row["diff_owing_cents"]
    difference = from_cents(owing if owing else row["diff_total_cents"])
    what = "credit memo" if row["kind"] == DocKind.CREDIT_MEMO.value else "invoice"
    return NumberHit(what, number, row["client_key"], row["client_name"] or "", exact,
                     pair_id=int(row["id"]), amount=difference,
                     discrepant=bool(row["discrepant"]), cause=row["cause"])
