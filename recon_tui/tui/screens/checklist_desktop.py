"""The credit checklist's screen on QuickBooks Desktop (``[ledger] kind = "qbd"``).

The app never reaches the company file: only the Web Connector does, when it
polls ``recon-tui qbwc serve``. So on Desktop "apply" queues the checklist
(``credit_checklist.queue_for_web_connector``: its request id stored, nothing
sent), the next Web Connector session applies it and verifies it after its sync
(``recon_tui.qbwc.credits``), and this screen says so instead of sending; the
by-hand steps are Desktop's (Customers > Receive Payments > Discounts & Credits).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Button

from recon_tui.cache import Cache
from recon_tui.models import ChecklistState, CreditChecklist, LedgerInvoice
from recon_tui.text import printable
from recon_tui.tui.widgets.checklist_panels import CHOOSING, ManualStepsPanel
from recon_tui.tui.widgets.credit_choice import Job
from recon_tui.workflows import credit_checklist as wf
from recon_tui.workflows.write_policy import WritePolicy

if TYPE_CHECKING:
    from recon_tui.connectors.base import LedgerConnector

__all__ = ["ChecklistManualSteps", "apply_job", "desktop_labels", "desktop_status"]

State = ChecklistState
#: Applied (by the session or by hand), waiting for a session's sync to verify it.
_AWAITING = (State.APPLIED, State.RESYNCED, State.FULL_SYNCED)


def desktop_labels(screen: Screen[None], policy: WritePolicy) -> None:
    """On Desktop, `p` queues: its footer label and its button say so (the class's
    binding names QBO, which the QuickBooks Online screen keeps)."""
    if not policy.desktop:
        return
    bindings = screen._bindings.key_to_bindings  # this screen's own copy
    bindings["p"] = [dataclasses.replace(
        binding, description="Queue for QBD",
        tooltip="Queue the credit: the next Web Connector poll applies it (never twice)")
        for binding in bindings.get("p", [])]
    screen.query_one("#btn-apply-api", Button).label = "Queue for the Web Connector (p)"
    screen.refresh_bindings()


def apply_job(choose: Job, checklist_id: int, policy: WritePolicy,
              ledger: Callable[[], LedgerConnector]) -> Job:
    """Step 3 by the app: the choice saved, then sent through ``ledger`` (QuickBooks
    Online), or queued for the next Web Connector poll (Desktop)."""

    def job(cache: Cache) -> CreditChecklist | None:
        choose(cache)
        if policy.desktop:
            return wf.queue_for_web_connector(cache.checklists, checklist_id, policy=policy)
        return wf.apply_via_api(cache.checklists, ledger(), checklist_id, policy=policy)

    return job


def desktop_status(checklist: CreditChecklist | None, policy: WritePolicy) -> Text | None:
    """The status line of a Desktop checklist where it differs from QuickBooks
    Online's: what waits for the Web Connector; None elsewhere."""
    c = checklist
    if c is None or not policy.desktop:
        return None
    text = Text()
    if c.state is State.APPLYING:
        text.append(f"◷ {wf.QUEUED_NOTE[0].upper()}{wf.QUEUED_NOTE[1:]} "
                    f"(request id {printable(c.request_id)}), then verified after its sync.",
                    style="bold cyan")
        text.append("\n  Keep `recon-tui qbwc serve` running; x cancels it before then.",
                    style="dim")
    elif c.state in _AWAITING:
        text.append("◷ Applied: verified after the next Web Connector poll's sync.",
                    style="bold cyan")
    elif c.state in CHOOSING and policy.ledger:
        text.append("Choose the invoice (↑↓, Enter) and the amount (Enter saves it), then p "
                    "queues it for the next Web Connector poll, or apply it by hand in "
                    "QuickBooks Desktop and press b.")
    else:
        return None
    return text


class ChecklistManualSteps(ManualStepsPanel):
    """The by-hand panel; on Desktop, Desktop's Receive Payments clicks."""

    def show(self, checklist: CreditChecklist, *, selection: tuple[LedgerInvoice | None, str],
             invoices: list[LedgerInvoice], credit: Decimal, policy: WritePolicy,
             psa_kind: str) -> None:
        super().show(checklist, selection=selection, invoices=invoices, credit=credit,
                     policy=policy, psa_kind=psa_kind)
        if not policy.desktop or checklist.state is State.LEDGER_DONE_PSA_LAGS:
            return
        invoice, amount_text = selection
        amount: Decimal | None = checklist.amount
        number = checklist.invoice_number
        if checklist.state in CHOOSING:
            number = invoice.doc_number if invoice else None
            try:
                amount = wf.parse_amount(amount_text, credit_remaining=credit,
                                         invoice_balance=invoice.balance if invoice else credit)
            except wf.ChecklistError:
                amount = None
        steps = wf.manual_steps(checklist, number, amount, desktop=True)
        text = self._numbered("To apply it by hand in QuickBooks Desktop (then press b):",
                              steps, style="bold")
        if not policy.ledger and checklist.state in CHOOSING:
            text.append(f"\nQueueing it for the Web Connector is off: "
                        f"{printable(policy.why_off('ledger'))}.", style="yellow")
            self.update(text)
