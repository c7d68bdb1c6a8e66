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

from recon_tui.cache.diagnosis_sql import diagnose_in_sql
from recon_tui.cache.pair_store import ORDERED, PAIR_COLUMNS, natural_sql, of, store
from recon_tui.models import DocKind, ReconStatus
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


# The PSA documents with their effective link and stripped number.
_PSA = (
    "(SELECT p.rowid AS prid, p.id AS id, p.kind AS kind, p.number AS number, "
    "trim(p.number, :ws) AS num, coalesce(p.ledger_invoice_id, l.ledger_id) AS link, "
    "l.ledger_id AS remembered "
    "FROM psa_invoice p LEFT JOIN invoice_link l ON l.psa_invoice_id = p.id)"
)

# Groups (a number's claimants or candidates), in one GROUP BY
# pass each: most groups hold one member (``ident``, the only row's); a shared
# group keeps its members as a JSON array, and only those are ranked in natural
# order (window functions over the whole book cost several sorts of it).
_GROUPED = "kind TEXT, grp TEXT, n INTEGER, ident INTEGER, members TEXT, " \
    "PRIMARY KEY (kind, grp)"
_RANKED = "kind TEXT, grp TEXT, rn INTEGER, ident INTEGER, PRIMARY KEY (kind, grp, rn)"


def _group(conn: sqlite3.Connection, target: str, source: str) -> None:
    """Group ``source``'s rows (kind, grp, ident) by (kind, grp) into ``target``."""
    conn.execute(f"INSERT INTO {target} (kind, grp, n, ident, members) "
                 "SELECT kind, grp, count(*), ident, "
                 "CASE WHEN count(*) > 1 THEN json_group_array(ident) END "
                 f"FROM ({source}) GROUP BY kind, grp", {"ws": WHITESPACE})


def _members(groups: str) -> str:
    """The members of ``groups``' shared groups (kind, grp, ident)."""
    return (f"SELECT g.kind AS kind, g.grp AS grp, j.value AS ident FROM {groups} g, "
            "json_each(g.members) j WHERE g.n > 1")


def _rank_psa(groups: str) -> str:
    """A shared group's PSA documents ranked by (natural number, natural id)."""
    return (f"SELECT m.kind AS kind, m.grp AS grp, m.ident AS ident, row_number() OVER ("
            f"PARTITION BY m.kind, m.grp ORDER BY {natural_sql('p.number')}, p.number, "
            f"{natural_sql('p.id')}, p.id) AS rn "
            f"FROM ({_members(groups)}) m JOIN psa_invoice p ON p.rowid = m.ident")


def _rank_ledger(groups: str) -> str:
    """A shared group's ledger documents ranked by (natural id, position)."""
    ledger_id = "coalesce(li.id, lm.id)"
    return (f"SELECT m.kind AS kind, m.grp AS grp, m.ident AS ident, row_number() OVER ("
            f"PARTITION BY m.kind, m.grp ORDER BY {natural_sql(ledger_id)}, {ledger_id}, "
            f"m.ident) AS rn FROM ({_members(groups)}) m "
            f"LEFT JOIN ledger_invoice li ON m.ident < {LEDGER_MEMO_BASE} AND li.rowid = m.ident "
            f"LEFT JOIN ledger_credit_memo lm ON m.ident >= {LEDGER_MEMO_BASE} "
            f"AND lm.rowid = m.ident - {LEDGER_MEMO_BASE}")


# The row of a PSA document matched with a document of the invoice table (most of
# a book), as _psa_rows makes it, with nothing left to coalesce (both documents'
# columns are there): compared so, a stored row costs a third less to check.
_INVOICE_MATCHED = (
    "'psa:' || p.company_id", f"'{_MATCHED}'", "p.date", "p.id", "li.id", "p.company_id",
    "li.customer_id", "p.number", "li.doc_number", "p.status", "p.total_cents",
    "p.owing_cents", "li.total_cents", "li.balance_cents", "li.voided",
    "li.total_cents - p.total_cents", "li.balance_cents - p.owing_cents",
    "li.total_cents != p.total_cents OR li.balance_cents != p.owing_cents", "p.kind")
assert len(_INVOICE_MATCHED) == len(PAIR_COLUMNS.split(","))

# Rule 1: the first claimant of each link takes the ledger document of that id.
# Every claimant whose target exists is matched to it first, in one pass with no
# grouping (claimants of one (kind, link) are exactly those matched to one
# position); then, for a position claimed more than once (found through the
# index on pos, rare), every claimant but the first in natural order lets go
# and falls back to its number, as does a claimant whose target is gone.
def _by_link(compare: bool) -> str:
    """Rule 1's claims; with ``compare``, each claim of a document of the invoice
    table also says whether the PSA document's stored row is already the row of
    that match (``same``: a recompute of an unchanged book checks most rows in
    this one pass over the PSA documents, not in a second one)."""
    link = "coalesce(p.ledger_invoice_id, l.ledger_id)"
    same = (f"CASE WHEN li.rowid IS NOT NULL THEN t.id IS NOT NULL AND ({of('t')}) IS "
            f"({', '.join(_INVOICE_MATCHED)}) END" if compare else "NULL")
    stored = ("LEFT JOIN invoice_pair t ON li.rowid IS NOT NULL AND t.psa_invoice_id = p.id"
              if compare else "")
    return f"""
INSERT INTO temp._rp_match (prid, pos, known, same)
SELECT p.rowid, coalesce(li.rowid, lm.rowid + {LEDGER_MEMO_BASE}), l.ledger_id IS {link}, {same}
FROM psa_invoice p LEFT JOIN invoice_link l ON l.psa_invoice_id = p.id
LEFT JOIN ledger_invoice li ON li.id = {link} AND li.kind = p.kind
LEFT JOIN ledger_credit_memo lm ON li.rowid IS NULL AND lm.id = {link} AND lm.kind = p.kind
{stored}
WHERE {link} != '' AND (li.rowid IS NOT NULL OR lm.rowid IS NOT NULL)
"""
_LINK_LOSERS = f"""
DELETE FROM temp._rp_match WHERE prid IN (
    SELECT prid FROM (
        SELECT m.prid AS prid, row_number() OVER (
            PARTITION BY m.pos ORDER BY {natural_sql('p.number')}, p.number,
            {natural_sql('p.id')}, p.id) AS rn
        FROM temp._rp_match m JOIN psa_invoice p ON p.rowid = m.prid
        WHERE m.pos IN (SELECT pos FROM temp._rp_match GROUP BY pos HAVING count(*) > 1))
    WHERE rn > 1)
"""

# Rule 2: among the unclaimed, the k-th claimant of a number takes its k-th candidate.
# Most documents were matched by link: each side's unclaimed ones are found first
# (a probe each) and only their numbers stripped.
_CLAIMANTS = (
    "SELECT kind, trim(number, :ws) AS grp, ident FROM ("
    "SELECT p.kind AS kind, p.number AS number, p.rowid AS ident FROM psa_invoice p "
    "LEFT JOIN temp._rp_match m ON m.prid = p.rowid WHERE m.prid IS NULL "
    "LIMIT -1) "  # not flattened: the strip would run on every document first
    "WHERE grp != ''")

_UNCLAIMED_LEDGER = f"""
SELECT rowid AS pos, kind, doc_number FROM ledger_invoice d
WHERE NOT EXISTS (SELECT 1 FROM temp._rp_match m WHERE m.pos = d.rowid)
UNION ALL
SELECT rowid + {LEDGER_MEMO_BASE}, kind, doc_number FROM ledger_credit_memo d
WHERE NOT EXISTS (SELECT 1 FROM temp._rp_match m WHERE m.pos = d.rowid + {LEDGER_MEMO_BASE})
"""

# The ledger documents rule 1 left (a probe each), with their stripped numbers,
# kept in order of position: the candidates of rule 2 and the rows nobody
# claimed come from these few, not from another probe of every document.
_FREE = f"""
INSERT INTO temp._rp_free (pos, kind, num)
SELECT pos, kind, trim(doc_number, :ws) FROM ({_UNCLAIMED_LEDGER} LIMIT -1)
"""

_CANDIDATES = """
SELECT kind, num AS grp, pos AS ident FROM temp._rp_free d
WHERE num != ''
  AND EXISTS (SELECT 1 FROM temp._rp_cl c WHERE c.kind = d.kind AND c.grp = d.num)
"""

# A number shared on either side: both sides ranked (a side's only member ranks 1),
# the k-th with the k-th; a number held once on each side pairs straight away.
_RANK_CLAIMS = f"""
INSERT INTO temp._rp_claim (kind, grp, rn, ident)
SELECT kind, grp, rn, ident FROM ({_rank_psa("temp._rp_cl")})
UNION ALL
SELECT c.kind, c.grp, 1, c.ident FROM temp._rp_cd d CROSS JOIN temp._rp_cl c
    ON c.kind = d.kind AND c.grp = d.grp WHERE d.n > 1 AND c.n = 1
"""
_RANK_CANDS = f"""
INSERT INTO temp._rp_cand (kind, grp, rn, ident)
SELECT kind, grp, rn, ident FROM ({_rank_ledger("temp._rp_cd")})
UNION ALL
SELECT d.kind, d.grp, 1, d.ident FROM temp._rp_cd d CROSS JOIN temp._rp_cl c
    ON c.kind = d.kind AND c.grp = d.grp WHERE c.n > 1 AND d.n = 1
"""
_BY_NUMBER = """
INSERT INTO temp._rp_match (prid, pos)
SELECT c.ident, d.ident FROM temp._rp_cd d CROSS JOIN temp._rp_cl c
    ON c.kind = d.kind AND c.grp = d.grp WHERE d.n = 1 AND c.n = 1
UNION ALL
SELECT c.ident, d.ident FROM temp._rp_claim c
JOIN temp._rp_cand d ON d.kind = c.kind AND d.grp = c.grp AND d.rn = c.rn
"""

def _ledger_only(table: str, base: int) -> str:
    """The rows of ``table``'s documents nobody claimed (Not in PSA), counted
    where their customer is mapped."""
    return f"""
SELECT CASE WHEN coalesce(cm.psa_company_id, '') != '' THEN 'psa:' || cm.psa_company_id
            ELSE 'ledger:' || d.customer_id END AS client_key,
    '{_NOT_IN_PSA}' AS status, d.date AS invoice_date, NULL AS psa_invoice_id,
    d.id AS ledger_invoice_id, NULL AS psa_company_id, d.customer_id AS ledger_customer_id,
    NULL AS psa_number, d.doc_number AS ledger_number, NULL AS psa_status,
    NULL AS psa_total_cents, NULL AS psa_owing_cents, d.total_cents AS ledger_total_cents,
    d.balance_cents AS ledger_owing_cents, coalesce(d.voided, 0) AS ledger_voided,
    d.total_cents AS diff_total_cents, d.balance_cents AS diff_owing_cents, 1 AS discrepant,
    d.kind AS kind
FROM temp._rp_free f CROSS JOIN {table} d ON d.rowid = f.pos - {base}
LEFT JOIN company_mapping cm ON cm.ledger_customer_id = d.customer_id
WHERE f.pos {"<" if base == 0 else ">="} {LEDGER_MEMO_BASE}
  AND NOT EXISTS (SELECT 1 FROM temp._rp_match m WHERE m.pos = f.pos)"""


# Every row (the columns of a stored row), as the rules pair them, into a
# temporary table: each PSA document with its match (the link it expected only
# looked up when it has none), then each ledger document nobody claimed, in the
# order of their positions.
def _psa_rows(where: str = "") -> str:
    """Each PSA document's row (those ``where`` names, else every one)."""
    return f"""
SELECT 'psa:' || company_id AS client_key, status, date AS invoice_date, id AS psa_invoice_id,
    ledger_id AS ledger_invoice_id, company_id AS psa_company_id,
    customer_id AS ledger_customer_id, number AS psa_number, ledger_number, psa_status,
    total_cents AS psa_total_cents, owing_cents AS psa_owing_cents,
    ledger_total AS ledger_total_cents, ledger_owing AS ledger_owing_cents,
    voided AS ledger_voided, diff_total AS diff_total_cents, diff_owing AS diff_owing_cents,
    status != '{_MATCHED}' OR diff_total != 0 OR diff_owing != 0 AS discrepant, kind
FROM (
    SELECT p.company_id, p.date, p.id, p.number, p.status AS psa_status, p.total_cents,
        p.owing_cents, p.kind,
        CASE WHEN m.pos IS NOT NULL THEN '{_MATCHED}'
             WHEN coalesce(p.ledger_invoice_id, r.ledger_id, '') != '' THEN '{_EXPECTED}'
             ELSE '{_NOT_IN_LEDGER}' END AS status,
        coalesce(li.id, lm.id, p.ledger_invoice_id, r.ledger_id) AS ledger_id,
        coalesce(li.customer_id, lm.customer_id) AS customer_id,
        coalesce(li.doc_number, lm.doc_number) AS ledger_number,
        coalesce(li.total_cents, lm.total_cents) AS ledger_total,
        coalesce(li.balance_cents, lm.balance_cents) AS ledger_owing,
        coalesce(li.voided, lm.voided, 0) AS voided,
        coalesce(li.total_cents, lm.total_cents, 0) - p.total_cents AS diff_total,
        coalesce(li.balance_cents, lm.balance_cents, 0) - p.owing_cents AS diff_owing
    FROM psa_invoice p
    LEFT JOIN temp._rp_match m ON m.prid = p.rowid
    LEFT JOIN ledger_invoice li ON m.pos < {LEDGER_MEMO_BASE} AND li.rowid = m.pos
    LEFT JOIN ledger_credit_memo lm
        ON m.pos >= {LEDGER_MEMO_BASE} AND lm.rowid = m.pos - {LEDGER_MEMO_BASE}
    LEFT JOIN invoice_link r ON m.pos IS NULL AND r.psa_invoice_id = p.id {where})
"""


_LEDGER_ONLY = (_ledger_only("ledger_invoice", 0),
                _ledger_only("ledger_credit_memo", LEDGER_MEMO_BASE))
_NEW = (f"INSERT INTO temp._rp_new ({PAIR_COLUMNS}) {_psa_rows()} "
        + " ".join(f"UNION ALL {part}" for part in _LEDGER_ONLY))

# Whether any new row differs from the stored rows, found without storing the new
# rows (a recompute of an unchanged book writes nothing and builds nothing): some
# PSA document's row has no equal stored row of its PSA id (those matched in the
# invoice table, then the rest), or some ledger-only row none among the stored
# ledger-only rows of its kind and ledger id. The first difference ends the search.
_DIFFERS = " OR ".join([
    "EXISTS (SELECT 1 FROM temp._rp_match WHERE same = 0)",
    f"""EXISTS (SELECT 1 FROM (
        {_psa_rows("WHERE m.same IS NULL")}) n
    LEFT JOIN invoice_pair t ON t.psa_invoice_id = n.psa_invoice_id
    WHERE t.id IS NULL OR ({of("t")}) IS NOT ({of("n")}))""",
    *(f"""EXISTS (SELECT 1 FROM ({part}) n WHERE NOT EXISTS (
        SELECT 1 FROM invoice_pair t INDEXED BY idx_pair_kind_ledger
        WHERE t.kind = n.kind AND t.ledger_invoice_id = n.ledger_invoice_id
          AND t.psa_invoice_id IS NULL AND ({of("t")}) IS ({of("n")})))"""
      for part in _LEDGER_ONLY)])

# Remember every matched pair (a changed link is replaced, a known one keeps its
# first-seen time); "custom field" when the effective link named this ledger id.
# A pair matched by the very link the cache remembers (``known``: most of a
# book, after its first recompute) has nothing to write and is not looked at.
_LINKS = f"""
INSERT INTO invoice_link (psa_invoice_id, ledger_id, first_seen, method)
SELECT r.id, coalesce(li.id, lm.id), :stamp,
       CASE WHEN r.link = coalesce(li.id, lm.id) THEN 'custom field' ELSE 'number' END
FROM temp._rp_match m JOIN {_PSA} r ON r.prid = m.prid
LEFT JOIN ledger_invoice li ON m.pos < {LEDGER_MEMO_BASE} AND li.rowid = m.pos
LEFT JOIN ledger_credit_memo lm
    ON m.pos >= {LEDGER_MEMO_BASE} AND lm.rowid = m.pos - {LEDGER_MEMO_BASE}
WHERE m.known IS NOT 1 AND r.remembered IS NOT coalesce(li.id, lm.id)
ON CONFLICT(psa_invoice_id) DO UPDATE SET ledger_id = excluded.ledger_id,
    first_seen = excluded.first_seen, method = excluded.method
WHERE invoice_link.ledger_id != excluded.ledger_id
"""

_TEMP_TABLES = {
    # known: matched by the link the cache remembers (rule 1), so already a link.
    "_rp_match": "prid INTEGER PRIMARY KEY, pos INTEGER NOT NULL, known INTEGER, same INTEGER",
    "_rp_free": "pos INTEGER PRIMARY KEY, kind TEXT, num TEXT",
    "_rp_cl": _GROUPED,
    "_rp_cd": _GROUPED,
    "_rp_claim": _RANKED,
    "_rp_cand": _RANKED,
    "_rp_new": f"seq INTEGER PRIMARY KEY, {PAIR_COLUMNS}",
    "_rp_sorted": "seq INTEGER PRIMARY KEY, src INTEGER NOT NULL",
    "_rp_changed": "seq INTEGER PRIMARY KEY, src INTEGER NOT NULL",
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
    # Not UNIQUE: rule 1 matches every claimant before the losers let go.
    conn.execute("CREATE INDEX temp._rp_match_pos ON _rp_match (pos)")
    try:
        ws = {"ws": WHITESPACE}
        # The stored rows are compared only when they can be the new ones (in order).
        ordered = conn.execute("SELECT 1 FROM meta WHERE key = ?", (ORDERED,)).fetchone()
        conn.execute(_by_link(compare=ordered is not None))
        conn.execute(_LINK_LOSERS)
        _group(conn, "temp._rp_cl", _CLAIMANTS)
        conn.execute(_FREE, ws)
        _group(conn, "temp._rp_cd", _CANDIDATES)
        conn.execute(_RANK_CLAIMS)
        conn.execute(_RANK_CANDS)
        conn.execute(_BY_NUMBER)
        count = store(conn, differs=_DIFFERS, fill=_NEW, params=ws)
        # Every discrepant row is diagnosed afresh (its evidence may have moved):
        # in SQL where the cache alone decides, the rest left without a cause.
        diagnose_in_sql(conn, every=True)
        conn.execute(_LINKS, {"stamp": stamp, **ws})
    finally:
        _drop_temp(conn)
    return count
