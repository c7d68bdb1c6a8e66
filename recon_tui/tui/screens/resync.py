"""Resync one invoice from both systems and show before -> after."""

from __future__ import annotations

import logging

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from recon_tui.cache import Cache
from recon_tui.describe import describe_resync
from recon_tui.text import printable
from recon_tui.tui.failures import reason
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import MODAL_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter

log = logging.getLogger(__name__)


class ResyncScreen(ReconScreenMixin, ModalScreen[None]):
    """Runs the resync in a worker; the result stays until Escape or Enter."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="resync_close"),
        Binding("enter", "close", "Close", show=False),
        *MODAL_HELP_QUIT,
    ]

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number
        self.done = False
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="resync-dialog"):
            yield Static(Text(f"Resync invoice {printable(self.number)}", style="bold"))
            yield Static(Text(f"Refetching {printable(self.number)} from the PSA and the "
                              "ledger, with the customer's credits…", style="dim"),
                         id="resync-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._resync()

    @work(thread=True, exclusive=True, group="sync", name="resync")
    def _resync(self) -> None:
        from recon_tui.resync import ResyncError, resync_invoice
        from recon_tui.sync import SyncBusy

        app = self.recon_app
        cache = Cache(app.cache_path)
        try:
            backend = app.get_backend()
            result = resync_invoice(cache, backend.psa, backend.ledger, self.number)
            app.call_from_thread(self._show, Text(describe_resync(result)), None)
        except (ResyncError, SyncBusy) as exc:
            app.call_from_thread(self._show, None, str(exc))
        except Exception as exc:  # shown to the operator, never swallowed
            log.exception("resyncing invoice %s failed", self.number)
            app.call_from_thread(self._show, None, reason(exc))
        finally:
            cache.close()

    def _show(self, text: Text | None, error: str | None) -> None:
        self.done = True
        self.error = error
        body = self.query_one("#resync-body", Static)
        if error:
            body.update(Text(f"Resync failed: {printable(error)}\nNothing was written.",
                             style="bold red"))
        else:
            assert text is not None
            text.append("\n\nEscape or Enter closes.", style="dim")
            body.update(text)
            self.recon_app.broadcast(CacheChanged)

    def action_close(self) -> None:
        self.dismiss(None)
