"""Storing a full recompute's rows (``pairing_sql``): nothing when the stored
rows already are the new ones, else only the rows that differ, numbered in order.

The recompute of an unchanged book (most recomputes: a sync that changed little,
a recompute asked for by hand) used to write every new row into a temporary
table only to find each equal to its stored twin; now the new rows are compared
with the stored ones as they are made, and written out only when some differ.
"""

from __future__ import annotations

import sqlite3

from recon_tui.models import DocKind

_INVOICE = DocKind.INVOICE.value

# The columns a stored row has, beside its id (the row's place in the order) and
# its cause (the diagnosis's, set afterwards).
PAIR_COLUMNS = ("client_key, status, invoice_date, psa_invoice_id, ledger_invoice_id, "
                "psa_company_id, ledger_customer_id, psa_number, ledger_number, psa_status, "
                "psa_total_cents, psa_owing_cents, ledger_total_cents, ledger_owing_cents, "
                "ledger_voided, diff_total_cents, diff_owing_cents, discrepant, kind")

#: The meta key saying the stored rows are numbered 1..N in the order below
#: (a full recompute stores them so; an incremental one appends its rows).
ORDERED = "pairs_in_order"


def of(alias: str) -> str:
    """The PAIR_COLUMNS of ``alias``, for a row-value comparison."""
    return ", ".join(f"{alias}.{c.strip()}" for c in PAIR_COLUMNS.split(","))


def natural_sql(expr: str) -> str:
    """SQL for ``natural_key(expr)[0]``: computed in SQL for a string of ASCII
    digits without leading zeros (invoice numbers and ids mostly are), by the
    Python function otherwise."""
    return (f"CASE WHEN {expr} GLOB '[1-9]*' AND {expr} NOT GLOB '*[^0-9]*' "
            f"THEN printf('%03d%s', length({expr}), {expr}) "
            f"ELSE recon_pair_natural({expr}) END")


# How many rows the pairing makes (every PSA document, and every ledger document
# no match took: a position is matched at most once), how many are stored, and
# whether an id is held by both ledger tables in one kind (two ledger-only rows
# could then share a kind and ledger id, and one stored row pass for both).
_COUNTS = """
SELECT (SELECT count(*) FROM psa_invoice) + (SELECT count(*) FROM ledger_invoice)
       + (SELECT count(*) FROM ledger_credit_memo) - (SELECT count(*) FROM temp._rp_match),
       (SELECT count(*) FROM invoice_pair),
       EXISTS (SELECT 1 FROM ledger_credit_memo lm
               JOIN ledger_invoice li ON li.id = lm.id AND li.kind = lm.kind)
"""

# The new rows in the order rows are stored (the report's, pair_sort_key's, kind
# by kind: the screens break ties by row id), numbered 1..N; equal keys keep the
# order the rows were made in. For a PSA row the ledger id decides nothing (its
# PSA id is unique), so the stored one stands in for the matched one. Only each
# row's place is sorted (seq -> its _rp_new row): sorting whole rows cost twice.
_SORTED = f"""
INSERT INTO temp._rp_sorted (seq, src)
SELECT NULL, seq FROM temp._rp_new n
ORDER BY kind != '{_INVOICE}', invoice_date,
    {natural_sql("coalesce(psa_number, ledger_number)")}, coalesce(psa_number, ledger_number),
    psa_invoice_id IS NULL, coalesce(psa_invoice_id, ''), coalesce(ledger_invoice_id, ''),
    status, seq
"""

# Only the rows that differ from the stored row of their id are written: a
# recompute after a day's edits rewrites the rows from the first change in the
# order on, not the book (nor its eight indexes, built once). Deleted and
# inserted, not updated in place: a changed row may take a PSA id (unique) that
# another changed row still holds.
_CHANGED = f"""
INSERT INTO temp._rp_changed (seq, src)
SELECT o.seq, o.src FROM temp._rp_sorted o JOIN temp._rp_new n ON n.seq = o.src
LEFT JOIN invoice_pair t ON t.id = o.seq
WHERE t.id IS NULL OR ({of("t")}) IS NOT ({of("n")})
"""
_DELETE = ("DELETE FROM invoice_pair WHERE id > :count "
           "OR id IN (SELECT seq FROM temp._rp_changed)")
_INSERT = (f"INSERT INTO invoice_pair (id, {PAIR_COLUMNS}) SELECT c.seq, {of('n')} "
           "FROM temp._rp_changed c JOIN temp._rp_new n ON n.seq = c.src ORDER BY c.seq")


def store(conn: sqlite3.Connection, *, differs: str, fill: str, params: dict) -> int:
    """Make the stored rows the new ones, numbered in order, writing only what
    differs; returns the row count.

    ``differs`` is an SQL expression, true when some new row has no equal stored
    row (a PSA document's by its PSA id, unique; a ledger-only row's among those
    of its kind and ledger id); ``fill`` writes the new rows into temp._rp_new.
    When the stored rows are in order, as many as the new ones, and each new row
    has its own equal stored row, every stored row is one of the new rows and
    nothing is written or filled. A first load or a recompute after an
    incremental append goes straight to the rewrite."""
    ordered = conn.execute("SELECT value FROM meta WHERE key = ?", (ORDERED,)).fetchone()
    count, stored, twins = conn.execute(_COUNTS).fetchone()
    if (ordered and count == stored and not twins
            and not conn.execute(f"SELECT {differs}", params).fetchone()[0]):
        return count
    conn.execute(fill, params)
    conn.execute(_SORTED)
    conn.execute(_CHANGED)
    conn.execute(_DELETE, {"count": count})
    conn.execute(_INSERT)
    if not ordered:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (ORDERED,))
    return count
