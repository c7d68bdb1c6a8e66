"""The causes the cache decides in SQL are the Python diagnosis's, row for row.

Random rows over random documents, built to reach every branch: rows of every
status and kind whose ids name documents that exist, are gone, or are held by
both ledger tables; amounts a cent or more apart; currencies, voids (written as
the PSA writes them), the export flag, payment lists read or not; payments on
either side, live or removed, payments and credits, summing to the gap or not;
mapped and unmapped customers. ``diagnose_in_sql`` must give each discrepant row
the cause ``row_diagnosis`` gives it from the same cache, or none at all only
where both sides list payments (the one branch left to Python); and
``diagnose_pending`` then gives every row the Python diagnosis's cause.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.cache import Cache
from recon_tui.cache.diagnosis_sql import diagnose_in_sql
from recon_tui.diagnosis import Cause
from recon_tui.models import (
    CompanyMapping,
    DocKind,
    LedgerCustomer,
    MappingMethod,
    PsaCompany,
    ReconStatus,
)
from recon_tui.row_diagnosis import _diagnose, diagnose_pending, row_facts

NAMES = ("ConnectWise", "QuickBooks")
PSA_IDS = ["p1", "p2", "p3"]
LEDGER_IDS = ["l1", "l2", "m1"]
CUSTOMERS = ["c1", "c2", "c3"]
AMOUNTS = [0, 1, 99, 100, 101, 200, 5000]
KINDS = [DocKind.INVOICE.value, DocKind.CREDIT_MEMO.value]

amounts = st.sampled_from(AMOUNTS)
maybe_id = st.sampled_from([*PSA_IDS, *LEDGER_IDS, "gone", "", None])

psa_docs = st.fixed_dictionaries({
    "total": amounts, "owing": amounts, "currency": st.sampled_from(["USD", "CAD"]),
    "status": st.sampled_from(["Sent", " Voided ", "VOID", "void", "Paid", "Voidish"]),
    "exported": st.booleans(), "read": st.booleans(), "kind": st.sampled_from(KINDS)})
ledger_docs = st.fixed_dictionaries({
    "total": amounts, "balance": amounts, "currency": st.sampled_from(["USD", "CAD"]),
    "voided": st.booleans(), "kind": st.sampled_from(KINDS)})
txns = st.fixed_dictionaries({
    "side": st.sampled_from(["psa", "ledger"]), "invoice": st.sampled_from([*PSA_IDS,
                                                                           *LEDGER_IDS]),
    "kind": st.sampled_from(["payment", "credit"]), "amount": amounts,
    "removed": st.booleans(), "day": st.integers(1, 28)})
rows = st.fixed_dictionaries({
    "status": st.sampled_from(list(ReconStatus)), "kind": st.sampled_from(KINDS),
    "psa": maybe_id, "ledger": maybe_id,
    "customer": st.sampled_from([*CUSTOMERS, "", None]), "discrepant": st.booleans(),
    "cause": st.sampled_from([None, Cause.ROUNDING.value, Cause.UNKNOWN.value])})

books = st.fixed_dictionaries({
    "psa": st.dictionaries(st.sampled_from(PSA_IDS), psa_docs),
    "invoices": st.dictionaries(st.sampled_from(LEDGER_IDS), ledger_docs),
    "memos": st.dictionaries(st.sampled_from(LEDGER_IDS), ledger_docs),
    "txns": st.lists(txns, max_size=6),
    "mapped": st.sets(st.sampled_from(CUSTOMERS)),
    "rows": st.lists(rows, min_size=1, max_size=8),
})


_TABLES = ("invoice_pair", "invoice_txn", "ledger_invoice", "ledger_credit_memo",
           "psa_invoice", "company_mapping", "ledger_customer", "psa_company")
_SHARED: list[Cache] = []


def _shared_cache() -> Cache:
    """One cache for every example (made once: a cache's schema is the slow part),
    emptied before each."""
    if not _SHARED:
        folder = Path(tempfile.mkdtemp(prefix="recon-diag-sql-"))
        _SHARED.append(Cache(folder / "cache.db"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        atexit.register(_SHARED[0].close)
    cache = _SHARED[0]
    with cache.transaction():
        for table in _TABLES:
            cache.conn.execute(f"DELETE FROM {table}")
    return cache


@contextmanager
def cache_of(book: dict) -> Iterator[Cache]:
    """A cache holding exactly this book (written straight into its tables)."""
    cache = _shared_cache()
    try:
        conn = cache.conn
        cache.records.upsert_customers(LedgerCustomer(cid, cid) for cid in CUSTOMERS)
        cache.records.upsert_companies([PsaCompany("9", "C9", "Nine")])
        cache.records.add_mappings(CompanyMapping(cid, "9", MappingMethod.MANUAL)
                                   for cid in sorted(book["mapped"]))
        for pid, d in book["psa"].items():
            conn.execute(
                "INSERT INTO psa_invoice (id, number, company_id, date, total_cents, "
                "owing_cents, status, exported, currency, kind, payments_read_at) "
                "VALUES (?, 'N', '9', '2026-03-01', ?, ?, ?, ?, ?, ?, ?)",
                (pid, d["total"], d["owing"], d["status"], int(d["exported"]), d["currency"],
                 d["kind"], "2026-03-02T00:00:00+00:00" if d["read"] else None))
        for table, docs in (("ledger_invoice", book["invoices"]),
                            ("ledger_credit_memo", book["memos"])):
            for lid, d in docs.items():
                conn.execute(
                    f"INSERT INTO {table} (id, doc_number, customer_id, date, total_cents, "
                    "balance_cents, voided, currency, kind) "
                    "VALUES (?, 'N', 'c1', '2026-03-01', ?, ?, ?, ?, ?)",
                    (lid, d["total"], d["balance"], int(d["voided"]), d["currency"],
                     d["kind"]))
        for n, t in enumerate(book["txns"]):
            conn.execute(
                "INSERT INTO invoice_txn (side, invoice_id, txn_id, kind, date, amount_cents, "
                "removed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (t["side"], t["invoice"], f"t{n}", t["kind"], f"2026-04-{t['day']:02d}",
                 t["amount"], "2026-05-01T00:00:00+00:00" if t["removed"] else None))
        held: set[str] = set()
        for r in book["rows"]:
            if r["psa"] is not None and r["psa"] in held:
                continue  # one row per PSA document (invoice_pair.psa_invoice_id is UNIQUE)
            held.add(r["psa"])
            conn.execute(
                "INSERT INTO invoice_pair (client_key, status, invoice_date, psa_invoice_id, "
                "ledger_invoice_id, ledger_customer_id, diff_total_cents, diff_owing_cents, "
                "discrepant, kind, cause) VALUES ('k', ?, '2026-03-01', ?, ?, ?, 0, 0, ?, ?, ?)",
                (r["status"].value, r["psa"], r["ledger"], r["customer"], int(r["discrepant"]),
                 r["kind"], r["cause"]))
        conn.commit()
        yield cache
    finally:
        cache.conn.rollback()


def python_causes(cache: Cache) -> dict[int, str | None]:
    """Each row's cause by the Python diagnosis ("assert" where it refuses the row)."""
    out: dict[int, str | None] = {}
    for pair_id, in cache.conn.execute("SELECT id FROM invoice_pair"):
        row = cache.recon.pair_row(pair_id)
        assert row is not None
        if not row.discrepant:
            out[pair_id] = None
            continue
        try:
            out[pair_id] = _diagnose(row_facts(cache, row, NAMES)).cause.value
        except AssertionError:
            out[pair_id] = "assert"
    return out


def both_sides_list_payments(cache: Cache, pair_id: int) -> bool:
    """The row's two documents (as the diagnosis finds them) both have payments."""
    row = cache.recon.pair_row(pair_id)
    assert row is not None
    facts = row_facts(cache, row, NAMES)
    return bool(facts.psa_txns) and bool(facts.ledger_txns)


def stored_causes(cache: Cache) -> dict[int, str | None]:
    return dict(cache.conn.execute("SELECT id, cause FROM invoice_pair ORDER BY id"))


SETTINGS = settings(max_examples=1_000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 150,
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(books)
def test_every_row_gets_the_python_cause_or_none_when_both_sides_list_payments(
        book: dict) -> None:
    with cache_of(book) as cache:
        expected = python_causes(cache)
        with cache.transaction():
            diagnose_in_sql(cache.conn, every=True)
        for pair_id, cause in stored_causes(cache).items():
            if cause is None and expected[pair_id] is not None:
                assert expected[pair_id] == "assert" or both_sides_list_payments(
                    cache, pair_id), (pair_id, expected[pair_id])
            else:
                assert cause == expected[pair_id], (pair_id, cause, expected[pair_id])


@SETTINGS
@given(books)
def test_pending_rows_only_are_diagnosed_and_python_takes_the_rest(book: dict) -> None:
    with cache_of(book) as cache:
        before = stored_causes(cache)
        expected = python_causes(cache)
        if "assert" in expected.values():
            return  # the Python diagnosis refuses such a row, before and after
        diagnose_pending(cache)
        for pair_id, cause in stored_causes(cache).items():
            if before[pair_id] is not None:
                assert cause == before[pair_id]  # not waiting: left alone
            elif expected[pair_id] is None:
                assert cause is None  # agrees: no cause
            else:
                assert cause == expected[pair_id], (pair_id, cause, expected[pair_id])


def test_the_sql_takes_the_common_rows_of_a_book() -> None:
    """Cents apart, a missing invoice, a payment in the ledger only: no page of
    Python facts is read (each would be read through ``pair_rows``)."""
    book = {
        "psa": {"p1": {"total": 100, "owing": 100, "currency": "USD", "status": "Sent",
                       "exported": True, "read": False, "kind": "invoice"},
                "p2": {"total": 200, "owing": 200, "currency": "USD", "status": "Sent",
                       "exported": True, "read": False, "kind": "invoice"},
                "p3": {"total": 5000, "owing": 5000, "currency": "USD", "status": "Sent",
                       "exported": False, "read": False, "kind": "invoice"}},
        "invoices": {"l1": {"total": 101, "balance": 101, "currency": "USD", "voided": False,
                            "kind": "invoice"},
                     "l2": {"total": 200, "balance": 0, "currency": "USD", "voided": False,
                            "kind": "invoice"}},
        "memos": {},
        "txns": [{"side": "ledger", "invoice": "l2", "kind": "payment", "amount": 200,
                  "removed": False, "day": 3}],
        "mapped": set(),
        "rows": [{"status": ReconStatus.MATCHED, "kind": "invoice", "psa": "p1",
                  "ledger": "l1", "customer": "c1", "discrepant": True, "cause": None},
                 {"status": ReconStatus.MATCHED, "kind": "invoice", "psa": "p2",
                  "ledger": "l2", "customer": "c1", "discrepant": True, "cause": None},
                 {"status": ReconStatus.NOT_IN_LEDGER, "kind": "invoice", "psa": "p3",
                  "ledger": None, "customer": None, "discrepant": True, "cause": None}],
    }
    with cache_of(book) as cache:
        read: list[object] = []
        cache.recon.pair_rows = lambda ids: read.append(ids) or {}  # type: ignore[method-assign]
        try:
            diagnose_pending(cache)
        finally:
            del cache.recon.pair_rows
        assert read == []
        assert list(stored_causes(cache).values()) == [
            Cause.ROUNDING.value, Cause.PAYMENT_LEDGER_ONLY.value, Cause.NEVER_EXPORTED.value]
