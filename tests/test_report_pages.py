"""The writers' page path (plain tuples from the spool, money formatted by SQLite,
text made inert a column at a time) against the row-object path they replaced:
the same csv bytes, the same xlsx sheets, the same hygiene findings and snapshot
id; and the pieces on their own (exact money text at any size, a flat JSON object
as ``json.dumps`` writes it, inert columns as inert cells)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon_tui.cache import Cache
from recon_tui.cache.report_spool import COLUMNS, ReportSpool
from recon_tui.money import from_cents
from recon_tui.report import xlsx_writer
from recon_tui.report.fields import (
    ROW_FIELDS,
    ROW_TITLES,
    TEXT_FIELDS,
    VALUE_COLUMNS,
    money,
    neutralise,
    row_dict,
)
from recon_tui.report.hygiene import run_checks
from recon_tui.report.json_writer import _item
from recon_tui.report.pages import TEXT_AT, inert_columns
from recon_tui.report.snapshot import ReportRow, Snapshot, reconciliation_id
from recon_tui.report.writers import render_text, write_report
from recon_tui.report.xlsx_cells import table
from recon_tui.report.xlsx_rows import ROW_KINDS
from recon_tui.text import printable


# --------------------------------------------------------------------------- references
def reference_csv(snap: Snapshot) -> str:
    """The csv as the writer made it from row objects, cell by cell."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(ROW_FIELDS)
    for row in snap.rows:
        values = row_dict(row)
        writer.writerow(["" if values[key] is None else (
            neutralise(printable(values[key])) if key in TEXT_FIELDS else values[key])
            for key in ROW_FIELDS])
    return buffer.getvalue()


def _values(row: ReportRow) -> list[object]:
    return [row.invoice_date, row.customer, row.psa_company, row.psa_invoice_number,
            row.psa_status, row.psa_total, row.psa_owing, row.ledger_invoice_number,
            row.ledger_total, row.ledger_owing, row.difference_total, row.difference_owing,
            row.sync_status.value, row.cause]


def _fill(row: ReportRow) -> str:
    return "bad" if row.sync_status.value != "Matched" else "warn" if row.discrepant else ""


def reference_row_table(fmt, name, view, *, contribution=False, total=None, progress=None):
    """A row sheet through the generic table, from row objects (the old path)."""
    titles = [ROW_TITLES[k] for k in ROW_FIELDS] + ["Contribution"] * contribution
    kinds = (*ROW_KINDS, *("money",) * contribution)
    table(fmt, name, titles, kinds,
          (([*_values(r), *[r.contribution] * contribution], _fill(r)) for r in view),
          total=total, progress=progress)


def sheets(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()
                if name != "docProps/core.xml"}  # its timestamps only


def assert_writers_agree(snap: Snapshot, cache: Cache, tmp_path: Path,
                         whole_book: bool = True) -> None:
    """Called by the streamed-report property tests on every book they make."""
    assert render_text(snap, "csv") == reference_csv(snap)
    assert snap.header.reconciliation_id == reconciliation_id(list(snap.rows))
    write_report(snap, "xlsx", tmp_path / "pages.xlsx")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsx_writer, "row_table", reference_row_table)
        write_report(snap, "xlsx", tmp_path / "objects.xlsx")
    assert sheets(tmp_path / "pages.xlsx") == sheets(tmp_path / "objects.xlsx")
    if whole_book:
        checks, findings = run_checks(companies=cache.records.companies(),
                                      customers=cache.records.customers(), pairs=list(snap.rows))
        assert (snap.hygiene_checks, snap.hygiene_findings) == (checks, findings)


# --------------------------------------------------------------------------- pieces
def spool_of(cents: list[int | None]) -> ReportSpool:
    """A spool of one row per amount, the amount in every money column."""
    spool = ReportSpool()
    rows = []
    for index, amount in enumerate(cents):
        row = dict.fromkeys(COLUMNS)
        row.update(invoice_date="2026-01-02", status="Matched", client_key="k",
                   ledger_voided=0, currency="USD", kind="invoice", discrepant=0,
                   psa_number=str(index))
        for column in ("psa_total", "psa_owing", "ledger_total", "ledger_owing",
                       "diff_total", "diff_owing", "contribution"):
            row[column] = amount
        row["diff_total"] = row["diff_owing"] = row["contribution"] = amount or 0
        rows.append(tuple(row[c] for c in COLUMNS))
    spool.fill(iter(rows))
    return spool


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-10**17, 10**17),
                          st.integers(-1_000, 1_000)), min_size=1, max_size=40))
def test_money_text_from_sqlite_is_the_exact_two_place_string(cents) -> None:
    spool = spool_of(cents)
    try:
        got = [row for page in [spool.values_page("invoice", VALUE_COLUMNS, 0, 100)]
               for row in page]
        quoted = spool.values_page("invoice", VALUE_COLUMNS, 0, 100, quoted=True)
        at = VALUE_COLUMNS.index("psa_total")
        for amount, row, tokens in zip(cents, got, quoted, strict=True):
            want = money(None if amount is None else from_cents(amount))
            assert row[at] == want
            assert tokens[at] == json.dumps(want)
    finally:
        spool.close()


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                    st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@given(st.dictionaries(st.text(), scalars, min_size=1, max_size=6), st.integers(0, 3))
def test_a_flat_object_is_written_as_json_writes_it(item, level) -> None:
    want = json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * level)
    assert _item(item, level) == want


@given(st.lists(st.tuples(*[st.one_of(st.none(), st.text())] * len(VALUE_COLUMNS)),
                min_size=1, max_size=20))
def test_inert_columns_are_inert_cells(page) -> None:
    columns = [list(column) for column in zip(*page, strict=True)]
    inert_columns(columns)
    for index, column in enumerate(columns):
        for value, original in zip(column, (row[index] for row in page), strict=True):
            if index in TEXT_AT and original is not None:
                assert value == neutralise(printable(original))
            else:
                assert value == original


def test_hostile_names_agree_in_both_paths(tmp_path: Path) -> None:
    from recon_tui.models import LedgerCustomer, LedgerInvoice, PsaCompany, PsaInvoice
    from recon_tui.refresh import refresh_reconciliation
    from recon_tui.report.snapshot import build_snapshot

    names = ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM", "\tTab", "Bidi \u202e evil",
             "Esc \x1b[31m", "Quote \" \\", "Line\nbreak", "Ünïcødé 日本", "C1 \x85",
             "DEL \x7f", "Sep \u2028", "", "x" * 80]
    with Cache(tmp_path / "c.db") as cache:
        cache.records.upsert_companies([PsaCompany(str(i), f"C{i}", n)
                                        for i, n in enumerate(names)])
        cache.records.upsert_customers([LedgerCustomer(str(i), n) for i, n in enumerate(names)])
        day = date(2026, 3, 1)
        cache.records.upsert_psa_invoices([PsaInvoice(
            id=f"P{i}", number=names[i % len(names)] + str(i) if i % 3 else str(i),
            company_id=str(i % len(names)), date=day, total=from_cents(i * 101 - 500),
            owing=from_cents(i), ledger_invoice_id=f"L{i}", exported=True,
            currency="CAD" if i % 4 == 0 else "USD") for i in range(60)])
        cache.records.upsert_ledger_invoices([LedgerInvoice(
            id=f"L{i}", doc_number=str(i), customer_id=str(i % len(names)), date=day,
            total=from_cents(i * 101 - 500 + (i % 5)), balance=from_cents(i),
            voided=i % 9 == 0) for i in range(60) if i % 7])
        refresh_reconciliation(cache)
        snap = build_snapshot(cache, day, day)
        assert snap.hygiene_findings and len(snap.difference_rows) > 1
        assert_writers_agree(snap, cache, tmp_path)
        snap.close()


# --------------------------------------------------------------------------- the column table
def test_the_spool_reads_only_its_own_columns() -> None:
    spool = spool_of([100])
    try:
        with pytest.raises(ValueError, match="not a spool column"):
            spool.values_page("invoice", ("customer", "customer; DROP TABLE invoice"), 0, 1)
        with pytest.raises(ValueError, match="not a money column"):
            spool.money_bounds("invoice", ("customer",))
        assert spool.values_page("invoice", ("psa_total", "fill"), 0, 1) == [("1.00", "", 1)]
        assert spool.money_bounds("invoice", ("psa_total", "diff_total")) == [
            (100, 100), (100, 100)]
    finally:
        spool.close()
