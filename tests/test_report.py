"""The reconciliation snapshot report (issue #5): rows, totals, self-check, sections,
and the xlsx, csv, json and markdown writers.

The hand-built book carries the ServiceBox article's examples (seed 004): an
invoice matched at 7,030.80 on both sides; 3,717.00 owed in the PSA but paid in
the ledger (owing difference -3,717.00); one never exported; one only in the
ledger; one whose linked ledger invoice vanished; and a matched invoice whose
totals differ, so the Invoice Difference is not zero and must be explained.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.backend import open_backend
from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.demo import load_demo
from recon_tui.models import (
    CompanyMapping,
    Contact,
    CreditKind,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    ReconStatus,
    SyncStatus,
)
from recon_tui.reconcile import filter_period, pair_invoices, report_totals
from recon_tui.refresh import refresh_reconciliation
from recon_tui.report.hygiene import fuzzy_available, name_problems
from recon_tui.report.snapshot import Snapshot, build_snapshot
from recon_tui.report.writers import (
    MONEY_FORMAT,
    ROW_FIELDS,
    neutralise,
    render_text,
    snapshot_dict,
    write_report,
)

D = Decimal
M = ReconStatus.MATCHED
NIL = ReconStatus.NOT_IN_LEDGER
NIP = ReconStatus.NOT_IN_PSA
ENF = ReconStatus.EXPECTED_NOT_FOUND
EVIL = '=HYPERLINK("http://x","y")'
DAY = date(2026, 3, 2)
START, END = date(2026, 1, 1), date(2026, 12, 31)
NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def psa(number: str, company: str, total: str, owing: str, **kw) -> PsaInvoice:
    return PsaInvoice(id=f"p{number}", number=number, company_id=company,
                      date=kw.pop("day", DAY), total=D(total), owing=D(owing),
                      status=kw.pop("status", "Sent"), **kw)


def led(doc: str, customer: str, total: str, balance: str, **kw) -> LedgerInvoice:
    return LedgerInvoice(id=kw.pop("id", f"l{doc}"), doc_number=doc, customer_id=customer,
                         date=kw.pop("day", DAY), total=D(total), balance=D(balance), **kw)


def seed_004_book(cache: Cache) -> None:
    cache.records.upsert_companies([
        PsaCompany("1", "CONTOSO", "Contoso Ltd"),
        PsaCompany("2", "GLOBEX", "Globex Corporation"),
        PsaCompany("3", "ACME", "Acme: Plumbing"),  # a colon QBO rejects
        PsaCompany("4", "LONG", "Long " + "n" * 120),
    ])
    cache.records.upsert_contacts([
        Contact("k1", "1", "Ada", "Admin", portal_security_level=6),
        Contact("k2", "1", "Bo", "Basic", portal_security_level=2),
        Contact("k3", "2", "Cy", "Low", portal_security_level=3),
        Contact("k4", "2", "Di", "Gone", portal_security_level=6, inactive=True),
    ])
    cache.records.upsert_customers([
        LedgerCustomer("58", "Contoso Ltd"),
        LedgerCustomer("59", "Globex Corporation"),
        LedgerCustomer("60", "Globex Corp."),
        LedgerCustomer("61", EVIL),
        LedgerCustomer("62", "Initech  LLC "),
    ])
    cache.records.upsert_psa_invoices([
        psa("220477-4", "1", "7030.80", "7030.80"),
        psa("220499-1", "1", "3717.00", "3717.00"),
        psa("220399-1", "1", "1250.00", "1250.00"),  # never exported
        psa("220500-2", "2", "860.25", "860.25", ledger_invoice_id="999", exported=True),
        psa("220510-1", "2", "100.00", "100.00", day=date(2026, 4, 5)),
        psa("220520-1", "2", "55.00", "55.00", day=date(2026, 4, 6)),  # voided in the ledger
        psa("OLD-1", "1", "10.00", "10.00", day=date(2025, 6, 1)),  # outside the period
        psa("INV-2026-000000000000042", "3", "5.00", "5.00"),  # 24 chars: too long for QBO
    ])
    cache.records.upsert_ledger_invoices([
        led("220477-4", "58", "7030.80", "7030.80"),
        led("220499-1", "58", "3717.00", "0.00"),
        led("QB-77", "61", "480.00", "480.00", day=date(2026, 2, 1)),
        led("220510-1", "59", "90.00", "90.00", day=date(2026, 4, 5)),
        led("220520-1", "59", "0.00", "0.00", day=date(2026, 4, 6), voided=True),
        led("OLD-1", "58", "10.00", "10.00", day=date(2025, 6, 1)),
        led("INV-2026-000000000000042", "62", "5.00", "5.00"),
    ])
    cache.records.upsert_credits([
        OrganizationalCredit("11261", CreditKind.CREDIT_MEMO, "58", date(2026, 2, 1),
                             D("10.00"), D("25.00"), doc_number="CM-11261"),
        OrganizationalCredit("7001", CreditKind.UNAPPLIED_PAYMENT, "61", date(2026, 2, 3),
                             D("-3.50"), D("100.00")),
    ])
    cache.records.add_mappings([CompanyMapping("58", "1", MappingMethod.AUTO_EXACT),
                                CompanyMapping("59", "2", MappingMethod.AUTO_EXACT)])
    refresh_reconciliation(cache)


@pytest.fixture
def book(cache: Cache) -> Cache:
    seed_004_book(cache)
    return cache


@pytest.fixture
def snap(book: Cache) -> Snapshot:
    return build_snapshot(book, START, END, now=NOW, psa_kind="connectwise", ledger_kind="qbo")


def by_number(snapshot: Snapshot) -> dict[str, object]:
    return {r.psa_invoice_number or r.ledger_invoice_number: r for r in snapshot.rows}


# --------------------------------------------------------------------------- rows
def test_every_row_has_its_status_and_differences(snap: Snapshot) -> None:
    rows = by_number(snap)
    assert set(rows) == {"220477-4", "220499-1", "220399-1", "220500-2", "220510-1",
                         "220520-1", "QB-77", "INV-2026-000000000000042"}  # OLD-1 is out
    expected = {
        # number: status, psa total, psa owing, ledger total, ledger owing, diff total, owing
        "220477-4": (M, "7030.80", "7030.80", "7030.80", "7030.80", "0.00", "0.00"),
        "220499-1": (M, "3717.00", "3717.00", "3717.00", "0.00", "0.00", "-3717.00"),
        "220399-1": (NIL, "1250.00", "1250.00", None, None, "-1250.00", "-1250.00"),
        "QB-77": (NIP, None, None, "480.00", "480.00", "480.00", "480.00"),
        "220500-2": (ENF, "860.25", "860.25", None, None, "-860.25", "-860.25"),
        "220510-1": (M, "100.00", "100.00", "90.00", "90.00", "-10.00", "-10.00"),
        "220520-1": (M, "55.00", "55.00", "0.00", "0.00", "-55.00", "-55.00"),
    }
    for number, (status, pt, po, lt, lo, dt, do) in expected.items():
        row = rows[number]
        assert row.sync_status is status, number
        money = (row.psa_total, row.psa_owing, row.ledger_total, row.ledger_owing,
                 row.difference_total, row.difference_owing)
        assert money == tuple(None if v is None else D(v) for v in (pt, po, lt, lo, dt, do)), \
            number
    matched = rows["220477-4"]
    assert (matched.customer, matched.psa_company, matched.ledger_invoice_number) == (
        "Contoso Ltd", "Contoso Ltd", "220477-4")
    assert not matched.discrepant and rows["220499-1"].discrepant
    never = rows["220399-1"]
    assert never.ledger_invoice_number is None and never.customer == "Contoso Ltd"  # mapped
    ledger_only = rows["QB-77"]
    assert ledger_only.psa_company is None and ledger_only.customer == EVIL
    assert ledger_only.psa_invoice_number is None and ledger_only.psa_status is None
    # Date order, then invoice number.
    assert [r.invoice_date for r in snap.rows] == sorted(r.invoice_date for r in snap.rows)


def test_totals_to_the_cent_with_the_self_check_and_its_rows(snap: Snapshot) -> None:
    t = snap.totals
    assert t.total_psa == D("13018.05")  # 7030.80+3717+1250+860.25+100+55+5
    assert t.total_ledger == D("11322.80")  # 7030.80+3717+480+90+0+5
    assert t.not_downloaded_to_ledger == D("1250.00")
    assert t.not_in_psa == D("480.00")
    assert t.total_expected_in_ledger == D("11768.05")
    assert t.total_expected_in_psa == D("10842.80")
    assert t.invoice_difference == D("-925.25")
    assert (t.matched_difference, t.expected_not_found) == (D("-65.00"), D("860.25"))
    assert t.residual == D("0.00")
    assert snap.self_check == (
        "Invoice Difference -925.25: these 3 invoices make up the -925.25.")
    assert snap.accounted_for
    # The rows that make it up, biggest first, adding up to the difference.
    made_of = [(r.psa_invoice_number, r.contribution) for r in snap.difference_rows]
    assert made_of == [("220500-2", D("-860.25")), ("220520-1", D("-55.00")),
                       ("220510-1", D("-10.00"))]
    assert sum(c for _n, c in made_of) == t.invoice_difference
    assert snap.status_counts == {M: 5, NIL: 1, NIP: 1, ENF: 1}
    assert snap.has_discrepancy


def test_header_names_the_snapshot_and_the_period(book: Cache, snap: Snapshot) -> None:
    h = snap.header
    assert (h.period_from, h.period_to, h.row_count) == (START, END, 8)
    assert (h.psa_kind, h.ledger_kind, h.generated_at) == ("connectwise", "qbo", NOW)
    assert h.psa_as_of is None and h.scope == "whole book"
    again = build_snapshot(book, START, END)
    assert again.header.reconciliation_id == h.reconciliation_id  # same rows, same id
    book.records.upsert_ledger_invoices([led("220477-4", "58", "7030.80", "7000.00")])
    refresh_reconciliation(book)
    changed = build_snapshot(book, START, END)
    assert changed.header.reconciliation_id != h.reconciliation_id
    wider = build_snapshot(book, date(2025, 1, 1), END)
    assert wider.header.row_count == 9
    with pytest.raises(ValueError):
        build_snapshot(book, END, START)


def test_one_client_gets_its_rows_credits_and_contacts(book: Cache) -> None:
    contoso = book.recon.client("psa:1")
    snap = build_snapshot(book, START, END, client=contoso)
    assert snap.header.scope == "client Contoso Ltd"
    assert {r.psa_invoice_number for r in snap.rows} == {"220477-4", "220499-1", "220399-1"}
    assert snap.totals.residual == 0 and snap.totals.not_downloaded_to_ledger == D("1250.00")
    assert [c.credit_id for c in snap.credits] == ["11261"]
    assert snap.unmapped_customers == []
    assert [c.name for c in snap.portal_contacts] == ["Bo Basic"]
    assert snap.portal_clients == []  # Ada can see invoices


def test_sections_credits_unmapped_and_portal(snap: Snapshot) -> None:
    credits = {c.credit_id: c for c in snap.credits}
    assert credits["11261"].amount == D("10.00") and credits["11261"].psa_company == "Contoso Ltd"
    assert credits["7001"].amount == D("-3.50") and credits["7001"].source == "Unapplied payment"
    unmapped = {u.customer_id: u for u in snap.unmapped_customers}
    assert set(unmapped) == {"60", "61", "62"}
    assert (unmapped["61"].invoice_count, unmapped["61"].balance) == (1, D("480.00"))
    assert unmapped["62"].invoices_in_period == 1 and unmapped["60"].invoice_count == 0
    assert {(c.company, c.name, c.level) for c in snap.portal_contacts} == {
        ("Contoso Ltd", "Bo Basic", 2), ("Globex Corporation", "Cy Low", 3)}
    blind = {c.company: c for c in snap.portal_clients}
    assert blind["Globex Corporation"].reason == "its only active contact is below level 6"
    assert blind["Acme: Plumbing"].reason == "no active contacts"
    assert "Contoso Ltd" not in blind


def test_hygiene_findings_and_what_was_not_checked(snap: Snapshot) -> None:
    found = {(f.check, f.system, f.record_id) for f in snap.hygiene_findings}
    assert ("name-chars", "psa", "3") in found  # "Acme: Plumbing"
    assert ("name-chars", "ledger", "61") in found  # the HYPERLINK name has a colon
    assert ("name-length", "psa", "4") in found  # 125 characters > CompanyName's 100
    assert ("name-spaces", "ledger", "62") in found  # "Initech  LLC "
    assert ("doc-number", "psa", "pINV-2026-000000000000042") in found
    assert ("voided-owing", "psa", "p220520-1") in found
    assert ("duplicates", "ledger", "59") in found and ("duplicates", "ledger", "60") in found
    checks = {c.code: c for c in snap.hygiene_checks}
    assert checks["line-types"].status == "not checked"
    assert "no invoice lines" in checks["line-types"].note
    assert checks["voided-owing"].findings == 1
    assert {c.code for c in snap.hygiene_checks} >= {"name-chars", "duplicates", "line-types",
                                                     "voided-owing"}


def test_name_rules() -> None:
    assert name_problems("Contoso Ltd") == []
    assert [p[0] for p in name_problems("A:B")] == ["name-chars"]
    assert [p[0] for p in name_problems("A\tB")] == ["name-chars"]
    assert [p[0] for p in name_problems("A\nB")] == ["name-chars"]
    assert [p[0] for p in name_problems(" A")] == ["name-spaces"]
    assert [p[0] for p in name_problems("x" * 101)] == ["name-length"]
    assert name_problems("x" * 101, company_name_limit=False) == []
    assert [p[0] for p in name_problems("x" * 501, company_name_limit=False)] == ["name-length"]


@pytest.mark.skipif(not fuzzy_available(), reason="rapidfuzz not installed")
def test_near_duplicates_need_rapidfuzz(cache: Cache) -> None:
    cache.records.upsert_companies([PsaCompany("1", "A", "Brightline Architects"),
                                    PsaCompany("2", "B", "Brightline Architcts"),
                                    PsaCompany("3", "C", "Lakeside School"),
                                    PsaCompany("4", "D", "Harbor Store 12"),
                                    # two stores, not a typo:
                                    PsaCompany("5", "E", "Harbor Store 13")])
    refresh_reconciliation(cache)
    snap = build_snapshot(cache, START, END)
    near = [f for f in snap.hygiene_findings if f.check == "duplicates"]
    assert {f.record_id for f in near} == {"1", "2"}
    assert all("near-duplicate" in f.detail for f in near)


# --------------------------------------------------------------------------- hypothesis
amounts = st.decimals(min_value=D("-5000"), max_value=D("50000"), places=2,
                      allow_nan=False, allow_infinity=False)
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))


@st.composite
def random_books(draw):
    numbers = st.sampled_from([f"N{i}" for i in range(12)])
    psa_rows = draw(st.lists(st.tuples(numbers, amounts, amounts, days, st.booleans(),
                                       st.one_of(st.none(), st.sampled_from(
                                           [f"L{i}" for i in range(15)]))), max_size=25))
    ledger_rows = draw(st.lists(st.tuples(numbers, amounts, amounts, days, st.booleans()),
                                max_size=25))
    psa_invoices = [PsaInvoice(id=f"P{i}", number=n, company_id=str(i % 3), date=d, total=t,
                               owing=o, exported=e, ledger_invoice_id=link)
                    for i, (n, t, o, d, e, link) in enumerate(psa_rows)]
    ledger_invoices = [LedgerInvoice(id=f"L{i}", doc_number=n, customer_id=str(i % 4), date=d,
                                     total=t, balance=b, voided=v)
                       for i, (n, t, b, d, v) in enumerate(ledger_rows)]
    start = draw(days)
    end = draw(st.dates(min_value=start, max_value=date(2027, 1, 1)))
    return psa_invoices, ledger_invoices, start, end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_books())
def test_self_check_holds_through_the_snapshot_on_random_books(book) -> None:
    psa_invoices, ledger_invoices, start, end = book
    cache = Cache(":memory:")
    try:
        cache.records.upsert_companies([PsaCompany(str(i), f"C{i}", f"Company {i}")
                                        for i in range(3)])
        cache.records.upsert_customers([LedgerCustomer(str(i), f"Customer {i}") for i in range(4)])
        cache.records.upsert_psa_invoices(psa_invoices)
        cache.records.upsert_ledger_invoices(ledger_invoices)
        cache.records.add_mappings([CompanyMapping("0", "0", MappingMethod.MANUAL)])
        refresh_reconciliation(cache)
        snap = build_snapshot(cache, start, end)
    finally:
        cache.close()
    expected_pairs = filter_period(pair_invoices(psa_invoices, ledger_invoices), start, end)
    assert snap.totals == report_totals(expected_pairs)
    assert snap.totals.residual == D("0.00")
    assert len(snap.rows) == len(expected_pairs) == snap.header.row_count
    assert sum((r.contribution for r in snap.difference_rows), start=D("0.00")) \
        == snap.totals.invoice_difference
    for row in snap.rows:
        assert row.difference_total == (row.ledger_total or 0) - (row.psa_total or 0)
        assert row.difference_owing == (row.ledger_owing or 0) - (row.psa_owing or 0)
        assert start <= row.invoice_date <= end
    data = snapshot_dict(snap)
    assert D(data["totals"]["invoice_difference"]) == snap.totals.invoice_difference
    assert data["self_check"]["not_accounted_for"] == "0.00"


# --------------------------------------------------------------------------- json
MONEY = re.compile(r"^-?\d+\.\d{2}$")
STATUSES = {"Matched", "Not in Ledger", "Not in PSA", "Ledger Invoice Expected but not Found"}


def test_json_matches_the_contract(snap: Snapshot) -> None:
    data = json.loads(render_text(snap, "json"))
    assert {"period", "generated_at", "systems", "rows", "totals", "credits",
            "unmapped_customers", "hygiene"} <= set(data)
    assert data["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert data["generated_at"] == "2026-11-21T09:30:00Z"
    assert data["systems"] == {"psa": "connectwise", "ledger": "qbo"}
    assert set(data["totals"]) == {"total_psa", "total_ledger", "not_downloaded_to_ledger",
                                   "not_in_psa", "total_expected_in_ledger",
                                   "total_expected_in_psa", "invoice_difference"}
    assert data["totals"]["invoice_difference"] == "-925.25"
    assert data["totals"]["total_psa"] == "13018.05"
    assert all(MONEY.match(v) for v in data["totals"].values())
    money_keys = {"psa_total", "psa_owing", "ledger_total", "ledger_owing",
                  "difference_total", "difference_owing"}
    for row in data["rows"]:
        assert list(row) == list(ROW_FIELDS)
        assert row["sync_status"] in STATUSES
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["invoice_date"])
        for key in money_keys:
            assert row[key] is None or MONEY.match(row[key]), (key, row[key])
        assert row["difference_total"] is not None and row["difference_owing"] is not None
    rows = {r["psa_invoice_number"] or r["ledger_invoice_number"]: r for r in data["rows"]}
    assert rows["220499-1"]["difference_owing"] == "-3717.00"
    assert rows["220499-1"]["psa_total"] == "3717.00"
    assert rows["220477-4"]["ledger_owing"] == "7030.80"
    not_in_ledger = rows["220399-1"]
    assert (not_in_ledger["ledger_invoice_number"], not_in_ledger["ledger_total"],
            not_in_ledger["ledger_owing"]) == (None, None, None)
    assert rows["QB-77"]["psa_total"] is None and rows["QB-77"]["customer"] == EVIL
    assert data["self_check"]["not_accounted_for"] == "0.00"
    assert data["self_check"]["holds"] is True
    assert data["self_check"]["text"] == snap.self_check
    assert [r["contribution"] for r in data["difference_rows"]] == ["-860.25", "-55.00",
                                                                   "-10.00"]
    assert data["credits"][0]["amount"] in ("10.00", "-3.50")
    assert {u["customer_id"] for u in data["unmapped_customers"]} == {"60", "61", "62"}
    assert data["hygiene"]["checks"] and data["hygiene"]["findings"]
    assert data["portal"]["client_admin_security_level"] == 6


# --------------------------------------------------------------------------- csv
def test_csv_has_the_rows_exact_and_inert(snap: Snapshot, tmp_path: Path) -> None:
    text = render_text(snap, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(ROW_FIELDS) and len(rows) == 8
    evil = next(r for r in rows if r["ledger_invoice_number"] == "QB-77")
    assert evil["customer"] == "'" + EVIL  # neutralised: a spreadsheet shows text
    never = next(r for r in rows if r["psa_invoice_number"] == "220399-1")
    assert never["difference_total"] == "-1250.00"  # money is not mangled
    assert never["ledger_total"] == ""  # a missing side is blank
    path = write_report(snap, "csv", tmp_path / "r.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    assert path.read_bytes().decode("utf-8-sig") == text  # CRLF rows, as RFC 4180 has them
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_neutralise() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    assert neutralise("Contoso") == "Contoso" and neutralise("") == ""


# --------------------------------------------------------------------------- xlsx
def test_xlsx_reads_back_with_exact_money_formats_frozen_header_and_filter(
        snap: Snapshot, tmp_path: Path) -> None:
    path = write_report(snap, "xlsx", tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Summary"
    assert {"Invoices", "Difference rows", "Discrepant", "Credits", "Unmapped customers",
            "Portal contacts", "Portal clients", "Hygiene", "Hygiene checks"} <= set(
        wb.sheetnames)

    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Total PSA"] == 13018.05 and summary["Total Ledger"] == 11322.80
    assert summary["Invoice Difference"] == -925.25
    assert summary["Not accounted for (must be 0.00)"] == 0
    assert summary["Rows"] == 8 and summary["Scope"] == "whole book"
    assert "Invoice Difference -925.25: these 3 invoices make up the -925.25." in summary
    assert "invoice 220500-2 (Globex Corporation): -860.25, the ledger no longer has the " \
        "invoice it was linked to" in summary
    cells = {row[0].value: row[1] for row in wb["Summary"].iter_rows() if row[0].value}
    assert cells["Invoice Difference"].number_format == MONEY_FORMAT
    assert cells["Invoice Difference"].font.b  # totals styled
    assert cells["Total Expected in PSA"].font.b

    ws = wb["Invoices"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:N9"
    header = [c.value for c in ws[1]]
    assert header[0] == "Invoice date" and header[-2:] == ["Sync status", "Cause"]
    assert len(header) == 14
    assert all(c.font.b for c in ws[1])
    rows = {(r[3].value or r[7].value): r for r in ws.iter_rows(min_row=2)}
    paid = rows["220499-1"]
    assert paid[0].value == datetime(2026, 3, 2) and paid[0].number_format == "yyyy-mm-dd"
    for cell, expected in zip(paid[5:7] + paid[8:12], ("3717.00", "3717.00", "3717.00", "0.00",
                                                        "0.00", "-3717.00"), strict=True):
        assert isinstance(cell.value, (int, float)), cell
        assert D(repr(cell.value)).quantize(D("0.01")) == D(expected)
        assert cell.number_format == MONEY_FORMAT
    matched = rows["220477-4"]
    assert D(repr(matched[6].value)) == D("7030.8") and matched[12].value == "Matched"
    never = rows["220399-1"]
    assert never[8].value is None and never[9].value is None  # missing side blank
    assert ws.column_dimensions["B"].width > 10  # fitted, not the default
    # Every money cell of every row reads back to the exact cents.
    for row in snap.rows:
        number = row.psa_invoice_number or row.ledger_invoice_number
        got = [c.value for c in rows[number][5:7] + rows[number][8:12]]
        want = [row.psa_total, row.psa_owing, row.ledger_total, row.ledger_owing,
                row.difference_total, row.difference_owing]
        assert [None if g is None else D(repr(g)).quantize(D("0.01")) for g in got] == want

    diff = wb["Difference rows"]
    last = [c.value for c in diff[diff.max_row]]
    assert last[0] == "Invoice Difference (sum of contributions)"
    assert D(repr(last[14])) == D("-925.25")
    assert diff.freeze_panes == "A2" and diff.auto_filter.ref == "A1:O4"


def test_formula_injection_is_inert_in_xlsx_and_negative_money_stays_a_number(
        snap: Snapshot, tmp_path: Path) -> None:
    path = write_report(snap, "xlsx", tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Invoices"]
    evil = next(r for r in ws.iter_rows(min_row=2) if r[7].value == "QB-77")
    assert evil[1].value == "'" + EVIL and evil[1].data_type == "s"
    never = next(r for r in ws.iter_rows(min_row=2) if r[3].value == "220399-1")
    assert never[10].value == -1250 and never[10].data_type == "n"
    # No cell anywhere in the workbook is a formula.
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    customers = wb["Unmapped customers"]
    assert "'" + EVIL in [c.value for c in customers["A"]]


def test_large_amounts_stay_exact(cache: Cache, tmp_path: Path) -> None:
    cache.records.upsert_companies([PsaCompany("1", "A", "Big")])
    cache.records.upsert_psa_invoices([psa("1", "1", "9999999999999.99", "0.01"),
                                       psa("2", "1", "12345678901234.56", "0.00")])
    refresh_reconciliation(cache)
    snap = build_snapshot(cache, START, END)
    ws = openpyxl.load_workbook(write_report(snap, "xlsx", tmp_path / "big.xlsx"))["Invoices"]
    got = {r[3].value: r[5].value for r in ws.iter_rows(min_row=2)}
    assert D(repr(got["1"])) == D("9999999999999.99")  # 15 digits: an exact number
    assert got["2"] == "12345678901234.56"  # beyond Excel's precision: exact text


# --------------------------------------------------------------------------- markdown
def test_markdown_is_readable_in_a_ticket(snap: Snapshot) -> None:
    md = render_text(snap, "md")
    assert md.startswith("# Reconciliation snapshot 2026-01-01 to 2026-12-31")
    for line in ("| Total PSA | 13,018.05 |", "| Total Ledger | 11,322.80 |",
                 "| Not Downloaded to Ledger | 1,250.00 |", "| Not in PSA | 480.00 |",
                 "| **Invoice Difference** | **-925.25** |"):
        assert line in md
    assert ("**Self-check:** Invoice Difference -925.25: these 3 invoices make up the "
            "-925.25.") in md
    assert "- invoice 220510-1" in md
    assert "## Rows that make up the Invoice Difference" in md
    assert "| 220500-2 |" in md and "| -860.25 |" in md
    assert "Reconciliation id" in md and "8 rows" in md
    assert "not checked" in md
    assert "`Initech  LLC `" in md  # a hygiene finding shows the name exactly
    assert r'\=HYPERLINK' not in md and "HYPERLINK" in md  # shown, as plain text


def test_markdown_escapes_table_breaking_names(cache: Cache) -> None:
    cache.records.upsert_companies([PsaCompany("1", "A", "Pipe | and [link](x) *bold*")])
    cache.records.upsert_psa_invoices([psa("1", "1", "5.00", "5.00")])
    refresh_reconciliation(cache)
    md = render_text(build_snapshot(cache, START, END), "md")
    assert r"Pipe \| and \[link\](x) \*bold\*" in md


def test_write_report_refuses_missing_folders_and_leaves_nothing_behind(
        snap: Snapshot, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_report(snap, "json", tmp_path / "nope" / "r.json")
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").write_text("old")
    write_report(snap, "json", out / "r.json")
    assert json.loads((out / "r.json").read_text())["row_count"] == 8
    assert sorted(p.name for p in out.iterdir()) == ["r.json"]  # no temporary file left


# --------------------------------------------------------------------------- the demo book
@pytest.fixture(scope="module")
def scenarios() -> dict:
    return json.loads((sample_data_dir() / "scenarios.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_snapshot(tmp_path_factory: pytest.TempPathFactory, scenarios: dict) -> Snapshot:
    """The demo book as the app loads it (emulator, real connectors, the sync), then
    the report over the generator's whole period."""
    cache = Cache(tmp_path_factory.mktemp("demo") / "demo.db")
    backend = open_backend(Config.default(), demo=True)
    try:
        run = load_demo(cache, backend)
    finally:
        backend.close()
    assert run.status is SyncStatus.SUCCEEDED, run.error
    period = scenarios["generator"]
    try:
        return build_snapshot(cache, date.fromisoformat(period["period_start"]),
                              date.fromisoformat(period["period_end"]))
    finally:
        cache.close()


def test_demo_totals_equal_the_manifest(demo_snapshot: Snapshot, scenarios: dict) -> None:
    expected = scenarios["expected_report"]
    t = demo_snapshot.totals
    for key in ("total_psa", "total_ledger", "not_downloaded_to_ledger", "not_in_psa",
                "matched_difference", "expected_not_found", "invoice_difference"):
        assert getattr(t, key) == D(expected[key]), key
    assert t.residual == D("0.00")
    assert {s.value: n for s, n in demo_snapshot.status_counts.items()} == expected["counts"]
    memos = scenarios["expected_credit_memo_report"]
    assert {s.value: n for s, n in demo_snapshot.credit_memo_status_counts.items()} == (
        memos["counts"])
    assert demo_snapshot.credit_memo_totals.total_psa == D(memos["total_psa"])
    assert demo_snapshot.credit_memo_totals.residual == D("0.00")
    assert demo_snapshot.header.row_count == sum(expected["counts"].values())
    assert (demo_snapshot.header.psa_kind, demo_snapshot.header.ledger_kind) == (
        "connectwise", "qbo")
    assert demo_snapshot.header.psa_as_of is not None
    listed = {(r.sync_status.value, r.psa_invoice_number or r.ledger_invoice_number,
               str(r.difference_total), str(r.difference_owing))
              for r in demo_snapshot.discrepant_rows}
    for d in expected["discrepant"]:
        key = (d["status"], d["invoice_number"] or d["doc_number"], d["difference_total"],
               d["difference_owing"])
        assert key in listed, key
    # The rows of the Invoice Difference are the manifest's matched rows whose totals
    # differ and its expected-but-not-found ones; the two invoices deleted in QBO before
    # the first sync were never linked: Not in Ledger, outside the Invoice Difference
    # (they count in Not Downloaded to Ledger).
    assert {r.psa_invoice_number for r in demo_snapshot.difference_rows} == {
        d["invoice_number"] for d in expected["discrepant"]
        if (d["status"] == "Matched" and D(d["difference_total"]) != 0)
        or d["status"] == "Ledger Invoice Expected but not Found"}


def test_demo_sections_find_the_seeded_problems(demo_snapshot: Snapshot,
                                                scenarios: dict) -> None:
    voided = {f.name for f in demo_snapshot.hygiene_findings if f.check == "voided-owing"}
    assert voided == {s["invoice_number"] for s in scenarios["voided_psa_owing"]}
    dupes = {f.record_id for f in demo_snapshot.hygiene_findings
             if f.check == "duplicates" and f.system == "ledger"}
    assert {c["qbo_customer_id"] for c in
            scenarios["near_duplicate_customers"]["qbo_customers"]} <= dupes
    blind = {c.company_id for c in demo_snapshot.portal_clients}
    assert {c["cw_company_id"] for c in
            scenarios["contacts"]["no_active_contact_at_level_5_or_more"]} <= blind
    assert any(c.credit_id == "11261" and c.amount == D("10.00")
               for c in demo_snapshot.credits)
    unmapped = {u.customer_id for u in demo_snapshot.unmapped_customers}
    assert {u["qbo_customer_id"] for u in scenarios["expected_mapping"]["unmapped"]} <= unmapped
    currency = [f for f in demo_snapshot.hygiene_findings if f.check == "currency"]
    assert [f.name for f in currency] == [scenarios["multi_currency"]["doc_number"]]


def test_a_report_reads_one_state_of_the_cache(book: Cache) -> None:
    """A sync committing while a report is read does not mix into it."""
    with book.report.view():
        before = book.report.pair_count(START, END)
        writer = Cache(book.path)
        try:
            writer.records.upsert_psa_invoices([psa("NEW-1", "1", "1.00", "1.00")])
            refresh_reconciliation(writer)
        finally:
            writer.close()
        assert book.report.pair_count(START, END) == before
        assert len(list(book.report.iter_pairs(START, END))) == before
    assert book.report.pair_count(START, END) == before + 1


def test_demo_rows_carry_the_causes_the_manifest_names(demo_snapshot: Snapshot,
                                                       scenarios: dict) -> None:
    """After the demo's first sync every discrepant invoice has its cause in the
    report, the block accounts for all of them, and each cause the manifest stages
    in the first book names its invoice (staged ones show after a later sync)."""
    assert all(r.cause is not None for r in demo_snapshot.discrepant_rows)
    assert demo_snapshot.causes.not_diagnosed.count == 0
    assert demo_snapshot.causes_agree
    causes = {r.psa_invoice_number or r.ledger_invoice_number: r.cause
              for r in demo_snapshot.rows}
    staged = set(scenarios.get("causes_staged", {}))
    first_book = {c: n for c, n in scenarios["causes"].items() if c not in staged}
    assert first_book, "the manifest names the demo's causes"
    assert {c: causes.get(n) for c, n in first_book.items()} == {c: c for c in first_book}


def test_the_column_table_is_what_every_writer_shows(snap: Snapshot) -> None:
    """One table (fields.ROW_COLUMNS) names the csv header, the json keys, the
    xlsx titles and the markdown headers; each column is a ReportRow field and a
    column the spool keeps."""
    from dataclasses import fields as dataclass_fields

    from recon_tui.cache.report_spool import COLUMNS
    from recon_tui.report.fields import CONTRIBUTION, ROW_COLUMNS
    from recon_tui.report.snapshot import ReportRow

    row_fields = {f.name for f in dataclass_fields(ReportRow)}
    for column in (*ROW_COLUMNS, CONTRIBUTION):
        assert column.key in row_fields and column.spool in COLUMNS, column
    assert next(csv.reader(io.StringIO(render_text(snap, "csv")))) == [
        c.key for c in ROW_COLUMNS]
    assert list(json.loads(render_text(snap, "json"))["difference_rows"][0]) == [
        *ROW_FIELDS, "contribution"]
    assert ("| Date | Customer | PSA # | PSA total | PSA owing | Ledger # | Ledger total "
            "| Ledger owing | Diff. total | Diff. owing | Status | Cause | Adds to difference |"
            "\n|---|---|---|---:|---:|---|---:|---:|---:|---:|---|---|---:|"
            ) in render_text(snap, "md")
    assert [c.md for c in ROW_COLUMNS if c.md] == [
        "Date", "Customer", "PSA #", "PSA total", "PSA owing", "Ledger #", "Ledger total",
        "Ledger owing", "Diff. total", "Diff. owing", "Status", "Cause"]
