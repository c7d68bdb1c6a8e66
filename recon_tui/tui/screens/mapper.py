"""The company mapper screen (seed 002) and the unmap confirmation.

The screen only drives a :class:`~recon_tui.workflows.mapper.MapperSession`. The
search box keeps the keyboard the whole time, so every key that acts is one that
typing never produces: Enter maps the highlighted candidate and moves on (one key
when the top candidate is right), Up/Down choose another, ctrl+k skips, ctrl+z
undoes, Escape leaves.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from recon_tui.cache import Cache
from recon_tui.models import ClientSummary
from recon_tui.money import format_money
from recon_tui.text import printable
from recon_tui.tui.formatting import literal
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import ReconScreenMixin
from recon_tui.tui.widgets.printable_input import PrintableInput
from recon_tui.tui.widgets.virtual_table import Column, ListRowSource, TableRow, VirtualTable
from recon_tui.workflows.mapper import (
    Candidate,
    MapperSession,
    Step,
    StepKind,
    mapped_customers,
    queue_summary,
    unmap_customer,
)

CANDIDATE_COLUMNS = (
    Column("score", "Score", 5, align="right"),
    Column("name", "PSA company", 36, flex=True),
    Column("identifier", "Identifier", 16),
    Column("note", "Note", 40),
)


def candidate_row(candidate: Candidate) -> TableRow:
    """Deleted companies read red, companies already mapped yellow: allowed, but look twice."""
    style = "bad" if candidate.deleted else ("warn" if candidate.mapped_to else "")
    return TableRow(
        key=candidate.company.id,
        cells=(Text(str(candidate.score)), literal(candidate.company.name),
               literal(candidate.company.identifier), literal(candidate.note)),
        style=style,
    )


def tell_other_screens(screen: Screen) -> None:
    """Every other open screen re-queries; the mapper itself already shows the change."""
    for other in screen.app.screen_stack:
        if other is not screen:
            other.post_message(CacheChanged())


class MapperSearch(PrintableInput):
    """The search box; it owns the mapper's keys because it always has the focus."""

    BINDINGS = [
        Binding("enter", "screen.map_highlighted", "Map to highlighted", key_display="Enter",
                id="mapper_map"),
        Binding("down", "screen.candidate(1)", "Next candidate", key_display="↓",
                id="mapper_down"),
        Binding("up", "screen.candidate(-1)", "Previous candidate", key_display="↑",
                id="mapper_up"),
        Binding("pagedown", "screen.candidate(10)", "Candidates page down", show=False),
        Binding("pageup", "screen.candidate(-10)", "Candidates page up", show=False),
        Binding("ctrl+k", "screen.skip", "Skip customer", key_display="^k", id="mapper_skip"),
        Binding("ctrl+z", "screen.undo", "Undo last", key_display="^z", id="mapper_undo"),
    ]


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
    }
    MapperScreen #mapper-last {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape", "back", "Back", id="mapper_back")]

    def __init__(self, start_customer_id: str | None = None) -> None:
        super().__init__()
        self.start_customer_id = start_customer_id
        self.session: MapperSession | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="mapper-progress")
        yield Static(id="mapper-customer")
        yield MapperSearch(placeholder="Type to search every PSA company by name or "
                                       "identifier — the list narrows as you type",
                           id="mapper-search")
        yield CandidateTable(CANDIDATE_COLUMNS, id="mapper-candidates")
        yield Static(id="mapper-last")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.session = MapperSession(self.cache, start_customer_id=self.start_customer_id)
        self.query_one("#mapper-last", Static).update(Text(
            "Enter maps the customer to the highlighted PSA company and moves on · ↑↓ choose · "
            "type to search · ctrl+k skip · ctrl+z undo · Esc back", style="dim"))
        self.show()
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
            table.set_source(ListRowSource([]))
            return
        customer = entry.customer
        line = Text("Ledger customer ", style="dim")
        line.append(printable(customer.display_name), style="bold")
        if customer.company_name and customer.company_name != customer.display_name:
            line.append("   company name ", style="dim")
            line.append(printable(customer.company_name))
        if not customer.active:
            line.append("   inactive in the ledger", style="yellow")
        line.append(f"\n{entry.invoice_count:,} invoices   ", style="dim")
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
        table.set_source(ListRowSource([candidate_row(c)
                                        for c in self.session.candidates(query)]))

    def say(self, text: Text | str) -> None:
        self.query_one("#mapper-last", Static).update(text)

    def _next(self) -> None:
        """After any decision: a fresh search for the next customer."""
        search = self.query_one("#mapper-search", Input)
        search.value = ""
        self.show()

    @on(Input.Changed, "#mapper-search")
    def _search_changed(self) -> None:
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
        """Map the current customer to the highlighted company, then the next customer."""
        session = self.session
        assert session is not None
        if session.current is None:
            self.notify("The queue is empty: Esc goes back.")
            return
        row = self.query_one("#mapper-candidates", VirtualTable).current_row
        if row is None:
            self.notify("No candidate: type part of the PSA company's name.",
                        severity="warning")
            return
        try:
            step = session.map(row.key)
        except Exception as exc:  # e.g. another process's sync holds the cache: say so
            self.notify(f"The mapping was not saved: {printable(exc)}", severity="error",
                        markup=False)
            return
        assert step.company is not None
        said = Text("Mapped ", style="green")
        said.append(printable(step.customer.display_name), style="bold")
        said.append(" → ", style="green")
        said.append(printable(step.company.name), style="bold")
        said.append("; its invoices now show under that client. ctrl+z undoes.", style="dim")
        self.say(said)
        tell_other_screens(self)
        self._next()

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


class UnmapScreen(ReconScreenMixin, ModalScreen[None]):
    """Confirm which ledger customer to unmap from a PSA company; Esc cancels."""

    DEFAULT_CSS = """
    UnmapScreen {
        align: center middle;
    }
    #unmap-dialog {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    #unmap-dialog > Static {
        margin-bottom: 1;
    }
    #unmap-customers {
        height: auto;
        max-height: 12;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="unmap_cancel")]

    def __init__(self, summary: ClientSummary) -> None:
        super().__init__()
        self.summary = summary

    @property
    def cache(self) -> Cache:
        cache = self.app.cache  # type: ignore[attr-defined]
        assert cache is not None
        return cache

    def compose(self) -> ComposeResult:
        assert self.summary.psa_company_id is not None
        options = []
        for customer, mapping in mapped_customers(self.cache, self.summary.psa_company_id):
            label = literal(customer.display_name, style="bold")
            stamp = mapping.created_at.date().isoformat() if mapping.created_at else ""
            label.append(f"   mapped {mapping.method.value} {stamp}".rstrip(), style="dim")
            options.append(Option(label, id=customer.id))
        title = Text("Unmap a ledger customer from ", style="bold")
        title.append(printable(self.summary.name), style="bold")
        with Vertical(id="unmap-dialog"):
            yield Static(title)
            yield Static(Text("Its invoices and credits go back to an unmapped client of their "
                              "own, until someone maps it again (m).", style="dim"))
            yield OptionList(*options, id="unmap-customers")
            yield Static(Text("Enter unmaps the highlighted customer. Esc cancels.",
                              style="dim"))

    def on_mount(self) -> None:
        self.query_one("#unmap-customers", OptionList).focus()

    @on(OptionList.OptionSelected, "#unmap-customers")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        customer_id = event.option.id
        assert customer_id is not None
        customer = self.cache.customer(customer_id)
        try:
            removed = unmap_customer(self.cache, customer_id)
        except Exception as exc:  # e.g. another process's sync holds the cache
            self.notify(f"Nothing was unmapped: {printable(exc)}", severity="error",
                        markup=False)
            self.dismiss(None)
            return
        name = customer.display_name if customer else customer_id
        if removed is not None:
            self.notify(f"Unmapped {printable(name)} from {printable(self.summary.name)}.",
                        markup=False)
        tell_other_screens(self)
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
