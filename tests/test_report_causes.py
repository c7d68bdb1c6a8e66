"""The cause of each discrepant row in the reconciliation report (issue #10): a
``cause`` in every JSON row and a Cause column in csv, xlsx and md, and the
causes block (rows, differences and what each cause adds to the Invoice
Difference, with its meaning) in json, md and xlsx.

The book is the ServiceBox one of ``test_report`` (seed 004) with two more
invoices and the payments each side holds, diagnosed the way a sync does it:
a payment only the ledger has (220499-1, 220601-1), one only the PSA has
(220600-1), never exported, deleted in the ledger, an amount edited, a void on
one side, a customer unmapped. One discrepant row is then left undiagnosed
(its cause NULL in the cache, as after a mapping change).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from recon_tui.cache import Cache
from recon_tui.diagnosis import Cause
from recon_tui.models import DocKind
from recon_tui.money import ZERO
from recon_tui.refresh import refresh_reconciliation
from recon_tui.report.causes import NOT_DIAGNOSED, NOT_DIAGNOSED_MEANING
from recon_tui.report.snapshot import Snapshot, build_snapshot
from recon_tui.report.writers import ROW_FIELDS, render_text, write_report
from recon_tui.row_diagnosis import diagnose_pending
from recon_tui.transactions import InvoiceTxn, Side, TxnKind
from tests.test_report import END, NOW, START, led, psa, seed_004_book

D = Decimal
PAID = date(2026, 3, 5)

#: What each row's cause is in the report (None: agrees, or left undiagnosed).
CAUSES = {
    "220477-4": None,  # matched, agrees
    "INV-2026-000000000000042": None,  # matched, agrees (customer unmapped, amounts equal)
    "220499-1": "payment in ledger only",
    "220600-1": "payment in PSA only",
    "220601-1": None,  # a payment in the ledger only, but its cause is not stored yet
    "220399-1": "never exported",
    "220500-2": "deleted in ledger",
    "220510-1": "amount edited",
    "220520-1": "voided on one side",
    "QB-77": "customer unmapped",
}


def pay(side: Side, invoice_id: str, txn_id: str, amount: str) -> InvoiceTxn:
    return InvoiceTxn(side, invoice_id, txn_id, TxnKind.PAYMENT, PAID, D(amount))


def causes_book(cache: Cache) -> None:
    seed_004_book(cache)
    cache.records.upsert_psa_invoices([psa("220600-1", "1", "50.00", "40.00"),
                                       psa("220601-1", "1", "80.00", "80.00")])
    cache.records.upsert_ledger_invoices([led("220600-1", "58", "50.00", "50.00"),
                                          led("220601-1", "58", "80.00", "60.00")])
    refresh_reconciliation(cache)
    cache.txns.replace_txns(Side.PSA, "invoice_id", ["p220600-1"],
                            [pay(Side.PSA, "p220600-1", "cw-9", "10.00")], removed_how="deleted")
    cache.txns.replace_txns(Side.PSA, "invoice_id", ["p220601-1", "p220499-1"], [],
                            removed_how="deleted")
    cache.txns.replace_txns(Side.LEDGER, "invoice_id", ["l220601-1", "l220499-1"],
                            [pay(Side.LEDGER, "l220601-1", "q-9", "20.00"),
                             pay(Side.LEDGER, "l220499-1", "q-10", "3717.00")],
                            removed_how="deleted")
    # As a sync does: rows whose payments were read are diagnosed again.
    cache.txns.clear_causes_for(Side.PSA, ["p220600-1", "p220601-1", "p220499-1"])
    cache.txns.clear_causes_for(Side.LEDGER, ["l220601-1", "l220499-1"])
    diagnose_pending(cache)
    (undiagnosed,) = cache.recon.pairs_for_number("220601-1")
    assert undiagnosed.cause == "payment in ledger only"  # diagnosed, then forgotten:
    cache.txns.set_causes([(undiagnosed.pair_id, None)])


@pytest.fixture
def book(cache: Cache) -> Cache:
    causes_book(cache)
    return cache


@pytest.fixture
def snap(book: Cache) -> Snapshot:
    return build_snapshot(book, START, END, now=NOW, psa_kind="connectwise", ledger_kind="qbo")


def number(row: dict) -> str:
    return row["psa_invoice_number"] or row["ledger_invoice_number"]


def expected_lines(snap: Snapshot) -> dict[str | None, tuple[int, Decimal, Decimal, Decimal]]:
    """The causes block computed here from the rows themselves (the report folds
    one GROUP BY of the cache instead): rows, Δ total, Δ owing, contribution."""
    out: dict[str | None, tuple[int, Decimal, Decimal, Decimal]] = {}
    for r in snap.discrepant_rows:
        n, t, o, c = out.get(r.cause, (0, ZERO, ZERO, ZERO))
        out[r.cause] = (n + 1, t + r.difference_total, o + r.difference_owing,
                        c + r.contribution)
    return out


# --------------------------------------------------------------------------- rows
def test_every_row_carries_its_stored_cause(snap: Snapshot) -> None:
    assert {r.psa_invoice_number or r.ledger_invoice_number: r.cause
            for r in snap.rows} == CAUSES
    # The ServiceBox check is what it was: the new rows differ in owing only.
    t = snap.totals
    assert (t.invoice_difference, t.residual) == (D("-925.25"), D("0.00"))
    assert len(snap.discrepant_rows) == 8


def test_json_rows_have_cause_null_when_it_agrees_or_is_not_diagnosed(snap: Snapshot) -> None:
    data = json.loads(render_text(snap, "json"))
    assert ROW_FIELDS[-1] == "cause"
    for row in data["rows"]:
        assert list(row) == list(ROW_FIELDS)  # the key is there, null or not
    assert {number(r): r["cause"] for r in data["rows"]} == CAUSES
    assert [(r["psa_invoice_number"], r["cause"]) for r in data["difference_rows"]] == [
        ("220500-2", "deleted in ledger"), ("220520-1", "voided on one side"),
        ("220510-1", "amount edited")]


def test_json_causes_block_counts_sums_and_meanings(snap: Snapshot) -> None:
    causes = json.loads(render_text(snap, "json"))["causes"]
    by_cause = causes["by_cause"]
    assert set(by_cause) == {c.value for c in Cause}  # stable keys, 0 where none
    assert by_cause["payment in ledger only"] == {
        "count": 1, "difference_total": "0.00", "difference_owing": "-3717.00",
        "contribution": "0.00", "meaning": Cause.PAYMENT_LEDGER_ONLY.meaning}
    assert by_cause["payment in PSA only"]["difference_owing"] == "10.00"
    assert by_cause["deleted in ledger"]["contribution"] == "-860.25"
    assert by_cause["deleted in ledger"]["difference_total"] == "-860.25"
    assert by_cause["voided on one side"]["contribution"] == "-55.00"
    assert by_cause["amount edited"]["contribution"] == "-10.00"
    assert by_cause["never exported"] == {
        "count": 1, "difference_total": "-1250.00", "difference_owing": "-1250.00",
        "contribution": "0.00", "meaning": Cause.NEVER_EXPORTED.meaning}
    assert by_cause["customer unmapped"]["contribution"] == "0.00"  # Not in PSA adds nothing
    assert by_cause["rounding"] == {"count": 0, "difference_total": "0.00",
                                    "difference_owing": "0.00", "contribution": "0.00",
                                    "meaning": Cause.ROUNDING.meaning}
    assert causes["not_diagnosed"] == {
        "count": 1, "difference_total": "0.00", "difference_owing": "-20.00",
        "contribution": "0.00", "meaning": NOT_DIAGNOSED_MEANING}
    assert causes["total"] == {"count": 8, "difference_total": "-1695.25",
                               "difference_owing": "-5422.25", "contribution": "-925.25"}
    assert causes["holds"] is True
    # The block (one GROUP BY) says what the rows say, cause by cause.
    want = expected_lines(snap)
    for cause, (n, total, owing, contribution) in want.items():
        got = causes["not_diagnosed"] if cause is None else by_cause[cause]
        assert (got["count"], D(got["difference_total"]), D(got["difference_owing"]),
                D(got["contribution"])) == (n, total, owing, contribution), cause
    assert sum(v["count"] for v in by_cause.values()) + causes["not_diagnosed"]["count"] == (
        json.loads(render_text(snap, "json"))["discrepant_count"])


def test_the_block_orders_causes_by_rows_and_not_diagnosed_last(book: Cache) -> None:
    (row,) = book.recon.pairs_for_number("220510-1")
    book.txns.set_causes([(row.pair_id, "payment in PSA only")])  # two rows of one cause now
    snap = build_snapshot(book, START, END)
    labels = [line.label for line in snap.causes.lines]
    assert labels[0] == "payment in PSA only" and labels[-1] == NOT_DIAGNOSED
    assert snap.causes.line("payment in PSA only").count == 2
    assert snap.causes.line("payment in PSA only").contribution == D("-10.00")
    assert "amount edited" not in labels
    assert snap.causes_agree


# --------------------------------------------------------------------------- csv
def test_csv_has_a_cause_column_empty_when_null(snap: Snapshot) -> None:
    rows = list(csv.DictReader(io.StringIO(render_text(snap, "csv"))))
    assert list(rows[0])[-1] == "cause"
    assert {number(r): r["cause"] for r in rows} == {
        k: v or "" for k, v in CAUSES.items()}


# --------------------------------------------------------------------------- markdown
def test_markdown_has_the_cause_column_and_the_causes_block(snap: Snapshot) -> None:
    md = render_text(snap, "md")
    assert "## Causes of the discrepant invoices" in md
    block = md.split("## Causes of the discrepant invoices")[1].split("\n## ")[0]
    assert (f"| payment in ledger only | 1 | 0.00 | -3,717.00 | 0.00 | "
            f"{Cause.PAYMENT_LEDGER_ONLY.meaning} |") in block
    assert "| deleted in ledger | 1 | -860.25 | -860.25 | -860.25 |" in block
    assert f"| not diagnosed | 1 | 0.00 | -20.00 | 0.00 | {NOT_DIAGNOSED_MEANING} |" in block
    assert "| **Total** | **8** | **-1,695.25** | **-5,422.25** | **-925.25** |  |" in block
    assert ("The causes account for all 8 discrepant invoices and add up to the Invoice "
            "Difference -925.25.") in block
    assert "rounding" not in block  # only the causes present
    discrepant = md.split("## Discrepant invoices")[1].split("\n## ")[0]
    header = next(line for line in discrepant.splitlines() if line.startswith("| Date"))
    assert header.endswith("| Status | Cause |")
    assert "| Matched | payment in PSA only |" in discrepant
    assert "| Not in Ledger | never exported |" in discrepant
    undiagnosed = next(line for line in discrepant.splitlines() if "| 220601-1 |" in line)
    assert undiagnosed.endswith("| Matched |  |")  # the cell is there, empty
    difference = md.split("## Rows that make up the Invoice Difference")[1].split("\n## ")[0]
    assert "| Ledger Invoice Expected but not Found | deleted in ledger | -860.25 |" in (
        difference)


# --------------------------------------------------------------------------- xlsx
def test_xlsx_cause_column_and_causes_sheet(snap: Snapshot, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_report(snap, "xlsx", tmp_path / "r.xlsx"))
    assert wb.sheetnames[:3] == ["Summary", "Causes", "Invoices"]
    ws = wb["Invoices"]
    header = [c.value for c in ws[1]]
    cause_col = header.index("Cause")
    assert cause_col == len(header) - 1
    got = {(r[3].value or r[7].value): r[cause_col].value for r in ws.iter_rows(min_row=2)}
    assert got == CAUSES  # an empty cell reads back as None
    discrepant = wb["Discrepant"]
    assert [c.value for c in discrepant[1]][-1] == "Cause"
    assert {r[3].value or r[7].value: r[-1].value for r in discrepant.iter_rows(min_row=2)} == {
        k: v for k, v in CAUSES.items() if k not in ("220477-4", "INV-2026-000000000000042")}
    diff = wb["Difference rows"]
    titles = [c.value for c in diff[1]]
    assert titles[-2:] == ["Cause", "Contribution"]

    causes = wb["Causes"]
    assert [c.value for c in causes[1]] == [
        "Cause", "Rows", "Difference total (ledger − PSA)", "Difference owing (ledger − PSA)",
        "Adds to Invoice Difference", "What it means"]
    lines = {r[0]: r[1:] for r in causes.iter_rows(min_row=2, values_only=True) if r[0]}
    count, total, owing, contribution, meaning = lines["payment in ledger only"]
    assert (count, meaning) == (1, Cause.PAYMENT_LEDGER_ONLY.meaning)
    assert D(repr(owing)) == D("-3717") and total == 0 and contribution == 0
    count, total, _owing, contribution, _meaning = lines["deleted in ledger"]
    assert count == 1 and D(repr(contribution)) == D("-860.25")
    assert lines[NOT_DIAGNOSED][0] == 1 and lines[NOT_DIAGNOSED][4] == NOT_DIAGNOSED_MEANING
    count, total, owing, contribution, _ = lines["Total"]
    assert count == 8
    assert [D(repr(v)) for v in (total, owing, contribution)] == [
        D("-1695.25"), D("-5422.25"), D("-925.25")]
    assert sum(v[0] for k, v in lines.items()
               if k != "Total" and v[0] is not None) == 8  # one line per cause present
    assert any(str(k).startswith("The causes account for all 8 discrepant") for k in lines)
    assert causes.freeze_panes == "A2"
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Causes"] == len(snap.causes.lines) == 8
    assert summary["Invoice Difference"] == -925.25  # unchanged


# --------------------------------------------------------------------------- scope, reads
def test_a_book_never_diagnosed_reports_every_cause_null(cache: Cache) -> None:
    """A cache whose rows have no cause stored (one made before causes were kept)."""
    seed_004_book(cache)
    rows = [row for n in ("220499-1", "220399-1", "220500-2", "220510-1", "220520-1", "QB-77")
            for row in cache.recon.pairs_for_number(n)]
    cache.txns.set_causes([(row.pair_id, None) for row in rows])
    snap = build_snapshot(cache, START, END)
    data = json.loads(render_text(snap, "json"))
    assert all("cause" in r and r["cause"] is None for r in data["rows"])
    assert data["causes"]["not_diagnosed"]["count"] == data["discrepant_count"] == 6
    assert all(v["count"] == 0 for v in data["causes"]["by_cause"].values())
    assert data["causes"]["total"]["contribution"] == "-925.25"
    assert data["causes"]["holds"] is True


def test_one_clients_report_counts_only_its_causes(book: Cache) -> None:
    snap = build_snapshot(book, START, END, client=book.recon.client("psa:1"))  # Contoso
    assert {line.label: line.count for line in snap.causes.lines} == {
        "payment in ledger only": 1, "payment in PSA only": 1, "never exported": 1,
        NOT_DIAGNOSED: 1}
    assert snap.causes_agree and snap.totals.invoice_difference == 0


def test_credit_memo_rows_carry_their_cause_apart(book: Cache) -> None:
    book.records.upsert_psa_invoices([psa("CM-9", "1", "30.00", "30.00", kind=DocKind.CREDIT_MEMO)])
    book.records.upsert_ledger_credit_memos([led("CM-9", "58", "30.00", "20.00",
                                                 kind=DocKind.CREDIT_MEMO)])
    refresh_reconciliation(book)
    diagnose_pending(book)
    (memo,) = book.recon.pairs_for_number("CM-9")
    assert memo.kind is DocKind.CREDIT_MEMO and memo.cause is not None
    data = json.loads(render_text(build_snapshot(book, START, END), "json"))
    memos = data["credit_memos"]
    assert [(r["psa_invoice_number"], r["cause"]) for r in memos["rows"]] == [
        ("CM-9", memo.cause)]
    assert memos["causes"]["by_cause"][memo.cause]["count"] == 1
    assert memos["causes"]["by_cause"][memo.cause]["difference_owing"] == "-10.00"
    assert memos["causes"]["holds"] is True
    assert data["causes"]["total"]["count"] == data["discrepant_count"]  # memos apart


def test_causes_come_from_one_group_by_and_the_rows_already_streamed(book: Cache) -> None:
    """No row is diagnosed or looked up one by one for the report."""
    statements: list[str] = []
    book.conn.set_trace_callback(statements.append)
    try:
        snap = build_snapshot(book, START, END)
    finally:
        book.conn.set_trace_callback(None)
    grouped = [s for s in statements if "GROUP BY kind, cause" in s]
    assert len(grouped) == 1
    row_reads = [s for s in statements if "FROM invoice_pair" in s and "discrepant" in s
                 and "cause" in s]
    assert len(row_reads) == 2  # the rows (cause read with them) and the group by
    assert not [s for s in statements if "invoice_txn" in s]  # no evidence read again
    assert snap.causes_agree
