"""Applying an organizational credit to an invoice (seed 001), as a checklist.

A state machine over the cache, with no UI in it::

    CHOOSE_INVOICE -> READY_TO_APPLY -> APPLYING (api) -> APPLIED -> RESYNCED
                                     \\-> APPLIED (manual) -/          |
    RESYNCED --(credit still shows)--> FULL_SYNCED -> DONE             |
    RESYNCED --(credit gone)----------------------> DONE  <------------/
    any verification that finds something else -> FAILED_VERIFICATION (re-check -> APPLIED)
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
* verification is computed from what the systems say after a resync (and, when the
  credit still shows, a full sync from the day before the application), never
  ticked by hand; a failure says what was found.

The functions take a :class:`Cache` (one per thread) and the connectors; the TUI
runs them in thread workers.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from recon_tui.cache import Cache
from recon_tui.config import ConfigError
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.models import (
    ApplyMethod,
    ChecklistEvent,
    ChecklistState,
    CreditChecklist,
    CreditKind,
    LedgerInvoice,
    SyncStatus,
)
from recon_tui.money import CENT, ZERO, money_str
from recon_tui.resync import ResyncError, resync_invoice
from recon_tui.sync import SyncBusy, SyncProgress, run_full_sync

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
    "recheck",
    "start_checklist",
    "step_views",
]

State = ChecklistState
Progress = Callable[[str], None]

STEP_TITLES: tuple[str, ...] = (
    "Note the credit, the customer and its open invoices",
    "Choose the invoice and the amount",
    "Apply the credit in the ledger",
    "Resync the invoice and check its balance dropped",
    "Full sync from the day before, if the credit still shows",
    "Verify the credit is gone and both sides agree",
)

#: The day before the application: edits and clock skew around it are covered.
FULL_SYNC_MARGIN = timedelta(days=1)


class ChecklistError(ValueError):
    """The operator asked for something the checklist cannot do; the message says why."""


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- reading
def _load(cache: Cache, checklist_id: int) -> CreditChecklist:
    checklist = cache.checklist(checklist_id)
    if checklist is None:
        raise ChecklistError(f"checklist #{checklist_id} does not exist")
    return checklist


def default_invoice(invoices: list[LedgerInvoice]) -> LedgerInvoice | None:
    """What the ledger's Receive Payment preselects: the oldest open invoice."""
    return invoices[0] if invoices else None


def default_amount(credit_remaining: Decimal, invoice_balance: Decimal) -> Decimal:
    """As much of the credit as the invoice can take."""
    return min(credit_remaining, invoice_balance)


def parse_amount(text: str, *, credit_remaining: Decimal, invoice_balance: Decimal,
                 invoice_number: str = "") -> Decimal:
    """The operator's amount: a positive Decimal with at most two places, within both
    the credit remaining and the invoice balance."""
    cleaned = text.strip().removeprefix("$").replace(",", "").strip()
    if not cleaned:
        raise ChecklistError("enter the amount to apply, e.g. 10.00")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ChecklistError(f"{text.strip()!r} is not an amount; enter e.g. 10.00") from None
    if not value.is_finite():
        raise ChecklistError(f"{text.strip()!r} is not an amount; enter e.g. 10.00")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ChecklistError(f"{cleaned} has more than two decimal places")
    value = value.quantize(CENT)
    if value <= ZERO:
        raise ChecklistError(f"the amount must be more than 0.00, got {money_str(value)}")
    if value > credit_remaining:
        raise ChecklistError(f"{money_str(value)} is more than the credit's "
                             f"{money_str(credit_remaining)} remaining")
    if value > invoice_balance:
        which = f"invoice {invoice_number}'s" if invoice_number else "the invoice's"
        raise ChecklistError(f"{money_str(value)} is more than {which} balance of "
                             f"{money_str(invoice_balance)}")
    return value


def manual_steps(checklist: CreditChecklist, invoice_number: str | None = None,
                 amount: Decimal | None = None,
                 default_number: str | None = None) -> list[str]:
    """The exact clicks in QuickBooks Online for applying this credit by hand."""
    number = invoice_number or checklist.invoice_number or "?"
    value = money_str(amount if amount is not None else checklist.amount) or "?"
    customer = checklist.customer_name
    if checklist.credit_kind is CreditKind.CREDIT_MEMO:
        doc = f" ({checklist.credit_doc_number})" if checklist.credit_doc_number else ""
        preselected = (f" (QuickBooks ticks the oldest, {default_number}, by default)"
                       if default_number and default_number != number else "")
        return [
            "In QuickBooks Online: Create (+ New) > Receive Payment.",
            f"Select the customer {customer}.",
            f"Select invoice {number} and clear the other invoices{preselected}.",
            f"Under Credits, select credit memo {checklist.credit_id}{doc}.",
            f"Set the amount to {value} (the amount received stays 0.00).",
            "Record and Close (Save and close).",
        ]
    return [
        "In QuickBooks Online: Sales > Customers, open the customer "
        f"{customer}, and open payment {checklist.credit_id} (it has unapplied money).",
        f"Under Outstanding Transactions, select invoice {number} and clear the others.",
        f"Set the amount to {value}.",
        "Save and close.",
    ]


@dataclass(frozen=True, slots=True)
class StepView:
    """One line of the checklist as a screen shows it."""

    number: int
    title: str
    status: str  # "done" | "current" | "failed" | "pending" | "skipped" | "cancelled"
    at: datetime | None
    detail: str


_REACHED = {  # state -> the step that is current in it
    State.CHOOSE_INVOICE: 2, State.READY_TO_APPLY: 3, State.APPLYING: 3, State.APPLIED: 4,
    State.RESYNCED: 5, State.FULL_SYNCED: 6, State.DONE: 7,
}


def current_step(checklist: CreditChecklist, events: list[ChecklistEvent] | None = None) -> int:
    """The step the checklist is at (7 once done); for a cancelled one, the step it
    was at when cancelled (the cancel event records it)."""
    state = checklist.state
    if state is State.FAILED_VERIFICATION:
        return checklist.failed_step or 6
    if state is State.CANCELLED:
        cancels = [e.step for e in events or [] if e.state is State.CANCELLED]
        return cancels[-1] if cancels else 2
    if state is State.RESYNCED and not checklist.needs_full_sync:
        return 6
    return _REACHED[state]


def step_views(checklist: CreditChecklist, events: list[ChecklistEvent]) -> list[StepView]:
    """✓/▶/✗ per step, with the time and message of its latest decisive event."""
    latest: dict[int, ChecklistEvent] = {}
    for event in events:
        if event.outcome in ("ok", "fail") or event.step not in latest:
            latest[event.step] = event
    state = checklist.state
    current = current_step(checklist, events)
    views = []
    for number, title in enumerate(STEP_TITLES, start=1):
        event = latest.get(number)
        at, detail = (event.at, event.message) if event else (None, "")
        if number == 5 and checklist.needs_full_sync is False and number < current:
            status = "skipped"
            detail = detail or "not needed: the resync already removed the credit"
        elif number < current:
            status = "done"
        elif number == current:
            status = {State.FAILED_VERIFICATION: "failed",
                      State.CANCELLED: "cancelled"}.get(state, "current")
        else:
            status, at, detail = "pending", None, ""
        views.append(StepView(number, title, status, at, detail))
    return views


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
               f"({customer.id}); {len(invoices)} open invoice(s)"
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
    which = " (the ledger's default, the oldest open invoice)" if (
        oldest is not None and oldest.id == invoice.id) else ""
    return _move(
        cache, checklist, (State.CHOOSE_INVOICE, State.READY_TO_APPLY),
        {"state": State.READY_TO_APPLY, "invoice_id": invoice.id,
         "invoice_number": invoice.doc_number, "invoice_total": invoice.total,
         "invoice_balance": invoice.balance, "amount": amount, "credit_amount": credit.amount},
        step=2, outcome="ok",
        message=(f"invoice {invoice.doc_number}{which}, balance {money_str(invoice.balance)} "
                 f"of {money_str(invoice.total)}; amount {money_str(amount)}"))


def _expected_invoice_balance(checklist: CreditChecklist) -> Decimal:
    assert checklist.invoice_balance is not None and checklist.amount is not None
    return checklist.invoice_balance - checklist.amount


def _expected_credit_remaining(checklist: CreditChecklist) -> Decimal:
    assert checklist.amount is not None
    return checklist.credit_amount - checklist.amount


def _ledger_shows_applied(checklist: CreditChecklist, ledger: LedgerConnector) -> bool:
    """Did an earlier attempt land? Both the invoice and the credit must already
    show the application, read fresh from the ledger."""
    invoice = ledger.invoice_by_id(checklist.invoice_id or "")
    if invoice is None or invoice.balance > _expected_invoice_balance(checklist):
        return False
    remaining = ZERO
    for credit in ledger.customer_credits(checklist.customer_id):
        if credit.kind is checklist.credit_kind and credit.id == checklist.credit_id:
            remaining = credit.amount
    return remaining <= _expected_credit_remaining(checklist)


def apply_via_api(cache: Cache, ledger: LedgerConnector, checklist_id: int) -> CreditChecklist:
    """Step 3 by the app: store a request id, then send it. Resuming an APPLYING
    checklist re-sends the stored id (unless the ledger already shows the credit
    applied), so the credit is applied once whatever happened in between."""
    checklist = _load(cache, checklist_id)
    if checklist.state is State.READY_TO_APPLY:
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
        if resumed and _ledger_shows_applied(checklist, ledger):
            return _move(cache, checklist, (State.APPLYING,),
                         {"state": State.APPLIED, "applied_at": _now()}, step=3, outcome="ok",
                         message=(f"the earlier attempt (request id {checklist.request_id}) "
                                  "had already applied it; not sent again"))
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
    if checklist.state in (State.APPLYING, State.APPLIED, State.RESYNCED, State.FULL_SYNCED,
                           State.FAILED_VERIFICATION) and checklist.method is not None:
        message += (f"; the application ({checklist.method.value}) may already be in the "
                    "ledger: check the invoice there")
    return _move(cache, checklist, (checklist.state,),
                 {"state": State.CANCELLED, "closed_at": _now()}, step=step, outcome="info",
                 message=message)


def recheck(cache: Cache, checklist_id: int) -> CreditChecklist:
    """After a failed verification (e.g. the credit had not really been applied, and
    now is): verify again from the resync on."""
    checklist = _load(cache, checklist_id)
    if checklist.state is not State.FAILED_VERIFICATION:
        raise ChecklistError(f"nothing to re-check: the checklist is {checklist.state.value}")
    return _move(cache, checklist, (State.FAILED_VERIFICATION,),
                 {"state": State.APPLIED, "failed_step": None, "finding": None,
                  "needs_full_sync": None}, step=4, outcome="info",
                 message="re-check requested: resync and verify again")


# --------------------------------------------------------------------------- verification
def _fail(cache: Cache, checklist: CreditChecklist, from_state: State, step: int,
          finding: str) -> CreditChecklist:
    return _move(cache, checklist, (from_state,),
                 {"state": State.FAILED_VERIFICATION, "failed_step": step, "finding": finding},
                 step=step, outcome="fail", message=finding)


def _invoice_finding(cache: Cache, checklist: CreditChecklist) -> str | None:
    """None when the ledger invoice shows the application, else what it shows."""
    expected = _expected_invoice_balance(checklist)
    invoice = cache.ledger_invoice(checklist.invoice_id or "")
    if invoice is None:
        return f"invoice {checklist.invoice_number} is no longer in the ledger"
    if invoice.balance != expected:
        return (f"invoice {checklist.invoice_number} balance is {money_str(invoice.balance)}, "
                f"expected {money_str(expected)}")
    return None


def _credit_remaining(cache: Cache, checklist: CreditChecklist) -> Decimal:
    credit = cache.ledger_credit(checklist.credit_kind, checklist.credit_id)
    return credit.amount if credit is not None else ZERO


def _credit_shows(cache: Cache, checklist: CreditChecklist) -> bool:
    """Still in the cache with more left than the application leaves."""
    return _credit_remaining(cache, checklist) > _expected_credit_remaining(checklist)


def _resync(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
            checklist: CreditChecklist, progress: Progress | None) -> CreditChecklist:
    """Step 4: resync the invoice, then check the ledger balance dropped by the amount."""
    if progress:
        progress(f"resyncing invoice {checklist.invoice_number} from both systems…")
    try:
        result = resync_invoice(cache, psa, ledger, checklist.invoice_number or "")
    except (ResyncError, SyncBusy, ConnectorError, ConfigError) as exc:
        cache.add_checklist_event(checklist.id, step=4, outcome="fail", at=_now(),
                                  message=f"resync failed: {exc}; continue to retry")
        raise ChecklistError(f"resync of invoice {checklist.invoice_number} failed: {exc}") \
            from exc
    finding = _invoice_finding(cache, checklist)
    if finding is not None:
        return _fail(cache, checklist, State.APPLIED, 4, finding)
    shows = _credit_shows(cache, checklist)
    run = f" (resync #{result.run.id})" if result.run and result.run.id else ""
    message = (f"invoice {checklist.invoice_number} balance "
               f"{money_str(checklist.invoice_balance)} -> "
               f"{money_str(_expected_invoice_balance(checklist))} of "
               f"{money_str(checklist.invoice_total)}{run}")
    if shows:
        message += (f"; {checklist.credit_label} still shows "
                    f"{money_str(_credit_remaining(cache, checklist))}: a full sync is next")
    return _move(cache, checklist, (State.APPLIED,),
                 {"state": State.RESYNCED, "needs_full_sync": shows}, step=4, outcome="ok",
                 message=message)


def _full_sync(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
               checklist: CreditChecklist, progress: Progress | None,
               cancel_event: threading.Event | None) -> CreditChecklist:
    """Step 5: a full sync (PSA first, then the ledger) from the day before the
    application, so the ledger's change to the credit is inside the window."""
    applied = checklist.applied_at or _now()
    since: date = (applied - FULL_SYNC_MARGIN).date()

    def relay(p: SyncProgress) -> None:
        if progress:
            verb = {"fetch": "reading", "apply": "writing", "done": "done"}[p.phase]
            progress(f"full sync since {since.isoformat()}: {verb} {p.system} {p.step} "
                     f"({p.step_index + 1}/{p.step_count})")

    if progress:
        progress(f"full sync since {since.isoformat()}: PSA first, then the ledger…")
    try:
        run = run_full_sync(cache, psa, ledger, since=since, progress=relay,
                            cancel=cancel_event)
    except SyncBusy as exc:
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


def _psa_note(cache: Cache, checklist: CreditChecklist, ledger_balance: Decimal) -> str:
    pairs = [p for p in cache.pairs_for_number(checklist.invoice_number or "")
             if p.ledger_invoice_id == checklist.invoice_id]
    psa = next((p for p in pairs if p.psa_invoice_id is not None), None)
    if psa is None or psa.psa_owing is None:
        return f"the PSA has no invoice paired with invoice {checklist.invoice_number}"
    if psa.psa_owing != ledger_balance:
        return (f"the PSA still shows {money_str(psa.psa_owing)} owing on invoice "
                f"{psa.psa_number}; it learns of payments when it next syncs from the ledger")
    return f"the PSA agrees: {money_str(psa.psa_owing)} owing"


def _verify(cache: Cache, checklist: CreditChecklist) -> CreditChecklist:
    """Step 6: credit gone (or reduced by the amount), the invoice balance right,
    and what the PSA shows for the same invoice."""
    from_state = checklist.state
    finding = _invoice_finding(cache, checklist)
    if finding is not None:
        return _fail(cache, checklist, from_state, 6, finding)
    remaining = _credit_remaining(cache, checklist)
    expected_credit = _expected_credit_remaining(checklist)
    if remaining > expected_credit:
        after = "a full sync" if from_state is State.FULL_SYNCED else "the resync"
        return _fail(cache, checklist, from_state, 6,
                     f"{checklist.credit_label} still shows {money_str(remaining)} remaining "
                     f"after {after}, expected {money_str(expected_credit)}")
    balance = _expected_invoice_balance(checklist)
    credit_text = (f"{checklist.credit_label} is gone" if remaining <= ZERO else
                   f"{checklist.credit_label} reduced to {money_str(remaining)}")
    note = _psa_note(cache, checklist, balance)
    return _move(cache, checklist, (from_state,),
                 {"state": State.DONE, "note": note, "closed_at": _now()}, step=6, outcome="ok",
                 message=(f"{credit_text}; invoice {checklist.invoice_number} shows "
                          f"{money_str(balance)} of {money_str(checklist.invoice_total)}; "
                          f"{note}"))


def advance(cache: Cache, psa: PsaConnector, ledger: LedgerConnector, checklist_id: int, *,
            progress: Progress | None = None, cancel_event: threading.Event | None = None) -> \
        CreditChecklist:
    """Run every automatic step from where the checklist stands (steps 3 to 6 after
    the operator's choice) until it is done, fails a verification, or needs the
    operator. A step that cannot run (network, a sync already running) raises
    ChecklistError and leaves the checklist where it was, ready to continue."""
    checklist = _load(cache, checklist_id)
    while True:
        state = checklist.state
        if state is State.APPLYING:
            checklist = apply_via_api(cache, ledger, checklist.id)
            if checklist.state is State.READY_TO_APPLY:  # refused: back to the operator
                return checklist
        elif state is State.APPLIED:
            checklist = _resync(cache, psa, ledger, checklist, progress)
        elif state is State.RESYNCED:
            if _credit_shows(cache, checklist):
                checklist = _full_sync(cache, psa, ledger, checklist, progress, cancel_event)
                continue
            if checklist.needs_full_sync:  # resumed after something else synced it away
                checklist = _move(cache, checklist, (State.RESYNCED,),
                                  {"needs_full_sync": False}, step=5, outcome="info",
                                  message=f"{checklist.credit_label} no longer shows: "
                                          "no full sync needed")
            checklist = _verify(cache, checklist)
        elif state is State.FULL_SYNCED:
            checklist = _verify(cache, checklist)
        else:
            return checklist
