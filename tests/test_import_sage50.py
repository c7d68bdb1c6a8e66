"""`recon-tui import sage50`: the bundled Sage 50 exports of the demo book, through
the real sync with the emulated PSA, give the cache the ledger side the QBO
sync of the same book gives; a dry run writes nothing; anything unreadable is
one line naming the file, the line and the column, with the cache untouched."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.cli_common import CliError, common_options
from recon_tui.cli_import import cmd_import, import_parser
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.ledger_files import DateOrder, ExportError, ReadOptions, open_ledger
from recon_tui.ledger_files.importer import run_import
from recon_tui.models import DocKind, SyncStatus
from recon_tui.sync import run_full_sync
from recon_tui.transactions import Side
from tests.emulator import Emulator, backend_for, config_file_for

SAMPLES = sample_data_dir() / "sage50"
FILES = ("CUSTOMER.CSV", "SALES.CSV", "RECEIPTS.CSV")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in FILES:
        shutil.copy(SAMPLES / name, folder / name)
    return folder


def run_cli(emulator: Emulator, folder: Path, db: Path, *extra: str) -> int:
    """The command as `recon-tui import` will run it (config pointed at the emulator)."""
    parser = argparse.ArgumentParser()
    common_options(parser, suppress=False)
    import_parser(parser.add_subparsers(dest="command"))
    config = config_file_for(emulator.server, folder.parent)
    args = parser.parse_args(["--config", str(config), "--db", str(db), "import", "sage50",
                              *(str(folder / n) for n in FILES), "--company", "Demo MSP",
                              *extra])
    return cmd_import(args)


def files_of(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(db.parent.glob(db.name + "*"))}


def test_the_samples_are_what_the_tool_writes_from_the_sample_book() -> None:
    tool = Path(__file__).resolve().parents[1] / "tools" / "sage50_samples.py"
    spec = importlib.util.spec_from_file_location("sage50_samples", tool)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


def test_a_dry_run_writes_nothing_then_the_import_fills_the_cache(
        emulator: Emulator, exports: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cache.db"
    assert run_cli(emulator, exports, db, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"dry run: nothing was written to {db}" in out
    assert "ledger invoices          succeeded   1036 new" in out
    assert files_of(db) == {}  # not even an empty cache

    assert run_cli(emulator, exports, db) == 0
    assert capsys.readouterr().out.startswith("import #1 succeeded")
    with Cache(db, read_only=True) as cache:
        counts = cache.records.counts()
        assert (counts["ledger_customer"], counts["ledger_invoice"],
                counts["ledger_credit_memo"]) == (47, 1036, 4)
        assert cache.get_meta("book_ledger") == "sage50:Demo MSP"
        run = getattr(cache, "history", cache).sync_runs(1)[0]
        assert (run.kind, run.status) == ("sage50 import", SyncStatus.SUCCEEDED)

    # The same exports again: nothing to change, and the dry run says so.
    before = files_of(db)
    assert run_cli(emulator, exports, db, "--dry-run") == 0
    assert capsys.readouterr().out.rstrip().endswith("no records changed")
    assert files_of(db) == before


def test_a_dry_run_shows_an_edit_and_a_deletion_and_writes_nothing(
        emulator: Emulator, exports: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cache.db"
    assert run_cli(emulator, exports, db) == 0
    capsys.readouterr()
    sales = (exports / "SALES.CSV").read_text(encoding="utf-8").splitlines(keepends=True)
    # Invoice 10002's rows dropped (deleted in Sage 50); a receipt of 10009 gone (unpaid).
    (exports / "SALES.CSV").write_text("".join(r for r in sales if ",10002," not in r),
                                       encoding="utf-8")
    receipts = (exports / "RECEIPTS.CSV").read_text(encoding="utf-8").splitlines(True)
    (exports / "RECEIPTS.CSV").write_text("".join(
        r for r in receipts if ",10009," not in r and ",10002," not in r), encoding="utf-8")
    before = files_of(db)
    assert run_cli(emulator, exports, db, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "ledger invoice 10002: deleted" in out
    assert "ledger invoice 10009: balance 0.00 -> 1289.85" in out
    assert "ledger payment 101/44891/2025-11-29 on invoice id 10009: removed" in out
    assert files_of(db) == before
    with Cache(db, read_only=True) as cache:
        assert cache.records.ledger_invoice("10002") is not None


def test_the_import_gives_the_ledger_side_the_qbo_sync_gives(
        emulator: Emulator, tmp_path: Path) -> None:
    with Cache(tmp_path / "qbo.db") as qbo, backend_for(emulator.server) as backend:
        assert run_full_sync(qbo, backend.psa, backend.ledger, since=None).status is \
            SyncStatus.SUCCEEDED
        expected = ledger_side(qbo)
    ledger = open_ledger("sage50", "Demo MSP", [(None, SAMPLES / n) for n in FILES],
                         ReadOptions())
    with backend_for(emulator.server) as backend:
        outcome = run_import(tmp_path / "sage.db", backend.psa, ledger, dry_run=False)
    assert outcome.run.status is SyncStatus.SUCCEEDED, outcome.run.error
    with Cache(tmp_path / "sage.db") as sage:
        got = ledger_side(sage)
    for part, rows in expected.items():
        assert got[part] == rows, part
    # And the report is the QBO one, but for what names the ledger and its ids.
    qbo_report, sage_report = (report_lines(tmp_path / f"{n}.db") for n in ("qbo", "sage"))
    assert len(qbo_report) == len(sage_report)
    differ = [(a, b) for a, b in zip(qbo_report, sage_report, strict=True) if a != b]
    moments = ("| PSA as of", "| Ledger as of", "| Generated")
    differ = [(a, b) for a, b in differ if not a.startswith(moments)]
    assert differ[0] == ("| Systems | PSA connectwise, ledger qbo |",
                         "| Systems | PSA connectwise, ledger sage50 |")
    assert differ[1][0].startswith("| Reconciliation id |")  # a digest of the ids
    credits = [b for _, b in differ[2:] if "| Credit memo |" in b or "| Unapplied" in b]
    assert "| Northstar Engineering | Northstar Engineering | Credit memo | CM-1003 | " \
        "2026-08-25 | 150.00 |" in credits and len(credits) == 5
    assert [b for _, b in differ[2:] if b not in credits] == [
        "- **warning** ledger invoice `10525` (id 10525): in CAD, summed with USD amounts "
        "as they are"]


def report_lines(db: Path) -> list[str]:
    """The markdown report of a cache, as `recon-tui report` writes it."""
    from recon_tui.cli import main

    out = db.with_suffix(".md")
    assert main(["report", "--db", str(db), "--format", "md", "--from", "2025-01-01",
                 "--to", "2026-12-31", "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8").splitlines()


def ledger_side(cache: Cache) -> dict[str, object]:
    """What a ledger gives the cache, keyed by what both ledgers share (names and
    numbers; the ids differ: QBO's Ids, Sage 50's Customer IDs and numbers)."""
    names = {c.id: c.display_name for c in cache.records.customers().values()}
    docs = list(cache.records.iter_ledger_documents())
    numbers = {d.id: d.doc_number for d in docs}
    txns = cache.txns.txns_for_invoices(Side.LEDGER, [d.id for d in docs
                                                      if d.kind is DocKind.INVOICE])
    pairs = {(r.status, r.psa_number, r.ledger_number, r.ledger_total, r.ledger_owing,
              r.difference_owing, r.cause)
             for d in docs for r in cache.recon.pairs_for_number(d.doc_number)}
    return {
        "customers": sorted((c.display_name, c.active, c.balance)
                            for c in cache.records.customers().values()),
        "documents": sorted((d.kind, d.doc_number, names[d.customer_id], d.date, d.due_date,
                             d.total, d.balance, d.voided, d.currency) for d in docs),
        "credits": sorted((c.kind, names[c.customer_id], c.date, c.amount, c.total)
                          for c in cache.records.credits()),
        # A credit used is named by its memo's number (QBO's reference is empty).
        "applications": sorted((numbers[i], t.kind, t.date, t.amount,
                                numbers.get(t.credit_id, t.credit_id))
                               for i, ts in txns.items() for t in ts if t.live),
        "pairs": pairs,
        "totals": cache.recon.book_totals(),
    }


def test_a_malformed_row_is_one_line_naming_file_line_and_column(
        emulator: Emulator, exports: Path, tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    assert run_cli(emulator, exports, db) == 0
    before = files_of(db)
    lines = (exports / "SALES.CSV").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[6] = lines[6].replace(lines[6].split(",")[5], "02/30/26", 1)
    (exports / "SALES.CSV").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(CliError) as caught:
        run_cli(emulator, exports, db)
    message = str(caught.value)
    assert message == (f"{exports / 'SALES.CSV'} line 7, column 'Date': '02/30/26' is not a "
                       "real date (expected month/day/year, e.g. 12/31/2026; see --date-order)")
    assert "\n" not in message and caught.value.status == 2
    assert files_of(db) == before


@pytest.mark.parametrize(("edit", "where"), [
    (("RECEIPTS.CSV", ",10009,1289.85", ",99999,1289.85"),
     "RECEIPTS.CSV line 2, column 'Invoice Paid': '99999' is not an invoice or credit memo"),
    (("RECEIPTS.CSV", ",1289.85,10009,1289.85", ",1289.85,10009,1e3"),
     "RECEIPTS.CSV line 2, column 'Amount': '1e3' is not an amount"),
    (("SALES.CSV", ",4126.47,2,", ",100000000000.00,2,"),
     "SALES.CSV line 2, column 'Accounts Receivable Amount': '100000000000.00' is beyond"),
    (("RECEIPTS.CSV", ",10009,1289.85", ",10001,1289.85"),
     "RECEIPTS.CSV line 2, column 'Invoice Paid': '10001' is a document of customer '72', "
     "not of this receipt's '101'"),
    (("RECEIPTS.CSV", "251129,101,", "251129,NOBODY,"),
     "RECEIPTS.CSV line 2, column 'Customer ID': 'NOBODY' is not in the customer list"),
])
def test_each_unreadable_cell_is_named(exports: Path, edit: tuple[str, str, str],
                                       where: str) -> None:
    name, old, new = edit
    text = (exports / name).read_text(encoding="utf-8")
    assert old in text
    (exports / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ExportError) as caught:
        open_ledger("sage50", "Demo MSP", [(None, exports / n) for n in FILES],
                    ReadOptions())
    assert where in str(caught.value) and "\n" not in str(caught.value)


def test_hostile_names_are_kept_literally(emulator: Emulator, exports: Path,
                                          tmp_path: Path) -> None:
    hostile = ['[bold]ACME Corp', 'Refund [/] pending [bold]x', 'O\'Brien "Quality" Plumbing',
               'Contoso, Ltd.', '東京テック株式会社', 'tailspin  TOYS']
    ledger = open_ledger("sage50", "Demo MSP", [(None, exports / n) for n in FILES],
                         ReadOptions())
    with backend_for(emulator.server) as backend:
        run_import(tmp_path / "cache.db", backend.psa, ledger, dry_run=False)
    with Cache(tmp_path / "cache.db", read_only=True) as cache:
        names = {c.display_name for c in cache.records.customers().values()}
    assert set(hostile) <= names


def test_a_control_character_in_a_name_never_reaches_the_terminal(
        exports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recon_tui.cli_common import say

    text = (exports / "RECEIPTS.CSV").read_text(encoding="utf-8")
    (exports / "RECEIPTS.CSV").write_text(text.replace("251129,101,", "251129,\x1b[2J[red]x,",
                                                       1), encoding="utf-8")
    with pytest.raises(ExportError) as caught:
        open_ledger("sage50", "Demo MSP", [(None, exports / n) for n in FILES],
                    ReadOptions())
    say(str(caught.value))
    err = capsys.readouterr().err
    assert "\x1b" not in err and "[red]x" in err and err.count("\n") == 1


def test_every_list_is_needed(exports: Path) -> None:
    with pytest.raises(ExportError, match=r"^Sage 50 import: no receipts list among the "
                       r"files \(CUSTOMER.CSV, SALES.CSV\)"):
        open_ledger("sage50", "Demo MSP", [(None, exports / n) for n in FILES[:2]],
                    ReadOptions())


def test_dates_follow_the_order_given(exports: Path) -> None:
    """The same export read day-first: 11/17/25 is no date, and says which option."""
    with pytest.raises(ExportError, match=r"line 2, column 'Date': '11/17/25' is not a real "
                       r"date \(expected day/month/year"):
        open_ledger("sage50", "Demo MSP", [(None, exports / n) for n in FILES],
                    ReadOptions(date_order=DateOrder.DMY))


def test_a_book_holds_its_own_figures(exports: Path) -> None:
    ledger = open_ledger("sage50", "Demo MSP", [(None, exports / n) for n in FILES],
                         ReadOptions())
    memo = ledger.credit_memo_by_doc_number("CM-1003")
    assert memo is not None and (memo.total, memo.balance) == (Decimal("200.00"),
                                                               Decimal("150.00"))
    invoice = ledger.invoice_by_doc_number("10001")
    assert invoice is not None and invoice.date == date(2025, 11, 17)
    assert ledger.book == "sage50:Demo MSP"
    assert ledger.deleted_ids({"Invoice": {"10001", "gone"}}, None) == {"Invoice": {"gone"}}


def test_the_files_are_a_ledger_connector(exports: Path) -> None:
    from recon_tui.connectors.base import ConnectorError, LedgerConnector

    ledger = open_ledger("sage50", "Demo MSP", [(None, exports / n) for n in FILES],
                         ReadOptions())
    assert isinstance(ledger, LedgerConnector)
    with pytest.raises(ConnectorError, match="Sage 50: an export cannot be written to"):
        ledger.apply_credit("71", "10001", "CreditMemo", "CM-1003", Decimal("1.00"), "r1")


def test_a_cache_of_another_ledger_is_refused_in_one_line(
        emulator: Emulator, exports: Path, tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    with Cache(db) as cache, backend_for(emulator.server) as backend:
        run_full_sync(cache, backend.psa, backend.ledger, since=None)
    before = files_of(db)
    for extra in ((), ("--dry-run",)):
        with pytest.raises(CliError) as caught:
            run_cli(emulator, exports, db, *extra)
        assert str(caught.value).startswith(f"{db}: this cache holds the ledger books of qbo:")
        assert "not sage50:Demo MSP; nothing was written" in str(caught.value)
        assert files_of(db) == before


def test_an_export_that_drops_most_of_the_book_stops_before_writing(
        emulator: Emulator, exports: Path, tmp_path: Path) -> None:
    """A date-filtered journal looks like a book mostly deleted: the sync's guard
    stops it unless --allow-mass-delete says those invoices really are gone."""
    db = tmp_path / "cache.db"
    assert run_cli(emulator, exports, db) == 0
    kept = {"10001"}
    for name in ("SALES.CSV", "RECEIPTS.CSV"):
        lines = (exports / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (exports / name).write_text(lines[0] + "".join(
            r for r in lines[1:] if any(f",{n}," in r for n in kept) or ",CM-" in r),
            encoding="utf-8")
    with pytest.raises(CliError) as caught:
        run_cli(emulator, exports, db)
    assert caught.value.status == 1
    message = str(caught.value)
    assert message.startswith("import #2 failed: step 'ledger deletions' failed: ledger: "
                              "would delete 2,012 of the 2,020 ledger records")
    assert message.endswith("run this import again with --allow-mass-delete (or confirm in "
                            "the app); nothing written")
    with Cache(db, read_only=True) as cache:  # the history has the failed run; no data
        assert cache.records.counts()["ledger_invoice"] == 1036
    assert run_cli(emulator, exports, db, "--allow-mass-delete") == 0
    with Cache(db, read_only=True) as cache:
        assert cache.records.counts()["ledger_invoice"] == 1
