"""The clients screen: every client, worst difference first."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from recon_tui.money import format_money
from recon_tui.text import printable
from recon_tui.tui.formatting import progress_text, when
from recon_tui.tui.messages import CacheChanged, LoadProgress
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin, typing_keys_shown
from recon_tui.tui.sources import (
    CLIENT_COLUMNS,
    ClientFilter,
    ClientSource,
    hit_title,
    parse_row_key,
)
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.printable_input import PrintableInput
from recon_tui.tui.widgets.steady_static import SteadyStatic
from recon_tui.tui.widgets.virtual_table import VirtualTable
from recon_tui.wording import counted, noun


class FilterInput(PrintableInput):
    """The filter box: Enter or Down hands the keyboard back to the table (a pasted
    name's control characters show, never run)."""

    BINDINGS = [
        Binding("down", "to_table", "To list", show=False),
        Binding("escape", "clear", "Clear filter", show=False),
    ]

    def watch_value(self, value: str) -> None:
        """The list narrows in the same step as the box takes the key, so the next
        frame shows both: not a frame of the box alone (a whole layout) and then
        another once its Changed message has reached the screen."""
        screen = self.screen if self.is_attached else None
        if isinstance(screen, ClientsScreen):
            screen.filter_text(value)

    def action_to_table(self) -> None:
        self.screen.query_one("#clients", VirtualTable).focus()

    def action_clear(self) -> None:
        self.value = ""
        self.action_to_table()


class ClientTable(VirtualTable):
    """The clients list: Enter opens the client under the cursor."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", id="open_client",
                        tooltip="Open the client under the cursor")]


class ClientsScreen(ReconScreenMixin, Screen[None]):
    """One row per client: PSA owing, ledger balance, difference, credits."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", key_display="/", id="filter", priority=True),
        Binding("d", "toggle_discrepant", "Discrepant", id="discrepant_only",
                tooltip="Only clients with discrepancies (toggle)"),
        Binding("u", "toggle_unmapped", "Unmapped", id="unmapped_only",
                tooltip="Only unmapped clients (toggle)"),
        Binding("p", "toggle_portal", "No portal", id="portal_blind_only",
                tooltip="Only clients none of whose contacts can see invoices in the portal"),
        Binding("e", "export", "Export", id="export",
                tooltip="Write the reconciliation report of the whole book (xlsx, csv, "
                "json or md)"),
        Binding("escape", "clear_filters", "Clear filters", show=False, id="clear_filters"),
        *TYPING_HELP_QUIT,  # the filter box types ? and q
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F1 and ctrl+q only while the filter box has the keyboard."""
        typing = typing_keys_shown(self, action)
        return True if typing is None else typing

    #: What the list shows (name or number text, the d/u/p toggles): every value
    #: set re-queries the list and its status line, as each key did before.
    client_filter: var[ClientFilter] = var(ClientFilter, init=False, always_update=True)

    def __init__(self) -> None:
        super().__init__()
        #: Cells of the filter status shown (None: nothing shown yet).
        self._status_width: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="book-header")
        yield Static(id="cause-line")
        with Horizontal(id="filter-bar"):
            yield FilterInput(placeholder="/ filters by client name or invoice, ledger or "
                              "credit number — narrows as you type", id="filter")
            yield SteadyStatic(id="filter-status")
        yield ClientTable(CLIENT_COLUMNS, id="clients")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#clients", VirtualTable)
        table.empty_text = self._empty_text()
        table.set_source(ClientSource(self.cache, self.client_filter))
        self.set_focus(table)  # at once: the first frame is the list's, not the box's
        self.refresh_header()

    # -- data
    def refresh_header(self) -> None:
        totals = self.cache.recon.book_totals()
        states = self.cache.history.sync_states()
        psa, ledger = states.get("psa"), states.get("ledger")
        line = Text()
        line.append("PSA owing ", style="dim")
        line.append(format_money(totals.psa_owing), style="bold")
        line.append("   Ledger balance ", style="dim")
        line.append(format_money(totals.ledger_balance), style="bold")
        line.append("   Difference ", style="dim")
        diff = totals.difference
        line.append(format_money(diff), style="bold red" if diff else "bold green")
        line.append("   Unapplied credits ", style="dim")
        line.append(format_money(totals.unapplied_credits), style="bold")
        line.append("\n")
        line.append(f"{totals.discrepant_clients:,}", style="bold")
        line.append(f" of {counted(totals.clients, 'client')} discrepant   ", style="dim")
        line.append(f"{totals.unmapped_customers:,}",
                    style="bold yellow" if totals.unmapped_customers else "bold")
        line.append(f" unmapped ledger {noun(totals.unmapped_customers, 'customer')}",
                    style="dim")
        line.append((" (m maps it)   " if totals.unmapped_customers == 1 else " (m maps them)   ")
                    if totals.unmapped_customers else "   ", style="dim")
        line.append("PSA synced ", style="dim")
        line.append(when(psa.last_synced_at if psa else None))
        line.append("   Ledger synced ", style="dim")
        line.append(when(ledger.last_synced_at if ledger else None))
        self.query_one("#book-header", Static).update(line)
        self._update_cause_line()
        self._update_filter_status()

    def _update_cause_line(self) -> None:
        """Discrepant rows per cause, most first; the line ends in "…" where the
        terminal is too narrow, and its tooltip (and the help) lists them all."""
        counts = self.cache.txns.cause_counts()
        line = Text("Causes: ", style="dim")
        if not counts:
            line.append("none — no discrepant row has a diagnosed cause")
        for position, (cause, count) in enumerate(counts.items()):
            if position:
                line.append(" · ", style="dim")
            line.append(f"{count:,}", style="bold")
            line.append(f" {printable(cause)}")
        widget = self.query_one("#cause-line", Static)
        widget.update(line)
        full = Text("\n".join(f"{count:,}  {printable(cause)}" for cause, count in counts.items())
                    or "No discrepant row has a diagnosed cause")
        widget.tooltip = full

    def _update_filter_status(self) -> None:
        table = self.query_one("#clients", VirtualTable)
        table.empty_text = self._empty_text()
        described = self.client_filter.describe()
        text = counted(table.row_count, "client") + (f" {described}" if described else "")
        source = table.source
        if isinstance(source, ClientSource) and source.hits:
            names = table.row_count - len(source.hits)
            text = f"{len(source.hits)} by number, {names:,} by name"
            direct = source.opens_directly
            if direct is not None:
                text += f" — Enter opens {hit_title(direct)}"
        self._set_filter_status(Text(text))

    def _set_filter_status(self, text: Text) -> None:
        """The status beside the filter box; a keystroke that keeps its width
        (most do: the count has as many digits) repaints it without a layout."""
        width = text.cell_len
        self.query_one("#filter-status", Static).update(
            text, layout=width != self._status_width)
        self._status_width = width

    def reload(self) -> None:
        self.query_one("#clients", VirtualTable).reload()
        self.refresh_header()

    def _empty_text(self) -> str:
        if self.recon_app.loading:
            return "Loading the demo book from the emulator…"
        if self.recon_app.load_error:
            return f"Demo load failed: {printable(self.recon_app.load_error)}"
        if self.client_filter.describe():
            return "No clients match (Esc clears the filters)"
        if not self.cache.history.sync_states():
            return "No clients yet: press s to run the first sync"
        return "No clients"

    def on_cache_changed(self, _: CacheChanged) -> None:
        self.query_one("#clients", VirtualTable).empty_text = self._empty_text()
        self.reload()

    def on_load_progress(self, message: LoadProgress) -> None:
        self._set_filter_status(Text(f"Loading demo book: {progress_text(message.progress)}"))

    # -- filter
    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text(event.value)  # done already when the box took the key

    def filter_text(self, text: str) -> None:
        """Narrow the list to ``text`` (unless it shows that already)."""
        if text != self.client_filter.text:
            self.client_filter = replace(self.client_filter, text=text)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        """A number that names one row opens its client at that row at once;
        otherwise the keyboard goes to the list."""
        table = self.query_one("#clients", VirtualTable)
        source = table.source
        direct = source.opens_directly if isinstance(source, ClientSource) else None
        table.focus()
        if direct is not None:
            self.recon_app.open_client(direct.client_key, pair_id=direct.pair_id,
                                       credit_key=direct.credit_key)

    def action_focus_filter(self) -> None:
        """A priority binding, run by the App as "/" arrives and before the keys
        after it are handed out, and focusing at once (not Widget.focus()'s
        call_later): the letters of a burst (a fast typist, a paste) land in the
        box instead of running as the list's keys (e exports, d filters)."""
        box = self.query_one("#filter", Input)
        if box.has_focus:
            box.insert_text_at_cursor("/")  # priority: "/" reaches us before the box
        else:
            self.set_focus(box)

    def watch_client_filter(self, client_filter: ClientFilter) -> None:
        self.query_one("#clients", VirtualTable).set_source(
            ClientSource(self.cache, client_filter))
        self._update_filter_status()

    def action_toggle_discrepant(self) -> None:
        self.client_filter = replace(self.client_filter,
                                     discrepant_only=not self.client_filter.discrepant_only)

    def action_toggle_unmapped(self) -> None:
        self.client_filter = replace(self.client_filter,
                                     unmapped_only=not self.client_filter.unmapped_only)

    def action_toggle_portal(self) -> None:
        level = self.recon_app.config.portal.client_admin_security_level
        self.client_filter = replace(
            self.client_filter, portal_below=None if self.client_filter.portal_below else level)

    def action_clear_filters(self) -> None:
        self.client_filter = ClientFilter()
        self.query_one("#filter", Input).value = ""  # its Input.Changed re-filters too

    def action_export(self) -> None:
        """The snapshot report of the whole book."""
        from recon_tui.tui.screens.export import ExportScreen

        if self.recon_app.loading:
            self.notify("The demo book is still loading.")
            return
        self.app.push_screen(ExportScreen())

    # -- navigation
    @on(VirtualTable.RowSelected, "#clients")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self._open(event.row.key)

    def _open(self, key: str) -> None:
        """A client row opens the client; a number match opens it at that row."""
        client_key, pair_id, credit_key = parse_row_key(key)
        self.recon_app.open_client(client_key, pair_id=pair_id, credit_key=credit_key)
