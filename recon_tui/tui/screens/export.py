"""The export dialog: the reconciliation snapshot report for a date range, the
whole book or one client, as xlsx, csv, json or markdown."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Select, Static

from recon_tui.cache import Cache
from recon_tui.money import format_money
from recon_tui.report.options import (
    ReportOptionError,
    check_writable,
    months_back,
    parse_report_date,
)
from recon_tui.report.writers import EXTENSIONS, FORMATS, default_report_name, format_from_path
from recon_tui.text import printable
from recon_tui.tui.screens.base import ReconScreenMixin
from recon_tui.tui.widgets.printable_input import PrintableInput

if TYPE_CHECKING:
    from recon_tui.report.snapshot import Snapshot

FORMAT_LABELS = {
    "xlsx": "xlsx — workbook, one sheet per section",
    "csv": "csv — the invoice rows",
    "json": "json — everything, for other tools",
    "md": "md — readable in a ticket",
}


def default_folder() -> Path:
    """The current folder when it can be written, else the home folder."""
    cwd = Path.cwd()
    return cwd if os.access(cwd, os.W_OK | os.X_OK) else Path.home()


class ExportScreen(ReconScreenMixin, ModalScreen[Path | None]):
    """Enter (or the Export button) writes the report; Escape closes."""

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
    }
    #export-dialog {
        width: 100;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    #export-dialog > * {
        margin-bottom: 1;
    }
    #export-dialog Label {
        width: 100%;
        margin-bottom: 0;
    }
    #export-dates {
        height: auto;
    }
    #export-dates Input {
        width: 1fr;
    }
    #export-format {
        width: 100%;
    }
    #export-error {
        height: auto;
        margin: 0;
    }
    #export-bar {
        width: 100%;
    }
    #export-go {
        width: auto;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", id="export_close"),
    ]

    def __init__(self, client_key: str | None = None, client_name: str | None = None, *,
                 today: date | None = None, folder: Path | None = None) -> None:
        super().__init__()
        self.client_key = client_key
        self.client_name = client_name
        self.today = today or date.today()
        self.folder = folder
        self.running = False
        self.written: Path | None = None

    def compose(self) -> ComposeResult:
        scope = f"client {printable(self.client_name)}" if self.client_key else "the whole book"
        with Vertical(id="export-dialog"):
            yield Static(Text.assemble(("Export the reconciliation report", "bold"),
                                       f" for {scope}"), id="export-title")
            yield Label("Invoice dates from / to (YYYY-MM-DD, inclusive):")
            with Horizontal(id="export-dates"):
                yield Input(id="export-from", placeholder="YYYY-MM-DD")
                yield Input(id="export-to", placeholder="YYYY-MM-DD")
            yield Label("Format:")
            yield Select([(FORMAT_LABELS[f], f) for f in FORMATS], value="xlsx",
                         allow_blank=False, id="export-format")
            yield Label("File (replaced if it exists):")
            yield PrintableInput(id="export-path")  # a folder's name may hold anything
            yield Static(id="export-error")
            yield ProgressBar(total=None, show_eta=False, id="export-bar")
            yield Button("Export", id="export-go", variant="primary")
            yield Static(Text("Enter exports. Escape closes.", style="dim"),
                         id="export-status")

    def on_mount(self) -> None:
        self.query_one("#export-from", Input).value = months_back(self.today).isoformat()
        self.query_one("#export-to", Input).value = self.today.isoformat()
        folder = self.folder or default_folder()
        name = default_report_name(self.today, "xlsx", self.client_name)
        self.query_one("#export-path", Input).value = str(folder / name)
        self.query_one("#export-from", Input).focus()

    # -- helpers
    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#export-status", Static).update(Text(printable(text), style=style))

    def _error(self, text: str) -> None:
        self.query_one("#export-error", Static).update(Text(printable(text), style="bold red"))

    @on(Select.Changed, "#export-format")
    def _format_changed(self, event: Select.Changed) -> None:
        """A new format renames the default file's extension."""
        field = self.query_one("#export-path", Input)
        path = Path(field.value)
        if event.value in FORMATS and path.suffix.lower() in EXTENSIONS:
            field.value = str(path.with_suffix(f".{event.value}"))

    # -- start
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
            fmt = str(self.query_one("#export-format", Select).value)
            path = Path(raw).expanduser()
            by_name = format_from_path(path)
            if by_name is not None and by_name != fmt:
                fmt = by_name  # the file name's extension wins, as on the command line
                self.query_one("#export-format", Select).value = fmt
            target = check_writable(path if path.is_absolute() else Path.cwd() / path)
        except ReportOptionError as exc:
            self._error(str(exc))
            return
        self._error("")
        self.running = True
        for widget in self.query(Input):
            widget.disabled = True
        self.query_one("#export-format", Select).disabled = True
        self.query_one("#export-go", Button).disabled = True
        self._status("Reading the invoices…")
        self._export(start, end, fmt, target)

    @work(thread=True, exclusive=True, group="export", name="export report")
    def _export(self, start: date, end: date, fmt: str, target: Path) -> None:
        from recon_tui.report.snapshot import build_snapshot
        from recon_tui.report.writers import write_report

        app = self.recon_app
        cache = Cache(app.cache_path)
        try:
            client = cache.client(self.client_key) if self.client_key else None
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
            app.call_from_thread(self._finished, None, None, False,
                                 f"{type(exc).__name__}: {exc}")
        finally:
            cache.close()

    def _progress(self, phase: str, done: int, total: int) -> None:
        bar = self.query_one("#export-bar", ProgressBar)
        bar.update(total=max(total, 1), progress=done)
        verb = "Reading invoices" if phase == "reading" else "Writing rows"
        self._status(f"{verb}: {done:,} of {total:,}…")

    def _finished(self, path: Path | None, snapshot: Snapshot | None, replaced: bool,
                  error: str | None) -> None:
        self.running = False
        if error is not None or path is None or snapshot is None:
            self._status(f"Export failed: {error}", "bold red")
            for widget in self.query(Input):
                widget.disabled = False
            self.query_one("#export-format", Select).disabled = False
            self.query_one("#export-go", Button).disabled = False
            return
        self.written = path
        t = snapshot.totals
        bar = self.query_one("#export-bar", ProgressBar)
        bar.update(total=1, progress=1)
        text = Text()
        text.append(f"Wrote {printable(path)}", style="bold green")
        if replaced:
            text.append(" (replaced the old file)", style="dim")
        text.append(f"\n{snapshot.header.row_count:,} rows, "
                    f"{len(snapshot.discrepant_rows):,} discrepant; invoice difference "
                    f"{format_money(t.invoice_difference)}, residual "
                    f"{format_money(t.residual)}.")
        text.append("\nEnter or Escape closes.", style="dim")
        self.query_one("#export-status", Static).update(text)
        self.query_one("#export-go", Button).label = "Close"
        self.query_one("#export-go", Button).disabled = False
        self.query_one("#export-go", Button).focus()
        self.notify(f"Report written: {printable(path)}", timeout=8, markup=False)

    # -- keys
    def action_close(self) -> None:
        if self.running:
            self._status("Still exporting… the file appears when it is complete.", "yellow")
            return
        self.dismiss(self.written)
