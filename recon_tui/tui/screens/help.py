"""The help screen: every key of the screen you came from, and what the
statuses mean. Built from the live bindings so it can never drift."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from recon_tui.diagnosis import Cause
from recon_tui.tui.widgets.key_footer import KeyFooter

STATUS_HELP = (
    ("Matched", "In both systems. Totals and balances may still differ: see the Δ columns."),
    ("Not in Ledger", "In the PSA, no ledger copy ever found by its number (not exported "
                      "yet, or deleted in the ledger before it was ever paired)."),
    ("Not in PSA", "In the ledger only: created there directly, or deleted from the PSA."),
    ("Ledger Invoice Expected but not Found",
     "Paired with a ledger copy before (the link recon-tui remembers, or the optional "
     "link field), which the ledger no longer has."),
)


class HelpScreen(ModalScreen[None]):
    """Keys and statuses; Escape or ? closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="close_help"),
        Binding("question_mark", "dismiss", "Close", key_display="?", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, origin: Screen) -> None:
        super().__init__()
        self.origin = origin

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(self._keys(), id="help-keys")
            yield Static(self._statuses(), id="help-statuses")
            yield Static(self._causes(), id="help-causes")
            yield Static(Text(
                "Differences are always ledger minus PSA. Press ctrl+p for the command "
                "palette: every action above is there too, and you can open a client by name, or "
                "at an invoice by its PSA, ledger or credit number (so can the / filter).\n"
                "Escape closes this help.", style="dim"))
        yield KeyFooter()

    def _keys(self) -> Table:
        table = Table(title="Keys on this screen", expand=True, show_edge=False)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Action", ratio=1)  # the key column keeps its own width
        seen: set[str] = set()
        for key, active in self.origin.active_bindings.items():
            binding = active.binding
            # Our own actions carry an id or show in the footer; Textual's
            # low-level ones (scrolling, copy) would only bury them.
            ours = binding.show or binding.id is not None
            if not binding.description or not ours or (binding.action, key) in seen:
                continue
            seen.add((binding.action, key))
            display = binding.key_display or self.app.get_key_display(binding)
            action = Text(binding.description, style="bold")
            if binding.tooltip:
                action.append(f"  {binding.tooltip}", style="")
            table.add_row(Text(display), action)
        table.add_row(Text("↑↓ PgUp/Dn Home/End"), Text("Move in a list"))
        table.add_row(Text("Tab / Shift+Tab"), Text("Next / previous panel"))
        return table

    def _statuses(self) -> Table:
        table = Table(title="Sync statuses", expand=True, show_edge=False)
        table.add_column("Status", style="bold", no_wrap=True)
        table.add_column("Meaning", ratio=1)
        for status, meaning in STATUS_HELP:
            table.add_row(Text(status), Text(meaning))
        return table

    def _causes(self) -> Table:
        """Every cause a discrepant row can have, with how many rows have it now
        (the clients header shows the same counts, cut to the screen's width)."""
        cache = getattr(self.app, "cache", None)
        counts: dict[str, int] = {}
        if cache is not None and getattr(self.app, "cache_error", None) is None:
            counts = cache.txns.cause_counts()
        table = Table(title="Causes (the Cause column; Enter on an invoice shows the evidence)",
                      expand=True, show_edge=False)
        table.add_column("Cause", style="bold", no_wrap=True)
        table.add_column("Rows", justify="right", no_wrap=True)
        table.add_column("Meaning", ratio=1)
        for cause in sorted(Cause, key=lambda c: (-counts.get(c.value, 0), list(Cause).index(c))):
            count = counts.get(cause.value, 0)
            table.add_row(Text(cause.value), Text(f"{count:,}" if count else ""),
                          Text(cause.meaning))
        return table
