"""Guided fixes of a discrepant row: record the missing payment in the system
that lacks it, or walk a change only a person can make; always verified by a
resync of the invoice, never ticked by hand.

Idempotent on retry and after a crash:

* QuickBooks: the ``requestid`` is chosen and stored before the first send; a
  retry sends the same one, so QBO applies the payment once;
* ConnectWise has no request id: the invoice's payment ids are stored before
  the first POST; a retry re-reads the list and, finding a new payment of the
  same amount and date, takes it as the earlier POST's instead of posting again.

A fix shows what it will write, to which system, before it writes (the
caller confirms), and writes only where the :class:`WritePolicy` allows. The
resync that verifies it comes from a :class:`~recon_tui.workflows.verify.Verifier`
the caller passes (the session's), over the same systems as the connectors.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from recon_tui.cache import Cache, PairRow
from recon_tui.cache.fixes import PaymentFixes
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.diagnosis import Diagnosis
from recon_tui.diagnosis import FixKind as DiagnosisFix
from recon_tui.fixes import FixKind, FixMethod, FixState, PaymentFix
from recon_tui.row_diagnosis import system_names
from recon_tui.transactions import InvoiceTxn, Side, TxnKind
from recon_tui.wording import counted
from recon_tui.workflows.verify import Verifier, VerifyError
from recon_tui.workflows.write_policy import WritePolicy, WritesOff


class FixError(RuntimeError):
    """A step could not be done; the message says why and what to do next."""


@dataclass(frozen=True, slots=True)
class FixPlan:
    """What a fix would do, shown before anything is written."""

    kind: FixKind
    target: str  # "ledger" | "psa"
    target_name: str
    diagnosis: Diagnosis
    row: PairRow
    amount: Decimal | None
    txn_date: date | None
    reference: str
    note: str
    steps: tuple[str, ...]
    #: Why the API path is not offered (writes off, an API that cannot), else None.
    api_blocked: str | None

    @property
    def number(self) -> str:
        return self.row.psa_number or self.row.ledger_number or ""

    @property
    def writes(self) -> str:
        """The one line the confirmation shows."""
        if self.kind is FixKind.BY_HAND:
            return f"Nothing is written by recon-tui: the change is made by hand in " \
                   f"{self.target_name}, then verified by a resync."
        assert self.amount is not None and self.txn_date is not None
        return (f"Will write to {self.target_name}: a payment of {self.amount:,.2f} dated "
                f"{self.txn_date.isoformat()} applied to invoice {self.number}"
                + (f", reference {self.reference}" if self.reference else "") + ".")


def _hand_steps(kind: FixKind, target_name: str, number: str, amount: Decimal | None,
                txn_date: date | None, reference: str, customer: str) -> tuple[str, ...]:
    money = f"{amount:,.2f}" if amount is not None else "the difference"
    when = txn_date.isoformat() if txn_date else "the payment's date"
    if kind is FixKind.RECORD_IN_LEDGER:
        return (f"In {target_name}: + New > Receive payment.",
                f"Customer: {customer}; Payment date: {when}"
                + (f"; Reference no.: {reference}" if reference else "") + ".",
                f"Under Outstanding transactions tick invoice {number} only; Amount "
                f"received: {money}.",
                "Save and close, then come back and press v to verify.")
    if target_name == "Autotask":
        return (f"In Autotask: Contracts > Invoices, find invoice {number}.",
                "Autotask records only that an invoice is paid: when this payment settles "
                "it, mark the invoice paid; otherwise record the payment in your "
                "accounting link.", "Then press v to verify.")
    return (f"In {target_name}: Finance > Invoice List, open invoice {number}.",
            f"On its Payments tab add a payment of {money} dated {when}.",
            "Save, then come back and press v to verify.")


def plan_fix(cache: Cache, row: PairRow, diagnosis: Diagnosis, policy: WritePolicy, *,
             psa: PsaConnector | None = None, today: date | None = None) -> FixPlan | None:
    """The fix the diagnosis calls for; None where the fix is not a checklist
    (map the customer, resync the invoice, nothing to do)."""
    psa_name, ledger_name = system_names(cache)
    number = row.psa_number or row.ledger_number or ""
    kind = {DiagnosisFix.RECORD_IN_LEDGER: FixKind.RECORD_IN_LEDGER,
            DiagnosisFix.RECORD_IN_PSA: FixKind.RECORD_IN_PSA,
            DiagnosisFix.BY_HAND: FixKind.BY_HAND}.get(diagnosis.fix)
    if kind is None:
        return None
    target = ("ledger" if kind is FixKind.RECORD_IN_LEDGER else
              "psa" if kind is FixKind.RECORD_IN_PSA else
              (diagnosis.fix_side.value if diagnosis.fix_side else "ledger"))
    target_name = ledger_name if target == "ledger" else psa_name
    source = diagnosis.txns[0] if len(diagnosis.txns) == 1 else None
    txn_date = source.date if source else (today or date.today())
    other = psa_name if target == "ledger" else ledger_name
    reference = f"{other} {source.txn_id}"[:21] if source else ""
    note = (f"recon-tui: {diagnosis.cause.value} on invoice {number}"
            + (f" ({other} {source.label})" if source else ""))
    customer = ""
    if row.ledger_customer_id:
        held = cache.records.customer(row.ledger_customer_id)
        customer = held.display_name if held else row.ledger_customer_id
    amount = diagnosis.amount if kind is not FixKind.BY_HAND else None
    steps = (_hand_steps(kind, target_name, number, amount, txn_date, reference, customer)
             if kind is not FixKind.BY_HAND else
             (diagnosis.fix_text, "Then come back and press v to verify."))
    blocked: str | None = None
    if kind is FixKind.BY_HAND:
        blocked = "this fix needs a person"
    elif not policy.allows("ledger" if target == "ledger" else "psa"):
        blocked = policy.why_off("ledger" if target == "ledger" else "psa")
    elif target == "psa" and psa is not None and not psa.lists_payments:
        blocked = f"{psa_name}'s API cannot record payments; do it by hand"
    elif kind is FixKind.RECORD_IN_LEDGER and not row.ledger_customer_id:
        blocked = "the ledger invoice's customer is unknown; do it by hand"
    return FixPlan(kind, target, target_name, diagnosis, row, amount,
                   txn_date if kind is not FixKind.BY_HAND else None, reference, note,
                   steps, blocked)


def start_fix(fixes: PaymentFixes, plan: FixPlan) -> PaymentFix:
    """Store the planned fix (or return the unfinished one of this invoice)."""
    held = fixes.open_fix_for(plan.number)
    if held is not None:
        return held
    return fixes.create_fix(
        kind=plan.kind, target=plan.target, cause=plan.diagnosis.cause.value,
        number=plan.number, psa_invoice_id=plan.row.psa_invoice_id,
        ledger_invoice_id=plan.row.ledger_invoice_id,
        ledger_customer_id=plan.row.ledger_customer_id, amount=plan.amount,
        txn_date=plan.txn_date, reference=plan.reference, note=plan.note,
        message=f"planned: {plan.writes}")


def apply_via_api(cache: Cache, fix_id: int, psa: PsaConnector, ledger: LedgerConnector,
                  policy: WritePolicy, verifier: Verifier) -> PaymentFix:
    """Send the fix's write (once, whatever happened before), then verify it."""
    fix = _open(cache.fixes, fix_id)
    if fix.state in (FixState.SENT, FixState.FAILED_VERIFICATION):
        return verify(cache, fix.id, verifier)
    try:
        policy.require("ledger" if fix.target == "ledger" else "psa")
    except WritesOff as exc:
        raise FixError(str(exc)) from None
    if fix.kind is FixKind.RECORD_IN_LEDGER:
        fix = _send_to_ledger(cache.fixes, fix, ledger)
    elif fix.kind is FixKind.RECORD_IN_PSA:
        fix = _send_to_psa(cache.fixes, fix, psa)
    else:
        raise FixError("this fix is made by hand: do the steps, then press v to verify")
    return verify(cache, fix.id, verifier)


def _open(fixes: PaymentFixes, fix_id: int) -> PaymentFix:
    fix = fixes.fix(fix_id)
    if fix is None:
        raise FixError(f"there is no fix #{fix_id}")
    if not fix.state.is_open:
        raise FixError(f"fix #{fix_id} is {fix.state.value}")
    return fix


def _send_to_ledger(fixes: PaymentFixes, fix: PaymentFix, ledger: LedgerConnector) -> PaymentFix:
    assert fix.amount is not None and fix.txn_date is not None
    if not fix.ledger_invoice_id or not fix.ledger_customer_id:
        raise FixError("the ledger invoice is not known; resync the invoice first")
    request_id = fix.request_id or uuid.uuid4().hex
    fix = fixes.update_fix(fix.id, step=2, outcome="info", state=FixState.SENDING,
                           method=FixMethod.API, request_id=request_id,
                           message=f"sending the payment with request id {request_id}")
    try:
        ledger.record_payment(fix.ledger_customer_id, fix.ledger_invoice_id,
                              fix.amount, fix.txn_date, fix.reference, fix.note, request_id)
    except ConnectorError as exc:
        fixes.update_fix(fix.id, step=2, outcome="fail", finding=str(exc),
                         message=f"not confirmed: {exc}; retrying sends the same request id, "
                         "so it is applied once")
        raise FixError(str(exc)) from exc
    return fixes.update_fix(fix.id, step=3, outcome="ok", state=FixState.SENT,
                            message="the ledger accepted the payment")


def find_posted(payments: Iterable[InvoiceTxn], amount: Decimal, payment_date: date,
                known_before: set[str]) -> InvoiceTxn | None:
    """A payment of this amount and date that was not there before the first
    attempt: the earlier POST went through although its answer was lost."""
    for txn in payments:
        if (txn.txn_id not in known_before and txn.amount == amount
                and txn.date == payment_date and txn.kind is TxnKind.PAYMENT):
            return txn
    return None


def _send_to_psa(fixes: PaymentFixes, fix: PaymentFix, psa: PsaConnector) -> PaymentFix:
    assert fix.amount is not None and fix.txn_date is not None
    if not fix.psa_invoice_id:
        raise FixError("the PSA invoice is not known; resync the invoice first")
    if not psa.lists_payments:
        raise FixError("this PSA's API cannot record payments; do it by hand")
    try:
        current = psa.invoice_payments(fix.psa_invoice_id)
        if fix.state is FixState.SENDING and fix.known_before is not None:
            earlier = find_posted(current, fix.amount, fix.txn_date, set(fix.known_before))
            if earlier is not None:
                return fixes.update_fix(
                    fix.id, step=3, outcome="ok", state=FixState.SENT, posted_id=earlier.txn_id,
                    message=f"the earlier attempt did reach the PSA (payment {earlier.txn_id}); "
                    "not posted again")
            known = set(fix.known_before)
        else:
            known = {t.txn_id for t in current}
            fix = fixes.update_fix(fix.id, step=2, outcome="info", state=FixState.SENDING,
                                   method=FixMethod.API, known_before=known,
                                   message=f"the invoice has "
                                   f"{counted(len(known), 'payment')}; posting")
        posted = psa.record_payment(fix.psa_invoice_id, fix.amount, fix.txn_date)
    except ConnectorError as exc:
        fixes.update_fix(fix.id, step=2, outcome="fail", finding=str(exc),
                         message=f"not confirmed: {exc}; a retry re-reads the invoice's "
                         "payments first and never posts twice")
        raise FixError(str(exc)) from exc
    return fixes.update_fix(fix.id, step=3, outcome="ok", state=FixState.SENT,
                            posted_id=posted.txn_id,
                            message=f"the PSA recorded payment {posted.txn_id}")


def done_by_hand(cache: Cache, fix_id: int, verifier: Verifier) -> PaymentFix:
    """The tech says the by-hand steps are done: verify them."""
    fix = _open(cache.fixes, fix_id)
    cache.fixes.update_fix(fix.id, step=3, outcome="info", state=FixState.AWAITING_HAND,
                     method=FixMethod.HAND, message="the tech reports the steps done")
    return verify(cache, fix.id, verifier)


def verify(cache: Cache, fix_id: int, verifier: Verifier) -> PaymentFix:
    """Resync the invoice from both systems; done only when the row agrees."""
    fix = _open(cache.fixes, fix_id)
    try:
        result = verifier.resync(fix.number)
    except VerifyError as exc:
        cache.fixes.update_fix(fix.id, step=4, outcome="fail", finding=str(exc),
                         message=f"verification could not read both systems: {exc}")
        raise FixError(str(exc)) from exc
    rows = [r for r in result.after
            if r.psa_invoice_id == fix.psa_invoice_id or
            (fix.ledger_invoice_id and r.ledger_invoice_id == fix.ledger_invoice_id)]
    lagging = [r for r in rows if r.discrepant]
    if rows and not lagging:
        row = rows[0]
        return cache.fixes.update_fix(
            fix.id, step=4, outcome="ok", state=FixState.DONE, closed_at=datetime.now(UTC),
            finding=None,
            message=f"verified: both sides show {row.psa_owing or 0:,.2f} owing; difference 0.00")
    psa_name, ledger_name = system_names(cache)
    row = (lagging or rows or [None])[0]
    if row is None:
        text = f"invoice {fix.number} is no longer in the cache after the resync"
    else:
        text = (f"{psa_name} owing {row.psa_owing or 0:,.2f}, {ledger_name} balance "
                f"{row.ledger_owing or 0:,.2f}: still {abs(row.difference_owing):,.2f} apart "
                f"({ledger_name if fix.target == 'ledger' else psa_name} has not changed yet)")
    cache.fixes.update_fix(fix.id, step=4, outcome="fail", state=FixState.FAILED_VERIFICATION,
                     finding=text, message=f"not verified: {text}")
    raise FixError(f"not verified: {text}")


def cancel(fixes: PaymentFixes, fix_id: int) -> PaymentFix:
    fix = _open(fixes, fix_id)
    if fix.state in (FixState.SENDING, FixState.SENT):
        raise FixError("the write may have reached the system: verify (v) instead of "
                       "cancelling")
    return fixes.update_fix(fix.id, step=5, outcome="info", state=FixState.CANCELLED,
                            closed_at=datetime.now(UTC), message="cancelled by the tech")


__all__ = ["FixError", "FixPlan", "Side", "apply_via_api", "cancel", "done_by_hand",
           "find_posted", "plan_fix", "start_fix", "verify"]
