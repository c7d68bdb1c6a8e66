"""The automatic steps of a credit checklist (steps 4 to 6): resync the invoice,
a full sync when the credit still shows, then verify each side on its own. See
:mod:`recon_tui.workflows.credit_checklist` for the state machine.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

from recon_tui.cache import Cache
from recon_tui.cache.checklists import Checklists
from recon_tui.connectors.base import LedgerConnector, PsaConnector
from recon_tui.models import CreditChecklist, SyncStatus
from recon_tui.money import money_str
from recon_tui.workflows.credit_apply import apply_via_api
from recon_tui.workflows.credit_state import Progress, State, load, move, now
from recon_tui.workflows.credit_steps import ChecklistError
from recon_tui.workflows.credit_verification import (
    check_ledger,
    check_psa,
    credit_remaining,
    credit_shows,
    expected_invoice_balance,
    invoice_finding,
)
from recon_tui.workflows.verify import SyncStepProgress, Verifier, VerifyError
from recon_tui.workflows.write_policy import READ_ONLY, WritePolicy, psa_display_name

__all__ = ["FULL_SYNC_MARGIN", "advance"]

#: The day before the application: edits and clock skew around it are covered.
FULL_SYNC_MARGIN = timedelta(days=1)


def _fail(checklists: Checklists, checklist: CreditChecklist, from_state: State, step: int,
          finding: str) -> CreditChecklist:
    return move(checklists, checklist, (from_state,),
                {"state": State.FAILED_VERIFICATION, "failed_step": step, "finding": finding},
                step=step, outcome="fail", message=finding)


def _resync(cache: Cache, verifier: Verifier, checklist: CreditChecklist,
            progress: Progress | None) -> CreditChecklist:
    """Step 4: resync the invoice from both systems (the PSA's copy too, for step
    6), then check the ledger balance dropped by the amount."""
    if progress:
        progress(f"resyncing invoice {checklist.invoice_number} from both systems…")
    try:
        result = verifier.resync(checklist.invoice_number or "")
    except VerifyError as exc:
        cache.checklists.add_checklist_event(
            checklist.id, step=4, outcome="fail", at=now(),
            message=f"resync failed: {exc}; continue to retry")
        raise ChecklistError(f"resync of invoice {checklist.invoice_number} failed: {exc}") \
            from exc
    finding = invoice_finding(cache, checklist)
    if finding is not None:
        return _fail(cache.checklists, checklist, State.APPLIED, 4, finding)
    shows = credit_shows(cache.checklists, checklist)
    run = f" (resync #{result.run.id})" if result.run and result.run.id else ""
    message = (f"invoice {checklist.invoice_number} balance "
               f"{money_str(checklist.invoice_balance)} -> "
               f"{money_str(expected_invoice_balance(checklist))} of "
               f"{money_str(checklist.invoice_total)}{run}")
    if shows:
        remaining = money_str(credit_remaining(cache.checklists, checklist))
        message += (f"; {checklist.credit_label} still shows {remaining}: "
                    "a full sync is next")
    return move(cache.checklists, checklist, (State.APPLIED,),
                {"state": State.RESYNCED, "needs_full_sync": shows}, step=4, outcome="ok",
                message=message)


def _full_sync(checklists: Checklists, verifier: Verifier,
               checklist: CreditChecklist, progress: Progress | None,
               cancel_event: threading.Event | None) -> CreditChecklist:
    """Step 5: a full sync (PSA first, then the ledger) from the day before the
    application, so the ledger's change to the credit is inside the window."""
    applied = checklist.applied_at or now()
    since: date = (applied - FULL_SYNC_MARGIN).date()

    def relay(p: SyncStepProgress) -> None:
        if progress:
            verb = {"fetch": "reading", "apply": "writing", "done": "done"}[p.phase]
            progress(f"full sync since {since.isoformat()}: {verb} {p.system} {p.step} "
                     f"({p.step_index + 1}/{p.step_count})")

    if progress:
        progress(f"full sync since {since.isoformat()}: PSA first, then the ledger…")
    try:
        run = verifier.full_sync(since, progress=relay, cancel=cancel_event)
    except VerifyError as exc:
        checklists.add_checklist_event(
            checklist.id, step=5, outcome="fail", at=now(),
            message=f"full sync could not start: {exc}")
        raise ChecklistError(str(exc)) from exc
    if run.status is not SyncStatus.SUCCEEDED:
        checklists.add_checklist_event(
            checklist.id, step=5, outcome="fail", at=now(),
            message=f"full sync #{run.id} {run.status.value}: {run.error}; continue to retry")
        raise ChecklistError(f"full sync #{run.id} {run.status.value}: {run.error}")
    return move(checklists, checklist, (State.RESYNCED,),
                {"state": State.FULL_SYNCED, "sync_since": since}, step=5, outcome="ok",
                message=f"full sync #{run.id} since {since.isoformat()} succeeded")


def _verify(cache: Cache, checklist: CreditChecklist, psa_kind: str) -> CreditChecklist:
    """Step 6, each side on its own: the ledger (invoice balance and credit both
    down by the amount) must be right or the verification fails; then the PSA's
    copy of the invoice must owe the same, or the checklist waits in
    LEDGER_DONE_PSA_LAGS with the PSA's finding and the next step."""
    from_state = checklist.state
    after = "a full sync" if from_state is State.FULL_SYNCED else "the resync"
    ledger = check_ledger(cache, checklist, after=after)
    if not ledger.ok:
        return _fail(cache.checklists, checklist, from_state, 6, ledger.text)
    name = psa_display_name(psa_kind)
    psa = check_psa(cache.recon, checklist, name)
    message = f"{ledger.text}; {psa.text}"
    if psa.ok:
        return move(cache.checklists, checklist, (from_state,),
                    {"state": State.DONE, "note": f"{ledger.text}\n{psa.text}", "finding": None,
                     "closed_at": now()}, step=6, outcome="ok", message=message)
    return move(cache.checklists, checklist, (from_state,),
                {"state": State.LEDGER_DONE_PSA_LAGS, "note": ledger.text,
                 "finding": psa.text}, step=6, outcome="lag",
                message=(f"{message}. Next: record the credit in {name} by hand, then "
                         "re-check (v)"))


def advance(cache: Cache, psa: PsaConnector, ledger: LedgerConnector, checklist_id: int, *,
            verifier: Verifier, policy: WritePolicy = READ_ONLY, progress: Progress | None = None,
            cancel_event: threading.Event | None = None) -> CreditChecklist:
    """Run every automatic step from where the checklist stands (steps 3 to 6 after
    the operator's choice) until it is done, fails a verification, waits for the
    PSA, or needs the operator. A step that cannot run (network, a sync already
    running, writes off) raises ChecklistError and leaves the checklist where it
    was, ready to continue. ``policy`` only matters to a resumed APPLYING one;
    ``verifier`` resyncs and syncs the same systems as ``psa`` and ``ledger``."""
    checklist = load(cache.checklists, checklist_id)
    while True:
        state = checklist.state
        if state is State.APPLYING:
            checklist = apply_via_api(cache.checklists, ledger, checklist.id, policy=policy)
            if checklist.state is State.READY_TO_APPLY:  # refused: back to the operator
                return checklist
        elif state is State.APPLIED:
            checklist = _resync(cache, verifier, checklist, progress)
        elif state is State.RESYNCED:
            if credit_shows(cache.checklists, checklist):
                checklist = _full_sync(cache.checklists, verifier, checklist, progress,
                                       cancel_event)
                continue
            if checklist.needs_full_sync:  # resumed after something else synced it away
                checklist = move(cache.checklists, checklist, (State.RESYNCED,),
                                 {"needs_full_sync": False}, step=5, outcome="info",
                                 message=f"{checklist.credit_label} no longer shows: "
                                         "no full sync needed")
            checklist = _verify(cache, checklist, psa.kind)
        elif state is State.FULL_SYNCED:
            checklist = _verify(cache, checklist, psa.kind)
        else:
            return checklist
