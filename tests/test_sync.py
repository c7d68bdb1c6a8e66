"""Full sync end to end: real connectors, the emulator on loopback, the cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.config import load_config
from recon_tui.connectors.http import RetryPolicy
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import CreditKind, ReconStatus, SyncRun, SyncStatus
from recon_tui.sandbox.cw_payments import apply_payment
from recon_tui.sandbox.faults import FaultPlan, FaultRule
from recon_tui.sandbox.server import SandboxServer
from recon_tui.sync import INTERRUPTED, SyncBusy, default_since, run_full_sync, sync_lock
from tests.emulator import backend_for, config_file_for, running_emulator

SINCE = date(2025, 1, 1)
MANIFEST = json.loads((sample_data_dir() / "scenarios.json").read_text(encoding="utf-8"))


def sync(cache: Cache, server: SandboxServer, **kw: object) -> SyncRun:
    """A sync as the CLI runs it: everything the first time, then what changed."""
    since = kw.pop("since", default_since(cache))
    with backend_for(server) as backend:
        return run_full_sync(cache, backend.psa, backend.ledger, since=since)  # type: ignore[arg-type]


def now_qbo() -> str:
    """An edit made now, as QBO stamps it (a daily sync reads from yesterday)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def now_cw() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def steps_of(run: SyncRun) -> dict[str, object]:
    return {f"{s.system} {s.name}": s for s in run.steps}


def test_first_sync_loads_everything_and_a_second_changes_nothing(cache: Cache) -> None:
    with running_emulator() as (server, _book, _plan):
        first = sync(cache, server)
        assert first.status is SyncStatus.SUCCEEDED, first.error
        counts = cache.records.counts()
        book = MANIFEST["counts"]
        assert counts["psa_invoice"] == book["cw_invoices"] + book["cw_credit_memos"]
        assert counts["ledger_invoice"] == book["qbo_invoices"]
        assert counts["ledger_credit_memo"] == book["qbo_credit_memos"]
        second = sync(cache, server)
        assert second.status is SyncStatus.SUCCEEDED
        assert all(s.created == s.updated == s.deleted == 0 for s in second.steps)
        assert cache.records.counts() == counts
        assert cache.history.sync_changes(second.id) == []


def test_a_balance_changed_in_the_ledger_is_recorded_old_to_new(cache: Cache) -> None:
    with running_emulator() as (server, book, _plan):
        sync(cache, server)
        [row] = cache.recon.pairs_for_number("110273")
        invoice = book.qbo["Invoice"][row.ledger_invoice_id]
        invoice["Balance"] = Decimal("50.00")  # the $10 payment reversed in QBO
        invoice["MetaData"]["LastUpdatedTime"] = now_qbo()
        run = sync(cache, server)
        [change] = [c for c in cache.history.sync_changes(run.id) if c.label == "110273"]
        assert (change.field, change.old, change.new) == ("balance", "40.00", "50.00")
        [after] = cache.recon.pairs_for_number("110273")
        assert after.difference_owing == Decimal("10.00")


def test_a_deleted_ledger_invoice_is_detected_and_reported(cache: Cache) -> None:
    with running_emulator() as (server, book, _plan):
        sync(cache, server)
        [row] = cache.recon.pairs_for_number("10040")
        with backend_for(server) as backend:
            client = backend.ledger.api  # the connector's own authenticated client
            invoice = book.qbo["Invoice"][row.ledger_invoice_id]
            client.post_json("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
                             operation="delete invoice",
                             params={"operation": "delete", "minorversion": "75"})
        run = sync(cache, server)
        assert steps_of(run)["ledger deletions"].deleted == 1
        [after] = cache.recon.pairs_for_number("10040")
        assert after.status is ReconStatus.EXPECTED_NOT_FOUND


@pytest.mark.parametrize(("fault", "step", "words"), [
    ("500@connectwise:1+20", "psa companies", "HTTP 500"),
    ("garbage@qbo:1+20", "ledger customers", "invalid JSON"),
])
def test_a_failed_step_is_named_and_nothing_is_written(cache: Cache, fault: str, step: str,
                                                       words: str) -> None:
    from recon_tui.sandbox.faults import parse_faults

    plan = parse_faults(fault)
    plan.retry_after_seconds = 0
    with running_emulator(faults=plan) as (server, _book, _plan), backend_for(server) as backend:
        backend.psa.api.retry = backend.ledger.api.retry = _quick_retry()
        run = run_full_sync(cache, backend.psa, backend.ledger, since=SINCE)
    assert run.status is SyncStatus.FAILED
    assert f"step '{step}' failed" in run.error and words in run.error
    assert "nothing written" in run.error
    failed = [s for s in run.steps if s.status is SyncStatus.FAILED]
    assert [f"{s.system} {s.name}" for s in failed] == [step]
    counts = cache.records.counts()
    assert counts["psa_invoice"] == 0 and counts["ledger_invoice"] == 0
    assert cache.history.sync_run(run.id).status is SyncStatus.FAILED


def _quick_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=2, base_delay_seconds=0.01, max_delay_seconds=0.02)


def test_rejected_credentials_fail_clearly_without_the_secret(cache: Cache,
                                                              tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        config = load_config(config_file_for(server, tmp_path, private_key="wrong-key-XYZ"))
        from recon_tui.backend import open_backend

        with open_backend(config, demo=False) as backend:
            run = run_full_sync(cache, backend.psa, backend.ledger, since=SINCE)
    assert run.status is SyncStatus.FAILED
    assert "credentials rejected" in run.error
    assert "wrong-key-XYZ" not in run.error
    dump = "\n".join(str(tuple(r)) for r in cache.conn.execute("SELECT * FROM sync_run"))
    assert "wrong-key-XYZ" not in dump


def test_autotask_book_syncs_too(cache: Cache, tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        config = load_config(config_file_for(server, tmp_path, psa="autotask"))
        from recon_tui.backend import open_backend

        with open_backend(config, demo=False) as backend:
            run = run_full_sync(cache, backend.psa, backend.ledger, since=SINCE)
    assert run.status is SyncStatus.SUCCEEDED, run.error
    assert cache.records.counts()["psa_invoice"] == 1039
    assert cache.history.sync_states()["psa"].kind == "autotask"


def test_only_one_sync_at_a_time(cache: Cache) -> None:
    with (running_emulator() as (server, _book, _plan), sync_lock(cache),
          pytest.raises(SyncBusy, match="already running")):
        sync(cache, server)


def start_slow_cli_sync(cache: Cache, config: Path,
                        plan: FaultPlan) -> tuple[subprocess.Popen[bytes], int]:
    """`recon-tui sync` in its own process against a slowed QBO (so a signal lands
    mid-read), and how many QBO requests the emulator had seen before it."""
    plan.slow_ms = 3000
    plan.add(FaultRule("slow", "qbo", 1, 50))
    baseline = plan.requests_seen("qbo")
    proc = subprocess.Popen(
        [sys.executable, "-m", "recon_tui", "sync", "--since", "2025-01-01",
         "--config", str(config), "--db", str(cache.path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    return proc, baseline


def test_a_sync_killed_halfway_leaves_the_cache_as_it_was(cache: Cache,
                                                          tmp_path: Path) -> None:
    with running_emulator() as (server, _book, plan):
        sync(cache, server)
        before = cache.records.counts()
        config = config_file_for(server, tmp_path)
        proc, baseline = start_slow_cli_sync(cache, config, plan)
        deadline = time.monotonic() + 20
        # Kill it while it is mid-way through reading the ledger (PSA already read).
        while plan.requests_seen("qbo") < baseline + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert cache.records.counts() == before
        stuck = cache.history.sync_runs()[0]
        assert stuck.status is SyncStatus.RUNNING  # the killed process never finished it
        plan.reset()
        run = sync(cache, server)
        assert run.status is SyncStatus.SUCCEEDED
        assert cache.history.sync_run(stuck.id).status is SyncStatus.FAILED
        assert cache.history.sync_run(stuck.id).error == INTERRUPTED


def test_resync_picks_up_a_credit_applied_in_the_ledger(cache: Cache) -> None:
    from recon_tui.resync import resync_invoice

    with running_emulator() as (server, _book, _plan):
        sync(cache, server)
        with backend_for(server) as backend:
            backend.ledger.apply_credit("97", "9065", CreditKind.CREDIT_MEMO, "11261",
                                        Decimal("10.00"), str(uuid.uuid4()))
            result = resync_invoice(cache, backend.psa, backend.ledger, "10040")
    assert [r.ledger_owing for r in result.before] == [Decimal("120.00")]
    assert [r.ledger_owing for r in result.after] == [Decimal("110.00")]
    assert all(c.id != "11261" for c in cache.recon.client_credits(["97"]))
    run = cache.history.sync_runs()[0]
    assert (run.kind, run.target, run.status) == ("resync", "10040", SyncStatus.SUCCEEDED)


def test_a_daily_sync_refreshes_only_what_it_touched_and_agrees_with_a_full_refresh(
        cache: Cache, monkeypatch: pytest.MonkeyPatch) -> None:
    """Balance changes, a new invoice, a deletion, a renamed company, a contact's
    portal level and an applied credit: the incremental refresh after the sync
    must leave exactly what a full recomputation would."""
    from recon_tui.refresh import refresh_reconciliation

    def snapshot() -> tuple[list, list]:
        pairs = sorted(tuple(r)[1:] for r in cache.conn.execute("SELECT * FROM invoice_pair"))
        rows = sorted(tuple(r) for r in cache.conn.execute("SELECT * FROM client_summary"))
        return pairs, rows

    stamp_qbo, stamp_cw = now_qbo(), now_cw()
    with running_emulator() as (server, book, _plan):
        assert sync(cache, server).status is SyncStatus.SUCCEEDED
        [row] = cache.recon.pairs_for_number("110273")
        ledger = book.qbo["Invoice"][row.ledger_invoice_id]
        ledger["Balance"], ledger["MetaData"]["LastUpdatedTime"] = Decimal("50.00"), stamp_qbo
        psa = next(i for i in book.connectwise["invoices"].values()
                   if i["invoiceNumber"] == "10040")
        # A payment recorded in ConnectWise (its record and the invoice move together).
        apply_payment(book, psa["id"], {"amount": Decimal("20.00")})
        company = next(iter(book.connectwise["companies"].values()))
        company["name"] += " (renamed)"
        company["_info"]["lastUpdated"] = stamp_cw
        contact = next(c for c in book.connectwise["contacts"].values()
                       if c["portalSecurityLevel"] < 5 and not c["inactiveFlag"])
        contact["portalSecurityLevel"] = 6
        contact["_info"]["lastUpdated"] = stamp_cw
        new = dict(ledger, Id="99999", DocNumber="QB-NEW-1", Balance=Decimal("12.00"),
                   TotalAmt=Decimal("12.00"), LinkedTxn=[])
        book.qbo["Invoice"]["99999"] = new
        with backend_for(server) as backend:
            backend.ledger.apply_credit("97", "9065", CreditKind.CREDIT_MEMO, "11261",
                                        Decimal("10.00"), str(uuid.uuid4()))
            [gone] = cache.recon.pairs_for_number("10005")
            victim = book.qbo["Invoice"][gone.ledger_invoice_id]
            backend.ledger.api.post_json(
                "invoice", {"Id": victim["Id"], "SyncToken": victim["SyncToken"]},
                operation="delete invoice", params={"operation": "delete", "minorversion": "75"})
        import recon_tui.refresh as refresh_module

        full_refreshes: list[object] = []
        original = refresh_module.refresh_reconciliation
        monkeypatch.setattr(refresh_module, "refresh_reconciliation",
                            lambda c: full_refreshes.append(c) or original(c))
        second = sync(cache, server)
        monkeypatch.undo()
    assert second.status is SyncStatus.SUCCEEDED, second.error
    assert full_refreshes == []  # the incremental path ran
    incremental = snapshot()
    assert cache.recon.pairs_for_number("QB-NEW-1")[0].status is ReconStatus.NOT_IN_PSA
    assert cache.recon.pairs_for_number("10005")[0].status is ReconStatus.EXPECTED_NOT_FOUND
    refresh_reconciliation(cache)
    assert snapshot() == incremental


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signalled_sync_ends_cancelled_at_once(cache: Cache, tmp_path: Path,
                                                 signum: signal.Signals) -> None:
    """SIGTERM (a stopped service), SIGHUP (a closed terminal) and Ctrl+C end the
    run "cancelled" in the history right away, not "running" until the next sync."""
    from recon_tui.cli import main as cli_main

    with running_emulator() as (server, _book, plan):
        sync(cache, server)
        before = cache.records.counts()
        config = config_file_for(server, tmp_path)
        proc, baseline = start_slow_cli_sync(cache, config, plan)
        deadline = time.monotonic() + 20
        while plan.requests_seen("qbo") < baseline + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=10)
        assert proc.returncode == 128 + signum
        assert err.decode().strip().splitlines()[-1] == (
            f"recon-tui: interrupted ({signum.name}); a sync in progress was cancelled "
            "and wrote nothing")
        assert cache.records.counts() == before
        stopped = cache.history.sync_runs()[0]
        assert stopped.status is SyncStatus.CANCELLED
        assert stopped.error == f"cancelled ({signum.name}); nothing written"
        assert cli_main(["history", "--config", str(config), "--db", str(cache.path)]) == 0


def test_history_shows_a_killed_run_as_interrupted_without_writing(
        cache: Cache, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recon_tui.cli import main as cli_main

    run = SyncRun(kind="full", since=None, started_at=datetime.now(UTC))
    cache.history.start_sync_run(run)
    run.status = SyncStatus.RUNNING
    cache.history.save_sync_progress(run)  # as a SIGKILLed process leaves it
    assert cli_main(["history", "--demo", "--db", str(cache.path)]) == 0
    assert "interrupted" in capsys.readouterr().out
    assert cache.history.sync_run(run.id).status is SyncStatus.RUNNING  # history only reads


def test_a_dated_sync_reads_psa_master_data_by_date_and_agrees_with_a_full_reload(
        cache: Cache, tmp_path: Path) -> None:
    """After a complete sync, the daily sync reads companies and contacts changed
    since its start (ConnectWise ``lastUpdated``), not the whole list; it sees a
    renamed company, keeps every company and mapping it did not read, and leaves
    the same master data a complete reload of the book would. Ledger customers
    are read in full (their balance moves with every document)."""
    def master(c: Cache) -> list[list[tuple]]:
        return [sorted(tuple(r) for r in c.conn.execute(f"SELECT * FROM {table}"))
                for table in ("psa_company", "psa_contact", "ledger_customer",
                              "company_mapping")]

    with running_emulator() as (server, book, _plan):
        assert sync(cache, server, since=None).status is SyncStatus.SUCCEEDED
        companies = len(book.connectwise["companies"])
        customers = len(book.qbo["Customer"])
        before = master(cache)
        company = next(iter(book.connectwise["companies"].values()))
        company["name"] += " (renamed)"
        company["_info"]["lastUpdated"] = now_cw()
        daily = sync(cache, server)
        assert daily.status is SyncStatus.SUCCEEDED, daily.error
        steps = steps_of(daily)
        read = steps["psa companies"]
        assert (read.created, read.updated) == (0, 1)
        assert read.unchanged < companies - 1  # a dated read: not the whole list
        assert steps["ledger customers"].unchanged == customers  # the whole list
        after = master(cache)
        assert len(after[0]) == len(before[0]) and after[3] == before[3]
        assert any(company["name"] in row for row in after[0])
        reloaded = Cache(tmp_path / "reloaded.db")
        try:
            assert sync(reloaded, server, since=None).status is SyncStatus.SUCCEEDED
            assert master(reloaded)[:3] == after[:3]
        finally:
            reloaded.close()
