"""What a credit checklist (seed 001) shows and asks, without moving it: the six
steps and where each stands, the operator's amount, and the exact clicks for
doing by hand what the app would otherwise do (apply the credit in QuickBooks,
record it in the PSA).

The transitions live in :mod:`recon_tui.workflows.credit_checklist`; the judgement
of each side in :mod:`recon_tui.workflows.credit_verification`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from recon_tui.models import (
    ChecklistEvent,
    ChecklistState,
    CreditChecklist,
    CreditKind,
    LedgerInvoice,
)
from recon_tui.money import CENT, ZERO, money_str

__all__ = [
    "STEP_TITLES",
    "ChecklistError",
    "StepView",
    "current_step",
    "default_amount",
    "default_invoice",
    "manual_steps",
    "parse_amount",
    "psa_kind_of",
    "psa_steps",
    "step_views",
]

State = ChecklistState

STEP_TITLES: tuple[str, ...] = (
    "Note the credit, the customer and its open invoices",
    "Choose the invoice and the amount",
    "Apply the credit in the ledger",
    "Resync the invoice and check its balance dropped",
    "Full sync from the day before, if the credit still shows",
    "Verify each side: the ledger, then the PSA",
)


class ChecklistError(ValueError):
    """The operator asked for something the checklist cannot do; the message says why."""


# --------------------------------------------------------------------------- the choice
def default_invoice(invoices: list[LedgerInvoice]) -> LedgerInvoice | None:
    """The oldest open invoice of ``invoices`` (the cache's, as of the last sync):
    where QuickBooks puts a credit when "Automatically apply credits" is on
    (Account and Settings > Advanced > Automation). The cache can be behind
    QuickBooks after a partial sync, so the screens say "as of the last sync".
    The setting and what it does: Intuit's community answer
    https://quickbooks.intuit.com/learn-support/en-us/payments/qbo-turn-off-auto-apply-for-customer-payments/01/1509006/highlight/true
    """
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


# --------------------------------------------------------------------------- by hand
def manual_steps(checklist: CreditChecklist, invoice_number: str | None = None,
                 amount: Decimal | None = None,
                 default_number: str | None = None, *, desktop: bool = False) -> list[str]:
    """The exact clicks in QuickBooks Online (``desktop``: QuickBooks Desktop) for
    applying this credit by hand."""
    number = invoice_number or checklist.invoice_number or "?"
    value = money_str(amount if amount is not None else checklist.amount) or "?"
    customer = checklist.customer_name
    if desktop:
        return _desktop_steps(checklist, number, value)
    if checklist.credit_kind is CreditKind.CREDIT_MEMO:
        doc = f" ({checklist.credit_doc_number})" if checklist.credit_doc_number else ""
        preselected = (f" (QuickBooks may tick the oldest open invoice for you; at the "
                       f"last sync that was {default_number})"
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


def _desktop_steps(checklist: CreditChecklist, number: str, value: str) -> list[str]:
    """Desktop's Receive Payments window, where a credit is applied to an invoice
    (Discounts & Credits > Credits; the payment amount stays 0.00) — Intuit's
    "Apply a credit memo to an invoice" for QuickBooks Desktop."""
    customer = checklist.customer_name
    if checklist.credit_kind is CreditKind.CREDIT_MEMO:
        doc = f" ({checklist.credit_doc_number})" if checklist.credit_doc_number else ""
        return [
            "In QuickBooks Desktop: Customers > Receive Payments.",
            f"Choose the customer {customer} (Received From); leave the amount at 0.00.",
            f"Select invoice {number} only, then click Discounts & Credits.",
            f"On the Credits tab, pick credit memo {checklist.credit_id}{doc} and set the "
            f"amount to use to {value}; click Done.",
            "Save & Close.",
        ]
    return [
        f"In QuickBooks Desktop: Customers > Customer Center, open {customer} and "
        f"double-click payment {checklist.credit_id} (it has unapplied money).",
        f"In Receive Payments, select invoice {number} only and set its payment to {value}.",
        "Save & Close.",
    ]


def psa_kind_of(book: str | None) -> str:
    """'connectwise' / 'autotask' from the PSA book a cache holds
    (``connectwise:<company>``), '' when no sync has said yet."""
    return (book or "").partition(":")[0]


def psa_steps(checklist: CreditChecklist, psa_kind: str, *, psa_number: str | None = None,
              ledger_balance: Decimal | None = None) -> list[str]:
    """The exact steps for recording in the PSA the credit the ledger now shows, so
    the PSA's owing (what the client sees in the portal) matches the ledger. Neither
    PSA learns of it by itself; a later release records it through ConnectWise's API."""
    number = psa_number or checklist.invoice_number or "?"
    value = money_str(checklist.amount) or "?"
    doc = f" ({checklist.credit_doc_number})" if checklist.credit_doc_number else ""
    reference = f"{checklist.credit_label}{doc}"
    verify = "Back here, press v: recon-tui resyncs the invoice and checks both sides again."
    if psa_kind == "connectwise":
        return [
            f"In ConnectWise PSA: Finance > Invoices, search for invoice {number} and open it.",
            f"Open its Payments tab and add a payment of {value}, dated the day the credit "
            f"was applied, with {reference} as its reference.",
            "Save.",
            verify,
        ]
    if psa_kind == "autotask":
        paid_off = ledger_balance is not None and ledger_balance <= ZERO
        return [
            "Autotask's API cannot record a payment, and Autotask keeps no part-payments: "
            "an invoice is either paid (its Paid Date) or owes its whole total.",
            (f"In Autotask, find invoice {number} in Invoice History and mark it paid: "
             "the ledger shows nothing left on it." if paid_off else
             f"Nothing can be recorded in Autotask for a part-payment: invoice {number} "
             f"shows its total owing until it is paid in full; note {reference} on it "
             "if your process wants a trace."),
            verify,
        ]
    return [f"In the PSA, record a payment of {value} on invoice {number}, with {reference} "
            "as its reference.", verify]


# --------------------------------------------------------------------------- the steps
@dataclass(frozen=True, slots=True)
class StepView:
    """One line of the checklist as a screen shows it."""

    number: int
    title: str
    #: "done" | "current" | "failed" | "lagging" | "pending" | "skipped" | "cancelled"
    status: str
    at: datetime | None
    detail: str


_REACHED = {  # state -> the step that is current in it
    State.CHOOSE_INVOICE: 2, State.READY_TO_APPLY: 3, State.APPLYING: 3, State.APPLIED: 4,
    State.RESYNCED: 5, State.FULL_SYNCED: 6, State.LEDGER_DONE_PSA_LAGS: 6, State.DONE: 7,
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
    """✓/▶/✗ per step, with the time and message of its latest decisive event.
    Step 6 is "lagging" while the ledger is verified and the PSA is not."""
    latest: dict[int, ChecklistEvent] = {}
    for event in events:
        if event.outcome in ("ok", "fail", "lag") or event.step not in latest:
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
            status = {State.FAILED_VERIFICATION: "failed", State.CANCELLED: "cancelled",
                      State.LEDGER_DONE_PSA_LAGS: "lagging"}.get(state, "current")
        else:
            status, at, detail = "pending", None, ""
        views.append(StepView(number, title, status, at, detail))
    return views
