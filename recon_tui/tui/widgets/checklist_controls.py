"""The parts of a credit checklist's screen that act and report: the four buttons,
the status line under them, and the checklist's own audit trail.

Split from :mod:`recon_tui.tui.screens.checklist`, which lays them out (its CSS
keeps their ids) and decides what each press does; the buttons post Textual's
``Button.Pressed``, which the screen maps to its actions.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from recon_tui.models import ChecklistEvent, ChecklistState, CreditChecklist
from recon_tui.tui.widgets.checklist_panels import AUTOMATIC, CHOOSING, status_text, trail_lines
from recon_tui.workflows.write_policy import WritePolicy

__all__ = ["RECHECKABLE", "ChecklistButtons", "ChecklistLog", "ChecklistStatus", "applicable"]

State = ChecklistState
#: States `v` moves on from: a failed verification, or a PSA that lagged.
RECHECKABLE = (State.FAILED_VERIFICATION, State.LEDGER_DONE_PSA_LAGS)


def applicable(state: ChecklistState | None) -> dict[str, bool]:
    """Which of the checklist's actions mean something in ``state`` (busy or not)."""
    return {
        "apply_api": state in CHOOSING,
        "applied_by_hand": state in CHOOSING,
        "continue": state in AUTOMATIC or state in RECHECKABLE,
        "cancel_checklist": state is not None and state.is_open,
    }


class ChecklistButtons(Horizontal):
    """Apply via QuickBooks, done by hand, continue / re-check, cancel."""

    def compose(self) -> ComposeResult:
        yield Button("Apply via QuickBooks (p)", id="btn-apply-api", variant="primary")
        yield Button("I applied it by hand (b)", id="btn-by-hand")
        yield Button("Continue / re-check (v)", id="btn-continue")
        yield Button("Cancel checklist (x)", id="btn-cancel", variant="error")

    def set_enabled(self, state: ChecklistState | None, *, busy: bool,
                    ledger_writes: bool) -> None:
        """A button is live when its action applies and no step is running; the API
        button also needs ledger writes switched on."""
        can = applicable(state)
        choosing = can["apply_api"] and not busy
        self.query_one("#btn-apply-api", Button).disabled = not (choosing and ledger_writes)
        self.query_one("#btn-by-hand", Button).disabled = not choosing
        self.query_one("#btn-continue", Button).disabled = busy or not can["continue"]
        self.query_one("#btn-cancel", Button).disabled = busy or not can["cancel_checklist"]


class ChecklistStatus(Static):
    """The line under the buttons: what runs, what failed, or what to do next."""

    def show(self, checklist: CreditChecklist | None, events: Sequence[ChecklistEvent], *,
             busy: str | None, error: str | None, policy: WritePolicy) -> None:
        self.update(status_text(checklist, events, busy=busy, error=error, policy=policy))

    def ask_to_cancel(self) -> None:
        """The first `x`: say what a second one does."""
        self.update(Text("Press x again to cancel this checklist (an application already "
                         "made stays in the ledger).", style="bold yellow"))


class ChecklistLog(Vertical):
    """This checklist's audit trail, every event in order."""

    def compose(self) -> ComposeResult:
        yield Static(id="checklist-trail-body")

    def show(self, events: Sequence[ChecklistEvent]) -> None:
        text = Text("Audit trail\n", style="bold")
        text.append_text(trail_lines(events))
        self.query_one("#checklist-trail-body", Static).update(text)
