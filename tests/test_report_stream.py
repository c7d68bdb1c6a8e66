"""Streamed reports: the rows come from a spool file in pages, the totals from SQL.

The reference here is the in-memory path the report had before (every pair read
into Python, sorted by ``pair_sort_key``, totals added pair by pair): on random
books with credit memos, two currencies, names missing or empty and ties in the
order, the spool must give the same rows in the same order, the same totals, the
same difference rows, and the streamed JSON the bytes ``json.dumps`` gives the
whole document."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.cache import Cache
from recon_tui.models import (
    CompanyMapping,
    DocKind,
    InvoicePair,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.reconcile import (
    difference_contribution,
    difference_rows,
    pair_sort_key,
    report_totals,
)
from recon_tui.refresh import refresh_reconciliation
from recon_tui.report.json_writer import snapshot_dict
from recon_tui.report.snapshot import ReportRow, Snapshot, build_snapshot
from recon_tui.report.writers import render_text, write_report
from tests.test_report_pages import assert_writers_agree

D = Decimal
START, END = date(2026, 1, 1), date(2026, 12, 31)
amounts = st.decimals(min_value=D("-500"), max_value=D("5000"), places=2,
                      allow_nan=False, allow_infinity=False)
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 1, 6))
numbers = st.sampled_from(["9", "10", "09", "INV-2", "INV-10", "A", ""])
currencies = st.sampled_from(["USD", "USD", "CAD"])


def reference_row(pair: InvoicePair, client_key: str, company: str | None,
                  customer: str | None, cause: str | None) -> ReportRow:
    """The row as the in-memory report built it from a pair."""
    psa, ledger = pair.psa, pair.ledger
    return ReportRow(
        invoice_date=pair.invoice_date, customer=customer, psa_company=company,
        psa_invoice_number=psa.number if psa else None,
        psa_status=psa.status if psa else None,
        psa_total=psa.total if psa else None, psa_owing=psa.owing if psa else None,
        ledger_invoice_number=ledger.doc_number if ledger else None,
        ledger_total=ledger.total if ledger else None,
        ledger_owing=ledger.balance if ledger else None,
        difference_total=pair.difference_total, difference_owing=pair.difference_owing,
        sync_status=pair.status, cause=cause, client_key=client_key,
        psa_invoice_id=psa.id if psa else None,
        ledger_invoice_id=ledger.id if ledger else (psa.ledger_invoice_id if psa else None),
        ledger_customer_id=ledger.customer_id if ledger else None,
        ledger_voided=bool(ledger and ledger.voided),
        currency=(ledger or psa).currency,  # type: ignore[union-attr]
        contribution=difference_contribution(pair))


def reference(cache: Cache, start: date, end: date, client_key: str | None = None):
    keyed = sorted(cache.report.iter_pairs(start, end, client_key),
                   key=lambda item: pair_sort_key(item[0]))
    invoices = [item for item in keyed if item[0].kind is DocKind.INVOICE]
    memos = [item for item in keyed if item[0].kind is DocKind.CREDIT_MEMO]
    pairs = [item[0] for item in invoices]
    rows = [reference_row(*item) for item in invoices]
    row_of = {id(pair): row for pair, row in zip(pairs, rows, strict=True)}
    return (rows, [reference_row(*item) for item in memos], report_totals(pairs),
            report_totals(item[0] for item in memos),
            [row_of[id(p)] for p in difference_rows(pairs)])


def assert_same(snap: Snapshot, cache: Cache, start: date, end: date,
                client_key: str | None = None) -> None:
    rows, memos, totals, memo_totals, diff = reference(cache, start, end, client_key)
    assert list(snap.rows) == rows
    assert list(snap.credit_memo_rows) == memos
    assert snap.totals == totals and snap.credit_memo_totals == memo_totals
    assert list(snap.difference_rows) == diff
    assert list(snap.discrepant_rows) == [r for r in rows if r.discrepant]
    assert len(snap.discrepant_rows) == sum(r.discrepant for r in rows)
    assert snap.credit_memo_discrepant == sum(r.discrepant for r in memos)
    assert snap.status_counts == {s: sum(r.sync_status is s for r in rows)
                                  for s in snap.status_counts}
    assert snap.has_discrepancy == (totals.invoice_difference != 0
                                    or any(r.discrepant for r in (*rows, *memos)))
    streamed = render_text(snap, "json")
    assert json.loads(streamed) == json.loads(json.dumps(snapshot_dict(snap)))
    whole = json.dumps(snapshot_dict(snap), ensure_ascii=False, indent=2) + "\n"
    assert streamed == whole  # no unsafe characters in these names: the same bytes


def kind_of(index: int) -> DocKind:
    """Invoices only: a lone or paired PSA credit memo with money owing stops the
    refresh's diagnosis on an assertion today (diagnosis.py, outside the report;
    reported). The demo's credit memos are compared in the demo test below."""
    return DocKind.INVOICE


@st.composite
def books(draw):
    """A PSA invoice links to a ledger one, or to one that is not there."""
    psa_rows = draw(st.lists(st.tuples(numbers, amounts, amounts, days, currencies,
                                       st.one_of(st.none(), st.integers(0, 12))),
                             max_size=30))
    ledger_rows = draw(st.lists(st.tuples(numbers, amounts, amounts, days, st.booleans(),
                                          currencies), max_size=30))
    psa = [PsaInvoice(id=f"P{i}", number=n, company_id=str(i % 4), date=d, total=t,
                      owing=o, kind=kind_of(i), currency=c,
                      ledger_invoice_id=None if j is None else f"L{j}",
                      exported=j is not None)
           for i, (n, t, o, d, c, j) in enumerate(psa_rows)]
    ledger = [LedgerInvoice(id=f"L{i}", doc_number=n, customer_id=str(i % 5), date=d,
                            total=t, balance=b, voided=v, kind=kind_of(i), currency=c)
              for i, (n, t, b, d, v, c) in enumerate(ledger_rows)]
    return psa, ledger


def load(cache: Cache, psa: list[PsaInvoice], ledger: list[LedgerInvoice]) -> None:
    # Company 3 has an empty name and customer 4 is unknown: the fallbacks show.
    cache.records.upsert_companies([PsaCompany(str(i), f"C{i}", f"Company {i}" if i < 3 else "")
                                    for i in range(4)])
    cache.records.upsert_customers([LedgerCustomer(str(i), f"Customer {i}") for i in range(4)])
    cache.records.upsert_psa_invoices(psa)
    cache.records.upsert_ledger_invoices(ledger)
    cache.records.add_mappings([CompanyMapping("0", "0", MappingMethod.MANUAL),
                                CompanyMapping("1", "3", MappingMethod.MANUAL)])
    refresh_reconciliation(cache)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_the_spool_gives_the_in_memory_report_on_random_books(book) -> None:
    psa, ledger = book
    cache = Cache(":memory:")
    try:
        load(cache, psa, ledger)
        snap = build_snapshot(cache, START, END)
        assert_same(snap, cache, START, END)
        with tempfile.TemporaryDirectory() as folder:
            assert_writers_agree(snap, cache, Path(folder))
        for client in ("psa:0", "psa:3", "ledger:4"):
            assert_same(build_snapshot(cache, START, END, client=cache.recon.client(client))
                        if cache.recon.client(client) else snap, cache, START, END,
                        client if cache.recon.client(client) else None)
    finally:
        cache.close()


def test_the_spool_gives_the_in_memory_report_on_the_demo(tmp_path: Path) -> None:
    """The demo book as the app loads it (credit memos, credits, hostile names)."""
    from recon_tui.backend import open_backend
    from recon_tui.config import Config
    from recon_tui.demo import load_demo

    with Cache(tmp_path / "demo.db") as cache:
        backend = open_backend(Config.default(), demo=True)
        try:
            load_demo(cache, backend)
        finally:
            backend.close()
        start, end = cache.report.date_range()
        snap = build_snapshot(cache, start, end)
        assert len(snap.credit_memo_rows) > 0 and len(snap.difference_rows) > 0
        assert_same(snap, cache, start, end)
        assert_writers_agree(snap, cache, tmp_path)


def small_book(cache: Cache, n: int = 25) -> None:
    load(cache, [PsaInvoice(id=f"P{i}", number=str(1000 + i), company_id=str(i % 3),
                            date=date(2026, 2, 1 + i % 20), total=D("100.00") + i,
                            owing=D("0.00"), ledger_invoice_id=f"L{i}", exported=True)
                 for i in range(n)],
         [LedgerInvoice(id=f"L{i}", doc_number=str(1000 + i), customer_id=str(i % 3),
                        date=date(2026, 2, 1 + i % 20),
                        total=D("100.00") + i + (D("5.00") if i % 7 == 0 else 0),
                        balance=D("0.00")) for i in range(n) if i % 11])


def test_rows_read_in_pages_survive_the_cache_and_a_later_change(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.db") as cache:
        small_book(cache)
        snap = build_snapshot(cache, START, END)
        rows = list(snap.rows)
        # A sync after the snapshot changes the cache; the snapshot keeps its copy.
        cache.records.upsert_psa_invoices([PsaInvoice(id="P999", number="9999", company_id="0",
                                                      date=date(2026, 2, 3), total=D("1.00"),
                                                      owing=D("1.00"))])
        refresh_reconciliation(cache)
    assert len(rows) == 25 and list(snap.rows) == rows  # the cache is closed by now
    assert snap.rows[3] == rows[3] and snap.rows[-1] == rows[-1]
    assert snap.rows[5:9] == rows[5:9] and snap.rows[20:99] == rows[20:]
    with pytest.raises(IndexError):
        snap.rows[25]
    from recon_tui.report.row_view import RowView
    assert list(RowView(snap.spool, "invoice", page=3)) == rows  # 9 pages of 3
    spool = snap.spool.path
    assert spool.exists() and (spool.stat().st_mode & 0o077) == 0  # private to its owner
    snap.close()
    assert not spool.exists()


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json", "md"])
def test_progress_moves_while_rows_are_written(tmp_path: Path, fmt: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import recon_tui.cache.report_spool as spool_module
    import recon_tui.report.snapshot as snapshot_module

    monkeypatch.setattr(snapshot_module, "PROGRESS_EVERY", 5)
    monkeypatch.setattr(spool_module, "PAGE", 5)
    seen: list[tuple[str, int, int]] = []
    with Cache(tmp_path / "c.db") as cache:
        small_book(cache)
        snap = build_snapshot(cache, START, END,
                              progress=lambda *step: seen.append(step))
    reading = [done for phase, done, _total in seen if phase == "reading"]
    assert reading[0] == 0 and reading[-1] == 25 and len(reading) >= 5
    seen.clear()
    from recon_tui.report import csv_writer, json_writer, xlsx_rows
    for module in (csv_writer, json_writer, xlsx_rows):  # each writes pages of that size
        monkeypatch.setattr(module, "PROGRESS_EVERY", 5)
    write_report(snap, fmt, tmp_path / f"r.{fmt}",
                 progress=lambda *step: seen.append(step))
    writing = [done for phase, done, total in seen if phase == "writing" and total == 25]
    assert writing == sorted(writing) and writing[-1] == 25
    if fmt != "md":  # md lists the first rows only: it is done at once
        assert len(set(writing)) >= 3, seen
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["Invoices"]
        assert ws.max_row == 26


def test_the_command_line_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    """On a terminal stderr carries the progress line (cleared at the end); piped,
    as in cron, stderr stays empty."""
    import os
    import pty
    import subprocess
    import sys
    from datetime import UTC, datetime

    from tests.test_report import seed_004_book

    with Cache(tmp_path / "book.db") as cache:
        seed_004_book(cache)
        cache.history.mark_synced("psa", "connectwise", datetime(2026, 11, 21, tzinfo=UTC))
        cache.history.mark_synced("ledger", "qbo", datetime(2026, 11, 21, tzinfo=UTC))
    command = [sys.executable, "-m", "recon_tui", "report", "--demo", "--db",
               str(tmp_path / "book.db"), "--out", str(tmp_path / "r.json")]
    env = os.environ | {"TERM": "dumb"}
    piped = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    leader, follower = pty.openpty()
    try:
        ran = subprocess.run(command, stdout=subprocess.PIPE, stderr=follower, timeout=60,
                             env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    seen = b"".join(chunks).decode()
    assert ran.returncode == 0
    import re

    total = re.search(r"reading 0 of (\d+) rows", seen)
    assert total and f"writing {total[1]} of {total[1]} rows" in seen, seen
    assert seen.endswith("\r\x1b[K")
