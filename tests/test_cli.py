"""The command line: subcommands, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from recon_tui.cli import main
from tests.emulator import config_file_for, running_emulator

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recon_tui", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def test_help_explains_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("sync", "resync NUMBER", "history", "sandbox", "--config", "--db",
                 "RECON_TUI_CONFIG", "RECON_TUI_DB", "demo"):
        assert word in result.stdout


def test_malformed_config_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[portal]\nclient_admin_security_level = "high"\n', encoding="utf-8")
    result = run_cli("--config", str(bad), "history")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(bad) in lines[0] and "client_admin_security_level" in lines[0]


def test_toml_syntax_error_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[ledger\nrealm_id = 1\n", encoding="utf-8")
    result = run_cli("--config", str(bad))
    assert result.returncode == 2
    assert "invalid TOML" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("since", ["2026-13-01", "yesterday", "2999-01-01", "20260101",
                                   "2026-W01-1"])
def test_bad_since_dates_are_refused(tmp_path: Path, since: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["sync", "--demo", "--db", str(tmp_path / "c.db"), "--since", since])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("recon-tui: --since:") and len(err.strip().splitlines()) == 1


def test_sync_history_and_resync_against_the_emulator(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    db = str(tmp_path / "cache.db")
    with running_emulator() as (server, _book, _plan):
        config = str(config_file_for(server, tmp_path))
        assert main(["sync", "--config", config, "--db", db]) == 0
        out = capsys.readouterr().out
        assert out.startswith("sync #1 succeeded") and "psa invoices: 1044 new" in out
        assert out.rstrip().endswith("(everything, whatever its date)")  # a first sync
        assert main(["sync", "--config", config, "--db", db, "--since", "2025-01-01"]) == 0
        capsys.readouterr()
        assert main(["resync", "110273", "--config", config, "--db", db]) == 0
        out = capsys.readouterr().out
        assert "resync 110273: already up to date" in out
        # The sample book holds seed 000 before its "after the sync" events (the demo
        # applies them): both sides show the $10 payment.
        assert "owing 40.00" in out and "balance 40.00" in out
    assert main(["history", "--config", config, "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "resync of 110273" in out[0] and "full sync since 2025-01-01" in out[1]
    assert "full sync of everything" in out[2]
    assert main(["history", "1", "--config", config, "--db", db]) == 0
    detail = capsys.readouterr().out
    assert "ledger deletions" in detail and "succeeded" in detail


def test_sync_failure_exits_1_with_one_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, _plan):
        config = str(config_file_for(server, tmp_path, private_key="not-the-key"))
        status = main(["sync", "--config", config, "--db", str(tmp_path / "c.db")])
    assert status == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "step 'psa companies' failed" in err and "not-the-key" not in err


def test_unknown_resync_number_exits_1(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, _plan):
        config = str(config_file_for(server, tmp_path))
        status = main(["resync", "NOPE-404", "--config", config, "--db",
                       str(tmp_path / "c.db")])
    assert status == 1
    assert "in neither system" in capsys.readouterr().err


def test_sandbox_serves_until_stopped_and_rejects_bad_faults() -> None:
    bad = run_cli("sandbox", "--faults", "teapot@qbo")
    assert bad.returncode == 2 and "unknown fault 'teapot'" in bad.stderr
    proc = subprocess.Popen([sys.executable, "-m", "recon_tui", "sandbox", "--port", "0"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        url = line.split(" on ", 1)[1].split()[0]
        assert httpx.get(url, timeout=5).json()["service"] == "recon-tui sandbox"
        unauthorised = httpx.get(f"{url}/v4_6_release/apis/3.0/company/companies", timeout=5)
        assert unauthorised.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
