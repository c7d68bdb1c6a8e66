"""The credit-application checklist (seed 001) on screen: one checklist, the list of
open ones, and the audit-trail block the client screen shows.

The screens only display and collect choices; every step runs
``recon_tui.workflows.credit_checklist`` in a thread worker on its own cache
connection, so a resync or full sync never blocks the UI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Static

from recon_tui.cache import Cache
from recon_tui.models import ChecklistEvent, ChecklistState, CreditChecklist, LedgerInvoice
from recon_tui.money import format_money
from recon_tui.text import printable
from recon_tui.tui.formatting import literal, money
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import ReconScreenMixin
from recon_tui.tui.widgets.virtual_table import Column, ListRowSource, TableRow, VirtualTable
from recon_tui.workflows import credit_checklist as wf
from recon_tui.workflows.credit_checklist import ChecklistError

State = ChecklistState
CHOOSING = (State.CHOOSE_INVOICE, State.READY_TO_APPLY)
AUTOMATIC = (State.APPLYING, State.APPLIED, State.RESYNCED, State.FULL_SYNCED)

STEP_MARK = {
    "done": ("✓", "bold green"),
    "current": ("▶", "bold cyan"),
    "failed": ("✗", "bold red"),
    "pending": ("·", "dim"),
    "skipped": ("–", "dim"),
    "cancelled": ("–", "yellow"),
}
OUTCOME_MARK = {"ok": ("✓", "green"), "fail": ("✗", "red"), "info": ("·", "dim")}

INVOICE_COLUMNS = (
    Column("date", "Date", 10),
    Column("number", "Invoice #", 10),
    Column("total", "Total", 11, align="right"),
    Column("balance", "Balance", 11, align="right"),
    Column("note", "", 24, flex=True),
)
LIST_COLUMNS = (
    Column("id", "#", 5, align="right"),
    Column("updated", "Updated", 16),
    Column("customer", "Customer", 22),
    Column("credit", "Credit", 18),
    Column("invoice", "Invoice", 8),
    Column("amount", "Amount", 10, align="right"),
    Column("step", "Step", 4, align="right"),
    Column("state", "State", 40, flex=True),
)


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
    style = {State.DONE: "bold green", State.FAILED_VERIFICATION: "bold red",
             State.CANCELLED: "yellow"}.get(checklist.state, "bold cyan")
    text = Text(checklist.state.value, style=style)
    if checklist.finding:
        text.append(f": {printable(checklist.finding)}", style="red")
    elif checklist.state is State.DONE and checklist.note:
        text.append(f" ({printable(checklist.note)})", style="dim")
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

    def show(self, cache: Cache, customer_ids: Sequence[str], client_key: str = "") -> None:
        """``client_key`` covers a ledger-only client whose summary row is gone (its
        only credit was just applied): its key still names the customer."""
        kind, _, ident = client_key.partition(":")
        ids = list(customer_ids) or ([ident] if kind == "ledger" and ident else [])
        checklists = cache.customer_checklists(ids) if ids else []
        self.display = bool(checklists)
        if not checklists:
            return
        events = cache.checklist_events([c.id for c in checklists])
        text = Text("Credit checklists (c lists the open ones)", style="bold")
        for checklist in checklists:
            text.append("\n")
            text.append_text(describe(checklist))
            text.append(" — ")
            text.append_text(state_text(checklist))
            mine = [e for e in events if e.checklist_id == checklist.id]
            if mine:
                text.append("\n")
                text.append_text(trail_lines(mine, indent="  "))
        self.query_one("#checklist-trail-body", Static).update(text)


class _Rows:
    """A keyed row list refilled in place, so ``VirtualTable.reload`` keeps the cursor
    on the same invoice (and the amount being typed for it)."""

    def __init__(self) -> None:
        self._rows: list[TableRow] = []
        self._index: dict[str, int] = {}

    def replace(self, rows: Sequence[TableRow]) -> None:
        self._rows = list(rows)
        self._index = {row.key: i for i, row in enumerate(self._rows)}

    def count(self) -> int:
        return len(self._rows)

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        return self._rows[offset:offset + limit]

    def index_of(self, key: str) -> int | None:
        return self._index.get(key)


class InvoicePicker(VirtualTable):
    """The customer's open invoices: Enter moves to the amount."""

    BINDINGS: ClassVar = [Binding("enter", "select_cursor", "Amount", id="checklist_pick")]


class ChecklistScreen(ReconScreenMixin, Screen[None]):
    """One checklist: its six steps, the choice of invoice and amount, the two ways to
    apply, and the findings. Re-opening it continues where it stood."""

    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back", id="checklist_back"),
        Binding("p", "apply_api", "Apply via QBO", id="checklist_apply_api",
                tooltip="Apply the credit through the QuickBooks API (never twice)"),
        Binding("b", "applied_by_hand", "Done by hand", id="checklist_by_hand",
                tooltip="I applied it by hand in QuickBooks: verify it now"),
        Binding("v", "continue", "Re-check", id="checklist_continue",
                tooltip="Continue where the checklist stopped, or re-run a verification"),
        Binding("x", "cancel_checklist", "Cancel", id="checklist_cancel",
                tooltip="Cancel this checklist (press twice)"),
    ]

    DEFAULT_CSS = """
    ChecklistScreen #checklist-title { height: auto; padding: 0 1; background: $boost; }
    ChecklistScreen #checklist-steps { height: auto; padding: 0 1; }
    ChecklistScreen #checklist-work { height: 13; }
    ChecklistScreen #checklist-choice { width: 72; }
    ChecklistScreen #checklist-manual { width: 1fr; padding: 0 1; }
    ChecklistScreen #checklist-invoices { height: 1fr; }
    ChecklistScreen #amount-row { height: 3; }
    ChecklistScreen #amount-label { width: auto; padding: 1 1 0 1; }
    ChecklistScreen #checklist-amount { width: 16; }
    ChecklistScreen #amount-error { width: 1fr; padding: 1 1 0 1; color: $text-error; }
    ChecklistScreen #checklist-buttons { height: 3; }
    ChecklistScreen #checklist-buttons Button { margin-right: 1; }
    ChecklistScreen #checklist-status { height: auto; padding: 0 1; }
    ChecklistScreen #checklist-trail { height: 1fr; border-top: solid $primary-darken-2;
                                       padding: 0 1; }
    """

    def __init__(self, *, checklist_id: int | None = None, credit_key: str | None = None) -> None:
        super().__init__()
        if checklist_id is None and credit_key is None:
            raise ValueError("a checklist id or a credit key")
        self.checklist_id = checklist_id
        self.credit_key = credit_key
        self.checklist: CreditChecklist | None = None
        self.events: list[ChecklistEvent] = []
        self.invoices: list[LedgerInvoice] = []
        self.credit_remaining: Decimal | None = None
        self._invoice_rows = _Rows()
        self.busy = False
        self.error: str | None = None
        self.progress_text = ""
        self._confirm_cancel = False

    # -- layout
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Starting the checklist…"), id="checklist-title")
        yield Static(id="checklist-steps")
        with Horizontal(id="checklist-work"):
            with Vertical(id="checklist-choice"):
                yield InvoicePicker(INVOICE_COLUMNS, id="checklist-invoices",
                                    empty_text="No open invoices")
                with Horizontal(id="amount-row"):
                    yield Static("Amount", id="amount-label")
                    yield Input(id="checklist-amount", placeholder="0.00")
                    yield Static(id="amount-error")
            yield Static(id="checklist-manual")
        with Horizontal(id="checklist-buttons"):
            yield Button("Apply via QuickBooks (p)", id="btn-apply-api", variant="primary")
            yield Button("I applied it by hand (b)", id="btn-by-hand")
            yield Button("Continue / re-check (v)", id="btn-continue")
            yield Button("Cancel checklist (x)", id="btn-cancel", variant="error")
        yield Static(id="checklist-status")
        with VerticalScroll(id="checklist-trail"):
            yield Static(id="checklist-trail-body")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#checklist-invoices", VirtualTable).focus()
        if self.checklist_id is None:
            key = self.credit_key or ""
            self._run("Starting the checklist…", lambda cache: wf.start_checklist(cache, key),
                      advance=False)
        else:
            self._load(initial=True)

    # -- reading and drawing
    def _load(self, *, initial: bool = False) -> None:
        """Re-read the checklist from the cache and redraw; an automatic step left
        pending (after a restart) continues at once."""
        assert self.checklist_id is not None
        checklist = self.cache.checklist(self.checklist_id)
        if checklist is None:
            self.query_one("#checklist-title", Static).update(
                Text(f"Checklist #{self.checklist_id} does not exist.", style="bold red"))
            return
        first_draw = self.checklist is None
        self.checklist = checklist
        self.events = self.cache.checklist_events([checklist.id])
        credit = self.cache.ledger_credit(checklist.credit_kind, checklist.credit_id)
        self.credit_remaining = credit.amount if credit else None
        self.invoices = self.cache.open_ledger_invoices(checklist.customer_id)
        self._draw_title()
        self._draw_steps()
        self._draw_invoices(reset=first_draw)
        self._draw_manual()
        self._draw_status()
        self._draw_trail()
        self._set_enabled()
        self.refresh_bindings()
        if initial and checklist.state in AUTOMATIC and not self.busy:
            self._run("Continuing where the checklist stopped…", None, advance=True)

    def _draw_title(self) -> None:
        c = self.checklist
        assert c is not None
        text = Text(f"Credit checklist #{c.id}: ", style="bold")
        text.append(printable(c.credit_label), style="bold")
        if c.credit_doc_number:
            text.append(f" ({printable(c.credit_doc_number)})")
        text.append(f" of {c.credit_date.isoformat()}, ")
        text.append(f"{format_money(c.credit_amount)}", style="bold")
        text.append(" when noted")
        if self.credit_remaining is not None and self.credit_remaining != c.credit_amount:
            text.append(f", {format_money(self.credit_remaining)} in the cache now")
        elif self.credit_remaining is None:
            text.append(", no longer in the cache", style="dim")
        text.append("\nCustomer ")
        text.append(printable(c.customer_name), style="bold")
        text.append(f" ({printable(c.customer_id)}), {len(self.invoices)} open invoice(s)   ")
        text.append_text(state_text(c))
        self.query_one("#checklist-title", Static).update(text)

    def _draw_steps(self) -> None:
        assert self.checklist is not None
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, style="dim")
        table.add_column()
        for view in wf.step_views(self.checklist, self.events):
            mark, style = STEP_MARK[view.status]
            detail = Text(printable(view.detail))
            if view.status == "failed":
                detail.stylize("bold red")
            table.add_row(Text(mark, style=style), Text(f"{view.number}. {printable(view.title)}"),
                          Text(stamp(view.at)), detail)
        self.query_one("#checklist-steps", Static).update(table)

    def _draw_invoices(self, *, reset: bool) -> None:
        c = self.checklist
        assert c is not None
        default = wf.default_invoice(self.invoices)
        rows = []
        for invoice in self.invoices:
            note = Text()
            if default is not None and invoice.id == default.id:
                note.append("oldest: ledger default", style="italic")
            if invoice.id == c.invoice_id:
                note.append("  chosen" if note else "chosen", style="bold")
            rows.append(TableRow(key=invoice.id, cells=(
                Text(invoice.date.isoformat()), literal(invoice.doc_number), money(invoice.total),
                money(invoice.balance), note)))
        table = self.query_one("#checklist-invoices", VirtualTable)
        if not reset:
            # Same table, fresh rows: the cursor (and an amount being typed) stay put.
            self._invoice_rows.replace(rows)
            table.reload()
            return
        self._invoice_rows.replace(rows)
        table.set_source(self._invoice_rows)
        target = c.invoice_id or (default.id if default else None)
        index = next((i for i, inv in enumerate(self.invoices) if inv.id == target), 0)
        table.move_cursor(index)
        self._fill_amount(self.invoices[index] if self.invoices else None)

    def _fill_amount(self, invoice: LedgerInvoice | None) -> None:
        """The chosen amount for the chosen invoice, else min(credit, balance)."""
        c = self.checklist
        if c is None or invoice is None or c.state not in CHOOSING:
            if c is not None and c.amount is not None:
                self.query_one("#checklist-amount", Input).value = f"{c.amount:.2f}"
            return
        if invoice.id == c.invoice_id and c.amount is not None:
            amount = c.amount
        else:
            amount = wf.default_amount(self._credit(), invoice.balance)
        self.query_one("#checklist-amount", Input).value = f"{amount:.2f}"
        self.query_one("#amount-error", Static).update("")

    def _credit(self) -> Decimal:
        """What is left of the credit now (the cache), else what was noted."""
        assert self.checklist is not None
        return (self.credit_remaining if self.credit_remaining is not None
                else self.checklist.credit_amount)

    def _selection(self) -> tuple[LedgerInvoice | None, str]:
        row = self.query_one("#checklist-invoices", VirtualTable).current_row
        invoice = next((i for i in self.invoices if row and i.id == row.key), None)
        return invoice, self.query_one("#checklist-amount", Input).value

    def _draw_manual(self) -> None:
        c = self.checklist
        assert c is not None
        invoice, amount_text = self._selection()
        if c.state in CHOOSING:
            try:
                amount = wf.parse_amount(
                    amount_text, credit_remaining=self._credit(),
                    invoice_balance=invoice.balance if invoice else self._credit())
            except ChecklistError:
                amount = None
            number = invoice.doc_number if invoice else None
        else:
            amount, number = c.amount, c.invoice_number
        default = wf.default_invoice(self.invoices)
        steps = wf.manual_steps(c, number, amount,
                                default_number=default.doc_number if default else None)
        text = Text("To apply it by hand (then press b):", style="bold")
        for i, step in enumerate(steps, start=1):
            text.append(f"\n{i}. {printable(step)}")
        self.query_one("#checklist-manual", Static).update(text)

    def _draw_status(self) -> None:
        c = self.checklist
        text = Text()
        if self.busy:
            text.append(f"▶ {printable(self.progress_text)}", style="bold cyan")
        elif self.error:
            text.append(f"✗ {printable(self.error)}", style="bold red")
            if c is not None and c.state in AUTOMATIC:
                text.append("   v continues from this step.", style="dim")
        elif c is None:
            pass
        elif c.state is State.DONE:
            text.append("✓ Done. ", style="bold green")
            final = next((e for e in reversed(self.events) if e.step == 6), None)
            text.append(printable(final.message if final else c.note))
        elif c.state is State.FAILED_VERIFICATION:
            text.append(f"✗ Verification failed: {printable(c.finding)}", style="bold red")
            text.append("\n  Fix it in the ledger, then v re-checks; x cancels the checklist.",
                        style="dim")
        elif c.state is State.CANCELLED:
            text.append("This checklist was cancelled.", style="yellow")
        elif c.state in CHOOSING:
            text.append("Choose the invoice (↑↓, Enter) and the amount (Enter saves it), then "
                        "p applies it via QuickBooks, or apply it by hand and press b.")
        else:
            text.append("v continues the checklist from this step.")
        self.query_one("#checklist-status", Static).update(text)

    def _draw_trail(self) -> None:
        text = Text("Audit trail\n", style="bold")
        text.append_text(trail_lines(self.events))
        self.query_one("#checklist-trail-body", Static).update(text)

    def _set_enabled(self) -> None:
        c = self.checklist
        state = c.state if c else None
        choosing = state in CHOOSING and not self.busy
        self.query_one("#checklist-invoices", VirtualTable).disabled = not choosing
        self.query_one("#checklist-amount", Input).disabled = not choosing
        self.query_one("#btn-apply-api", Button).disabled = not choosing
        self.query_one("#btn-by-hand", Button).disabled = not choosing
        self.query_one("#btn-continue", Button).disabled = self.busy or not (
            state in AUTOMATIC or state is State.FAILED_VERIFICATION)
        self.query_one("#btn-cancel", Button).disabled = self.busy or not (
            state is not None and state.is_open)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do nothing in this state leave the footer; busy ones grey out."""
        state = self.checklist.state if self.checklist else None
        applicable = {
            "apply_api": state in CHOOSING,
            "applied_by_hand": state in CHOOSING,
            "continue": state in AUTOMATIC or state is State.FAILED_VERIFICATION,
            "cancel_checklist": state is not None and state.is_open,
        }
        if action not in applicable:
            return True
        if not applicable[action]:
            return False
        return None if self.busy else True

    # -- running workflow steps off the UI thread
    def _run(self, label: str, job: Callable[[Cache], CreditChecklist | None] | None, *,
             advance: bool) -> None:
        self.busy = True
        self.error = None
        self.progress_text = label
        self._confirm_cancel = False
        if self.checklist is not None:
            self._set_enabled()
            self._draw_status()
            self.refresh_bindings()
        self._worker(job, advance)

    @work(thread=True, group="checklist", name="checklist step")
    def _worker(self, job: Callable[[Cache], CreditChecklist | None] | None,
                advance: bool) -> None:
        app = self.recon_app
        checklist_id = self.checklist_id
        cache = Cache(app.cache_path)
        error: str | None = None
        try:
            if job is not None:
                checklist = job(cache)
                if checklist is not None and checklist_id is None:
                    checklist_id = checklist.id
            if advance and checklist_id is not None:
                backend = app.get_backend()
                wf.advance(cache, backend.psa, backend.ledger, checklist_id,
                           progress=lambda text: app.call_from_thread(self._progress, text))
        except ChecklistError as exc:
            error = str(exc)
        except Exception as exc:  # shown to the operator, never swallowed
            error = f"{type(exc).__name__}: {exc}"
        finally:
            cache.close()
        app.call_from_thread(self._finished, checklist_id, error)

    def _progress(self, text: str) -> None:
        self.progress_text = text
        if self.is_attached:
            self._draw_status()

    def _finished(self, checklist_id: int | None, error: str | None) -> None:
        self.busy = False
        self.error = error
        self.checklist_id = checklist_id
        self.recon_app.broadcast(CacheChanged)
        if not self.is_attached:  # the operator left meanwhile; the cache has it all
            if error:
                self.app.notify(f"Credit checklist: {printable(error)}", severity="error",
                                markup=False)
            return
        if checklist_id is None:  # could not even start
            self.query_one("#checklist-title", Static).update(
                Text(f"No checklist: {printable(error)}", style="bold red"))
            self.notify(f"Cannot start a checklist: {printable(error)}", severity="error",
                        markup=False)
            return
        # `a` on a credit whose checklist was interrupted continues it, like `c` does.
        self._load(initial=self.checklist is None)
        if self.checklist is not None and self.checklist.state in CHOOSING:
            if error:
                self.query_one("#amount-error", Static).update(literal(error))
            if self.focused is None:
                self.query_one("#checklist-invoices", VirtualTable).focus()

    def on_cache_changed(self, _: CacheChanged) -> None:
        if self.checklist_id is not None and not self.busy:
            self._load()

    # -- the operator's choices
    @on(VirtualTable.RowHighlighted, "#checklist-invoices")
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        invoice = next((i for i in self.invoices if i.id == event.row.key), None)
        if self.checklist is not None and self.checklist.state in CHOOSING:
            self._fill_amount(invoice)
            self._draw_manual()

    @on(VirtualTable.RowSelected, "#checklist-invoices")
    def _selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.query_one("#checklist-amount", Input).focus()

    @on(Input.Changed, "#checklist-amount")
    def _amount_changed(self, _: Input.Changed) -> None:
        if self.checklist is not None:
            self._draw_manual()

    @on(Input.Submitted, "#checklist-amount")
    def _amount_submitted(self, _: Input.Submitted) -> None:
        """Enter saves the choice (validated) and hands the keys back to the table."""
        job = self._choose_job()
        if job is not None:
            self.query_one("#checklist-invoices", VirtualTable).focus()
            self._run("Saving the choice…", job, advance=False)

    def _choose_job(self) -> Callable[[Cache], CreditChecklist | None] | None:
        """Step 2 from what is on screen, or None (with the reason shown) when the
        amount cannot be right; nothing is saved when the choice is unchanged."""
        c = self.checklist
        if c is None or c.state not in CHOOSING or self.busy:
            return None
        invoice, amount_text = self._selection()
        if invoice is None:
            self._refuse("There is no open invoice to apply the credit to.")
            return None
        try:
            amount = wf.parse_amount(amount_text, credit_remaining=self._credit(),
                                     invoice_balance=invoice.balance,
                                     invoice_number=invoice.doc_number)
        except ChecklistError as exc:
            self._refuse(str(exc))
            return None
        self.query_one("#amount-error", Static).update("")
        checklist_id = c.id
        if c.state is State.READY_TO_APPLY and c.invoice_id == invoice.id and c.amount == amount:
            return lambda cache: None
        return lambda cache: wf.choose_target(cache, checklist_id, invoice.id, amount_text)

    def _refuse(self, message: str) -> None:
        self.query_one("#amount-error", Static).update(literal(message))
        self.error = message
        self._draw_status()

    def action_apply_api(self) -> None:
        """Step 3 by the app: the request id is stored before QuickBooks is called."""
        choose = self._choose_job()
        if choose is None:
            return
        app = self.recon_app
        checklist_id = self.checklist_id
        assert checklist_id is not None

        def job(cache: Cache) -> CreditChecklist | None:
            choose(cache)
            return wf.apply_via_api(cache, app.get_backend().ledger, checklist_id)

        self._run("Applying the credit via QuickBooks…", job, advance=True)

    def action_applied_by_hand(self) -> None:
        """Step 3 by hand: the operator confirms; the app then checks it really happened."""
        choose = self._choose_job()
        if choose is None:
            return
        checklist_id = self.checklist_id
        assert checklist_id is not None

        def job(cache: Cache) -> CreditChecklist | None:
            choose(cache)
            return wf.confirm_manual(cache, checklist_id)

        self._run("Recording the application by hand…", job, advance=True)

    def action_continue(self) -> None:
        c = self.checklist
        if c is None or self.busy:
            return
        if c.state is State.FAILED_VERIFICATION:
            self._run("Re-checking…", lambda cache: wf.recheck(cache, c.id), advance=True)
        elif c.state in AUTOMATIC:
            self._run("Continuing…", None, advance=True)

    def action_cancel_checklist(self) -> None:
        c = self.checklist
        if c is None or self.busy or not c.state.is_open:
            return
        if not self._confirm_cancel:
            self._confirm_cancel = True
            self.query_one("#checklist-status", Static).update(Text(
                "Press x again to cancel this checklist (an application already made stays "
                "in the ledger).", style="bold yellow"))
            return
        self._run("Cancelling…", lambda cache: wf.cancel(cache, c.id), advance=False)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        action = {"btn-apply-api": self.action_apply_api,
                  "btn-by-hand": self.action_applied_by_hand,
                  "btn-continue": self.action_continue,
                  "btn-cancel": self.action_cancel_checklist}.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    def action_back(self) -> None:
        self.app.pop_screen()


class ChecklistList(VirtualTable):
    BINDINGS: ClassVar = [Binding("enter", "select_cursor", "Open checklist",
                                  id="open_checklist")]


class ChecklistsScreen(ReconScreenMixin, Screen[None]):
    """Every checklist not yet done or cancelled, most recently touched first."""

    BINDINGS: ClassVar = [Binding("escape", "back", "Back", id="checklists_back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Open credit checklists: Enter continues one where it stopped.",
                          style="bold"), classes="screen-title")
        yield ChecklistList(LIST_COLUMNS, id="checklists", empty_text=(
            "No open checklists. On a client's screen, a on a credit starts one."))
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load()
        self.query_one("#checklists", VirtualTable).focus()

    def load(self) -> None:
        cache = self.recon_app.cache
        assert cache is not None
        rows = []
        for c in cache.open_checklists():
            rows.append(TableRow(key=str(c.id), cells=(
                Text(f"#{c.id}"), Text(stamp(c.updated_at)[:16]), literal(c.customer_name),
                literal(c.credit_label), literal(c.invoice_number),
                money(c.amount), Text(str(min(wf.current_step(c), 6))), state_text(c)),
                style="bad" if c.state is State.FAILED_VERIFICATION else ""))
        self.query_one("#checklists", VirtualTable).set_source(ListRowSource(rows))

    def on_cache_changed(self, _: CacheChanged) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @on(VirtualTable.RowSelected, "#checklists")
    def _open(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.app.push_screen(ChecklistScreen(checklist_id=int(event.row.key)))

    def action_back(self) -> None:
        self.app.pop_screen()
