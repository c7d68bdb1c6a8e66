"""The credit checklist's panels: the six steps, the by-hand instructions (for the
ledger, or for the PSA once the ledger is done), the verification of each side,
and the audit trail (also the client screen's block of checklists).

Display only: each panel is handed a checklist (and what it needs besides) and
draws it; every data string goes through ``printable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from recon_tui.cache.checklists import Checklists
from recon_tui.models import ChecklistEvent, ChecklistState, CreditChecklist, LedgerInvoice
from recon_tui.money import format_money
from recon_tui.text import printable
from recon_tui.wording import counted
from recon_tui.workflows.credit_steps import (
    ChecklistError,
    default_invoice,
    manual_steps,
    parse_amount,
    psa_steps,
    step_views,
)
from recon_tui.workflows.write_policy import WritePolicy, psa_display_name

State = ChecklistState
CHOOSING = (State.CHOOSE_INVOICE, State.READY_TO_APPLY)
AUTOMATIC = (State.APPLYING, State.APPLIED, State.RESYNCED, State.FULL_SYNCED)

STEP_MARK = {
    "done": ("✓", "bold green"),
    "current": ("▶", "bold cyan"),
    "failed": ("✗", "bold red"),
    "lagging": ("◐", "bold yellow"),
    "pending": ("·", "dim"),
    "skipped": ("–", "dim"),
    "cancelled": ("–", "yellow"),
}
OUTCOME_MARK = {"ok": ("✓", "green"), "fail": ("✗", "red"), "lag": ("◐", "yellow"),
                "info": ("·", "dim")}
STATE_STYLE = {State.DONE: "bold green", State.FAILED_VERIFICATION: "bold red",
               State.LEDGER_DONE_PSA_LAGS: "bold yellow", State.CANCELLED: "yellow"}


def stamp(moment: datetime | None) -> str:
    """Local time to the second: an audit trail orders what happened within a minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def describe(checklist: CreditChecklist) -> Text:
    """'credit memo 11261 (CM-1004) -> invoice 10040, 10.00 by hand': one line."""
    text = Text(f"#{checklist.id} {printable(checklist.credit_label)}")
    if checklist.credit_doc_number:
        text.append(f" ({printable(checklist.credit_doc_number)})")
    if checklist.invoice_number:
        text.append(f" → invoice {printable(checklist.invoice_number)}")
    if checklist.amount is not None:
        text.append(f", {format_money(checklist.amount)}")
    if checklist.method is not None:
        text.append(" via the API" if checklist.method.value == "api" else " by hand")
    return text


def state_text(checklist: CreditChecklist) -> Text:
    """The state, with the finding (red) or, once done, the verdict (dim)."""
    text = Text(checklist.state.value, style=STATE_STYLE.get(checklist.state, "bold cyan"))
    if checklist.finding:
        style = "yellow" if checklist.state is State.LEDGER_DONE_PSA_LAGS else "red"
        text.append(f": {printable(checklist.finding)}", style=style)
    elif checklist.state is State.DONE and checklist.note:
        text.append(f" ({printable(checklist.note.replace(chr(10), '; '))})", style="dim")
    return text


def trail_lines(events: Sequence[ChecklistEvent], indent: str = "") -> Text:
    """The audit trail: time, mark, step, what happened."""
    text = Text()
    for i, event in enumerate(events):
        if i:
            text.append("\n")
        mark, style = OUTCOME_MARK.get(event.outcome, ("·", "dim"))
        text.append(f"{indent}{stamp(event.at)} ", style="dim")
        text.append(mark, style=style)
        text.append(f" {event.step} ", style="bold")
        text.append(printable(event.message))
    return text


def title_text(checklist: CreditChecklist, credit_remaining: Decimal | None,
               open_invoices: int) -> Text:
    """The credit as noted, what the cache holds of it now, the customer, the state."""
    c = checklist
    text = Text(f"Credit checklist #{c.id}: ", style="bold")
    text.append(printable(c.credit_label), style="bold")
    if c.credit_doc_number:
        text.append(f" ({printable(c.credit_doc_number)})")
    text.append(f" of {c.credit_date.isoformat()}, ")
    text.append(f"{format_money(c.credit_amount)}", style="bold")
    text.append(" when noted")
    if credit_remaining is not None and credit_remaining != c.credit_amount:
        text.append(f", {format_money(credit_remaining)} in the cache now")
    elif credit_remaining is None:
        text.append(", no longer in the cache", style="dim")
    text.append("\nCustomer ")
    text.append(printable(c.customer_name), style="bold")
    text.append(f" ({printable(c.customer_id)}), {counted(open_invoices, 'open invoice')}   ")
    text.append_text(state_text(c))
    return text


def status_text(checklist: CreditChecklist | None, events: Sequence[ChecklistEvent], *,
                busy: str | None, error: str | None, policy: WritePolicy) -> Text:
    """The line under the buttons: what is running, what failed, or what to do next."""
    c = checklist
    text = Text()
    if busy is not None:
        text.append(f"▶ {printable(busy)}", style="bold cyan")
    elif error:
        text.append(f"✗ {printable(error)}", style="bold red")
        if c is not None and c.state in AUTOMATIC:
            text.append("   v continues from this step.", style="dim")
    elif c is None:
        pass
    elif c.state is State.DONE:
        text.append("✓ Done, both sides agree. ", style="bold green")
        final = next((e for e in reversed(events) if e.step == 6), None)
        text.append(printable(final.message if final else c.note))
    elif c.state is State.LEDGER_DONE_PSA_LAGS:
        text.append("◐ The ledger is done; the PSA lags: ", style="bold yellow")
        text.append(printable(c.finding))
        text.append("\n  Record the credit in the PSA by hand (the steps are on the right), then "
                    "v re-checks both sides; x cancels the checklist.", style="dim")
    elif c.state is State.FAILED_VERIFICATION:
        text.append(f"✗ Verification failed: {printable(c.finding)}", style="bold red")
        text.append("\n  Fix it in the ledger, then v re-checks; x cancels the checklist.",
                    style="dim")
    elif c.state is State.CANCELLED:
        text.append("This checklist was cancelled.", style="yellow")
    elif c.state in CHOOSING:
        text.append("Choose the invoice (↑↓, Enter) and the amount (Enter saves it), then ")
        if policy.ledger:
            text.append("p applies it via QuickBooks, or apply it by hand and press b.")
        else:
            text.append("apply it by hand and press b.")
            text.append(f"\n  {printable(policy.why_off('ledger'))}.", style="yellow")
    else:
        text.append("v continues the checklist from this step.")
    return text


class StepsPanel(Static):
    """✓ ▶ ✗ ◐ per step, with the time and message of its latest decisive event."""

    DEFAULT_CSS = "StepsPanel { height: auto; padding: 0 1; }"

    def show(self, checklist: CreditChecklist, events: list[ChecklistEvent]) -> None:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=1)
        # A step's title and, under it, the message of its latest event wrap at
        # 80 columns rather than lose their end; the time keeps its width.
        table.add_column(ratio=1)
        table.add_column(no_wrap=True, style="dim")
        for view in step_views(checklist, events):
            mark, style = STEP_MARK[view.status]
            line = Text(f"{view.number}. {printable(view.title)}")
            if view.detail:
                detail = Text(printable(view.detail), style="dim")
                if view.status in ("failed", "lagging"):
                    detail.stylize("bold red" if view.status == "failed" else "yellow")
                line.append("\n").append_text(detail)
            table.add_row(Text(mark, style=style), line, Text(stamp(view.at)))
        self.update(table)


class ManualStepsPanel(Static):
    """The exact clicks for doing by hand what the app would do: applying the credit
    in QuickBooks (with the line saying the API path is off, when it is), or, once
    the ledger is done and the PSA lags, recording it in the PSA."""

    DEFAULT_CSS = "ManualStepsPanel { width: 1fr; padding: 0 1; }"

    def show(self, checklist: CreditChecklist, *, selection: tuple[LedgerInvoice | None, str],
             invoices: list[LedgerInvoice], credit: Decimal, policy: WritePolicy,
             psa_kind: str) -> None:
        if checklist.state is State.LEDGER_DONE_PSA_LAGS:
            balance = (checklist.invoice_balance - checklist.amount
                       if checklist.invoice_balance is not None
                       and checklist.amount is not None else None)
            self._numbered(f"Next: record the credit in {psa_display_name(psa_kind)} by hand:",
                           psa_steps(checklist, psa_kind, ledger_balance=balance),
                           style="bold yellow")
            return
        invoice, amount_text = selection
        amount: Decimal | None
        if checklist.state in CHOOSING:
            try:
                amount = parse_amount(amount_text, credit_remaining=credit,
                                      invoice_balance=invoice.balance if invoice else credit)
            except ChecklistError:
                amount = None
            number = invoice.doc_number if invoice else None
        else:
            amount, number = checklist.amount, checklist.invoice_number
        default = default_invoice(invoices)
        steps = manual_steps(checklist, number, amount,
                             default_number=default.doc_number if default else None)
        text = self._numbered("To apply it by hand (then press b):", steps, style="bold")
        if not policy.ledger and checklist.state in CHOOSING:
            text.append(f"\nThe API path is off: {printable(policy.why_off('ledger'))}.",
                        style="yellow")
            self.update(text)

    def _numbered(self, heading: str, steps: Sequence[str], *, style: str) -> Text:
        text = Text(heading, style=style)
        for i, step in enumerate(steps, start=1):
            text.append(f"\n{i}. {printable(step)}")
        self.update(text)
        return text


class VerificationPanel(Static):
    """Step 6, side by side: the ledger's verdict and the PSA's, each ✓ or ✗, as
    recorded when it was verified (never ticked by hand). Hidden before then."""

    DEFAULT_CSS = "VerificationPanel { height: auto; padding: 0 1; }"

    def show(self, checklist: CreditChecklist) -> None:
        lines: list[tuple[str, str]] = []
        if checklist.state is State.DONE and checklist.note:
            lines = [(line, "green") for line in checklist.note.split("\n")]
        elif checklist.state is State.LEDGER_DONE_PSA_LAGS:
            lines = [(checklist.note or "ledger: verified ✓", "green"),
                     (checklist.finding or "PSA: lags ✗", "bold yellow")]
        elif checklist.state is State.FAILED_VERIFICATION and checklist.failed_step == 6:
            lines = [(f"ledger: {checklist.finding} ✗", "bold red"),
                     ("PSA: not compared until the ledger is right", "dim")]
        self.display = bool(lines)
        if not lines:
            return
        text = Text("Verification, each side on its own (step 6)", style="bold")
        for line, style in lines:
            text.append("\n  ")
            text.append(printable(line), style=style)
        self.update(text)


class ChecklistTrail(VerticalScroll):
    """The client screen's block: the client's checklists and every event of each.
    Hidden while the client has none."""

    DEFAULT_CSS = """
    ChecklistTrail {
        height: auto;
        max-height: 9;
        border-top: solid $primary-darken-2;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="checklist-trail-body")

    def show(self, checklists: Checklists, customer_ids: Sequence[str],
             client_key: str = "") -> None:
        """``client_key`` names the customer of a ledger-only client whose row is
        being refreshed (its row stays while it has a checklist)."""
        kind, _, ident = client_key.partition(":")
        ids = list(customer_ids) or ([ident] if kind == "ledger" and ident else [])
        shown = checklists.customer_checklists(ids) if ids else []
        self.display = bool(shown)
        if not shown:
            return
        events = checklists.checklist_events([c.id for c in shown])
        text = Text("Credit checklists (c lists the open ones)", style="bold")
        for checklist in shown:
            text.append("\n")
            text.append_text(describe(checklist))
            text.append(" — ")
            text.append_text(state_text(checklist))
            mine = [e for e in events if e.checklist_id == checklist.id]
            if mine:
                text.append("\n")
                text.append_text(trail_lines(mine, indent="  "))
        self.query_one("#checklist-trail-body", Static).update(text)
