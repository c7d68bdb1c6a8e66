"""`recon-tui doctor` against the emulator over real sockets: all well, then each
injected fault (bad key, expired refresh token, clock skew, missing permission,
an Autotask zone move, an unreachable host) reported in one line with its fix,
the exit codes, the demo, and the cache checks."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pytest

from recon_tui.cli import main
from recon_tui.onboarding.doctor import FAIL, OK, WARN, Check, run_checks
from recon_tui.sandbox.faults import parse_faults
from tests.emulator import config_file_for, running_emulator


def _doctor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["doctor", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str = "", *,
         psa: str = "connectwise", private_key: str = "sandbox-private"
         ) -> tuple[int, list[str], str, Path]:
    plan = parse_faults(spec)
    plan.retry_after_seconds = 0
    with running_emulator(faults=plan) as (server, _book, _plan):
        config = config_file_for(server, tmp_path, psa=psa, private_key=private_key)
        code, lines, err = _doctor(capsys, "--config", str(config),
                                   "--db", str(tmp_path / "cache.db"))
    return code, lines, err, config


def _lines(lines: list[str], status: str) -> list[str]:
    return [line for line in lines if line.startswith(status + " ")]


def test_all_well_is_exit_0_with_every_check_ok(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err, _ = _run(tmp_path, capsys)
    assert code == 0, lines
    assert err == ""
    assert _lines(lines, FAIL) == []
    names = [line[5:].split(":")[0] for line in lines if line[:4].strip() in (OK, WARN)]
    for name in ("config", "connectwise reachable", "connectwise authenticated",
                 "connectwise permitted", "connectwise clock", "connectwise API version",
                 "qbo reachable", "qbo authenticated", "qbo permitted", "qbo clock",
                 "qbo API version", "qbo refresh token", "cache path"):
        assert name in names
    permitted = next(line for line in lines if line.startswith("ok   connectwise permitted"))
    for read in ("company/companies", "company/contacts", "finance/invoices",
                 "finance/accounting/unpostedinvoices", "finance/invoices/{id}/payments"):
        assert read in permitted
    assert any("minorversion 75 accepted" in line for line in lines)
    # No cache yet: a warning with its fix, not a failure.
    assert any(line.startswith("warn cache:") and "recon-tui sync" in line for line in lines)
    assert lines[-1].endswith("0 failed, 1 warnings")


def test_a_bad_private_key_fails_authentication_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _err, _ = _run(tmp_path, capsys, private_key="wrong-key-123")
    assert code == 1
    [line] = _lines(lines, FAIL)
    assert line.startswith("FAIL connectwise authenticated: connectwise: read company/companies:"
                           " HTTP 401")
    assert "-> fix: check [psa] company_id, public_key, private_key" in line
    assert not any(line.startswith("ok   connectwise permitted") for line in lines)
    assert "wrong-key-123" not in "\n".join(lines)


def test_an_expired_refresh_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _err, _ = _run(tmp_path, capsys, "expired@token")
    assert code == 1
    [line] = _lines(lines, FAIL)
    assert line.startswith("FAIL qbo authenticated:") and "invalid_grant" in line
    assert "-> fix: run `recon-tui connect qbo`" in line
    assert any(line.startswith("ok   connectwise authenticated") for line in lines)


def test_clock_skew_is_a_warning_naming_the_minutes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _err, _ = _run(tmp_path, capsys, "skew=15@qbo,skew=-90@connectwise")
    assert code == 0  # warnings allowed
    [qbo] = [line for line in lines if line.startswith("warn qbo clock")]
    assert "15 minutes ahead of this machine's" in qbo and "NTP" in qbo
    [cw] = [line for line in lines if line.startswith("warn connectwise clock")]
    assert "90 minutes behind" in cw


def test_a_missing_permission_names_the_endpoint_and_the_role(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # From the 3rd ConnectWise API request on (companies and contacts answer).
    code, lines, _err, _ = _run(tmp_path, capsys, "forbidden@connectwise:3")
    assert code == 1
    failed = _lines(lines, FAIL)
    assert failed[0].startswith("FAIL connectwise permitted: finance/invoices: HTTP 403")
    assert "security role Inquire access to finance/invoices" in failed[0]
    assert all(line.startswith("FAIL connectwise permitted") for line in failed)
    assert any(line.startswith("ok   connectwise authenticated") for line in lines)


def test_qbo_and_autotask_permissions(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _err, _ = _run(tmp_path, capsys, "forbidden@qbo,forbidden@autotask:4",
                                psa="autotask")
    assert code == 1
    failed = _lines(lines, FAIL)
    assert any(line.startswith("FAIL qbo permitted: Customer: HTTP 403") for line in failed)
    assert any(line.startswith("FAIL autotask permitted: Invoices/query: HTTP 403")
               and "security level access to Invoices" in line for line in failed)
    assert any(line.startswith("ok   autotask authenticated") for line in lines)


def test_an_autotask_zone_move_is_followed_and_saved(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _err, config = _run(tmp_path, capsys, "zone_moved@autotask:2", psa="autotask")
    assert code == 0, lines
    [zone] = [line for line in lines if line.startswith("warn autotask zone")]
    assert "moved to zone Sandbox 2" in zone and "(saved to" in zone
    saved = tomllib.loads(config.read_text())["psa"]["base_url"]
    assert saved.endswith("/zone2/atservicesrest/v1.0")
    assert any(line.startswith("ok   autotask permitted") for line in lines)
    assert "# recon-tui configuration" in config.read_text()  # comments kept


def test_an_unreachable_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(f"""[psa]
kind = "connectwise"
base_url = "http://127.0.0.1:{port}/v4_6_release/apis/3.0"
company_id = "x"
public_key = "y"
private_key = "z"
client_id = "00000000-0000-0000-0000-000000000000"
""")
    code, lines, _err = _doctor(capsys, "--config", str(config), "--db",
                                str(tmp_path / "c.db"))
    assert code == 1
    assert any(line.startswith(f"FAIL connectwise reachable: cannot reach 127.0.0.1:{port}")
               and "-> fix: check [psa] base_url" in line for line in lines)
    assert any(line.startswith("warn config: [ledger] (QuickBooks Online) is not configured")
               for line in lines)


def test_config_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[portal]\nclient_admin_security_level = "high"\n')
    code, lines, _err = _doctor(capsys, "--config", str(bad))
    assert code == 1
    assert lines[0].startswith("FAIL config: ") and "client_admin_security_level" in lines[0]
    code, lines, _err = _doctor(capsys, "--config", str(tmp_path / "missing.toml"))
    assert code == 1 and lines[0].startswith("FAIL config:") and "file not found" in lines[0]
    monkeypatch.delenv("QBO_SECRET_FOR_DOCTOR", raising=False)
    env = tmp_path / "env.toml"
    env.write_text('[ledger]\nrealm_id = "1"\nclient_id = "c"\n'
                   'client_secret = "env:QBO_SECRET_FOR_DOCTOR"\nrefresh_token = "r"\n')
    code, lines, _err = _doctor(capsys, "--config", str(env), "--no-network")
    assert code == 1
    assert any(line.startswith("FAIL config secrets:") and "QBO_SECRET_FOR_DOCTOR is not set"
               in line for line in lines)


def test_the_demo_says_so_and_checks_its_cache(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # No config anywhere (the test's XDG folders are empty): the demo.
    code, lines, _err = _doctor(capsys)
    assert code == 0
    assert lines[0].startswith("ok   config: no config file") and "this is the demo" in lines[0]
    assert any(line.startswith("ok   cache path:") and "demo.db" in line for line in lines)
    assert not any("reachable" in line for line in lines)
    code, lines, _err = _doctor(capsys, "--demo")
    assert code == 0 and "--demo: this is the demo" in lines[0]


def test_cache_checks_after_a_sync(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, _plan):
        config = config_file_for(server, tmp_path)
        db = tmp_path / "cache.db"
        assert main(["sync", "--config", str(config), "--db", str(db)]) == 0
        capsys.readouterr()
        before = db.stat().st_mtime_ns
        checks = run_checks(str(config), str(db), network=False)
    assert all(isinstance(check, Check) for check in checks)
    by_name = {check.name: check for check in checks}
    assert by_name["cache schema"].status == OK
    assert by_name["cache schema"].detail.startswith("schema ")
    psa = by_name["PSA counts"]
    assert psa.status == OK and "invoices" in psa.detail and "last synced" in psa.detail
    assert "connectwise" in psa.detail
    assert by_name["ledger counts"].status == OK and "customers" in by_name["ledger counts"].detail
    assert db.stat().st_mtime_ns == before  # looked at, not written
    assert not [c for c in checks if c.failed]


def test_a_bad_autotask_secret_asks_the_zone_once_and_fails_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, plan):
        config = config_file_for(server, tmp_path, psa="autotask")
        config.write_text(config.read_text().replace('secret = "sandbox-secret"\nintegration',
                                                     'secret = "wrong-at-secret"\nintegration'))
        code, lines, _err = _doctor(capsys, "--config", str(config), "--db",
                                    str(tmp_path / "c.db"))
        seen = plan.requests_seen("autotask")
    assert code == 1
    [line] = _lines(lines, FAIL)
    assert line.startswith("FAIL autotask authenticated: autotask: read Companies: HTTP 401")
    assert "-> fix: check [psa] username, secret and integration_code" in line
    assert "wrong-at-secret" not in "\n".join(lines)
    assert seen == 2  # the refused query and one zone lookup; nothing after
    assert 'base_url = "' + server.url + '/atservicesrest/v1.0"' in config.read_text()
