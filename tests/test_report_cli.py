"""`recon-tui report`: formats, stdout, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import platformdirs
import pytest

from recon_tui.cache import Cache
from recon_tui.cli import main
from recon_tui.models import PsaCompany
from recon_tui.refresh import refresh_reconciliation
from recon_tui.report.options import (
    ReportOptionError,
    check_writable,
    default_folder,
    months_back,
    resolve_period,
)
from tests.test_report import led, psa, seed_004_book

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        seed_004_book(cache)
        synced = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
        cache.history.mark_synced("psa", "connectwise", synced)
        cache.history.mark_synced("ledger", "qbo", synced)
    return str(path)


def report(db: str, *args: str) -> int:
    return main(["report", "--demo", "--db", db, "--from", "2026-01-01", "--to", "2026-12-31",
                 *args])


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json", "md"])
def test_each_format_is_written_from_the_extension(db: str, tmp_path: Path, fmt: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"recon.{fmt}"
    assert report(db, "--out", str(out)) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out} ({fmt}, 2026-01-01 to 2026-12-31): 8 rows")
    assert "Invoice Difference -925.25: these 3 invoices make up the -925.25" in line
    if fmt == "xlsx":
        assert openpyxl.load_workbook(out).sheetnames[0] == "Summary"
    elif fmt == "json":
        assert json.loads(out.read_text())["totals"]["invoice_difference"] == "-925.25"
    elif fmt == "csv":
        assert len(list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))) == 8
    else:
        assert "| **Invoice Difference** | **-925.25** |" in out.read_text()


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_out_dash_writes_to_stdout(db: str, fmt: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert report(db, "--out", "-", "--format", fmt) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    if fmt == "json":
        data = json.loads(captured.out)
        assert data["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
        assert len(data["rows"]) == 8
    elif fmt == "csv":
        assert captured.out.startswith("invoice_date,customer,psa_company,")
    else:
        assert captured.out.startswith("# Reconciliation snapshot 2026-01-01 to 2026-12-31")


def test_a_missing_cache_is_one_line_and_nothing_is_created(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report only reads: no folder, no empty cache file left behind."""
    db = tmp_path / "not" / "yet" / "cache.db"
    assert main(["report", "--demo", "--db", str(db), "--out", "-", "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no cache here yet" in captured.err and "recon-tui sync" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / "not").exists()


def test_an_unsynced_cache_gets_a_hint(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.db"
    Cache(db).close()  # created (say by the app) but never synced
    assert main(["report", "--demo", "--db", str(db), "--out", "-", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rows"] == []
    assert "nothing has been synced" in captured.err and "recon-tui sync" in captured.err


def test_xlsx_to_stdout_is_refused(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(db, "--out", "-", "--format", "xlsx") == 2
    err = capsys.readouterr().err
    assert err.startswith("recon-tui: --out -: xlsx cannot go to stdout")
    assert len(err.strip().splitlines()) == 1


def test_fail_on_discrepancy_exits_3_but_still_writes(db: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert report(db, "--out", str(out), "--fail-on-discrepancy") == 3
    assert out.exists()
    err = capsys.readouterr().err
    assert "discrepancies found" in err and "these 3 invoices make up the -925.25" in err
    # A clean client (every invoice agrees) passes.
    with Cache(db) as cache:
        cache.records.upsert_companies([PsaCompany("9", "CLEAN", "Clean Co")])
        cache.records.upsert_psa_invoices([psa("900", "9", "12.00", "0.00")])
        cache.records.upsert_ledger_invoices([led("900", "58", "12.00", "0.00")])
        refresh_reconciliation(cache)
    assert report(db, "--out", "-", "--format", "csv", "--client", "psa:9",
                  "--fail-on-discrepancy") == 0


def test_client_by_name_or_key(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(db, "--out", "-", "--format", "json", "--client", "contoso ltd") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scope"] == {"client_key": "psa:1", "client": "Contoso Ltd"}
    assert {r["psa_invoice_number"] for r in data["rows"]} == {"220477-4", "220499-1",
                                                              "220399-1"}
    assert report(db, "--out", "-", "--client", "psa:2") == 0
    capsys.readouterr()
    assert report(db, "--out", "-", "--client", "globex") == 0  # one client has that name
    capsys.readouterr()
    assert report(db, "--out", "-", "--client", "o") == 2  # Contoso, Globex, Initech...
    err = capsys.readouterr().err
    assert "matches" in err and "give the key" in err
    assert report(db, "--out", "-", "--client", "nobody at all") == 2
    assert "no client has that name" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-13-01"], "--from: expected a date YYYY-MM-DD, got '2026-13-01'"),
    (["--to", "yesterday"], "--to: expected a date YYYY-MM-DD, got 'yesterday'"),
    (["--from", "20260101"], "--from: expected a date YYYY-MM-DD"),
    (["--from", "2026-05-01", "--to", "2026-04-01"], "--from 2026-05-01 is after --to 2026-04-01"),
    (["--out", "/nonexistent-dir/r.xlsx"], "folder /nonexistent-dir does not exist"),
    (["--out", "r.txt"], "cannot tell the format from the extension"),
])
def test_bad_usage_is_one_line_and_exit_2(db: str, tmp_path: Path, args: list[str],
                                          message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--demo", "--db", db, *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_exit_2(db: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert report(db, "--out", str(locked / "r.csv")) == 2
    assert "is not writable" in capsys.readouterr().err


def test_unwritable_folder_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda *_args, **_kw: False)
    with pytest.raises(ReportOptionError, match="is not writable"):
        check_writable(tmp_path / "r.csv")


def test_default_folder_name_and_period(db: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """No --out: the user's Documents folder (the full path printed), the whole cache's
    period; a [report] folder in the config wins; without Documents, home."""
    documents = tmp_path / "Documents"
    documents.mkdir()
    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda: str(documents))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["report", "--demo", "--db", db, "--format", "md"]) == 0
    today = date.today()
    written = documents / f"recon-{today.isoformat()}.md"
    assert written.exists() and not any(elsewhere.iterdir())
    with Cache(db) as cache:
        first, _last = cache.report.date_range()
    assert first == date(2025, 6, 1)  # OLD-1: the book's first invoice, kept in
    assert capsys.readouterr().out.startswith(
        f"wrote {written} (md, {first} to {today}): 9 rows")
    assert main(["report", "--demo", "--db", db, "--client", "psa:1"]) == 0
    assert (documents / f"recon-contoso-ltd-{today.isoformat()}.xlsx").exists()

    folder = tmp_path / "reports"
    folder.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[report]\nfolder = "{folder}"\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["report", "--config", str(config), "--db", db, "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {folder / f'recon-{today}.csv'} ")

    config.write_text(f'[report]\nfolder = "{tmp_path / "gone"}"\n', encoding="utf-8")
    assert main(["report", "--config", str(config), "--db", db, "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert "gone does not exist" in err and len(err.strip().splitlines()) == 1

    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda: str(tmp_path / "none"))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    assert default_folder() == tmp_path


def test_period_defaults() -> None:
    assert resolve_period(None, "2026-11-21") == (date(2025, 11, 21), date(2026, 11, 21))
    assert resolve_period(None, None, today=date(2024, 2, 29)) == (date(2023, 2, 28),
                                                                   date(2024, 2, 29))
    assert months_back(date(2026, 3, 31), 1) == date(2026, 2, 28)
    # With a cache: its first invoice date to today (or its last date, when later).
    span = (date(2026, 1, 5), date(2026, 11, 21))
    assert resolve_period(None, None, today=date(2026, 12, 2), span=span) == (
        date(2026, 1, 5), date(2026, 12, 2))
    assert resolve_period(None, None, today=date(2026, 6, 1), span=span) == (
        date(2026, 1, 5), date(2026, 11, 21))
    assert resolve_period(None, "2025-12-31", span=span) == (date(2024, 12, 31),
                                                            date(2025, 12, 31))
    assert resolve_period("2026-03-01", None, today=date(2026, 12, 2), span=span) == (
        date(2026, 3, 1), date(2026, 12, 2))


def test_help_says_what_exit_3_means() -> None:
    result = subprocess.run([sys.executable, "-m", "recon_tui", "report", "--help"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0
    for word in ("--from", "--to", "--format", "--out", "--client", "--fail-on-discrepancy",
                 "exit 3", "recon-tui sync && recon-tui report"):
        assert word in result.stdout
    top = subprocess.run([sys.executable, "-m", "recon_tui", "--help"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert "report" in top.stdout and "3 report --fail-on-discrepancy" in top.stdout


@pytest.mark.parametrize("kind", ["symlink", "device", "folder"])
def test_a_report_never_replaces_what_is_not_a_regular_file(
        db: str, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Renaming the temporary file over /dev/full, a symlink or a folder would
    replace what is not ours to replace."""
    victim = tmp_path / "victim.csv"
    victim.write_text("keep me", encoding="utf-8")
    target = {"symlink": tmp_path / "link.csv", "device": Path("/dev/null"),
              "folder": tmp_path / "folder.csv"}[kind]
    if kind == "symlink":
        target.symlink_to(victim)
    elif kind == "folder":
        target.mkdir()
    assert report(db, "--out", str(target), "--format", "csv") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not a regular file" in err
    assert victim.read_text(encoding="utf-8") == "keep me"
    if kind == "symlink":
        assert target.is_symlink()
    if kind == "device":
        assert target.is_char_device()
