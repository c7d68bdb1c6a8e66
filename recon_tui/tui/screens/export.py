"""The export dialog: the reconciliation snapshot report for a date range (by
default the whole cache), the whole book or one client, as xlsx, csv, json or
markdown, into the export folder (``[report] folder``, else Documents, else home).
Enter exports from any field; the progress bar moves only while it works."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Static

from recon_tui.cache import Cache
from recon_tui.report.fields import rows_text
from recon_tui.report.options import (
    ReportOptionError,
    check_writable,
    default_folder,
    default_period,
    parse_report_date,
)
from recon_tui.report.writers import EXTENSIONS, FORMATS, default_report_name, format_from_path
from recon_tui.text import printable
from recon_tui.tui.failures import reason
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.format_picker import FormatPicker
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.printable_input import PrintableInput

if TYPE_CHECKING:
    from recon_tui.report.snapshot import Snapshot

log = logging.getLogger(__name__)

FORMAT_LABELS = {
    "xlsx": "workbook, a sheet per section",
    "csv": "the invoice rows",
    "json": "everything, for other tools",
    "md": "readable in a ticket",
}
HINT = "Enter exports (from any field). Escape closes."


class ExportScreen(ReconScreenMixin, ModalScreen[Path | None]):
    """Enter (or the Export button) writes the report; Escape closes."""

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
    }
    #export-dialog {
        width: 100;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 2;
    }
    #export-dialog Label {
        width: 100%;
    }
    #export-title {
        margin-bottom: 1;
    }
    #export-dates {
        height: auto;
    }
    #export-dates Input {
        width: 1fr;
    }
    #export-format {
        margin-bottom: 1;
    }
    #export-error {
        height: auto;
    }
    #export-run {
        height: auto;
    }
    #export-bar {
        width: 1fr;
        height: 3;
        padding: 1 2 0 0;
    }
    #export-bar Bar {
        width: 1fr;
    }
    #export-go {
        width: auto;
    }
    #export-status {
        height: auto;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", id="export_close"),
        # The format line leaves Enter alone; the inputs and the button submit
        # themselves, so Enter exports wherever the focus is.
        Binding("enter", "export", "Export", id="export_go", show=False),
        *TYPING_HELP_QUIT,
    ]

    #: The report is being read and written: every field is locked.
    running: var[bool] = var(False, init=False)

    def __init__(self, client_key: str | None = None, client_name: str | None = None, *,
                 today: date | None = None, folder: Path | None = None) -> None:
        super().__init__()
        self.client_key = client_key
        self.client_name = client_name
        self.today = today or date.today()
        self.folder = folder
        self.written: Path | None = None

    def compose(self) -> ComposeResult:
        scope = f"client {printable(self.client_name)}" if self.client_key else "the whole book"
        with VerticalScroll(id="export-dialog"):
            yield Static(Text.assemble(("Export the reconciliation report", "bold"),
                                       f" for {scope}"), id="export-title")
            yield Label("Invoice dates from / to (YYYY-MM-DD, inclusive):")
            with Horizontal(id="export-dates"):
                yield Input(id="export-from", placeholder="YYYY-MM-DD")
                yield Input(id="export-to", placeholder="YYYY-MM-DD")
            yield Label("Format (←/→, or x c j m):")
            yield FormatPicker(FORMAT_LABELS, "xlsx", id="export-format")
            yield Label(id="export-folder")
            yield PrintableInput(id="export-path")  # a folder's name may hold anything
            yield Static(id="export-error")
            with Horizontal(id="export-run"):
                # A known total from the start: an indeterminate bar animates while idle.
                yield ProgressBar(total=1, show_eta=False, show_percentage=False,
                                  id="export-bar")
                yield Button("Export", id="export-go", variant="primary")
            yield Static(Text(HINT, style="dim"), id="export-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        span = self.cache.report.date_range(self.client_key)
        start, end = default_period(span, self.today)
        self.query_one("#export-from", Input).value = start.isoformat()
        self.query_one("#export-to", Input).value = end.isoformat()
        folder = self.export_folder
        self.query_one("#export-folder", Label).update(Text.assemble(
            "File (replaced if it exists; a name alone goes in ",
            (printable(folder), "bold"), "):"))
        name = default_report_name(self.today, "xlsx", self.client_name)
        self.query_one("#export-path", Input).value = str(folder / name)
        self.query_one("#export-bar", ProgressBar).display = False
        self.query_one("#export-from", Input).focus()

    @property
    def export_folder(self) -> Path:
        """The folder given, else ``[report] folder``, else Documents, else home."""
        return self.folder or default_folder(self.recon_app.config.report.folder)

    # -- helpers
    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#export-status", Static).update(Text(printable(text), style=style))

    def _error(self, text: str) -> None:
        self.query_one("#export-error", Static).update(Text(printable(text), style="bold red"))

    @on(FormatPicker.Changed, "#export-format")
    def _format_changed(self, event: FormatPicker.Changed) -> None:
        """A new format renames the default file's extension."""
        field = self.query_one("#export-path", Input)
        path = Path(field.value)
        if event.value in FORMATS and path.suffix.lower() in EXTENSIONS:
            field.value = str(path.with_suffix(f".{event.value}"))

    # -- start
    def action_export(self) -> None:
        self._submit()

    @on(Input.Submitted)
    @on(Button.Pressed, "#export-go")
    def _submit(self) -> None:
        if self.running:
            return
        if self.written is not None:
            self.dismiss(self.written)
            return
        try:
            start = parse_report_date(self.query_one("#export-from", Input).value, "From")
            end = parse_report_date(self.query_one("#export-to", Input).value, "To")
            if start > end:
                raise ReportOptionError(f"From {start} is after To {end}")
            raw = self.query_one("#export-path", Input).value.strip()
            if not raw:
                raise ReportOptionError("File: give a file name")
            picker = self.query_one("#export-format", FormatPicker)
            fmt = picker.value
            path = Path(raw).expanduser()
            by_name = format_from_path(path)
            if by_name is not None and by_name != fmt:
                fmt = by_name  # the file name's extension wins, as on the command line
                picker.value = fmt
            target = check_writable(path if path.is_absolute() else self.export_folder / path)
        except ReportOptionError as exc:
            self._error(str(exc))
            return
        self._error("")
        self.running = True
        self._status("Reading the invoices…")
        self._export(start, end, fmt, target)

    @work(thread=True, exclusive=True, group="export", name="export report")
    def _export(self, start: date, end: date, fmt: str, target: Path) -> None:
        from recon_tui.report.snapshot import build_snapshot
        from recon_tui.report.writers import write_report

        app = self.recon_app
        cache = Cache(app.cache_path)
        try:
            client = cache.recon.client(self.client_key) if self.client_key else None
            if self.client_key and client is None:
                raise ReportOptionError("this client is no longer in the cache")
            psa = app.config.psa.kind if app.config.psa else ("connectwise" if app.demo
                                                                 else None)
            ledger = app.config.ledger.kind if app.config.ledger else ("qbo" if app.demo
                                                                       else None)
            snapshot = build_snapshot(
                cache, start, end, client=client,
                portal_level=app.config.portal.client_admin_security_level,
                psa_kind=psa, ledger_kind=ledger,
                progress=lambda phase, done, total: app.call_from_thread(
                    self._progress, phase, done, total))
            existed = target.exists()
            written = write_report(snapshot, fmt, target,
                                   progress=lambda phase, done, total: app.call_from_thread(
                                       self._progress, phase, done, total))
            app.call_from_thread(self._finished, written, snapshot, existed, None)
        except ReportOptionError as exc:
            app.call_from_thread(self._finished, None, None, False, str(exc))
        except OSError as exc:
            app.call_from_thread(self._finished, None, None, False,
                                 f"{target}: cannot write ({exc.strerror or exc})")
        except Exception as exc:  # shown to the operator, never swallowed
            log.exception("exporting the report failed")
            app.call_from_thread(self._finished, None, None, False,
                                 reason(exc))
        finally:
            cache.close()

    def _progress(self, phase: str, done: int, total: int) -> None:
        """Reading fills the first half of the bar, writing the second (csv, json and
        md are written in one go: their half fills at the end)."""
        bar = self.query_one("#export-bar", ProgressBar)
        rows = max(total, 1)
        bar.update(total=2 * rows, progress=done if phase == "reading" else rows + done)
        verb = "Reading invoices" if phase == "reading" else "Writing rows"
        self._status(f"{verb}: {done:,} of {total:,}…")

    def watch_running(self, running: bool) -> None:
        """While the report is written nothing can be changed; once it is written
        only the button (Close) is left; a failed export frees every field."""
        locked = running or self.written is not None
        for widget in self.query(Input):
            widget.disabled = locked
        self.query_one("#export-format", FormatPicker).disabled = locked
        self.query_one("#export-go", Button).disabled = running
        bar = self.query_one("#export-bar", ProgressBar)
        if running:
            bar.update(total=1, progress=0)
        bar.display = running or self.written is not None

    def _finished(self, path: Path | None, snapshot: Snapshot | None, replaced: bool,
                  error: str | None) -> None:
        if error is not None or path is None or snapshot is None:
            self.running = False
            self._status(f"Export failed: {error}", "bold red")
            return
        self.written = path
        self.running = False
        bar = self.query_one("#export-bar", ProgressBar)
        bar.update(total=1, progress=1)
        text = Text()
        text.append(f"Wrote {printable(path)}", style="bold green")
        if replaced:
            text.append(" (replaced the old file)", style="dim")
        text.append(f"\n{rows_text(snapshot.header.row_count)}, "
                    f"{len(snapshot.discrepant_rows):,} discrepant. "
                    f"{printable(snapshot.self_check)}")
        text.append("\nEnter or Escape closes.", style="dim")
        self.query_one("#export-status", Static).update(text)
        self.query_one("#export-go", Button).label = "Close"
        self.query_one("#export-go", Button).focus()

    # -- keys
    def action_close(self) -> None:
        if self.running:
            self._status("Still exporting… the file appears when it is complete.", "yellow")
            return
        if self.written is not None:
            # Said once the dialog is gone: while it is open its own status line says
            # so, and a toast on top of it would hide that line at 80x24.
            self.app.notify(f"Report written: {printable(self.written)}", timeout=8,
                            markup=False)
        self.dismiss(self.written)
