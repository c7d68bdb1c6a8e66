"""The same checks as ``recon-tui doctor``, on screen: opened from the palette,
and offered by the sync dialog when a sync fails on a connection or a key."""

from __future__ import annotations

import logging

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import get_current_worker

from recon_tui.text import printable
from recon_tui.tui.failures import reason
from recon_tui.tui.screens.base import MODAL_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.wording import counted

log = logging.getLogger(__name__)

STYLES = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "FAIL": ("✗", "bold red")}


class DoctorScreen(ReconScreenMixin, ModalScreen[None]):
    """Each check as it is made, one line with its fix; r runs them again."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="doctor_close"),
        Binding("r", "rerun", "Run again", id="doctor_rerun"),
        *MODAL_HELP_QUIT,
    ]

    DEFAULT_CSS = """
    DoctorScreen { align: center middle; }
    #doctor-dialog {
        width: 96%; max-width: 140; height: auto; max-height: 95%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, reason: str | None = None) -> None:
        super().__init__()
        self.reason = reason
        self.lines: list[Text] = []
        self.done = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="doctor-dialog"):
            yield Static(id="doctor-title")
            yield Static(id="doctor-checks")
            yield Static(id="doctor-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        title = Text("Connection checks (recon-tui doctor)", style="bold")
        if self.reason:
            title.append("\nThe sync failed: ", style="bold red")
            title.append(printable(self.reason))
        self.query_one("#doctor-title", Static).update(title)
        self.action_rerun()

    def action_rerun(self) -> None:
        if not self.done and self.lines:
            return  # still running
        self.lines, self.done = [], False
        self._draw()
        self._checks()

    @work(thread=True, exclusive=True, group="doctor", name="doctor")
    def _checks(self) -> None:
        from recon_tui.onboarding.doctor import run_checks

        worker = get_current_worker()
        app = self.recon_app
        config_path = str(app.config.path) if app.config.path is not None else None

        def seen(check) -> None:
            if not worker.is_cancelled:
                app.call_from_thread(self._add, check)

        try:
            run_checks(config_path, str(app.cache_path), demo=app.demo, progress=seen)
            error = None
        except Exception as exc:  # shown, never swallowed
            log.exception("the connection checks failed")
            error = reason(exc)
        if not worker.is_cancelled:
            app.call_from_thread(self._finished, error)

    def _add(self, check) -> None:
        mark, style = STYLES.get(check.status, ("·", ""))
        line = Text(f"{mark} ", style=style)
        line.append(printable(f"{check.name}: {check.detail}"), style=style if
                    check.status == "FAIL" else "")
        if check.fix and check.status != "ok":
            line.append("\n    fix: ", style="bold")
            line.append(printable(check.fix))
        self.lines.append(line)
        self._draw()

    def _finished(self, error: str | None) -> None:
        self.done = True
        self._draw(error)

    def _draw(self, error: str | None = None) -> None:
        body = Text("\n").join(self.lines) if self.lines else Text("Checking…", style="dim")
        self.query_one("#doctor-checks", Static).update(body)
        if error:
            status = Text(printable(error), style="bold red")
        elif self.done:
            failed = sum(1 for line in self.lines if line.plain.startswith("✗"))
            status = Text(f"{counted(failed, 'check')} failed. " if failed
                          else "Every check passed. ",
                          style="bold red" if failed else "bold green")
            status.append("r runs them again · Esc closes", style="dim")
        else:
            status = Text("Checking… Esc closes", style="dim")
        self.query_one("#doctor-status", Static).update(status)

    def action_close(self) -> None:
        self.workers.cancel_group(self, "doctor")
        self.dismiss(None)
