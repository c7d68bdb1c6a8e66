""""Why can't the client see invoice N?": the checks in order, and the fix."""

from __future__ import annotations

import logging

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from recon_tui.cache import Cache
from recon_tui.text import printable
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.printable_input import PrintableInput
from recon_tui.workflows.visibility import Action, Explanation, explain_invoice

log = logging.getLogger(__name__)


class WhyScreen(ReconScreenMixin, ModalScreen[None]):
    """Type an invoice number, Enter; then the offered action's key or Escape."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="why_close"),
        Binding("ctrl+o", "follow", "Do the suggested fix", id="why_follow"),
        *TYPING_HELP_QUIT,
    ]

    def __init__(self, number: str = "") -> None:
        super().__init__()
        self.number = number
        self.explanation: Explanation | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="why-dialog"):
            yield Static(Text("Why can't the client see an invoice?", style="bold"))
            yield Label("Invoice number (PSA number or ledger doc number), then Enter:")
            yield PrintableInput(value=self.number, id="why-number", placeholder="e.g. 10040")
            yield Static(id="why-checks")
            yield Static(id="why-result")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#why-number", Input).focus()
        if self.number:
            self._start(self.number)

    @on(Input.Submitted, "#why-number")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._start(event.value)

    def _start(self, number: str) -> None:
        if self.busy:
            return
        self.busy = True
        self.query_one("#why-checks", Static).update("")
        self.query_one("#why-result", Static).update(
            Text(f"Searching both systems for {printable(number.strip())}…", style="dim"))
        self._explain(number)

    @work(thread=True, exclusive=True, group="why", name="why")
    def _explain(self, number: str) -> None:
        app = self.recon_app
        cache = Cache(app.cache_path)
        try:
            try:
                backend = app.get_backend()
                psa, ledger = backend.psa, backend.ledger
            except Exception:  # offline or not configured: the cache alone answers
                log.info("no connectors for the why check: the cache alone answers",
                         exc_info=True)
                psa = ledger = None
            explanation = explain_invoice(
                cache, number, psa=psa, ledger=ledger,
                minimum_level=app.config.portal.client_admin_security_level)
        finally:
            cache.close()
        app.call_from_thread(self._show, explanation)

    def _show(self, explanation: Explanation) -> None:
        self.busy = False
        self.explanation = explanation
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1)
        table.add_column(min_width=26)
        table.add_column()
        for number, check in enumerate(explanation.checks, 1):
            mark = Text("✓", style="bold green") if check.ok else Text("✗", style="bold red")
            table.add_row(mark, Text(f"{number}. {printable(check.title)}"),
                          Text(printable(check.detail)))
        verdict = Text(printable(explanation.verdict),
                       style="bold green" if explanation.visible else "bold")
        if explanation.live_error:
            verdict.append(f"\n({printable(explanation.live_error)})", style="dim")
        if explanation.action is not Action.NONE:
            verdict.append(f"\n\nctrl+o: {explanation.action.value}", style="bold cyan")
            if explanation.action is Action.FULL_SYNC and explanation.sync_since:
                verdict.append(f" from {explanation.sync_since.isoformat()}",
                               style="bold cyan")
        verdict.append("\nEscape closes; Enter searches another number.", style="dim")
        self.query_one("#why-checks", Static).update(table)
        self.query_one("#why-result", Static).update(verdict)

    def action_follow(self) -> None:
        explanation = self.explanation
        if explanation is None or explanation.action is Action.NONE:
            self.notify("Nothing to do: search an invoice first.")
            return
        app = self.recon_app
        self.dismiss(None)
        if explanation.action is Action.FULL_SYNC:
            app.action_sync(explanation.sync_since)
        elif explanation.action is Action.OPEN_MAPPER:
            customer = (explanation.client_key or "").partition(":")[2] or None
            app.action_map_companies(customer)
        elif explanation.action is Action.OPEN_CLIENT and explanation.client_key:
            app.open_client(explanation.client_key)

    def action_close(self) -> None:
        self.dismiss(None)
