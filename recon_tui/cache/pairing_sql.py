"""The full recompute where the data is: every document paired, and every client
summed, by set-based SQL over the indexed tables.

A full recompute used to load both books into Python objects (200,000 invoices a
side: 10 to 19 s and some 390 MB). These statements apply the very rules of
:func:`recon_tui.reconcile.pair_invoices` (which stays the engine of the
incremental path and the oracle the tests compare against):

1. a PSA document's effective link (its custom field, else the link the cache
   remembers) claims the ledger document of its kind with that id; several
   claimants of one link: the first by (natural number, natural id) wins and the
   rest fall back to their numbers, as does a winner whose target is gone;
2. the rest pair by stripped number == stripped DocNumber among the unclaimed,
   the k-th claimant (by natural number, natural id) with the k-th candidate (by
   natural ledger id, then position): duplicates pair off one to one;
3. a PSA document left over is Expected but not Found when it has a link, else
   Not in Ledger; a ledger document left over is Not in PSA.

Money stays integer cents (exact sums in SQLite's 64-bit integers; no REAL).
A ledger document is known by its position: its ``ledger_invoice`` rowid, or
``LEDGER_MEMO_BASE`` plus its ``ledger_credit_memo`` rowid (the order in which
the Python engine meets them, which decides among duplicated ids).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from recon_tui.models import ClientSummary, DocKind, ReconStatus
from recon_tui.money import from_cents
from recon_tui.reconcile import natural_key

#: Every character Python's ``str.strip()`` removes, for SQLite's ``trim(X, Y)``
#: (whose default strips spaces only). Written out: working it out from all
#: 1.1 million code points was the largest cost of starting the app
#: (tests/test_pairing_sql.py checks it against ``str.isspace``).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
              "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
#: Added to a ``ledger_credit_memo`` rowid to tell its position from an invoice's.
LEDGER_MEMO_BASE = 1 << 40

_MATCHED = ReconStatus.MATCHED.value
_NOT_IN_LEDGER = ReconStatus.NOT_IN_LEDGER.value
_NOT_IN_PSA = ReconStatus.NOT_IN_PSA.value
_EXPECTED = ReconStatus.EXPECTED_NOT_FOUND.value
_INVOICE = DocKind.INVOICE.value


def natural_sql(expr: str) -> str:
    """SQL for ``natural_key(expr)[0]``: computed in SQL for a string of ASCII
    digits without leading zeros (invoice numbers and ids mostly are), by the
    Python function otherwise."""
    return (f"CASE WHEN {expr} GLOB '[1-9]*' AND {expr} NOT GLOB '*[^0-9]*' "
            f"THEN printf('%03d%s', length({expr}), {expr}) "
            f"ELSE recon_pair_natural({expr}) END")


# The PSA documents with their effective link and stripped number.
_PSA = (
    "(SELECT p.rowid AS prid, p.id AS id, p.kind AS kind, p.number AS number, "
    "trim(p.number, :ws) AS num, coalesce(p.ledger_invoice_id, l.ledger_id) AS link, "
    "l.ledger_id AS remembered "
    "FROM psa_invoice p LEFT JOIN invoice_link l ON l.psa_invoice_id = p.id)"
)

# Ranking inside groups (a link's claimants, a number's claimants or candidates):
# the rows are sorted by group into _rp_sorted (a plain sort: SQLite's window
# functions cost several sorts), a row alone in its group ranks 1, and only the
# rows of a shared group are ranked in natural order (``a``, ``b``: the order keys).
_SHARED = ("EXISTS (SELECT 1 FROM temp._rp_sorted t WHERE t.seq = s.seq {op} 1 "
           "AND t.kind = s.kind AND t.grp = s.grp)")
_ALONE = f"NOT {_SHARED.format(op='-')} AND NOT {_SHARED.format(op='+')}"
_TOGETHER = f"({_SHARED.format(op='-')} OR {_SHARED.format(op='+')})"
_PSA_ORDER = f"{natural_sql('a')}, a, {natural_sql('b')}, b"
_LEDGER_ORDER = f"{natural_sql('a')}, a, b"


def _rank(conn: sqlite3.Connection, target: str, source: str, order: str) -> None:
    """Rank ``source``'s rows (kind, grp, ident, a, b) within (kind, grp) by
    ``order`` into ``target`` (kind, grp, rn, ident)."""
    conn.execute("DELETE FROM temp._rp_sorted")
    conn.execute("INSERT INTO temp._rp_sorted (kind, grp, ident, a, b) "
                 f"SELECT kind, grp, ident, a, b FROM ({source}) ORDER BY kind, grp",
                 {"ws": WHITESPACE})
    conn.execute(f"INSERT INTO {target} (kind, grp, rn, ident) "
                 f"SELECT kind, grp, 1, ident FROM temp._rp_sorted s WHERE {_ALONE} "
                 f"UNION ALL SELECT kind, grp, row_number() OVER (PARTITION BY kind, grp "
                 f"ORDER BY {order}), ident FROM temp._rp_sorted s WHERE {_TOGETHER}")


# Rule 1: the first claimant of each link takes the ledger document of that id.
_LINK_CLAIMS = f"SELECT kind, link AS grp, prid AS ident, number AS a, id AS b FROM {_PSA} " \
    "WHERE link != ''"
_BY_LINK = f"""
INSERT INTO temp._rp_match (prid, pos)
SELECT w.ident, coalesce(li.rowid, lm.rowid + {LEDGER_MEMO_BASE})
FROM temp._rp_link w
LEFT JOIN ledger_invoice li ON li.id = w.grp AND li.kind = w.kind
LEFT JOIN ledger_credit_memo lm ON li.rowid IS NULL AND lm.id = w.grp AND lm.kind = w.kind
WHERE w.rn = 1 AND (li.rowid IS NOT NULL OR lm.rowid IS NOT NULL)
"""

# Rule 2: among the unclaimed, the k-th claimant of a number takes its k-th candidate.
_CLAIMANTS = (
    f"SELECT kind, num AS grp, prid AS ident, number AS a, id AS b FROM {_PSA} p "
    "WHERE num != '' AND NOT EXISTS (SELECT 1 FROM temp._rp_match m WHERE m.prid = p.prid)")

_LEDGER = f"""
SELECT rowid AS pos, kind, id, trim(doc_number, :ws) AS num FROM ledger_invoice
UNION ALL
SELECT rowid + {LEDGER_MEMO_BASE}, kind, id, trim(doc_number, :ws) FROM ledger_credit_memo
"""

_CANDIDATES = f"""
SELECT kind, num AS grp, pos AS ident, id AS a, pos AS b FROM ({_LEDGER}) d
WHERE num != '' AND NOT EXISTS (SELECT 1 FROM temp._rp_match m WHERE m.pos = d.pos)
  AND EXISTS (SELECT 1 FROM temp._rp_claim c WHERE c.kind = d.kind AND c.grp = d.num)
"""

_BY_NUMBER = (
    "INSERT INTO temp._rp_match (prid, pos) SELECT c.ident, d.ident FROM temp._rp_claim c "
    "JOIN temp._rp_cand d ON d.kind = c.kind AND d.grp = c.grp AND d.rn = c.rn"
)

# Each PSA document (with its match, if any), then each ledger document nobody
# claimed, joined to their tables: the columns of a row.
_ROWS = f"""
SELECT {{seq}} AS seq, x.prid AS prid, x.pos AS pos, p.id AS psa_id,
    coalesce(p.ledger_invoice_id, r.ledger_id) AS link, p.company_id AS company_id,
    p.number AS psa_number, p.status AS psa_status, p.total_cents AS psa_total,
    p.owing_cents AS psa_owing,
    coalesce(li.id, lm.id) AS ledger_id,
    coalesce(li.customer_id, lm.customer_id) AS customer_id,
    coalesce(li.doc_number, lm.doc_number) AS ledger_number,
    coalesce(li.total_cents, lm.total_cents) AS ledger_total,
    coalesce(li.balance_cents, lm.balance_cents) AS ledger_owing,
    coalesce(li.voided, lm.voided) AS voided,
    CASE WHEN p.id IS NULL THEN coalesce(li.kind, lm.kind) ELSE p.kind END AS kind,
    CASE WHEN p.id IS NULL THEN coalesce(li.date, lm.date) ELSE p.date END AS invoice_date,
    CASE WHEN p.id IS NULL THEN '{_NOT_IN_PSA}'
         WHEN x.pos IS NOT NULL THEN '{_MATCHED}'
         WHEN coalesce(p.ledger_invoice_id, r.ledger_id, '') != '' THEN '{_EXPECTED}'
         ELSE '{_NOT_IN_LEDGER}' END AS status,
    CASE WHEN p.id IS NOT NULL THEN p.number ELSE coalesce(li.doc_number, lm.doc_number) END
        AS number
FROM {{source}} x
LEFT JOIN psa_invoice p ON p.rowid = x.prid
LEFT JOIN invoice_link r ON r.psa_invoice_id = p.id
LEFT JOIN ledger_invoice li ON x.pos < {LEDGER_MEMO_BASE} AND li.rowid = x.pos
LEFT JOIN ledger_credit_memo lm
    ON x.pos >= {LEDGER_MEMO_BASE} AND lm.rowid = x.pos - {LEDGER_MEMO_BASE}
"""

_SOURCE = f"""(
    SELECT p.rowid AS prid, m.pos AS pos FROM psa_invoice p
    LEFT JOIN temp._rp_match m ON m.prid = p.rowid
    UNION ALL
    SELECT NULL, d.pos FROM ({_LEDGER}) d
    WHERE NOT EXISTS (SELECT 1 FROM temp._rp_match m WHERE m.pos = d.pos))"""

# The order rows are inserted in (the report's, pair_sort_key's, kind by kind),
# decided on narrow records: the screens break ties by row id.
_ORDER = f"""
INSERT INTO temp._rp_order (prid, pos)
SELECT prid, pos FROM ({_ROWS.format(seq="NULL", source=_SOURCE)})
ORDER BY kind != '{_INVOICE}', invoice_date, {natural_sql('number')}, number,
    psa_id IS NULL, coalesce(psa_id, ''), coalesce(ledger_id, ''), status
"""

_PAIRS = f"""
INSERT INTO invoice_pair (client_key, status, invoice_date, psa_invoice_id,
    ledger_invoice_id, psa_company_id, ledger_customer_id, psa_number, ledger_number,
    psa_status, psa_total_cents, psa_owing_cents, ledger_total_cents, ledger_owing_cents,
    ledger_voided, diff_total_cents, diff_owing_cents, discrepant, kind)
SELECT CASE WHEN psa_id IS NOT NULL THEN 'psa:' || company_id
            WHEN coalesce(cm.psa_company_id, '') != '' THEN 'psa:' || cm.psa_company_id
            ELSE 'ledger:' || customer_id END,
    status, invoice_date, psa_id, coalesce(ledger_id, link), company_id,
    customer_id, psa_number, ledger_number, psa_status, psa_total, psa_owing, ledger_total,
    ledger_owing, coalesce(voided, 0), diff_total, diff_owing,
    status != '{_MATCHED}' OR diff_total != 0 OR diff_owing != 0, kind
FROM (
    SELECT *, coalesce(ledger_total, 0) - coalesce(psa_total, 0) AS diff_total,
              coalesce(ledger_owing, 0) - coalesce(psa_owing, 0) AS diff_owing
    FROM ({_ROWS.format(seq="x.seq", source="temp._rp_order")})
) LEFT JOIN company_mapping cm ON psa_id IS NULL AND cm.ledger_customer_id = customer_id
ORDER BY seq
"""

# Remember every matched pair (a changed link is replaced, a known one keeps its
# first-seen time); "custom field" when the effective link named this ledger id.
_LINKS = f"""
INSERT INTO invoice_link (psa_invoice_id, ledger_id, first_seen, method)
SELECT r.id, coalesce(li.id, lm.id), :stamp,
       CASE WHEN r.link = coalesce(li.id, lm.id) THEN 'custom field' ELSE 'number' END
FROM temp._rp_match m JOIN {_PSA} r ON r.prid = m.prid
LEFT JOIN ledger_invoice li ON m.pos < {LEDGER_MEMO_BASE} AND li.rowid = m.pos
LEFT JOIN ledger_credit_memo lm
    ON m.pos >= {LEDGER_MEMO_BASE} AND lm.rowid = m.pos - {LEDGER_MEMO_BASE}
WHERE r.remembered IS NOT coalesce(li.id, lm.id)
ON CONFLICT(psa_invoice_id) DO UPDATE SET ledger_id = excluded.ledger_id,
    first_seen = excluded.first_seen, method = excluded.method
WHERE invoice_link.ledger_id != excluded.ledger_id
"""

_RANKED = "kind TEXT, grp TEXT, rn INTEGER, ident INTEGER, PRIMARY KEY (kind, grp, rn)"
_TEMP_TABLES = {
    "_rp_match": "prid INTEGER PRIMARY KEY, pos INTEGER NOT NULL UNIQUE",
    "_rp_sorted": "seq INTEGER PRIMARY KEY, kind TEXT, grp TEXT, ident INTEGER, a, b",
    "_rp_link": _RANKED,
    "_rp_claim": _RANKED,
    "_rp_cand": _RANKED,
    "_rp_order": "seq INTEGER PRIMARY KEY, prid INTEGER, pos INTEGER",
}


def _drop_temp(conn: sqlite3.Connection) -> None:
    for name in _TEMP_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")


def pair_all(conn: sqlite3.Connection, stamp: str) -> int:
    """Replace every stored row by a fresh pairing of both books and remember the
    matched pairs as links (stamped ``stamp``); returns the row count. Runs inside
    the caller's transaction."""
    conn.create_function("recon_pair_natural", 1, lambda text: natural_key(text)[0],
                         deterministic=True)
    _drop_temp(conn)
    for name, columns in _TEMP_TABLES.items():
        conn.execute(f"CREATE TEMP TABLE {name} ({columns})")
    try:
        ws = {"ws": WHITESPACE}
        _rank(conn, "temp._rp_link", _LINK_CLAIMS, _PSA_ORDER)
        conn.execute(_BY_LINK)
        _rank(conn, "temp._rp_claim", _CLAIMANTS, _PSA_ORDER)
        _rank(conn, "temp._rp_cand", _CANDIDATES, _LEDGER_ORDER)
        conn.execute(_BY_NUMBER)
        conn.execute(_ORDER, ws)
        conn.execute("DELETE FROM invoice_pair")
        # Every row is new: building each index once after the insert (a sort)
        # is cheaper than keeping eight of them up to date row by row.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'invoice_pair' AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        count = conn.execute(_PAIRS).rowcount
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute(_LINKS, {"stamp": stamp, **ws})
    finally:
        _drop_temp(conn)
    return count


# --------------------------------------------------------------------------- clients
# One row per client key with its sums: the rows' (invoices only for the money and
# the count, every kind for discrepancies), a mapped company's (nothing yet), a
# kept checklist customer's, and the live credits' (counted where their customer is).
_CLIENT_SUMS = f"""
SELECT client_key, sum(psa_owing), sum(ledger_owing), sum(credit), sum(discrepant),
       sum(invoices)
FROM (
    SELECT client_key,
           sum(CASE WHEN kind = '{_INVOICE}' THEN coalesce(psa_owing_cents, 0) ELSE 0 END)
               AS psa_owing,
           sum(CASE WHEN kind = '{_INVOICE}' THEN coalesce(ledger_owing_cents, 0) ELSE 0 END)
               AS ledger_owing,
           0 AS credit, sum(discrepant) AS discrepant, sum(kind = '{_INVOICE}') AS invoices
    FROM invoice_pair GROUP BY client_key
    UNION ALL
    SELECT 'psa:' || psa_company_id, 0, 0, 0, 0, 0 FROM company_mapping
    WHERE psa_company_id != ''
    UNION ALL
    SELECT DISTINCT 'ledger:' || k.customer_id, 0, 0, 0, 0, 0 FROM checklist k
    JOIN ledger_customer c ON c.id = k.customer_id
    LEFT JOIN company_mapping m ON m.ledger_customer_id = k.customer_id
    WHERE coalesce(m.psa_company_id, '') = ''
    UNION ALL
    SELECT CASE WHEN coalesce(m.psa_company_id, '') != '' THEN 'psa:' || m.psa_company_id
                ELSE 'ledger:' || cr.customer_id END, 0, 0, cr.amount_cents, 0, 0
    FROM ledger_credit cr LEFT JOIN company_mapping m ON m.ledger_customer_id = cr.customer_id
    WHERE cr.amount_cents > 0
)
GROUP BY client_key
"""


def client_summaries(conn: sqlite3.Connection) -> Iterator[ClientSummary]:
    """Every client's summary from the stored rows, as ``rollup_clients`` makes it
    (names with their fallbacks, a company's mapped customers and their names);
    one pass over the clients, the rows themselves summed by SQLite."""
    companies = dict(conn.execute("SELECT id, name FROM psa_company"))
    customers = dict(conn.execute("SELECT id, display_name FROM ledger_customer"))
    customers_of: dict[str, list[str]] = {}
    for customer_id, company_id in conn.execute(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping "
            "WHERE psa_company_id != ''"):
        customers_of.setdefault(company_id, []).append(customer_id)

    def customer_name(customer_id: str) -> str:
        return customers.get(customer_id) or customer_id

    for key, psa_owing, ledger_owing, credit, discrepant, invoices in conn.execute(
            _CLIENT_SUMS):
        kind, _, ident = key.partition(":")
        if kind == "psa":
            customer_ids = tuple(sorted(customers_of.get(ident, ())))
            name = companies.get(ident) or ident
            ledger_name = ", ".join(sorted(map(customer_name, customer_ids),
                                           key=lambda n: (n.casefold(), n)))
            company_id: str | None = ident
        else:
            customer_ids = (ident,)
            name = ledger_name = customer_name(ident)
            company_id = None
        yield ClientSummary(
            client_key=key, name=name, psa_company_id=company_id,
            ledger_customer_ids=customer_ids, ledger_name=ledger_name,
            psa_owing=from_cents(psa_owing), ledger_balance=from_cents(ledger_owing),
            unapplied_credits=from_cents(credit), discrepant_count=discrepant,
            invoice_count=invoices, mapped=kind == "psa" and bool(customer_ids))
