"""QuickBooks Desktop end to end over real sockets: the emulated Web Connector
carries the Desktop connector's qbXML to the sample company, the PSA is the
emulator's ConnectWise, and the cache fills as a QuickBooks Online sync of the
same book fills it."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from recon_tui.backend import SANDBOX_CONNECTWISE, connect_psa, sandbox_configs
from recon_tui.cache import Cache
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import SyncStatus
from recon_tui.qbwc.app import QbwcServer, create_app
from recon_tui.qbwc.runner import RUN_KIND, DesktopSync, qbd_ledger
from recon_tui.qbwc.service import QbwcService, SessionOutcome
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbd_company import SampleCompany
from recon_tui.sandbox.web_connector import SessionReport, WebConnector
from recon_tui.sync import run_full_sync
from recon_tui.workflows.write_policy import READ_ONLY, WritePolicy
from tests.emulator import backend_for, running_emulator
from tests.test_qbwc_sessions import Run, runs_of

USER, PASSWORD = "recon", "desktop-pass"
COMPARED = ("psa_company", "psa_invoice", "ledger_customer", "ledger_invoice",
            "ledger_credit_memo", "ledger_credit", "invoice_pair", "client_summary")


def statuses(path: Path) -> Counter[str]:
    """How the reconciliation came out: pairs by status (ids aside)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return Counter(row[0] for row in conn.execute("SELECT status FROM invoice_pair"))
    finally:
        conn.close()


def desktop_sync(tmp_path: Path, server_url: str, company: SampleCompany | None = None,
                 *, response_timeout: float = 30.0, drop_after: int | None = None,
                 cache_path: Path | None = None, policy: WritePolicy = READ_ONLY,
                 ) -> tuple[SessionOutcome, SessionReport]:
    """One Web Connector session against the sample company into ``cache_path``
    (default tmp_path/qbd.db), its queued credits written under ``policy``."""
    _ledger, psa_config = sandbox_configs(server_url)
    company = company or SampleCompany(SandboxBook.from_dir(sample_data_dir()))
    outcomes: list[SessionOutcome] = []
    runner = DesktopSync(cache_path or tmp_path / "qbd.db",
                         open_psa=lambda: connect_psa(psa_config),
                         open_ledger=qbd_ledger("qbd:sample-company"), policy=policy)
    service = QbwcService(username=USER, password=PASSWORD, start_sync=runner, poll_wait=2.0,
                          response_timeout=response_timeout,
                          on_outcome=lambda _run, outcome: outcomes.append(outcome))
    with QbwcServer(create_app(service)) as server, WebConnector(
            server.url, company.answer, username=USER, password=PASSWORD) as qbwc:
        report = qbwc.run(drop_after=drop_after)
        deadline = time.monotonic() + 30
        while not outcomes and time.monotonic() < deadline:
            time.sleep(0.05)
    service.shutdown()
    assert outcomes, "the session's sync never ended"
    return outcomes[0], report


def test_a_web_connector_sync_of_the_sample_company_fills_the_cache_as_qbo_does(
        tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        qbo = Cache(tmp_path / "qbo.db")
        backend = backend_for(server)
        try:
            assert run_full_sync(qbo, backend.psa, backend.ledger,
                                 since=None).status is SyncStatus.SUCCEEDED
        finally:
            backend.close()
        qbo_counts = {t: n for t, n in qbo.records.counts().items() if t in COMPARED}
        qbo.close()
        outcome, report = desktop_sync(tmp_path, server.url)
    assert outcome.succeeded, outcome.line
    assert report.percents[-1] == 100 and report.closed == outcome.line
    desktop = Cache(tmp_path / "qbd.db", read_only=True)
    try:
        assert {t: n for t, n in desktop.records.counts().items() if t in COMPARED} == qbo_counts
    finally:
        desktop.close()
    assert statuses(tmp_path / "qbd.db") == statuses(tmp_path / "qbo.db")
    assert runs_of(tmp_path / "qbd.db") == [Run(RUN_KIND, SyncStatus.SUCCEEDED, None)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def desktop_config(path: Path, psa_url: str, port: int, *, user: str = USER,
                   password: str = PASSWORD) -> Path:
    """A [ledger] kind = "qbd" config listening on ``port``, with the emulator's PSA."""
    path.write_text(
        f'[ledger]\nkind = "qbd"\nqbwc_username = "{user}"\n'
        f'qbwc_password = "{password}"\nlisten = "http://localhost:{port}/qbwc"\n'
        'owner_id = "{11111111-2222-3333-4444-555555555555}"\n'
        'file_id = "{66666666-7777-8888-9999-000000000000}"\n\n'
        f'[psa]\nkind = "connectwise"\nbase_url = "{psa_url}/v4_6_release/apis/3.0"\n'
        + "".join(f'{key} = "{value}"\n' for key, value in SANDBOX_CONNECTWISE.items()),
        encoding="utf-8")
    return path


def test_qbwc_serve_syncs_each_session_prints_a_line_and_stops_on_ctrl_c(
        tmp_path: Path) -> None:
    port = free_port()
    with running_emulator() as (server, _book, _plan):
        config = desktop_config(tmp_path / "config.toml", server.url, port)
        serve = subprocess.Popen(
            [sys.executable, "-m", "recon_tui", "qbwc", "serve", "--config", str(config),
             "--db", str(tmp_path / "serve.db")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert "serving the Web Connector at" in (serve.stdout.readline() if serve.stdout
                                                      else "")
            company = SampleCompany(SandboxBook.from_dir(sample_data_dir()))
            with WebConnector(f"http://localhost:{port}/qbwc", company.answer, username=USER,
                              password=PASSWORD) as qbwc:
                report = qbwc.run()
            assert serve.stdout is not None
            session = serve.stdout.readline()
            serve.send_signal(signal.SIGINT)
            out, err = serve.communicate(timeout=30)
        finally:
            if serve.poll() is None:
                serve.kill()
    assert report.percents[-1] == 100
    assert session.startswith("recon-tui qbwc: session ") and " succeeded (" in session
    assert serve.returncode == 0 and out.strip().endswith("stopped")
    assert "Traceback" not in err and PASSWORD not in out + err
    assert runs_of(tmp_path / "serve.db") == [Run(RUN_KIND, SyncStatus.SUCCEEDED, None)]


def data_of(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table but the history."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr)
                for t in tables if t not in ("sync_run", "sync_step", "sync_change")}
    finally:
        conn.close()


@pytest.mark.parametrize("trap, fix", [
    # seed 003: the file open in single-user mode on another computer, found opening it
    (("0x80040410", None, True), "File > Switch to Multi-user Mode"),
    # seed 003: an invoice screen open elsewhere locks what the sync reads
    (("0x8004041B", "InvoiceQueryRq", False), "invoice or payment screen open"),
])
def test_a_desktop_trap_is_one_line_with_its_fix_and_writes_nothing(
        tmp_path: Path, trap: tuple[str, str | None, bool], fix: str) -> None:
    hresult, request, at_open = trap
    with running_emulator() as (server, _book, _plan):
        assert desktop_sync(tmp_path, server.url)[0].succeeded
        before = data_of(tmp_path / "qbd.db")
        company = SampleCompany(SandboxBook.from_dir(sample_data_dir()))
        company.faults.hresult(hresult, request=request, at_open=at_open)
        outcome, report = desktop_sync(tmp_path, server.url, company)
    assert not outcome.succeeded and "\n" not in outcome.line
    assert f"QuickBooks reported {hresult}" in outcome.line and fix in outcome.line
    assert (report.connection_error == "done") is at_open
    assert data_of(tmp_path / "qbd.db") == before
    assert runs_of(tmp_path / "qbd.db")[0].status is SyncStatus.FAILED


def test_a_web_connector_gone_mid_sync_leaves_the_desktop_cache_as_it_was(
        tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        assert desktop_sync(tmp_path, server.url)[0].succeeded
        before = data_of(tmp_path / "qbd.db")
        outcome, report = desktop_sync(tmp_path, server.url, response_timeout=1.0,
                                       drop_after=2)
    assert report.closed is None and len(report.requests) == 2
    assert not outcome.succeeded and "no answer from the Web Connector" in outcome.line
    assert data_of(tmp_path / "qbd.db") == before
