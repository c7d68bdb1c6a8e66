"""The diagnosis of the rows whose cause the cache alone decides, in one
set-based statement (a full recompute of a 200,000-invoice book used to read
every discrepant row, its documents and its payments into Python objects, a
page at a time, only to compare a few numbers).

These are the rules of :func:`recon_tui.diagnosis.diagnose` (with
``row_diagnosis._diagnose``'s two fall-backs) in the same order, over the same
facts ``row_diagnosis._PageFacts`` gathers: the PSA document by the row's PSA
id, the ledger document by the row's ledger id (a credit-memo row's in the
credit-memo table first, then, as every row's, in the invoice table; none for
an Expected row), the mapping of the row's ledger customer, both sides'
payments of those documents. Every branch that compares amounts, currencies,
voids, the export flag and the mapping is decided here; so is money applied on
one side when the other side lists no payment of the document at all (the
matching of both sides' payments, ``transactions.match_txns``, then has
nothing to match). Only a row whose two sides both list payments is left
without a cause, for the Python diagnosis to take (``diagnose_pending``).
tests/test_diagnosis_sql.py holds the two to the same cause on random rows.
"""

from __future__ import annotations

import sqlite3

from recon_tui.diagnosis.facts import ROUNDING_LIMIT, Cause
from recon_tui.models import DocKind, ReconStatus
from recon_tui.money import to_cents

_LIMIT = to_cents(ROUNDING_LIMIT)
_MEMO = DocKind.CREDIT_MEMO.value


def _voided(status: str | None) -> int | None:
    """A PSA status as the diagnosis reads it (``row_diagnosis._psa_facts``)."""
    return None if status is None else int(status.strip().lower() in ("voided", "void"))


def _c(cause: Cause) -> str:
    return f"'{cause.value}'"


# Each row in scope with the facts the diagnosis reads: its PSA document (ps),
# its ledger document (lm in the memo table, else li in the invoice table), the
# mapping, and for each side the payments of the document: how many, how many
# live, their sum and how many of those are credits.
_FACTS = f"""
SELECT p.id AS id, p.discrepant AS disc, p.status AS status, p.kind AS kind,
    ps.id IS NOT NULL AS has_psa, coalesce(lm.id, li.id) IS NOT NULL AS has_ledger,
    ps.total_cents AS pt, ps.owing_cents AS po, ps.currency AS pc,
    recon_diag_voided(ps.status) AS pv, coalesce(ps.exported, 1) AS exported,
    ps.payments_read_at IS NOT NULL AS known,
    CASE WHEN lm.id IS NOT NULL THEN lm.total_cents ELSE li.total_cents END AS lt,
    CASE WHEN lm.id IS NOT NULL THEN lm.balance_cents ELSE li.balance_cents END AS lo,
    CASE WHEN lm.id IS NOT NULL THEN lm.currency ELSE li.currency END AS lc,
    CASE WHEN lm.id IS NOT NULL THEN lm.voided != 0 ELSE li.voided != 0 END AS lv,
    coalesce(p.ledger_customer_id, '') = '' OR EXISTS (
        SELECT 1 FROM company_mapping m WHERE m.ledger_customer_id = p.ledger_customer_id
    ) AS mapped,
    ps.id AS psa_id, coalesce(lm.id, li.id) AS ledger_id
FROM invoice_pair p {{indexed}}
LEFT JOIN psa_invoice ps ON coalesce(p.psa_invoice_id, '') != '' AND ps.id = p.psa_invoice_id
LEFT JOIN ledger_credit_memo lm
    ON p.kind = '{_MEMO}' AND p.status != '{ReconStatus.EXPECTED_NOT_FOUND.value}'
    AND coalesce(p.ledger_invoice_id, '') != '' AND lm.id = p.ledger_invoice_id
LEFT JOIN ledger_invoice li
    ON lm.id IS NULL AND p.status != '{ReconStatus.EXPECTED_NOT_FOUND.value}'
    AND coalesce(p.ledger_invoice_id, '') != '' AND li.id = p.ledger_invoice_id
WHERE {{scope}}
"""


def _txns(side: str, doc: str) -> str:
    """One side's payments of a document: (count, live count, live sum, live credits)."""
    return (f"SELECT count(*) AS n, count(removed_at IS NULL OR NULL) AS live, "
            f"coalesce(sum(CASE WHEN removed_at IS NULL THEN amount_cents END), 0) AS total, "
            f"count(removed_at IS NULL AND kind = 'credit' OR NULL) AS credits "
            f"FROM invoice_txn WHERE side = '{side}' AND invoice_id = f.{doc}")


# Money applied on one side only, when the other side lists no payment at all
# (diagnosis.applied: nothing is then partly applied or reversed).
_PSA_MORE = f"""(SELECT CASE
    WHEN NOT f.known THEN {_c(Cause.PAYMENT_PSA_ONLY)}
    WHEN t.live > 0 AND t.total = f.lo - f.po THEN CASE WHEN t.credits = t.live
        THEN {_c(Cause.CREDIT_PSA_ONLY)} ELSE {_c(Cause.PAYMENT_PSA_ONLY)} END
    ELSE {_c(Cause.UNKNOWN)} END FROM ({_txns("psa", "psa_id")}) t)"""
_LEDGER_MORE = f"""(SELECT CASE
    WHEN t.live > 0 AND t.total = f.po - f.lo THEN CASE WHEN t.credits = t.live
        THEN {_c(Cause.CREDIT_LEDGER_ONLY)} ELSE {_c(Cause.PAYMENT_LEDGER_ONLY)} END
    WHEN t.n = 0 THEN {_c(Cause.PAYMENT_LEDGER_ONLY)}
    ELSE {_c(Cause.UNKNOWN)} END FROM ({_txns("ledger", "ledger_id")}) t)"""
_NO_PAYMENTS = "NOT EXISTS (SELECT 1 FROM invoice_txn x WHERE x.side = '{side}' " \
    "AND x.invoice_id = f.{doc})"

# NULL where the assertions of diagnosis.diagnose would fail (a ledger-only row
# without its document, say): the Python diagnosis meets them as before.
_CAUSE = f"""CASE
    WHEN NOT f.disc THEN NULL
    WHEN NOT f.has_psa AND NOT f.has_ledger THEN {_c(Cause.UNKNOWN)}
    WHEN f.status = '{ReconStatus.NOT_IN_PSA.value}' THEN CASE WHEN NOT f.has_ledger THEN NULL
        WHEN f.mapped THEN {_c(Cause.CREATED_IN_LEDGER)} ELSE {_c(Cause.CUSTOMER_UNMAPPED)} END
    WHEN f.status = '{ReconStatus.NOT_IN_LEDGER.value}' THEN CASE WHEN NOT f.has_psa THEN NULL
        WHEN f.exported THEN {_c(Cause.MISSING_IN_LEDGER)} ELSE {_c(Cause.NEVER_EXPORTED)} END
    WHEN f.status = '{ReconStatus.EXPECTED_NOT_FOUND.value}' THEN CASE WHEN NOT f.has_psa
        THEN NULL ELSE {_c(Cause.DELETED_IN_LEDGER)} END
    WHEN NOT f.has_psa OR NOT f.has_ledger THEN {_c(Cause.UNKNOWN)}
    WHEN f.pt = f.lt AND f.po = f.lo AND f.pv = f.lv THEN {_c(Cause.UNKNOWN)}
    WHEN f.pc != f.lc THEN {_c(Cause.CURRENCY)}
    WHEN f.pv != f.lv THEN {_c(Cause.VOIDED_ONE_SIDE)}
    WHEN f.pt != f.lt THEN CASE WHEN abs(f.lt - f.pt) <= {_LIMIT} THEN {_c(Cause.ROUNDING)}
        ELSE {_c(Cause.AMOUNT_EDITED)} END
    WHEN abs(f.lo - f.po) <= {_LIMIT} THEN {_c(Cause.ROUNDING)}
    WHEN f.kind = '{_MEMO}' THEN CASE WHEN f.lo < f.po THEN {_c(Cause.CREDIT_LEDGER_ONLY)}
        ELSE {_c(Cause.CREDIT_PSA_ONLY)} END
    WHEN f.lo > f.po AND {_NO_PAYMENTS.format(side="ledger", doc="ledger_id")} THEN {_PSA_MORE}
    WHEN f.lo < f.po AND {_NO_PAYMENTS.format(side="psa", doc="psa_id")} THEN {_LEDGER_MORE}
    END"""

# Only the rows whose cause changes are written (the indexes on cause too).
_UPDATE = f"""
WITH d AS MATERIALIZED (SELECT f.id AS id, {_CAUSE} AS cause FROM ({_FACTS}) f)
UPDATE invoice_pair AS r SET cause = d.cause FROM d
WHERE r.id = d.id AND r.cause IS NOT d.cause
"""
#: Every row with a cause or owed one (a full recompute's: a cause the Python
#: diagnosis must find afresh is cleared), or only the rows waiting for one.
_EVERY = _UPDATE.format(indexed="", scope="p.discrepant OR p.cause IS NOT NULL")
_PENDING = _UPDATE.format(indexed="INDEXED BY idx_pair_undiagnosed",
                          scope="p.discrepant AND p.cause IS NULL")


def diagnose_in_sql(conn: sqlite3.Connection, *, every: bool) -> None:
    """Set the cause of each row in scope that the cache alone decides: every
    row (``every``: a full recompute, which leaves the rest without a cause),
    or the discrepant rows still waiting for one."""
    conn.create_function("recon_diag_voided", 1, _voided, deterministic=True)
    conn.execute(_EVERY if every else _PENDING)
