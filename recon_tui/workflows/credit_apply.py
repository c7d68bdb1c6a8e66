"""The operator's steps of a credit checklist (seed 001): start it for a credit,
choose the invoice and amount, apply (by the app, or by hand and say so), cancel,
or ask for a re-check. See :mod:`recon_tui.workflows.credit_checklist` for the
state machine and why it is built this way.
"""

from __future__ import annotations

import uuid

from recon_tui.cache import Cache
from recon_tui.cache.checklists import Checklists
from recon_tui.connectors.base import ConnectorError, LedgerConnector
from recon_tui.models import ApplyMethod, CreditChecklist, CreditKind
from recon_tui.money import ZERO, money_str
from recon_tui.wording import counted
from recon_tui.workflows.credit_state import State, load, move, now
from recon_tui.workflows.credit_steps import (
    ChecklistError,
    current_step,
    default_invoice,
    parse_amount,
)
from recon_tui.workflows.credit_verification import ledger_shows_applied
from recon_tui.workflows.write_policy import WritePolicy

__all__ = ["QUEUED_NOTE", "apply_via_api", "cancel", "choose_target", "confirm_manual",
           "queue_for_web_connector", "recheck", "start_checklist"]

#: What a checklist queued for QuickBooks Desktop waits for (the screens say it).
QUEUED_NOTE = "queued: applied at the next Web Connector poll"


def start_checklist(cache: Cache, credit_key: str) -> CreditChecklist:
    """Step 1 for the credit ``"CreditMemo:11261"`` / ``"Payment:123"``. An open
    checklist of the same credit is resumed instead of starting a second one."""
    kind_text, _, source_id = credit_key.partition(":")
    try:
        kind = CreditKind(kind_text)
    except ValueError:
        raise ChecklistError(f"not a credit: {credit_key!r}") from None
    existing = cache.checklists.open_checklist_for_credit(kind, source_id)
    if existing is not None:
        return existing
    credit = cache.checklists.ledger_credit(kind, source_id)
    if credit is None or credit.amount <= ZERO:
        raise ChecklistError(f"{credit_key} has no credit left in the cache; nothing to apply")
    customer = cache.records.customer(credit.customer_id)
    if customer is None:
        raise ChecklistError(f"the credit's customer {credit.customer_id} is not in the cache; "
                             "run a full sync first")
    invoices = cache.checklists.open_ledger_invoices(credit.customer_id)
    label = "credit memo" if kind is CreditKind.CREDIT_MEMO else "unapplied payment"
    doc = f" ({credit.doc_number})" if credit.doc_number else ""
    oldest = default_invoice(invoices)
    message = (f"{label} {credit.id}{doc} of {credit.date.isoformat()}, "
               f"{money_str(credit.amount)} remaining; customer {customer.display_name} "
               f"({customer.id}); {counted(len(invoices), 'open invoice')}"
               + (f", oldest {oldest.doc_number}" if oldest else ""))
    checklist_id = cache.checklists.create_checklist(credit, customer.display_name,
                                                     message=message, at=now())
    return load(cache.checklists, checklist_id)


def choose_target(cache: Cache, checklist_id: int, invoice_id: str,
                  amount_text: str) -> CreditChecklist:
    """Step 2: the invoice and the amount, validated against the cache as it is now
    (its values become the baseline the verification compares with)."""
    checklist = load(cache.checklists, checklist_id)
    if checklist.state not in (State.CHOOSE_INVOICE, State.READY_TO_APPLY):
        raise ChecklistError(f"the target can no longer change: the checklist is "
                             f"{checklist.state.value}")
    invoice = cache.records.ledger_invoice(invoice_id)
    if invoice is None or invoice.customer_id != checklist.customer_id:
        raise ChecklistError(f"invoice {invoice_id} is not an invoice of "
                             f"{checklist.customer_name}")
    if invoice.voided or invoice.balance <= ZERO:
        raise ChecklistError(f"invoice {invoice.doc_number} has nothing left to pay")
    credit = cache.checklists.ledger_credit(checklist.credit_kind, checklist.credit_id)
    if credit is None or credit.amount <= ZERO:
        raise ChecklistError(f"{checklist.credit_label} has no credit left in the cache")
    amount = parse_amount(amount_text, credit_remaining=credit.amount,
                          invoice_balance=invoice.balance, invoice_number=invoice.doc_number)
    oldest = default_invoice(cache.checklists.open_ledger_invoices(checklist.customer_id))
    which = " (the oldest open invoice as of the last sync)" if (
        oldest is not None and oldest.id == invoice.id) else ""
    return move(
        cache.checklists, checklist, (State.CHOOSE_INVOICE, State.READY_TO_APPLY),
        {"state": State.READY_TO_APPLY, "invoice_id": invoice.id,
         "invoice_number": invoice.doc_number, "invoice_total": invoice.total,
         "invoice_balance": invoice.balance, "amount": amount, "credit_amount": credit.amount},
        step=2, outcome="ok",
        message=(f"invoice {invoice.doc_number}{which}, balance {money_str(invoice.balance)} "
                f"of {money_str(invoice.total)}; amount {money_str(amount)}"))


def apply_via_api(checklists: Checklists, ledger: LedgerConnector, checklist_id: int, *,
                  policy: WritePolicy) -> CreditChecklist:
    """Step 3 by the app: store a request id, then send it. Resuming an APPLYING
    checklist re-sends the stored id (unless the ledger already shows the credit
    applied), so the credit is applied once whatever happened in between. Refused,
    with the line saying how to turn them on, when ledger writes are off."""
    checklist = load(checklists, checklist_id)
    if checklist.state is State.READY_TO_APPLY:
        checklist = _store_request(checklists, checklist, policy, f"sending {{what}} via "
                                   f"{ledger.kind} (request id {{request_id}})")
        resumed = False
    elif checklist.state is State.APPLYING:
        resumed = True
    else:
        raise ChecklistError(f"nothing to apply: the checklist is {checklist.state.value}")
    assert checklist.request_id and checklist.invoice_id and checklist.amount is not None
    try:
        if resumed and ledger_shows_applied(checklist, ledger):
            return move(checklists, checklist, (State.APPLYING,),
                        {"state": State.APPLIED, "applied_at": now()}, step=3, outcome="ok",
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
            return move(checklists, checklist, (State.APPLYING,),
                        {"state": State.READY_TO_APPLY, "request_id": None, "method": None},
                        step=3, outcome="fail", message=f"the ledger refused it: {exc}")
        checklists.add_checklist_event(
            checklist.id, step=3, outcome="fail", at=now(),
            message=(f"no answer from the ledger ({exc}); continuing re-sends request id "
                     f"{checklist.request_id}, which the ledger applies once"))
        raise ChecklistError(f"the ledger did not confirm the application: {exc}") from exc
    return move(checklists, checklist, (State.APPLYING,),
                {"state": State.APPLIED, "applied_at": now()}, step=3, outcome="ok",
                message=(f"applied via {ledger.kind} (request id {checklist.request_id}): "
                         f"invoice {invoice.doc_number} balance now "
                         f"{money_str(invoice.balance)} of {money_str(invoice.total)}"))


def _store_request(checklists: Checklists, checklist: CreditChecklist, policy: WritePolicy,
                   message: str) -> CreditChecklist:
    """READY_TO_APPLY -> APPLYING with a new request id, stored before anything is
    sent, so every later attempt sends the same one. ``message`` is formatted
    with ``what`` and ``request_id``."""
    if not policy.allows("ledger"):
        raise ChecklistError(policy.why_off("ledger"))
    request_id = str(uuid.uuid4())
    what = (f"{money_str(checklist.amount)} of {checklist.credit_label} to invoice "
            f"{checklist.invoice_number}")
    return move(
        checklists, checklist, (State.READY_TO_APPLY,),
        {"state": State.APPLYING, "method": ApplyMethod.API, "request_id": request_id},
        step=3, outcome="info", message=message.format(what=what, request_id=request_id))


def queue_for_web_connector(checklists: Checklists, checklist_id: int, *,
                            policy: WritePolicy) -> CreditChecklist:
    """Step 3 by the app on QuickBooks Desktop: the app cannot reach the company
    file, only the Web Connector can when it polls. So the request id is stored
    (APPLYING) and nothing is sent; the next Web Connector session applies it with
    :func:`apply_via_api` (the same id: once, whatever session retries it) before
    its sync reads the books, and verifies it after (``recon_tui.qbwc.credits``)."""
    checklist = load(checklists, checklist_id)
    if checklist.state is not State.READY_TO_APPLY:
        raise ChecklistError(f"nothing to queue: the checklist is {checklist.state.value}")
    return _store_request(checklists, checklist, policy,
                          f"{{what}} {QUEUED_NOTE} (request id {{request_id}})")


def confirm_manual(checklists: Checklists, checklist_id: int) -> CreditChecklist:
    """Step 3 by hand: the operator says it is done; steps 4-6 check that it is."""
    checklist = load(checklists, checklist_id)
    if checklist.state is not State.READY_TO_APPLY:
        raise ChecklistError(f"choose the invoice and amount first (the checklist is "
                             f"{checklist.state.value})")
    return move(checklists, checklist, (State.READY_TO_APPLY,),
                {"state": State.APPLIED, "method": ApplyMethod.MANUAL, "applied_at": now()},
                step=3, outcome="ok",
                message=(f"the operator applied {money_str(checklist.amount)} of "
                         f"{checklist.credit_label} to invoice {checklist.invoice_number} "
                         "by hand in the ledger"))


def cancel(checklists: Checklists, checklist_id: int) -> CreditChecklist:
    """Give up. An application already sent stays in the ledger: the trail says so."""
    checklist = load(checklists, checklist_id)
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
    return move(checklists, checklist, (checklist.state,),
                {"state": State.CANCELLED, "closed_at": now()}, step=step, outcome="info",
                message=message)


def recheck(checklists: Checklists, checklist_id: int) -> CreditChecklist:
    """Verify again from the resync on: after a failed verification (e.g. the credit
    had not really been applied, and now is), or once the credit has been recorded
    in a PSA that lagged."""
    checklist = load(checklists, checklist_id)
    if checklist.state not in (State.FAILED_VERIFICATION, State.LEDGER_DONE_PSA_LAGS):
        raise ChecklistError(f"nothing to re-check: the checklist is {checklist.state.value}")
    what = ("the PSA" if checklist.state is State.LEDGER_DONE_PSA_LAGS else "a failed step")
    return move(checklists, checklist, (checklist.state,),
                {"state": State.APPLIED, "failed_step": None, "finding": None, "note": None,
                 "needs_full_sync": None}, step=4, outcome="info",
                message=f"re-check of {what} requested: resync and verify both sides again")
