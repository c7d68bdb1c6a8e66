"""Applying an organizational credit to an invoice (seed 001), as a checklist.

A state machine over the cache, with no UI in it::

    CHOOSE_INVOICE -> READY_TO_APPLY -> APPLYING (api) -> APPLIED -> RESYNCED
                                     \\-> APPLIED (manual) -/          |
    RESYNCED --(credit still shows)--> FULL_SYNCED -> verify           |
    RESYNCED --(credit gone)----------------------> verify  <----------/
    verify: ledger wrong -> FAILED_VERIFICATION (re-check -> APPLIED)
            ledger right, PSA agrees (or has no copy) -> DONE
            ledger right, PSA lags -> LEDGER_DONE_PSA_LAGS (record it in the PSA,
                                      then re-check -> APPLIED -> ... -> DONE)
    any open state -> CANCELLED

Why it is built this way:

* every transition is persisted (a compare-and-set on the state, with its audit
  line, in one transaction), so the checklist resumes after a restart at the step
  it had reached, and two screens can never both make the same move;
* the QuickBooks request id is generated once and stored (APPLYING) *before* the
  call: a retry, or a resume after a crash mid-call, sends the same id, and QBO
  applies a request id once. Before re-sending, the ledger is read to see whether
  the first attempt already landed, so even an expired request id cannot apply
  the credit twice;
* nothing is written unless the config allows it (:class:`WritePolicy`): with
  ledger writes off the API path is refused here, not only greyed out on screen,
  and the by-hand path stays;
* verification is computed from what the systems say after a resync (and, when the
  credit still shows, a full sync from the day before the application), never
  ticked by hand, and each side is judged on its own
  (:mod:`recon_tui.workflows.credit_verification`): a ledger that shows the credit
  does not make a PSA that still shows the old balance agree.

The functions take a :class:`Cache` (one per thread), the connectors and, to
verify, a :class:`~recon_tui.workflows.verify.Verifier` (the resync and the full
sync, from the session); the TUI runs them in thread workers. What a checklist
shows (step views, amounts, the by-hand instructions) is in
:mod:`recon_tui.workflows.credit_steps`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from recon_tui.cache import Cache
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.models import ApplyMethod, ChecklistState, CreditChecklist, CreditKind, SyncStatus
from recon_tui.money import ZERO, money_str
from recon_tui.wording import counted
from recon_tui.workflows.credit_steps import (
    STEP_TITLES,
    ChecklistError,
    StepView,
    current_step,
    default_amount,
    default_invoice,
    manual_steps,
    parse_amount,
    psa_kind_of,
    psa_steps,
    step_views,
)
from recon_tui.workflows.credit_verification import (
    check_ledger,
    check_psa,
    credit_remaining,
    credit_shows,
    expected_invoice_balance,
    invoice_finding,
    ledger_shows_applied,
)
from recon_tui.workflows.verify import SyncStepProgress, Verifier, VerifyError
from recon_tui.workflows.write_policy import READ_ONLY, WritePolicy, psa_display_name

__all__ = [
    "STEP_TITLES",
    "ChecklistError",
    "Progress",
    "StepView",
    "advance",
    "apply_via_api",
    "cancel",
    "choose_target",
    "confirm_manual",
    "current_step",
    "default_amount",
    "default_invoice",
    "manual_steps",
    "parse_amount",
    "psa_kind_of",
    "psa_steps",
    "recheck",
    "start_checklist",
    "step_views",
]

State = ChecklistState
Progress = Callable[[str], None]

#: The day before the application: edits and clock skew around it are covered.
FULL_SYNC_MARGIN = timedelta(days=1)


def _now() -> datetime:
    return datetime.now(UTC)


def _load(cache: Cache, checklist_id: int) -> CreditChecklist:
    checklist = cache.checklist(checklist_id)
    if checklist is None:
        raise ChecklistError(f"checklist #{checklist_id} does not exist")
    return checklist


# --------------------------------------------------------------------------- transitions
def _move(cache: Cache, checklist: CreditChecklist, from_states: tuple[State, ...],
          changes: dict[str, object], *, step: int, outcome: str, message: str) -> \
        CreditChecklist:
    """Persist one transition; refuse when the checklist moved on meanwhile."""
    if not cache.update_checklist(checklist.id, from_states=from_states, changes=changes,
                                  step=step, outcome=outcome, message=message, at=_now()):
        now = _load(cache, checklist.id)
        raise ChecklistError(f"checklist #{checklist.id} is {now.state.value} now "
                             "(changed elsewhere); reopen it")
    return _load(cache, checklist.id)


def start_checklist(cache: Cache, credit_key: str) -> CreditChecklist:
    """Step 1 for the credit ``"CreditMemo:11261"`` / ``"Payment:123"``. An open
    checklist of the same credit is resumed instead of starting a second one."""
    kind_text, _, source_id = credit_key.partition(":")
    try:
        kind = CreditKind(kind_text)
    except ValueError:
        raise ChecklistError(f"not a credit: {credit_key!r}") from None
    existing = cache.open_checklist_for_credit(kind, source_id)
    if existing is not None:
        return existing
    credit = cache.ledger_credit(kind, source_id)
    if credit is None or credit.amount <= ZERO:
        raise ChecklistError(f"{credit_key} has no credit left in the cache; nothing to apply")
    customer = cache.customer(credit.customer_id)
    if customer is None:
        raise ChecklistError(f"the credit's customer {credit.customer_id} is not in the cache; "
                             "run a full sync first")
    invoices = cache.open_ledger_invoices(credit.customer_id)
    label = "credit memo" if kind is CreditKind.CREDIT_MEMO else "unapplied payment"
    doc = f" ({credit.doc_number})" if credit.doc_number else ""
    oldest = default_invoice(invoices)
    message = (f"{label} {credit.id}{doc} of {credit.date.isoformat()}, "
               f"{money_str(credit.amount)} remaining; customer {customer.display_name} "
               f"({customer.id}); {counted(len(invoices), 'open invoice')}"
               + (f", oldest {oldest.doc_number}" if oldest else ""))
    checklist_id = cache.create_checklist(credit, customer.display_name, message=message,
                                          at=_now())
    return _load(cache, checklist_id)


def choose_target(cache: Cache, checklist_id: int, invoice_id: str,
                  amount_text: str) -> CreditChecklist:
    """Step 2: the invoice and the amount, validated against the cache as it is now
    (its values become the baseline the verification compares with)."""
    checklist = _load(cache, checklist_id)
    if checklist.state not in (State.CHOOSE_INVOICE, State.READY_TO_APPLY):
        raise ChecklistError(f"the target can no longer change: the checklist is "
                             f"{checklist.state.value}")
    invoice = cache.ledger_invoice(invoice_id)
    if invoice is None or invoice.customer_id != checklist.customer_id:
        raise ChecklistError(f"invoice {invoice_id} is not an invoice of "
                             f"{checklist.customer_name}")
    if invoice.voided or invoice.balance <= ZERO:
        raise ChecklistError(f"invoice {invoice.doc_number} has nothing left to pay")
    credit = cache.ledger_credit(checklist.credit_kind, checklist.credit_id)
    if credit is None or credit.amount <= ZERO:
        raise ChecklistError(f"{checklist.credit_label} has no credit left in the cache")
    amount = parse_amount(amount_text, credit_remaining=credit.amount,
                          invoice_balance=invoice.balance, invoice_number=invoice.doc_number)
    oldest = default_invoice(cache.open_ledger_invoices(checklist.customer_id))
    which = " (the oldest open invoice as of the last sync)" if (
        oldest is not None and oldest.id == invoice.id) else ""
    return _move(
        cache, checklist, (State.CHOOSE_INVOICE, State.READY_TO_APPLY),
        {"state": State.READY_TO_APPLY, "invoice_id": invoice.id,
         "invoice_number": invoice.doc_number, "invoice_total": invoice.total,
         "invoice_balance": invoice.balance, "amount": amount, "credit_amount": credit.amount},
        step=2, outcome="ok",
        message=(f"invoice {invoice.doc_number}{which}, balance {money_str(invoice.balance)} "
                 f"of {money_str(invoice.total)}; amount {money_str(amount)}"))


def apply_via_api(cache: Cache, ledger: LedgerConnector, checklist_id: int, *,
                  policy: WritePolicy) -> CreditChecklist:
    """Step 3 by the app: store a request id, then send it. Resuming an APPLYING
    checklist re-sends the stored id (unless the ledger already shows the credit
    applied), so the credit is applied once whatever happened in between. Refused,
    with the line saying how to turn them on, when ledger writes are off."""
    checklist = _load(cache, checklist_id)
    if checklist.state is State.READY_TO_APPLY:
        if not policy.allows("ledger"):
            raise ChecklistError(policy.why_off("ledger"))
        request_id = str(uuid.uuid4())
        checklist = _move(
            cache, checklist, (State.READY_TO_APPLY,),
            {"state": State.APPLYING, "method": ApplyMethod.API, "request_id": request_id},
            step=3, outcome="info",
            message=(f"sending {money_str(checklist.amount)} of {checklist.credit_label} to "
                     f"invoice {checklist.invoice_number} via {ledger.kind} "
                     f"(request id {request_id})"))
        resumed = False
    elif checklist.state is State.APPLYING:
        resumed = True
    else:
        raise ChecklistError(f"nothing to apply: the checklist is {checklist.state.value}")
    assert checklist.request_id and checklist.invoice_id and checklist.amount is not None
    try:
        if resumed and ledger_shows_applied(checklist, ledger):
            return _move(cache, checklist, (State.APPLYING,),
                         {"state": State.APPLIED, "applied_at": _now()}, step=3, outcome="ok",
                         message=(f"the earlier attempt (request id {checklist.request_id}) "
                                  "had already applied it; not sent again"))
        if not policy.allows("ledger"):  # turned off since the id was stored: keep it
            raise ChecklistError(f"{policy.why_off('ledger')}; request id "
                                 f"{checklist.request_id} was not sent again (x cancels)")
        invoice = ledger.apply_credit(
            checklist.customer_id, checklist.invoice_id, checklist.credit_kind,
            checklist.credit_id, checklist.amount, checklist.request_id)
    except ConnectorError as exc:
        if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (
                401, 408, 429):
            # Refused outright: nothing was applied. Back to the choice, a new id next time.
            return _move(cache, checklist, (State.APPLYING,),
                         {"state": State.READY_TO_APPLY, "request_id": None, "method": None},
                         step=3, outcome="fail", message=f"the ledger refused it: {exc}")
        cache.add_checklist_event(
            checklist.id, step=3, outcome="fail", at=_now(),
            message=(f"no answer from the ledger ({exc}); continuing re-sends request id "
                     f"{checklist.request_id}, which the ledger applies once"))
        raise ChecklistError(f"the ledger did not confirm the application: {exc}") from exc
    return _move(cache, checklist, (State.APPLYING,),
                 {"state": State.APPLIED, "applied_at": _now()}, step=3, outcome="ok",
                 message=(f"applied via {ledger.kind} (request id {checklist.request_id}): "
                          f"invoice {invoice.doc_number} balance now "
                          f"{money_str(invoice.balance)} of {money_str(invoice.total)}"))


def confirm_manual(cache: Cache, checklist_id: int) -> CreditChecklist:
    """Step 3 by hand: the operator says it is done; steps 4-6 check that it is."""
    checklist = _load(cache, checklist_id)
    if checklist.state is not State.READY_TO_APPLY:
        raise ChecklistError(f"choose the invoice and amount first (the checklist is "
                             f"{checklist.state.value})")
    return _move(cache, checklist, (State.READY_TO_APPLY,),
                 {"state": State.APPLIED, "method": ApplyMethod.MANUAL, "applied_at": _now()},
                 step=3, outcome="ok",
                 message=(f"the operator applied {money_str(checklist.amount)} of "
                          f"{checklist.credit_label} to invoice {checklist.invoice_number} "
                          "by hand in the ledger"))


def cancel(cache: Cache, checklist_id: int) -> CreditChecklist:
    """Give up. An application already sent stays in the ledger: the trail says so."""
    checklist = _load(cache, checklist_id)
    if not checklist.state.is_open:
        raise ChecklistError(f"the checklist is already {checklist.state.value}")
    step = current_step(checklist)
    message = "cancelled by the operator"
    if checklist.state is State.LEDGER_DONE_PSA_LAGS:
        message += ("; the ledger shows the credit applied and the PSA did not: record it "
                    "in the PSA by hand")
    elif checklist.state in (State.APPLYING, State.APPLIED, State.RESYNCED, State.FULL_SYNCED,
                             State.FAILED_VERIFICATION) and checklist.method is not None:
        message += (f"; the application ({checklist.method.value}) may already be in the "
                    "ledger: check the invoice there")
    return _move(cache, checklist, (checklist.state,),
                 {"state": State.CANCELLED, "closed_at": _now()}, step=step, outcome="info",
                 message=message)


def recheck(cache: Cache, checklist_id: int) -> CreditChecklist:
    """Verify again from the resync on: after a failed verification (e.g. the credit
    had not really been applied, and now is), or once the credit has been recorded
    in a PSA that lagged."""
    checklist = _load(cache, checklist_id)
    if checklist.state not in (State.FAILED_VERIFICATION, State.LEDGER_DONE_PSA_LAGS):
        raise ChecklistError(f"nothing to re-check: the checklist is {checklist.state.value}")
    what = ("the PSA" if checklist.state is State.LEDGER_DONE_PSA_LAGS else "a failed step")
    return _move(cache, checklist, (checklist.state,),
                 {"state": State.APPLIED, "failed_step": None, "finding": None, "note": None,
                  "needs_full_sync": None}, step=4, outcome="info",
                 message=f"re-check of {what} requested: resync and verify both sides again")


# --------------------------------------------------------------------------- verification
def _fail(cache: Cache, checklist: CreditChecklist, from_state: State, step: int,
          finding: str) -> CreditChecklist:
    return _move(cache, checklist, (from_state,),
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
        cache.add_checklist_event(checklist.id, step=4, outcome="fail", at=_now(),
                                  message=f"resync failed: {exc}; continue to retry")
        raise ChecklistError(f"resync of invoice {checklist.invoice_number} failed: {exc}") \
            from exc
    finding = invoice_finding(cache, checklist)
    if finding is not None:
        return _fail(cache, checklist, State.APPLIED, 4, finding)
    shows = credit_shows(cache, checklist)
    run = f" (resync #{result.run.id})" if result.run and result.run.id else ""
    message = (f"invoice {checklist.invoice_number} balance "
               f"{money_str(checklist.invoice_balance)} -> "
               f"{money_str(expected_invoice_balance(checklist))} of "
               f"{money_str(checklist.invoice_total)}{run}")
    if shows:
        message += (f"; {checklist.credit_label} still shows "
                    f"{money_str(credit_remaining(cache, checklist))}: a full sync is next")
    return _move(cache, checklist, (State.APPLIED,),
                 {"state": State.RESYNCED, "needs_full_sync": shows}, step=4, outcome="ok",
                 message=message)


def _full_sync(cache: Cache, verifier: Verifier,
               checklist: CreditChecklist, progress: Progress | None,
               cancel_event: threading.Event | None) -> CreditChecklist:
    """Step 5: a full sync (PSA first, then the ledger) from the day before the
    application, so the ledger's change to the credit is inside the window."""
    applied = checklist.applied_at or _now()
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
        cache.add_checklist_event(checklist.id, step=5, outcome="fail", at=_now(),
                                  message=f"full sync could not start: {exc}")
        raise ChecklistError(str(exc)) from exc
    if run.status is not SyncStatus.SUCCEEDED:
        cache.add_checklist_event(
            checklist.id, step=5, outcome="fail", at=_now(),
            message=f"full sync #{run.id} {run.status.value}: {run.error}; continue to retry")
        raise ChecklistError(f"full sync #{run.id} {run.status.value}: {run.error}")
    return _move(cache, checklist, (State.RESYNCED,),
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
        return _fail(cache, checklist, from_state, 6, ledger.text)
    name = psa_display_name(psa_kind)
    psa = check_psa(cache, checklist, name)
    message = f"{ledger.text}; {psa.text}"
    if psa.ok:
        return _move(cache, checklist, (from_state,),
                     {"state": State.DONE, "note": f"{ledger.text}\n{psa.text}", "finding": None,
                      "closed_at": _now()}, step=6, outcome="ok", message=message)
    return _move(cache, checklist, (from_state,),
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
    checklist = _load(cache, checklist_id)
    while True:
        state = checklist.state
        if state is State.APPLYING:
            checklist = apply_via_api(cache, ledger, checklist.id, policy=policy)
            if checklist.state is State.READY_TO_APPLY:  # refused: back to the operator
                return checklist
        elif state is State.APPLIED:
            checklist = _resync(cache, verifier, checklist, progress)
        elif state is State.RESYNCED:
            if credit_shows(cache, checklist):
                checklist = _full_sync(cache, verifier, checklist, progress, cancel_event)
                continue
            if checklist.needs_full_sync:  # resumed after something else synced it away
                checklist = _move(cache, checklist, (State.RESYNCED,),
                                  {"needs_full_sync": False}, step=5, outcome="info",
                                  message=f"{checklist.credit_label} no longer shows: "
                                          "no full sync needed")
            checklist = _verify(cache, checklist, psa.kind)
        elif state is State.FULL_SYNCED:
            checklist = _verify(cache, checklist, psa.kind)
        else:
            return checklist
