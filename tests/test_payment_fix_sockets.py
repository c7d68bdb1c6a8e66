"""Guided payment fixes through the real connectors against the emulator, with the
answer to the write lost on the wire (the emulator applies the write, then drops
the connection): each system ends with the payment exactly once."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from recon_tui.cache import Cache
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.diagnosis import Cause
from recon_tui.fixes import FixKind, FixState
from recon_tui.row_diagnosis import diagnose_row
from recon_tui.sandbox.faults import FaultRule
from recon_tui.sync import run_full_sync
from recon_tui.verifier import SystemsVerifier
from recon_tui.workflows import payment_fix as wf
from recon_tui.workflows.write_policy import WritePolicy
from tests.emulator import backend_for, running_emulator

CAUSES = json.loads((sample_data_dir() / "scenarios.json").read_text())["causes"]
BOTH = WritePolicy(ledger=True, psa=True)


def _plan(cache: Cache, number: str, psa) -> wf.FixPlan:
    [row] = cache.recon.pairs_for_number(number)
    plan = wf.plan_fix(cache, row, diagnose_row(cache, row), BOTH, psa=psa)
    assert plan is not None
    return plan


def test_a_connectwise_payment_whose_answer_is_lost_is_posted_once(tmp_path) -> None:
    number = CAUSES[Cause.PAYMENT_LEDGER_ONLY.value]  # QuickBooks has it, ConnectWise not
    with running_emulator() as (server, book, plan), Cache(tmp_path / "c.db") as cache, \
            backend_for(server) as backend:
        run_full_sync(cache, backend.psa, backend.ledger, since=None)
        fix_plan = _plan(cache, number, backend.psa)
        assert fix_plan.kind is FixKind.RECORD_IN_PSA
        with book.lock:
            psa_id = next(i["id"] for i in book.connectwise["invoices"].values()
                          if i["invoiceNumber"] == number)
            before = [p for p in book.connectwise.get("payments", {}).values()
                      if p["invoice"]["id"] == psa_id]
        fix = wf.start_fix(cache.fixes, fix_plan)
        plan.add(FaultRule("drop_after_write", "connectwise"))
        with pytest.raises(wf.FixError):
            wf.apply_via_api(cache, fix.id, backend.psa, backend.ledger, BOTH,
                             SystemsVerifier(cache, backend.psa, backend.ledger))
        assert cache.fixes.fix(fix.id).state is FixState.SENDING
        done = wf.apply_via_api(cache, fix.id, backend.psa, backend.ledger, BOTH,
                                SystemsVerifier(cache, backend.psa, backend.ledger))  # retry
        assert done.state is FixState.DONE, cache.fixes.fix_events(fix.id)
        with book.lock:
            after = [p for p in book.connectwise["payments"].values()
                     if p["invoice"]["id"] == psa_id]
        assert len(after) == len(before) + 1  # the lost POST landed once, never again
        assert plan.requests_seen("connectwise", "write") == 1
        [row] = cache.recon.pairs_for_number(number)
        assert not row.discrepant


def test_a_quickbooks_payment_whose_answer_is_lost_is_applied_once(tmp_path) -> None:
    number = CAUSES[Cause.PAYMENT_PSA_ONLY.value]  # a portal payment QuickBooks never got
    with running_emulator() as (server, book, plan), Cache(tmp_path / "c.db") as cache, \
            backend_for(server) as backend:
        run_full_sync(cache, backend.psa, backend.ledger, since=None)
        fix_plan = _plan(cache, number, backend.psa)
        assert fix_plan.kind is FixKind.RECORD_IN_LEDGER
        payments = len(book.qbo["Payment"])
        fix = wf.start_fix(cache.fixes, fix_plan)
        plan.add(FaultRule("drop_after_write", "qbo"))
        # The connector re-sends on its own: a QBO write carries its requestid, and
        # QBO answers a repeated requestid from the first request instead of applying
        # it again, so the fix completes in one go.
        done = wf.apply_via_api(cache, fix.id, backend.psa, backend.ledger, BOTH,
                                SystemsVerifier(cache, backend.psa, backend.ledger))
        assert done.state is FixState.DONE and done.request_id
        assert plan.requests_seen("qbo", "write") == 2
        assert len(book.qbo["Payment"]) == payments + 1
        [row] = cache.recon.pairs_for_number(number)
        assert not row.discrepant and row.ledger_owing == Decimal("0.00")
