"""Guided payment fixes: shown before written, written only where allowed, applied
once whatever is retried, verified by a resync."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from recon_tui.diagnosis import Cause
from recon_tui.fixes import FixKind, FixState
from recon_tui.row_diagnosis import diagnose_row
from recon_tui.transactions import InvoiceTxn, Side, TxnKind
from recon_tui.verifier import SystemsVerifier
from recon_tui.workflows import payment_fix as wf
from recon_tui.workflows.write_policy import WritePolicy
from tests.test_sync_payments import books, psa_doc, row_for, sync  # noqa: F401

BOTH = WritePolicy(ledger=True, psa=True)


def plan_for(cache, number: str, policy=BOTH, psa=None):
    row = row_for(cache, number)
    return wf.plan_fix(cache, row, diagnose_row(cache, row), policy, psa=psa)


def test_payment_in_ledger_only_is_recorded_in_the_psa_once_and_verified(books):  # noqa: F811
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    plan = plan_for(cache, "110273", psa=psa)
    assert plan.kind is FixKind.RECORD_IN_PSA and plan.target == "psa"
    assert plan.amount == D("10") and plan.txn_date == date(2026, 6, 10)
    assert plan.writes.startswith("Will write to the PSA: a payment of 10.00 dated 2026-06-10")
    assert plan.api_blocked is None
    fix = wf.start_fix(cache.fixes, plan)
    assert fix.state is FixState.PLANNED
    done = wf.apply_via_api(cache, fix.id, psa, ledger, BOTH,
                            SystemsVerifier(cache, psa, ledger))
    assert done.state is FixState.DONE and psa.posts == 1
    assert row_for(cache, "110273").discrepant is False
    trail = [e.message for e in cache.fixes.fix_events(fix.id)]
    assert trail[0].startswith("planned: Will write")
    assert trail[-1].startswith("verified: both sides show 40.00 owing")


def test_a_lost_connectwise_answer_is_not_posted_twice(books):  # noqa: F811
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    fix = wf.start_fix(cache.fixes, plan_for(cache, "110273", psa=psa))
    psa.drop_next_answer = True
    with pytest.raises(wf.FixError, match="dropped"):
        wf.apply_via_api(cache, fix.id, psa, ledger, BOTH,
                         SystemsVerifier(cache, psa, ledger))
    held = cache.fixes.fix(fix.id)
    assert held.state is FixState.SENDING and held.known_before == ()
    assert psa.posts == 1
    again = wf.apply_via_api(cache, fix.id, psa, ledger, BOTH,
                             SystemsVerifier(cache, psa, ledger))  # the retry
    assert again.state is FixState.DONE
    assert psa.posts == 1  # the retry found the first payment instead of posting again
    assert len(psa.payments["p2"]) == 1


def test_payment_in_psa_only_is_recorded_in_the_ledger_with_one_request_id(books):  # noqa: F811
    cache, psa, ledger = books
    psa.touch(psa_doc("p2", "110273", "50", "0"))  # the portal took the full 50
    psa.payments["p2"] = (InvoiceTxn(Side.PSA, "p2", "77", TxnKind.PAYMENT,
                                     date(2026, 6, 12), D("50")),)
    ledger.applications["901"] = ()
    ledger.touch(ledger.invoices_by_id["l2"].__class__(
        "l2", "110273", "58", date(2026, 6, 10), D("50"), D("50")))
    sync(cache, psa, ledger)
    row = row_for(cache, "110273")
    assert row.cause == Cause.PAYMENT_PSA_ONLY.value
    plan = plan_for(cache, "110273")
    assert plan.kind is FixKind.RECORD_IN_LEDGER and plan.reference == "the PSA 77"
    fix = wf.start_fix(cache.fixes, plan)
    done = wf.apply_via_api(cache, fix.id, psa, ledger, BOTH,
                            SystemsVerifier(cache, psa, ledger))
    assert done.state is FixState.DONE
    assert len(ledger.requests) == 1
    # The same step run again (a crash after the send): the same request id.
    request_id = done.request_id
    ledger.record_payment("58", "l2", D("50"), date(2026, 6, 12), "", "", request_id)
    assert len(ledger.requests) == 1 and ledger.invoices_by_id["l2"].balance == D("0")


def test_writes_off_refuse_with_one_line_and_keep_the_hand_path(books):  # noqa: F811
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    off = WritePolicy(ledger=False, psa=False)
    plan = plan_for(cache, "110273", policy=off, psa=psa)
    assert plan.api_blocked.startswith("writes to the PSA are off: set [psa] allow_writes")
    assert any("Payments tab" in step for step in plan.steps)
    fix = wf.start_fix(cache.fixes, plan)
    with pytest.raises(wf.FixError, match=r"\[psa\] allow_writes = true"):
        wf.apply_via_api(cache, fix.id, psa, ledger, off,
                         SystemsVerifier(cache, psa, ledger))
    assert psa.posts == 0 and cache.fixes.fix(fix.id).state is FixState.PLANNED


def test_by_hand_is_verified_by_a_resync_never_ticked(books):  # noqa: F811
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    fix = wf.start_fix(cache.fixes, plan_for(cache, "110273", psa=psa))
    with pytest.raises(wf.FixError, match="not verified"):
        # nothing was done yet
        wf.done_by_hand(cache, fix.id, SystemsVerifier(cache, psa, ledger))
    assert cache.fixes.fix(fix.id).state is FixState.FAILED_VERIFICATION
    # The tech records it in the PSA by hand, then verifies again.
    psa.record_payment("p2", D("10"), date(2026, 6, 10))
    assert wf.verify(cache, fix.id, SystemsVerifier(cache, psa, ledger)).state is FixState.DONE


def test_an_open_fix_is_resumed_not_duplicated(books):  # noqa: F811
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    first = wf.start_fix(cache.fixes, plan_for(cache, "110273", psa=psa))
    assert wf.start_fix(cache.fixes, plan_for(cache, "110273", psa=psa)).id == first.id
    assert wf.cancel(cache.fixes, first.id).state is FixState.CANCELLED
    assert wf.start_fix(cache.fixes, plan_for(cache, "110273", psa=psa)).id != first.id
