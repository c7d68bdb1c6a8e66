"""The full recompute in SQL gives what the Python engine gives, row for row.

Random books built to collide (few numbers, numbers differing only by padding or
whitespace, natural-order ties, links by custom field and remembered, links to
missing or shared targets, a ledger id in both ledger tables, credit memos kept
among the ledger's invoices, empty numbers, unmapped and mapped customers,
credits, checklists): ``Cache.recompute_reconciliation`` must store the very rows
(in the same order: the screens break ties by row id), the same client rows and
the same remembered links as pairing and rolling up in Python
(``reconcile.pair_documents`` / ``rollup_clients``, the incremental path's engine).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.cache import Cache
from recon_tui.cache.pairing_sql import natural_sql
from recon_tui.models import (
    CompanyMapping,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.reconcile import client_key_for, natural_key, pair_documents, rollup_clients
from recon_tui.refresh import refresh_documents
from recon_tui.row_diagnosis import diagnose_pending, diagnose_row, system_names


def replace(record: object, **changes: object) -> object:
    """The record with these fields changed (a msgspec Struct, or a dataclass)."""
    if isinstance(record, msgspec.Struct):
        return msgspec.structs.replace(record, **changes)
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]


NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
NUMBERS = ["100", "0100", "100 ", "\u00a0100", "101", "INV-9", "INV-10", "INV-010", "", " ",
           "CM-1", "10a2", "Ä-3"]
IDS = ["1", "01", "2", "10", "9", "a", "A", "b2", "b10"]
COMPANIES = ["1", "2", "3"]
CUSTOMERS = ["58", "59", "60"]

cents = st.integers(min_value=-5_000, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2))
days = st.sampled_from([date(2026, 1, 5), date(2026, 1, 6), date(2026, 2, 1)])
kinds = st.sampled_from(list(DocKind))


@st.composite
def books(draw: st.DrawFn) -> dict:
    ledger_ids = draw(st.lists(st.sampled_from(IDS), max_size=9, unique=True))
    memo_ids = draw(st.lists(st.sampled_from(IDS), max_size=4, unique=True))
    link_targets = st.one_of(st.none(), st.just(""), st.sampled_from([*IDS, "gone"]))
    psa = [PsaInvoice(f"p{i}", draw(st.sampled_from(NUMBERS)), draw(st.sampled_from(COMPANIES)),
                      draw(days), draw(cents), draw(cents), status=draw(st.sampled_from(
                          ["Sent", "Voided", ""])), ledger_invoice_id=draw(link_targets),
                      exported=draw(st.booleans()), kind=draw(kinds))
           for i in draw(st.lists(st.sampled_from(IDS), max_size=10, unique=True))]
    ledger = [LedgerInvoice(i, draw(st.sampled_from(NUMBERS)), draw(st.sampled_from(
        [*CUSTOMERS, "orphan"])), draw(days), draw(cents), draw(cents),
        voided=draw(st.booleans()), kind=draw(kinds)) for i in ledger_ids]
    memos = [LedgerInvoice(i, draw(st.sampled_from(NUMBERS)), draw(st.sampled_from(CUSTOMERS)),
                           draw(days), draw(cents), draw(cents), kind=DocKind.CREDIT_MEMO)
             for i in memo_ids]
    remembered = draw(st.dictionaries(st.sampled_from([p.id for p in psa] or ["none"]),
                                      st.sampled_from([*IDS, "gone"]), max_size=4))
    mapping = draw(st.dictionaries(st.sampled_from(CUSTOMERS), st.sampled_from(COMPANIES),
                                   max_size=3))
    credits = draw(st.lists(st.tuples(st.sampled_from([*CUSTOMERS, "orphan"]), cents),
                            max_size=4))
    kept = draw(st.lists(st.sampled_from(CUSTOMERS), max_size=2, unique=True))
    names = draw(st.lists(st.sampled_from(["Beta", "alpha", "Alpha", "", "Zed"]),
                          min_size=3, max_size=3))
    return {"psa": psa, "ledger": ledger, "memos": memos, "remembered": remembered,
            "mapping": mapping, "credits": credits, "kept": kept, "names": names}


def fill(cache: Cache, book: dict) -> None:
    cache.records.upsert_companies(PsaCompany(c, f"C{c}", "" if c == "3" else f"Company {c}")
                                   for c in COMPANIES)
    cache.records.upsert_customers(LedgerCustomer(c, name)
                                   for c, name in zip(CUSTOMERS, book["names"], strict=True))
    cache.records.upsert_psa_invoices(book["psa"])
    cache.records.upsert_ledger_invoices(book["ledger"])
    cache.records.upsert_ledger_credit_memos(book["memos"])
    psa_ids = {p.id for p in book["psa"]}
    with cache.transaction():
        cache.conn.executemany(
            "INSERT INTO invoice_link (psa_invoice_id, ledger_id, first_seen, method) "
            "VALUES (?, ?, '2026-01-01T00:00:00.000+00:00', 'number')",
            [(p, led) for p, led in book["remembered"].items() if p in psa_ids])
        for customer_id in book["kept"]:
            cache.conn.execute(
                "INSERT INTO checklist (state, customer_id, customer_name, credit_kind, "
                "credit_id, credit_doc_number, credit_date, credit_cents, created_at, "
                "updated_at) VALUES ('done', ?, 'x', 'Payment', 'k', '', '2026-01-01', 1, "
                "'2026-01-01', '2026-01-01')", (customer_id,))
    cache.records.add_mappings(CompanyMapping(cust, co, MappingMethod.MANUAL)
                               for cust, co in book["mapping"].items())
    cache.records.upsert_credits(OrganizationalCredit(f"k{i}", CreditKind.UNAPPLIED_PAYMENT, cust,
                                                      date(2026, 1, 1), amount, amount)
                                 for i, (cust, amount) in enumerate(book["credits"]))


def python_recompute(cache: Cache) -> None:
    """The recompute as it was before it moved into SQL: everything in Python, the
    causes too (each discrepant row's by the Python diagnosis, row by row)."""
    pairs = pair_documents(cache.records.iter_psa_invoices(), cache.records.iter_ledger_documents())
    mapping = cache.records.mapping()
    summaries = rollup_clients(pairs, companies=cache.records.companies(),
                               customers=cache.records.customers(),
                               mapping=mapping, credits=cache.records.credits(),
                               keep=cache.checklists.checklist_customer_ids())
    with cache.transaction():
        cache.recon.replace_reconciliation([(client_key_for(p, mapping), p) for p in pairs],
                                           summaries)
        cache.recon.remember_links(pairs, now=NOW)
        names = system_names(cache)
        causes = []
        for (pair_id,) in cache.conn.execute("SELECT id FROM invoice_pair WHERE discrepant"):
            row = cache.recon.pair_row(pair_id)
            found = diagnose_row(cache, row, names) if row else None
            causes.append((pair_id, found.cause.value if found else None))
        cache.txns.set_causes(causes)


def sql_recompute(cache: Cache) -> int:
    """The full recompute as ``refresh_reconciliation`` runs it: the rows, client
    rows, links and causes in SQL, then the causes the cache alone cannot decide
    (none in these books: they hold no payments) in Python."""
    with cache.transaction():
        count = cache.recon.recompute_reconciliation(now=NOW)
        diagnose_pending(cache)
    return count


def state(cache: Cache) -> tuple[list, list, list]:
    pairs = [tuple(r) for r in cache.conn.execute(
        "SELECT * FROM invoice_pair ORDER BY id")]
    clients = sorted(tuple(r) for r in cache.conn.execute("SELECT * FROM client_summary"))
    links = sorted(tuple(r) for r in cache.conn.execute("SELECT * FROM invoice_link"))
    return pairs, clients, links


def change(cache: Cache, book: dict, drop: int) -> None:
    """A day's edits between two recomputes: a PSA document and a ledger one gone
    (their remembered links with them), a ledger total changed."""
    if book["psa"]:
        cache.records.delete_psa_invoices([book["psa"][drop % len(book["psa"])].id])
    if book["ledger"]:
        gone, *rest = book["ledger"][drop % len(book["ledger"]):]
        cache.records.delete_ledger_invoices([gone.id])
        if rest:
            cache.records.upsert_ledger_invoices([replace(rest[0], total=rest[0].total + 1)])


@contextmanager
def twin_caches(book: dict) -> Iterator[tuple[Cache, Cache]]:
    """Two caches holding ``book`` byte for byte: one for the SQL recompute, one
    for the Python engine it is checked against."""
    work = Path(tempfile.mkdtemp(prefix="recon-pairsql-"))
    try:
        with Cache(work / "a.db") as cache:
            fill(cache, book)
        shutil.copy(work / "a.db", work / "b.db")
        with Cache(work / "a.db") as sql, Cache(work / "b.db") as python:
            yield sql, python
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), drop=st.integers(min_value=0, max_value=9))
def test_sql_recompute_equals_the_python_engine(book: dict, drop: int) -> None:
    with twin_caches(book) as (sql, python):
        count = sql_recompute(sql)
        python_recompute(python)
        assert state(sql) == state(python)
        assert count == sql.recon.count_pairs()
        # A fixed point: the links the first recompute remembered pair as it paired.
        with writes_counted(sql) as writes:
            sql_recompute(sql)
        assert writes() == 0
        python_recompute(python)
        assert state(sql) == state(python)
        # Again over the stored rows and links, after some edits.
        for cache in (sql, python):
            change(cache, book, drop)
        sql_recompute(sql)
        python_recompute(python)
        assert state(sql) == state(python)
        # Once more with nothing changed: the same state, and not a row rewritten.
        with writes_counted(sql) as writes:
            assert sql_recompute(sql) == sql.recon.count_pairs()
        assert state(sql) == state(python)
        assert writes() == 0


@contextmanager
def writes_counted(cache: Cache) -> Iterator[Callable[[], int]]:
    """Rows inserted into or deleted from invoice_pair and client_summary meanwhile
    (temporary triggers count them)."""
    conn = cache.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS written (n INTEGER)")
    conn.execute("DELETE FROM temp.written")
    for table in ("invoice_pair", "client_summary"):
        for event in ("INSERT", "DELETE", "UPDATE"):
            conn.execute(f"CREATE TEMP TRIGGER counted_{table}_{event} AFTER {event} "
                         f"ON main.{table} BEGIN INSERT INTO written VALUES (1); END")
    try:
        yield lambda: conn.execute("SELECT count(*) FROM temp.written").fetchone()[0]
    finally:
        for table in ("invoice_pair", "client_summary"):
            for event in ("INSERT", "DELETE", "UPDATE"):
                conn.execute(f"DROP TRIGGER temp.counted_{table}_{event}")


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(book=books(), pick=st.integers(min_value=0, max_value=9))
def test_a_full_recompute_renumbers_rows_an_incremental_refresh_appended(book: dict,
                                                                         pick: int) -> None:
    """The incremental path appends the rows it re-pairs; a full recompute that
    pairs exactly the same must still store them numbered in order, as the Python
    engine's full recompute does (the screens break ties by row id)."""
    with twin_caches(book) as (sql, python):
        sql_recompute(sql)
        python_recompute(python)
        first = sql.conn.execute("SELECT kind, psa_invoice_id FROM invoice_pair "
                                 "WHERE psa_invoice_id IS NOT NULL ORDER BY id").fetchall()
        if first:
            _, psa_id = first[pick % len(first)]
            refresh_documents(sql, psa_ids=[psa_id])
            refresh_documents(python, psa_ids=[psa_id])
        sql_recompute(sql)
        python_recompute(python)
        assert state(sql) == state(python)


@given(text=st.one_of(st.sampled_from([*NUMBERS, *IDS, "000", "0", "007", "1" * 1200]),
                      st.text(alphabet="0123456789-aZ \u00e9\u0661", max_size=8)))
def test_natural_sql_equals_natural_key(text: str) -> None:
    """The SQL shortcut for digit strings orders exactly as ``natural_key``."""
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.create_function("recon_pair_natural", 1, lambda t: natural_key(t)[0])
    [(got,)] = conn.execute(f"SELECT {natural_sql('?1')}", (text,))
    assert got == natural_key(text)[0]


def test_the_whitespace_trimmed_is_exactly_what_str_strip_removes() -> None:
    import sys

    from recon_tui.cache.pairing_sql import WHITESPACE

    assert "".join(ch for ch in map(chr, range(sys.maxunicode + 1))
                                 if ch.isspace()) == WHITESPACE
