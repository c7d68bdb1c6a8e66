"""The credit-application checklist (seed 001) on screen.

The screen only displays and collects choices; every step runs
``recon_tui.workflows.credit_checklist`` in a thread worker on its own cache
connection, so a resync or full sync never blocks the UI. Its panels (steps,
by-hand instructions, verification, audit trail) are in
``recon_tui.tui.widgets.checklist_panels``, the invoice and amount choice in
``recon_tui.tui.widgets.credit_choice``, the buttons, status line and the
checklist's own trail in ``recon_tui.tui.widgets.checklist_controls``, the step a
worker runs in ``recon_tui.tui.screens.checklist_step``; the list of open
checklists (`c`) is ``recon_tui.tui.screens.checklists``.

Writes to the ledger follow the config (:class:`WritePolicy`): with them off the
API key and button are disabled, the line saying how to turn them on is shown,
and the by-hand path stays. On QuickBooks Desktop "apply" queues the credit for
the next Web Connector poll (``checklist_desktop``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Static

from recon_tui.cache import Cache
from recon_tui.models import ChecklistEvent, CreditChecklist, LedgerInvoice
from recon_tui.text import printable
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens import checklist_desktop as desk
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin, typing_keys_shown
from recon_tui.tui.screens.checklist_step import run_step
from recon_tui.tui.screens.checklists import ChecklistsScreen
from recon_tui.tui.widgets.checklist_controls import (
    RECHECKABLE,
    ChecklistButtons,
    ChecklistLog,
    ChecklistStatus,
    applicable,
)
from recon_tui.tui.widgets.checklist_panels import (
    AUTOMATIC,
    CHOOSING,
    ChecklistTrail,
    ManualStepsPanel,
    StepsPanel,
    VerificationPanel,
    title_text,
)
from recon_tui.tui.widgets.credit_choice import CreditChoice, Job
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.virtual_table import VirtualTable
from recon_tui.workflows import credit_checklist as wf
from recon_tui.workflows.write_policy import WritePolicy

__all__ = ["ChecklistScreen", "ChecklistTrail", "ChecklistsScreen"]


class ChecklistScreen(ReconScreenMixin, Screen[None]):
    """One checklist: its six steps, the choice of invoice and amount, the two ways to
    apply, the verification of each side, and what to do next. Re-opening it
    continues where it stood."""

    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back", id="checklist_back"),
        Binding("p", "apply_api", "Apply via QBO", id="checklist_apply_api",
                tooltip="Apply the credit through the QuickBooks API (never twice)"),
        Binding("b", "applied_by_hand", "Done by hand", id="checklist_by_hand",
                tooltip="I applied it by hand in QuickBooks: verify it now"),
        Binding("v", "continue", "Re-check", id="checklist_continue",
                tooltip="Continue where the checklist stopped, or verify both sides again"),
        Binding("x", "cancel_checklist", "Cancel", id="checklist_cancel",
                tooltip="Cancel this checklist (press twice)"),
        *TYPING_HELP_QUIT,  # the amount field types ? and q (see check_action)
    ]

    #: A workflow step runs in a worker: the buttons and keys wait for it.
    busy: var[bool] = var(False, init=False, bindings=True)
    #: What the running step says it is doing (the status line shows it).
    progress_text: var[str] = var("", init=False)

    # Its layout rules are in screens.tcss ("The credit checklist").

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
        self.error: str | None = None
        self._confirm_cancel = False

    def compose(self) -> ComposeResult:
        yield Header()
        # One scrolling body: on a small terminal nothing is squeezed or cut off.
        with VerticalScroll(id="checklist-body"):
            yield Static(Text("Starting the checklist…"), id="checklist-title")
            yield StepsPanel(id="checklist-steps")
            with Horizontal(id="checklist-work"):
                yield CreditChoice(id="checklist-choice")
                yield desk.ChecklistManualSteps(id="checklist-manual")
            yield VerificationPanel(id="checklist-verification")
            yield ChecklistButtons(id="checklist-buttons")
            yield ChecklistStatus(id="checklist-status")
            yield ChecklistLog(id="checklist-trail")
        yield KeyFooter()

    @property
    def choice(self) -> CreditChoice:
        return self.query_one("#checklist-choice", CreditChoice)

    @property
    def policy(self) -> WritePolicy:
        """Read each time: the settings screen can switch writes on or off."""
        return WritePolicy.from_config(self.recon_app.config, demo=self.recon_app.demo)

    def on_mount(self) -> None:
        self.query_one("#checklist-verification").display = False
        desk.desktop_labels(self, self.policy)
        self.choice.table.focus()
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
        checklist = self.cache.checklists.checklist(self.checklist_id)
        if checklist is None:
            self.query_one("#checklist-title", Static).update(
                Text(f"Checklist #{self.checklist_id} does not exist.", style="bold red"))
            return
        first_draw = self.checklist is None
        self.checklist = checklist
        self.events = self.cache.checklists.checklist_events([checklist.id])
        credit = self.cache.checklists.ledger_credit(checklist.credit_kind, checklist.credit_id)
        self.credit_remaining = credit.amount if credit else None
        self.invoices = self.cache.checklists.open_ledger_invoices(checklist.customer_id)
        self._draw_title()
        self.query_one(StepsPanel).show(checklist, self.events)
        self.choice.show(checklist, self.invoices, self._credit(), reset=first_draw,
                         choosing=checklist.state in CHOOSING)
        self._draw_manual()
        self.query_one(VerificationPanel).show(checklist)
        self._draw_status()
        self.query_one(ChecklistLog).show(self.events)
        self._set_enabled()
        self.refresh_bindings()
        if initial and checklist.state in AUTOMATIC and not self.busy and self.advances:
            self._run("Continuing where the checklist stopped…", None, advance=True)

    def _draw_title(self) -> None:
        assert self.checklist is not None
        self.query_one("#checklist-title", Static).update(
            title_text(self.checklist, self.credit_remaining, len(self.invoices)))

    def _draw_manual(self) -> None:
        """By hand in the ledger until the ledger is done; then, if the PSA lags, in
        the PSA."""
        assert self.checklist is not None
        self.query_one(ManualStepsPanel).show(
            self.checklist, selection=self.choice.selection(), invoices=self.invoices,
            credit=self._credit(), policy=self.policy,
            psa_kind=wf.psa_kind_of(self.cache.get_meta("book_psa")))

    @property
    def advances(self) -> bool:
        """Not on QuickBooks Desktop: a Web Connector session applies and verifies."""
        return not self.policy.desktop

    def _draw_status(self) -> None:
        if not (self.busy or self.error) and (
                desktop := desk.desktop_status(self.checklist, self.policy)) is not None:
            self.query_one(ChecklistStatus).update(desktop)
            return
        self.query_one(ChecklistStatus).show(
            self.checklist, self.events, busy=self.progress_text if self.busy else None,
            error=self.error, policy=self.policy)

    def _credit(self) -> Decimal:
        """What is left of the credit now (the cache), else what was noted."""
        assert self.checklist is not None
        return (self.credit_remaining if self.credit_remaining is not None
                else self.checklist.credit_amount)

    def _set_enabled(self) -> None:
        state = self.checklist.state if self.checklist else None
        self.choice.set_enabled(state in CHOOSING and not self.busy)
        self.query_one(ChecklistButtons).set_enabled(state, busy=self.busy,
                                                     ledger_writes=self.policy.ledger)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do nothing in this state leave the footer; busy ones (and the
        API key while ledger writes are off) grey out. F1 and ctrl+q stand in for
        the app's ? and q only while the amount field has the keyboard."""
        if (typing := typing_keys_shown(self, action)) is not None:
            return typing
        can = applicable(self.checklist.state if self.checklist else None)
        if action not in can:
            return True
        if not can[action]:
            return False
        if action == "apply_api" and not self.policy.ledger:
            return None
        return None if self.busy else True

    # -- running workflow steps off the UI thread
    def _run(self, label: str, job: Job | None, *, advance: bool) -> None:
        self.error = None
        self.progress_text = label
        self._confirm_cancel = False
        self.busy = True
        self._worker(job, advance, self.policy)

    def watch_busy(self) -> None:
        """A step starts or ends: the buttons and the status line follow (the keys
        follow by themselves: ``bindings=True``)."""
        if self.checklist is not None and self.is_attached:
            self._set_enabled()
            self._draw_status()

    def watch_progress_text(self) -> None:
        """The workflow's own words for what it is doing now."""
        if self.checklist is not None and self.is_attached:
            self._draw_status()

    @work(thread=True, group="checklist", name="checklist step")
    def _worker(self, job: Job | None, advance: bool, policy: WritePolicy) -> None:
        app = self.recon_app
        checklist_id, error = run_step(
            app, self.checklist_id, job, advance=advance, policy=policy,
            progress=lambda text: app.call_from_thread(self._progress, text))
        app.call_from_thread(self._finished, checklist_id, error)

    def _progress(self, text: str) -> None:
        self.progress_text = text

    def _finished(self, checklist_id: int | None, error: str | None) -> None:
        self.error = error
        self.busy = False
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
                self.choice.set_error(error)
            if self.focused is None:
                self.choice.table.focus()

    def on_cache_changed(self, _: CacheChanged) -> None:
        if self.checklist_id is not None and not self.busy:
            self._load()

    # -- the operator's choices
    @on(VirtualTable.RowHighlighted, "#checklist-invoices")
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        c = self.checklist
        if c is not None and c.state in CHOOSING:
            self.choice.fill_amount(c, self.choice.invoice_for(event.row.key), self._credit(),
                                    choosing=True)
            self._draw_manual()

    @on(VirtualTable.RowSelected, "#checklist-invoices")
    def _selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.choice.amount.focus()

    @on(Input.Changed, "#checklist-amount")
    def _amount_changed(self, _: Input.Changed) -> None:
        if self.checklist is not None:
            self._draw_manual()

    @on(Input.Submitted, "#checklist-amount")
    def _amount_submitted(self, _: Input.Submitted) -> None:
        """Enter saves the choice (validated) and hands the keys back to the table."""
        job = self._choose_job()
        if job is not None:
            self.choice.table.focus()
            self._run("Saving the choice…", job, advance=False)

    def _choose_job(self) -> Job | None:
        """Step 2 from what is on screen, or None (with the reason shown) when the
        amount cannot be right; nothing is saved when the choice is unchanged."""
        c = self.checklist
        if c is None or c.state not in CHOOSING or self.busy:
            return None
        job = self.choice.choose_job(c, self._credit())
        if isinstance(job, str):
            self._refuse(job)
            return None
        return job

    def _refuse(self, message: str) -> None:
        self.choice.set_error(message)
        self.error = message
        self._draw_status()

    def action_apply_api(self) -> None:
        """Step 3 by the app: the request id is stored before QuickBooks is called.
        Refused with the config line while ledger writes are off."""
        policy = self.policy
        if not policy.ledger:
            self._refuse(policy.why_off("ledger"))
            return
        choose = self._choose_job()
        if choose is None:
            return
        assert self.checklist_id is not None
        job = desk.apply_job(choose, self.checklist_id, policy,
                        lambda: self.recon_app.get_backend().ledger)
        self._run("Queueing the credit for the Web Connector…" if policy.desktop
                  else "Applying the credit via QuickBooks…", job, advance=self.advances)

    def action_applied_by_hand(self) -> None:
        """Step 3 by hand: the operator confirms; the app then checks it really happened."""
        choose = self._choose_job()
        if choose is None:
            return
        checklist_id = self.checklist_id
        assert checklist_id is not None

        def job(cache: Cache) -> CreditChecklist | None:
            choose(cache)
            return wf.confirm_manual(cache.checklists, checklist_id)

        self._run("Recording the application by hand…", job, advance=self.advances)

    def action_continue(self) -> None:
        c = self.checklist
        if c is None or self.busy:
            return
        if c.state in RECHECKABLE:
            self._run("Re-checking both sides…", lambda cache: wf.recheck(cache.checklists, c.id),
                      advance=self.advances)
        elif c.state in AUTOMATIC and self.advances:
            self._run("Continuing…", None, advance=True)

    def action_cancel_checklist(self) -> None:
        c = self.checklist
        if c is None or self.busy or not c.state.is_open:
            return
        if not self._confirm_cancel:
            self._confirm_cancel = True
            self.query_one(ChecklistStatus).ask_to_cancel()
            return
        self._run("Cancelling…", lambda cache: wf.cancel(cache.checklists, c.id), advance=False)

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
