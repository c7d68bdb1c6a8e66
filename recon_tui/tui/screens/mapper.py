"""The company mapper screen (seed 002); the unmap dialog (unmap.py) is re-exported.

The screen only drives a :class:`~recon_tui.workflows.mapper.MapperSession` and
its :class:`~recon_tui.workflows.mapper_confirm.Confirmation`. The search box keeps
the keyboard the whole time, so every key that acts is one that typing never
produces: Enter maps a certain candidate and moves on (one key), asks before a
doubtful one (Enter again maps: two keys) and refuses a deleted or already-mapped
one, naming the problem (ctrl+y then maps anyway); Up/Down choose another, ctrl+k
skips, ctrl+z undoes, Escape leaves. The panel under the list says why the
highlighted candidate ranks and, for a tie, what tells the tied companies apart.
"""

from __future__ import annotations

import logging

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from recon_tui.money import format_money
from recon_tui.text import printable
from recon_tui.tui.formatting import literal
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.screens.mapper_why import hint_for, why_panel
from recon_tui.tui.screens.unmap import UnmapScreen, tell_other_screens
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.printable_input import PrintableInput
from recon_tui.tui.widgets.virtual_table import Column, ListRowSource, TableRow, VirtualTable
from recon_tui.wording import counted
from recon_tui.workflows.mapper import (
    Candidate,
    MapperSession,
    Step,
    StepKind,
    Verdict,
    queue_summary,
)
from recon_tui.workflows.mapper_confirm import (
    Answer,
    Confirmation,
    Outcome,
    evidence_for,
    tied_with,
)

log = logging.getLogger(__name__)

CANDIDATE_COLUMNS = (
    Column("score", "Score", 5, align="right"),
    Column("name", "PSA company", 30, flex=True),
    Column("identifier", "Identifier", 14),
    Column("note", "Note", 28, flex=True),
)


def candidate_row(candidate: Candidate) -> TableRow:
    """Deleted companies read red, companies already mapped yellow: allowed, but look
    twice; the certain match says so."""
    style = "bad" if candidate.deleted else ("warn" if candidate.mapped_to else "")
    note = literal(candidate.note)
    if candidate.verdict is Verdict.CERTAIN:
        note = Text("certain match", style="green")
    return TableRow(
        key=candidate.company.id,
        cells=(Text(str(candidate.score)), literal(candidate.company.name),
               literal(candidate.company.identifier), note),
        style=style,
    )


class MapperSearch(PrintableInput):
    """The search box; it owns the mapper's keys because it always has the focus."""

    #: At 80 columns the footer has room for Enter, skip and undo; the arrows are left
    #: to help and to the hint line under the list, which names every key, Esc too.
    BINDINGS = [
        Binding("enter", "screen.map_highlighted", "Map to highlighted", key_display="⏎",
                id="mapper_map"),
        Binding("ctrl+k", "screen.skip", "Skip customer", key_display="^k", id="mapper_skip"),
        Binding("ctrl+z", "screen.undo", "Undo last", key_display="^z", id="mapper_undo"),
        Binding("ctrl+y", "screen.map_anyway", "Map anyway", key_display="^y",
                id="mapper_anyway"),
        Binding("down", "screen.candidate(1)", "Next candidate", key_display="↓",
                id="mapper_down", show=False),
        Binding("up", "screen.candidate(-1)", "Previous candidate", key_display="↑",
                id="mapper_up", show=False),
        Binding("pagedown", "screen.candidate(10)", "Candidates page down", show=False),
        Binding("pageup", "screen.candidate(-10)", "Candidates page up", show=False),
        # ? opens help here too (no company is searched for by a question mark): a
        # priority binding of the box itself runs before the box would type it.
        Binding("question_mark", "help", "Help", key_display="?", priority=True,
                id="mapper_help"),
    ]

    def action_help(self) -> None:
        self.app.action_help()  # type: ignore[attr-defined]


class CandidateTable(VirtualTable, can_focus=False):
    """Candidates; never focused, so typing always reaches the search box."""


class MapperScreen(ReconScreenMixin, Screen[None]):
    """Map unmapped ledger customers to PSA companies, biggest balance first."""

    DEFAULT_CSS = """
    MapperScreen #mapper-progress, MapperScreen #mapper-customer {
        height: auto;
        padding: 0 1;
        background: $boost;
    }
    MapperScreen #mapper-search {
        margin: 0 0;
    }
    MapperScreen #mapper-candidates {
        height: 1fr;
        min-height: 4;
    }
    MapperScreen #mapper-why {
        height: auto;
        max-height: 10;
        padding: 0 1;
        border-top: solid $primary;
    }
    MapperScreen #mapper-last {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape", "back", "Back", id="mapper_back"), *TYPING_HELP_QUIT]

    def __init__(self, start_customer_id: str | None = None) -> None:
        super().__init__()
        self.start_customer_id = start_customer_id
        self.session: MapperSession | None = None
        self.confirmation: Confirmation | None = None
        self._shown: list[Candidate] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="mapper-progress")
        yield Static(id="mapper-customer")
        yield MapperSearch(placeholder="Type to search every PSA company by name or "
                                       "identifier — the list narrows as you type",
                           id="mapper-search")
        yield CandidateTable(CANDIDATE_COLUMNS, id="mapper-candidates")
        yield Static(id="mapper-why")
        yield Static(id="mapper-last")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.session = MapperSession(self.cache, start_customer_id=self.start_customer_id)
        self.confirmation = Confirmation(self.session)
        self.show()
        self.say(Text(hint_for(self._shown), style="dim"))
        self.query_one("#mapper-search", Input).focus()

    # -- view
    @property
    def query_text(self) -> str:
        return self.query_one("#mapper-search", Input).value

    def show(self) -> None:
        """Redraw the progress line, the current customer and its candidates."""
        session = self.session
        assert session is not None
        progress = Text("Company mapper   ", style="bold")
        progress.append(f"unmapped ledger customer {queue_summary(session)}", style="dim")
        self.query_one("#mapper-progress", Static).update(progress)
        entry = session.current
        table = self.query_one("#mapper-candidates", VirtualTable)
        if entry is None:
            done = Text("Queue empty: ", style="bold green")
            done.append(f"{session.mapped_count} mapped, {session.skipped_count} skipped this "
                        f"session. ctrl+z undoes the last one; Esc goes back.")
            self.query_one("#mapper-customer", Static).update(done)
            table.empty_text = "Nothing left to map"
            self._shown = []
            table.set_source(ListRowSource([]))
            self.show_why()
            return
        customer = entry.customer
        line = Text("Ledger customer ", style="dim")
        line.append(printable(customer.display_name), style="bold")
        if customer.company_name and customer.company_name != customer.display_name:
            line.append("   company name ", style="dim")
            line.append(printable(customer.company_name))
        if not customer.active:
            line.append("   inactive in the ledger", style="yellow")
        line.append(f"\n{counted(entry.invoice_count, 'invoice')}   ", style="dim")
        line.append("open balance ", style="dim")
        line.append(format_money(entry.balance), style="bold")
        self.query_one("#mapper-customer", Static).update(line)
        self.show_candidates()

    def show_candidates(self) -> None:
        assert self.session is not None
        query = self.query_text
        table = self.query_one("#mapper-candidates", VirtualTable)
        table.empty_text = (f'No PSA company resembles "{printable(query)}"' if query.strip()
                            else "No PSA companies")
        if self.session.current is None:
            return
        self._shown = self.session.candidates(query)
        table.set_source(ListRowSource([candidate_row(c) for c in self._shown]))
        self.show_why()

    def highlighted(self) -> Candidate | None:
        """The candidate under the cursor, as ranked when it was shown."""
        row = self.query_one("#mapper-candidates", VirtualTable).current_row
        if row is None:
            return None
        return next((c for c in self._shown if c.company.id == row.key), None)

    def show_why(self) -> None:
        """The evidence of the highlighted candidate (and of those tied with it)."""
        why = self.query_one("#mapper-why", Static)
        session, candidate = self.session, self.highlighted()
        entry = session.current if session is not None else None
        if session is None or entry is None or candidate is None:
            why.update("")
            why.display = False
            return
        tied = tied_with(candidate, self._shown)
        evidence = evidence_for(self.cache.mapper, session, [candidate, *tied])
        assert self.confirmation is not None
        why.update(why_panel(entry, evidence[candidate.company.id],
                             [evidence[c.company.id] for c in tied],
                             asked=self.confirmation.asked_about(candidate.company.id)))
        why.display = True

    @on(VirtualTable.RowHighlighted, "#mapper-candidates")
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        """Another candidate: a question asked about the previous one is dropped."""
        event.stop()
        confirmation = self.confirmation
        if confirmation is not None and not confirmation.asked_about(event.row_key):
            self._drop_question()
        self.show_why()

    def _drop_question(self) -> None:
        """Forget the pending question, and its sentence on the bottom line."""
        if self.confirmation is not None and self.confirmation.pending:
            self.confirmation.forget()
            self.say(Text(hint_for(self._shown), style="dim"))

    def say(self, text: Text | str) -> None:
        self.query_one("#mapper-last", Static).update(text)

    def _next(self) -> None:
        """After any decision: a fresh search for the next customer, no question."""
        if self.confirmation is not None:
            self.confirmation.forget()
        search = self.query_one("#mapper-search", Input)
        search.value = ""
        self.show()

    @on(Input.Changed, "#mapper-search")
    def _search_changed(self) -> None:
        """Typing is a new search: any question asked is dropped."""
        self._drop_question()
        self.show_candidates()

    def on_cache_changed(self, _: CacheChanged) -> None:
        """A sync (or another screen) changed the book: re-read companies, pass over
        customers mapped meanwhile."""
        if self.session is not None:
            self.session.reload_companies()
            self.show()

    # -- actions
    def action_candidate(self, delta: int) -> None:
        table = self.query_one("#mapper-candidates", VirtualTable)
        table.move_cursor(table.cursor_row + delta)

    @on(VirtualTable.RowSelected, "#mapper-candidates")
    def _clicked(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.action_map_highlighted()

    def action_map_highlighted(self) -> None:
        """Enter: map a certain candidate, ask about a doubtful one (Enter again maps),
        refuse a deleted or already-mapped one and say why."""
        self._decide(anyway=False)

    def action_map_anyway(self) -> None:
        """ctrl+y: the explicit confirm Enter asked for (a deleted or already-mapped
        company, or a doubtful one)."""
        self._decide(anyway=True)

    def _decide(self, *, anyway: bool) -> None:
        session, confirmation = self.session, self.confirmation
        assert session is not None and confirmation is not None
        if session.current is None:
            self.notify("The queue is empty: Esc goes back.")
            return
        candidate = self.highlighted()
        if candidate is None:
            self.notify("No candidate: type part of the PSA company's name.",
                        severity="warning")
            return
        try:
            candidate = session.recheck(candidate)
            outcome = (confirmation.map_anyway(candidate) if anyway
                       else confirmation.enter(candidate))
        except Exception as exc:  # e.g. another process's sync holds the cache: say so
            log.exception("saving a mapping failed")
            self.notify(f"The mapping was not saved: {printable(exc)}", severity="error",
                        markup=False)
            return
        if outcome.answer is not Answer.MAPPED:
            self._ask(outcome)
            return
        step = outcome.step
        assert step is not None and step.company is not None
        said = Text("Mapped ", style="green")
        said.append(printable(step.customer.display_name), style="bold")
        said.append(" → ", style="green")
        said.append(printable(step.company.name), style="bold")
        said.append("; its invoices now show under that client. ctrl+z undoes.", style="dim")
        self.say(said)
        tell_other_screens(self)
        self._next()

    def _ask(self, outcome: Outcome) -> None:
        """The question or the refusal, on the bottom line and in the panel."""
        style = "bold red" if outcome.answer is Answer.REFUSED else "bold yellow"
        self.say(Text(printable(outcome.message), style=style))
        self.show_why()

    def action_skip(self) -> None:
        session = self.session
        assert session is not None
        if session.current is None:
            return
        step = session.skip()
        said = Text("Skipped ", style="yellow")
        said.append(printable(step.customer.display_name), style="bold")
        said.append(" (still unmapped; ctrl+z goes back to it).", style="dim")
        self.say(said)
        self._next()

    def action_undo(self) -> None:
        session = self.session
        assert session is not None
        try:
            step: Step | None = session.undo()
        except Exception as exc:  # nothing was undone; the same ctrl+z can be retried
            log.exception("undoing a mapping failed")
            self.notify(f"Undo failed: {printable(exc)}", severity="error", markup=False)
            return
        if step is None:
            self.notify("Nothing to undo in this session.")
            return
        said = Text("Undone: ", style="cyan")
        said.append(printable(step.customer.display_name), style="bold")
        if step.kind is StepKind.MAP and step.company is not None:
            said.append(" is no longer mapped to ", style="dim")
            said.append(printable(step.company.name), style="bold")
            tell_other_screens(self)
        else:
            said.append(" is back in front of you.", style="dim")
        self.say(said)
        self._next()

    def action_back(self) -> None:
        self.app.pop_screen()


__all__ = ["MapperScreen", "UnmapScreen", "candidate_row"]
