"""``recon-tui qbwc qwc`` and what ``recon-tui sync`` says for a Desktop ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml import ElementTree as safe_et

from recon_tui.cli import main
from recon_tui.config import load_config

PSA = """
[psa]
kind = "connectwise"
base_url = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
company_id = "acme"
public_key = "pub"
private_key = "priv-secret"
client_id = "0f0b5e4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
"""


def desktop_config(tmp_path: Path, listen: str = "http://localhost:8080/qbwc",
                   extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[ledger]\nkind = "qbd"\nqbwc_username = "recon"\n'
                    f'qbwc_password = "s3cret-qbwc"\nlisten = "{listen}"\n{extra}\n{PSA}',
                    encoding="utf-8")
    return path


def test_qwc_writes_the_file_and_saves_the_ids_once(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    config = desktop_config(tmp_path)
    out = tmp_path / "recon.qwc"
    assert main(["qbwc", "qwc", "--config", str(config), "--out", str(out)]) == 0
    root = safe_et.fromstring(out.read_text(encoding="utf-8"))
    assert root.findtext("AppURL") == "http://localhost:8080/qbwc"
    assert root.findtext("UserName") == "recon" and root.findtext("QBType") == "QBFS"
    saved = load_config(config).ledger
    assert root.findtext("OwnerID") == saved.owner_id  # type: ignore[union-attr]
    assert root.findtext("FileID") == saved.file_id  # type: ignore[union-attr]
    err = capsys.readouterr().err
    assert "saved new [ledger] owner_id and file_id" in err
    assert "s3cret-qbwc" not in out.read_text(encoding="utf-8") + err
    # A second file names the same application and company file.
    assert main(["qbwc", "qwc", "--config", str(config), "--every", "30"]) == 0
    again = safe_et.fromstring(capsys.readouterr().out)
    assert again.findtext("OwnerID") == saved.owner_id  # type: ignore[union-attr]
    assert again.findtext("Scheduler/RunEveryNMinutes") == "30"


def test_qwc_refuses_plain_http_to_anything_but_localhost_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = desktop_config(tmp_path, "http://127.0.0.1:8080/qbwc")
    before = config.read_bytes()
    assert main(["qbwc", "qwc", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "only accepts https" in err and "http://localhost:PORT" in err
    assert config.read_bytes() == before  # no ids saved for a file never written


def test_qbwc_needs_a_desktop_ledger(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["qbwc", "serve", "--demo"]) == 2
    assert 'needs [ledger] kind = "qbd"' in capsys.readouterr().err


IDS = ('owner_id = "{11111111-2222-3333-4444-555555555555}"\n'
       'file_id = "{66666666-7777-8888-9999-000000000000}"')


def test_serve_wants_the_qwc_ids_first(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = desktop_config(tmp_path)
    assert main(["qbwc", "serve", "--config", str(config),
                 "--db", str(tmp_path / "c.db")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "run `recon-tui qbwc qwc" in err


def test_serve_refuses_an_https_listen_without_a_bind_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = desktop_config(tmp_path, "https://recon.example.com/qbwc", IDS)
    assert main(["qbwc", "serve", "--config", str(config),
                 "--db", str(tmp_path / "c.db")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--bind HOST:PORT" in err


def test_a_desktop_sync_is_not_started_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = desktop_config(tmp_path)
    assert main(["sync", "--config", str(config), "--db", str(tmp_path / "c.db")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Desktop syncs run when the Web Connector polls" in err
    assert "recon-tui qbwc serve" in err
