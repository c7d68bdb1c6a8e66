"""The report speaks a tech's words (issue 13): the self-check in plain sentences,
the invoices that make up a difference listed, and no internal note (the
mathematician's Σ and "identity", the author's "seed 003" and "GUIDE known traps")
in any format's output of the demo book."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from recon_tui.backend import open_backend
from recon_tui.cache import Cache
from recon_tui.cli import main
from recon_tui.config import Config
from recon_tui.demo import load_demo
from recon_tui.models import ReportTotals, SyncStatus
from recon_tui.report.options import default_period
from recon_tui.report.snapshot import Snapshot, build_snapshot, self_check_text
from recon_tui.report.writers import FORMATS, render_text, write_report
from tests.test_report import END, START, seed_004_book

D = Decimal

#: Words that are notes to ourselves or to mathematicians, never to a tech.
INTERNAL = re.compile(
    r"Σ|\bidentity\b|\bresidual\b|\(sound\)|\bunsound\b|\bseed \d{3}\b|\bGUIDE\b|"
    r"known traps|fuzz\.ratio|ServiceBox|\bemulator\b|\bsandbox\b|\bTODO\b|issue #\d",
    re.IGNORECASE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, Path]:
    """The demo book as the app loads it, reported over the whole cache (the
    default period)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    cache = Cache(path)
    backend = open_backend(Config.default(), demo=True)
    try:
        run = load_demo(cache, backend)
        assert run.status is SyncStatus.SUCCEEDED, run.error
        start, end = default_period(cache.report.date_range(), date.today())
        return build_snapshot(cache, start, end), path
    finally:
        backend.close()
        cache.close()


def xlsx_text(path: Path) -> str:
    """Every string cell of every sheet, and the sheet names."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    parts = list(workbook.sheetnames)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            parts.extend(str(v) for v in row if isinstance(v, str))
    return "\n".join(parts)


def internal_words(text: str) -> list[str]:
    return sorted({m.group() for m in INTERNAL.finditer(text)})


def test_the_scan_finds_what_it_looks_for() -> None:
    """The scan can fail: each kind of note it forbids is caught."""
    assert internal_words("Σ matched − Σ PSA; residual 0.00 (sound); identity") == [
        "(sound)", "identity", "residual", "Σ"]
    assert internal_words("seed 003 (duplicates); GUIDE known traps") == [
        "GUIDE", "known traps", "seed 003"]
    assert internal_words("Invoice Difference 0.00: every amount is accounted for.") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_internal_words_in_any_format_of_the_demo(demo: tuple[Snapshot, Path],
                                                     tmp_path: Path, fmt: str) -> None:
    snapshot, _db = demo
    assert snapshot.rows and snapshot.hygiene_checks  # a real report, every section
    written = write_report(snapshot, fmt, tmp_path / f"demo.{fmt}")
    text = xlsx_text(written) if fmt == "xlsx" else written.read_text(encoding="utf-8-sig")
    assert internal_words(text) == []
    if fmt != "csv":  # the csv is the invoice rows only
        assert snapshot.self_check in text


def test_no_internal_words_in_the_command_line_summary(
        demo: tuple[Snapshot, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _snapshot, db = demo
    out = tmp_path / "r.md"
    assert main(["report", "--demo", "--db", str(db), "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"wrote {out} (md, ") and "Invoice Difference" in line
    assert internal_words(line) == []
    assert internal_words(main_help()) == []


def main_help() -> str:
    """``recon-tui report --help`` as text."""
    buffer = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(buffer), pytest.raises(SystemExit):
        main(["report", "--help"])
    return buffer.getvalue()


# --------------------------------------------------------------------------- the sentences
def totals(matched: str, expected_not_found: str, *, psa: str = "100.00",
           ledger: str | None = None) -> ReportTotals:
    """A totals block whose Invoice Difference is matched minus expected_not_found
    (sound), unless ``ledger`` says otherwise."""
    difference = D(matched) - D(expected_not_found)
    return ReportTotals(total_psa=D(psa),
                        total_ledger=D(ledger) if ledger else D(psa) + difference,
                        not_downloaded_to_ledger=D("0.00"), not_in_psa=D("0.00"),
                        matched_difference=D(matched),
                        expected_not_found=D(expected_not_found))


def test_self_check_sentences() -> None:
    assert self_check_text(totals("0.00", "0.00"), 0) == (
        "Invoice Difference 0.00: every amount is accounted for.")
    assert self_check_text(totals("-4903.56", "0.00"), 4) == (
        "Invoice Difference -4,903.56: these 4 invoices make up the -4,903.56.")
    assert self_check_text(totals("-10.00", "0.00"), 1) == (
        "Invoice Difference -10.00: this invoice makes up the -10.00.")
    assert self_check_text(totals("0.00", "0.00"), 2) == (
        "Invoice Difference 0.00: every amount is accounted for (2 invoices differ, and "
        "the differences cancel out).")
    broken = totals("-10.00", "0.00", ledger="95.00")  # -5.00 against -10.00 listed
    assert self_check_text(broken, 1) == (
        "Invoice Difference -5.00, but the invoices listed add up to -10.00: 5.00 is not "
        "accounted for. That is a bug in recon-tui; please report it.")


def test_the_invoices_that_make_up_the_difference_are_listed(tmp_path: Path) -> None:
    with Cache(tmp_path / "b.db") as cache:
        seed_004_book(cache)
        snapshot = build_snapshot(cache, START, END)
    md = render_text(snapshot, "md")
    head = md.split("## Causes")[0]
    assert ("**Self-check:** Invoice Difference -925.25: these 3 invoices make up the "
            "-925.25.") in head
    assert ("- invoice 220500-2 (Globex Corporation): -860.25, the ledger no longer has "
            "the invoice it was linked to") in head
    assert ("- invoice 220520-1 (Globex Corporation): -55.00, the ledger's total differs "
            "from the PSA's") in head
    assert "- invoice 220510-1 (Globex Corporation): -10.00" in head
    written = write_report(snapshot, "xlsx", tmp_path / "r.xlsx")
    summary = [row[0] for row in openpyxl.load_workbook(written)["Summary"].iter_rows(
        values_only=True) if row[0]]
    at = summary.index("Invoice Difference -925.25: these 3 invoices make up the -925.25.")
    assert summary[at + 1].startswith("invoice 220500-2 (Globex Corporation): -860.25")
    assert summary[at + 3].startswith("invoice 220510-1")


def test_a_clean_book_says_every_amount_is_accounted_for(tmp_path: Path) -> None:
    with Cache(tmp_path / "b.db") as cache:
        seed_004_book(cache)
        client = cache.recon.client("psa:1")  # Contoso: its totals agree
        assert client is not None
        snapshot = build_snapshot(cache, START, END, client=client)
    assert snapshot.totals.invoice_difference == 0
    md = render_text(snapshot, "md")
    assert "**Self-check:** Invoice Difference 0.00: every amount is accounted for." in md
    assert "- invoice " not in md.split("## Causes")[0]
