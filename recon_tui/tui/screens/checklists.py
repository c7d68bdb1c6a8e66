"""The list of open credit checklists (`c`): Enter continues one where it stopped.
A checklist waiting for the PSA ("ledger done, PSA lags") is open too."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Static

from recon_tui.models import ChecklistState
from recon_tui.tui.formatting import literal, money
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import ReconScreenMixin
from recon_tui.tui.widgets.checklist_panels import stamp, state_text
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.virtual_table import Column, ListRowSource, TableRow, VirtualTable
from recon_tui.workflows.credit_steps import current_step

#: Narrow terminals: the number is pinned, the customer and state shrink, the
#: update time and the credit leave first.
LIST_COLUMNS = (
    Column("id", "#", 5, align="right", pinned=True),
    Column("updated", "Updated", 16, drop_order=1),
    Column("customer", "Customer", 22, flex=True, min_width=14),
    Column("credit", "Credit", 18, drop_order=2),
    Column("invoice", "Invoice", 8),
    Column("amount", "Amount", 10, align="right"),
    Column("step", "Step", 4, align="right"),
    Column("state", "State", 40, flex=True, min_width=16),
)


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
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()
        self.query_one("#checklists", VirtualTable).focus()

    def load(self) -> None:
        cache = self.recon_app.cache
        assert cache is not None
        rows = []
        for c in cache.checklists.open_checklists():
            style = {ChecklistState.FAILED_VERIFICATION: "bad",
                     ChecklistState.LEDGER_DONE_PSA_LAGS: "warn"}.get(c.state, "")
            rows.append(TableRow(key=str(c.id), cells=(
                Text(f"#{c.id}"), Text(stamp(c.updated_at)[:16]), literal(c.customer_name),
                literal(c.credit_label), literal(c.invoice_number),
                money(c.amount), Text(str(min(current_step(c), 6))), state_text(c)),
                style=style))
        self.query_one("#checklists", VirtualTable).set_source(ListRowSource(rows))

    def on_cache_changed(self, _: CacheChanged) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @on(VirtualTable.RowSelected, "#checklists")
    def _open(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        from recon_tui.tui.screens.checklist import ChecklistScreen  # it lists back to here

        self.app.push_screen(ChecklistScreen(checklist_id=int(event.row.key)))

    def action_back(self) -> None:
        self.app.pop_screen()
