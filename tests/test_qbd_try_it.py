"""Trying QuickBooks Desktop without QuickBooks, as the README tells a new user:
`recon-tui qbwc serve` in one process, `recon-tui sandbox --web-connector` playing
the Web Connector in another; and the app's own sync dialog on a Desktop config."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.cli import main
from recon_tui.config import load_config
from recon_tui.models import SyncStatus
from recon_tui.sync import run_full_sync
from recon_tui.tui.screens.sync import SyncScreen
from tests.emulator import backend_for, running_emulator
from tests.test_import_sage50 import report_lines
from tests.test_qbwc_desktop import desktop_config as qbd_config
from tests.test_qbwc_desktop import desktop_sync, free_port
from tests.test_qbwc_sessions import Run, runs_of
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app
from tests.waits import wait_for_text, wait_until

USER, PASSWORD = "recon", "desk[bold]top-pass"


def desktop_config(path: Path, psa_url: str, port: int, password: str = PASSWORD) -> Path:
    return qbd_config(path, psa_url, port, user=USER, password=password)


def test_the_sandbox_web_connector_syncs_through_qbwc_serve(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    with running_emulator() as (server, _book, _plan):
        config = desktop_config(tmp_path / "config.toml", server.url, port)
        wrong = desktop_config(tmp_path / "wrong.toml", server.url, port, password="nope")
        serve = subprocess.Popen(
            [sys.executable, "-m", "recon_tui", "qbwc", "serve", "--config", str(config),
             "--db", str(tmp_path / "serve.db")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert serve.stdout is not None
            assert "serving the Web Connector at" in serve.stdout.readline()
            played = main(["sandbox", "--web-connector", "--config", str(config)])
            played_out = capsys.readouterr().out
            session = serve.stdout.readline()
            refused = main(["sandbox", "--web-connector", "--config", str(wrong)])
            refused_err = capsys.readouterr().err
            serve.send_signal(signal.SIGINT)
            out, err = serve.communicate(timeout=30)
        finally:
            if serve.poll() is None:
                serve.kill()
    assert played == 0, played_out
    assert "100% done" in played_out and "sync #1 succeeded" in played_out
    assert " succeeded (" in session
    assert refused == 2 and refused_err.strip().endswith("refused the user name or password")
    assert len(refused_err.strip().splitlines()) == 1
    assert runs_of(tmp_path / "serve.db") == [Run("web connector", SyncStatus.SUCCEEDED, None)]
    assert PASSWORD not in out + err + played_out + refused_err


def test_the_sandbox_web_connector_wants_a_desktop_config_and_a_running_service(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--web-connector", "--demo"]) == 2
    assert "needs --config with [ledger] kind = \"qbd\"" in capsys.readouterr().err
    config = desktop_config(tmp_path / "config.toml", "http://127.0.0.1:9", free_port())
    assert main(["sandbox", "--web-connector", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "is `recon-tui qbwc serve` running?" in err and len(err.strip().splitlines()) == 1


async def test_the_app_s_sync_on_a_desktop_ledger_says_where_syncs_run(tmp_path: Path) -> None:
    """The reason as written for the operator, not the class the backend raised."""
    config = load_config(desktop_config(tmp_path / "config.toml", "http://127.0.0.1:9", 8080))
    app = recon_app(config=config, cache_path=tmp_path / "cache.db", demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: not app.loading)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen))
        await pilot.press("enter")
        text = await wait_for_text(pilot, "Web Connector polls", screen_text)
    assert "Sync could not start: [ledger] kind = \"qbd\": QuickBooks" in text
    assert "BackendError" not in text


def test_doctor_on_a_desktop_ledger_says_how_it_syncs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = desktop_config(tmp_path / "config.toml", "http://127.0.0.1:9", 8080)
    main(["doctor", "--no-network", "--config", str(config), "--db", str(tmp_path / "c.db")])
    out = capsys.readouterr().out
    assert "no cache yet" in out and "keep `recon-tui qbwc serve` running" in out
    assert "recon-tui sync" not in out


def test_the_report_of_a_web_connector_sync_is_the_qbo_report_of_the_same_book(
        tmp_path: Path) -> None:
    """Issue 15's proof: the same book read through qbXML and through the QBO API
    gives the same reconciliation, line for line, its id included."""
    with running_emulator() as (server, _book, _plan):
        with Cache(tmp_path / "qbo.db") as qbo, backend_for(server) as backend:
            assert run_full_sync(qbo, backend.psa, backend.ledger,
                                 since=None).status is SyncStatus.SUCCEEDED
        outcome, _report = desktop_sync(tmp_path, server.url)
    assert outcome.succeeded, outcome.line
    qbo_lines, qbd_lines = report_lines(tmp_path / "qbo.db"), report_lines(tmp_path / "qbd.db")
    moments = ("| PSA as of", "| Ledger as of", "| Generated")
    differ = [(a, b) for a, b in zip(qbo_lines, qbd_lines, strict=True)
              if a != b and not a.startswith(moments)]
    assert differ == [("| Systems | PSA connectwise, ledger qbo |",
                       "| Systems | PSA connectwise, ledger qbd |")]
    assert any(line.startswith("| Reconciliation id |") for line in qbd_lines)


def test_qbwc_serve_applies_a_queued_credit_when_the_config_allows_writes(
        tmp_path: Path) -> None:
    """The serve command hands the config's write policy to each session: with
    [ledger] allow_writes = true a checklist queued in the app is applied at the
    next poll, once."""
    from recon_tui.connectors.sample import sample_data_dir
    from recon_tui.sandbox.book import SandboxBook
    from recon_tui.sandbox.qbd_company import SampleCompany
    from recon_tui.sandbox.web_connector import WebConnector
    from tests.test_qbwc_credit import ADD, queued_checklist

    port = free_port()
    company = SampleCompany(SandboxBook.from_dir(sample_data_dir()))
    with running_emulator() as (server, _book, _plan):
        config = desktop_config(tmp_path / "config.toml", server.url, port)
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace('[psa]', 'allow_writes = true\n\n[psa]', 1),
                          encoding="utf-8")
        cache_path = tmp_path / "serve.db"
        serve = subprocess.Popen(
            [sys.executable, "-m", "recon_tui", "qbwc", "serve", "--config", str(config),
             "--db", str(cache_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            assert serve.stdout is not None
            assert "serving the Web Connector at" in serve.stdout.readline()
            url = f"http://localhost:{port}/qbwc"
            with WebConnector(url, company.answer, username=USER, password=PASSWORD) as qbwc:
                assert qbwc.run().percents[-1] == 100
            assert " succeeded (" in serve.stdout.readline()
            queued_checklist(cache_path)
            with WebConnector(url, company.answer, username=USER, password=PASSWORD) as qbwc:
                applied = qbwc.run()
            second = serve.stdout.readline()
            serve.send_signal(signal.SIGINT)
            serve.communicate(timeout=30)
        finally:
            if serve.poll() is None:
                serve.kill()
    assert sum(ADD in request for request in applied.requests) == 1, second
    assert " succeeded (" in second and "checklist #" not in second


def test_a_stale_edit_sequence_over_the_web_connector_is_one_line_and_writes_nothing(
        tmp_path: Path) -> None:
    """Issue 15: statusCode 3200 (the record changed in QuickBooks after it was read)
    through the real service and the emulated Web Connector: one line with the fix,
    a failed run in the history, every data row as it was."""
    from recon_tui.connectors.sample import sample_data_dir
    from recon_tui.sandbox.book import SandboxBook
    from recon_tui.sandbox.qbd_company import SampleCompany
    from tests.test_qbwc_desktop import data_of

    with running_emulator() as (server, _book, _plan):
        assert desktop_sync(tmp_path, server.url)[0].succeeded
        before = data_of(tmp_path / "qbd.db")
        company = SampleCompany(SandboxBook.from_dir(sample_data_dir()))
        company.faults.status(3200, request="InvoiceQueryRq", value="1416315972")
        outcome, report = desktop_sync(tmp_path, server.url, company)
    assert not outcome.succeeded and "\n" not in outcome.line
    assert "InvoiceQueryRq answered 3200" in outcome.line
    assert "sync again, then retry" in outcome.line
    assert report.percents and report.percents[-1] < 0 and report.last_error
    assert data_of(tmp_path / "qbd.db") == before
    assert runs_of(tmp_path / "qbd.db")[0].status is SyncStatus.FAILED
