"""First launch with no configuration: the demo opens behind this offer, and the
tech chooses to explore it or to connect their own accounts."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from recon_tui.text import printable
from recon_tui.tui.screens.base import MODAL_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter


class WelcomeScreen(ReconScreenMixin, ModalScreen[None]):
    """Enter or d: the demo (already loading behind); c: connect my accounts."""

    BINDINGS = [
        Binding("enter,d", "demo", "Explore the demo", id="welcome_demo"),
        Binding("c", "connect", "Connect my accounts", id="welcome_connect"),
        Binding("escape", "demo", "Close", show=False),
        *MODAL_HELP_QUIT,
    ]

    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; }
    #welcome-dialog {
        width: 90%; max-width: 78; height: auto; max-height: 95%;
        border: round $accent; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        text = Text("Welcome to recon-tui\n\n", style="bold")
        text.append("No accounts are connected yet: there is no config at ")
        text.append(printable(self.config_path), style="bold")
        text.append(".\n\nBehind this is the demo book, a sample MSP's ConnectWise and "
                    "QuickBooks Online, offline, with every situation of the support "
                    "articles to try.\n\n")
        text.append("  Enter  ", style="bold cyan")
        text.append("explore the demo\n")
        text.append("  c      ", style="bold cyan")
        text.append("connect my accounts (QuickBooks Online, then ConnectWise or Autotask)\n")
        text.append("\nOn the command line: recon-tui connect qbo|connectwise|autotask, "
                    "recon-tui doctor. QuickBooks Desktop syncs through the Web Connector "
                    "(recon-tui qbwc); Sage 50 by its exports (recon-tui import sage50).",
                    style="dim")
        with Vertical(id="welcome-dialog"):
            yield Static(text, id="welcome-text")
        yield KeyFooter()

    def action_demo(self) -> None:
        self.dismiss(None)

    def action_connect(self) -> None:
        from recon_tui.tui.screens.connect import ConnectScreen

        self.dismiss(None)
        self.app.push_screen(ConnectScreen(self.config_path))
