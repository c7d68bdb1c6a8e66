"""The screen shown instead of a crash when the cache file cannot be used.

A damaged file, a dropped table or a disk that fills up is the operator's to fix,
not a bug: they get one line naming the file, the cause and the way out, and a
working ``q``. Nothing here touches the cache.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from recon_tui.text import printable
from recon_tui.tui.widgets.key_footer import KeyFooter


class CacheErrorScreen(Screen[None]):
    """Covers every screen below it (they may not render without the cache)."""

    DEFAULT_CSS = """
    CacheErrorScreen #cache-error-body {
        padding: 1 2;
    }
    CacheErrorScreen #cache-error-message {
        color: $text-error;
        text-style: bold;
        margin-bottom: 1;
    }
    """

    BINDINGS = [Binding("q", "app.quit", "Quit", id="cache_error_quit")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="cache-error-body"):
            yield Static(Text("The cache cannot be used", style="bold"))
            yield Static(Text(printable(self.message)), id="cache-error-message")
            yield Static(Text("Nothing more can be shown from this cache. q quits.",
                              style="dim"))
        yield KeyFooter()

    def show(self, message: str) -> None:
        """A later failure replaces the line (the newest cause is the one to read)."""
        self.message = message
        if self.is_mounted:
            self.query_one("#cache-error-message", Static).update(Text(printable(message)))
