"""The export dialog driven by the Pilot: `e` on the clients screen exports the
book, `e` on a client's screen exports that client; the file is written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
from textual.widgets import ProgressBar

from recon_tui.cache import Cache
from recon_tui.config import Config, ReportConfig
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.export import ExportScreen
from recon_tui.tui.screens.help import HelpScreen
from recon_tui.tui.widgets.format_picker import FormatPicker
from tests.test_report import seed_004_book
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app
from tests.waits import wait_for_text, wait_until


def make_app(tmp_path: Path, folder: Path | None = None) -> ReconApp:
    """The seed-004 book; exports go to ``folder`` (``[report] folder``), by default
    ``tmp_path/exports``, never the tester's Documents."""
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        seed_004_book(cache)
    folder = folder or tmp_path / "exports"
    folder.mkdir(exist_ok=True)
    return recon_app(config=Config(report=ReportConfig(folder=folder)), cache_path=path,
                     demo=False)


def status_text(dialog) -> str:
    """The export dialog's status line as text (it wraps on a narrow screen)."""
    return str(dialog.query_one("#export-status").render())


async def test_e_exports_the_whole_book_to_the_chosen_file(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        # in the footer, once it is painted (a loaded machine paints later)
        await wait_until(pilot, lambda: "e Export" in screen_text(app).splitlines()[-1])
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen) and dialog.client_key is None
        text = screen_text(app)
        assert "Export the reconciliation report for the whole book" in text
        today = date.today().isoformat()
        assert dialog.query_one("#export-to").value == today
        assert dialog.query_one("#export-path").value.endswith(f"recon-{today}.xlsx")

        # A bad date is refused on the spot.
        dialog.query_one("#export-from").value = "2026-02-30"
        await pilot.press("enter")
        await pilot.pause()
        assert "From: expected a date YYYY-MM-DD" in screen_text(app)
        assert not dialog.running and dialog.written is None

        dialog.query_one("#export-from").value = "2026-01-01"
        dialog.query_one("#export-to").value = "2026-12-31"
        target = tmp_path / "book-report.xlsx"
        dialog.query_one("#export-path").value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: dialog.written is not None)
        await pilot.pause()
        assert dialog.written == target and target.exists()
        text = status_text(dialog)  # the whole line, however long the path
        assert f"Wrote {target}" in text
        assert "8 rows, 6 discrepant" in text
        assert "Invoice Difference -925.25: these 3 invoices make up the -925.25." in text
        wb = openpyxl.load_workbook(target)
        assert wb.sheetnames[0] == "Summary"
        assert wb["Invoices"].max_row == 9
        await pilot.press("enter")  # Enter closes the finished dialog
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)


async def test_format_choice_renames_the_file_and_a_client_exports_alone(
        tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.open_client("psa:1")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen) and dialog.client_key == "psa:1"
        assert "for client Contoso Ltd" in screen_text(app)
        path = dialog.query_one("#export-path")
        assert "recon-contoso-ltd-" in path.value and path.value.endswith(".xlsx")
        dialog.query_one("#export-format").value = "json"
        await pilot.pause()
        assert path.value.endswith(".json")
        dialog.query_one("#export-from").value = "2026-01-01"
        dialog.query_one("#export-to").value = "2026-12-31"
        target = tmp_path / "contoso.json"
        path.value = str(target)
        await pilot.click("#export-go")
        await wait_until(pilot, lambda: dialog.written is not None)
        data = json.loads(target.read_text())
        assert data["scope"] == {"client_key": "psa:1", "client": "Contoso Ltd"}
        assert {r["psa_invoice_number"] for r in data["rows"]} == {
            "220477-4", "220499-1", "220399-1"}
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)


async def test_export_fails_cleanly_on_a_missing_folder_and_help_lists_the_key(
        tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "Export" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")  # the command palette offers it too
        await pilot.pause()
        await pilot.press(*"export")
        await wait_for_text(pilot, "Write the reconciliation report of the whole book",
                            screen_text)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#export-path").value = str(tmp_path / "missing" / "r.md")
        await pilot.press("enter")
        await pilot.pause()
        assert "does not exist" in str(dialog.query_one("#export-error").render())
        assert dialog.written is None and not (tmp_path / "missing").exists()


async def test_enter_exports_from_the_format_line_md_in_one_key_into_the_folder(
        tmp_path: Path) -> None:
    """Tab to Format, m picks md at once, Enter exports (it used to reopen a
    drop-down); the default period is the whole cache, and the file goes to the
    export folder shown in the dialog, its full path printed at the end."""
    folder = tmp_path / "reports"
    app = make_app(tmp_path, folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        today = date.today()
        # The whole cache: OLD-1 (2025-06-01) is the book's first invoice.
        assert dialog.query_one("#export-from").value == "2025-06-01"
        assert dialog.query_one("#export-to").value == today.isoformat()
        assert f"a name alone goes in {folder}" in str(
            dialog.query_one("#export-folder").render())
        path = dialog.query_one("#export-path")
        assert path.value == str(folder / f"recon-{today.isoformat()}.xlsx")
        bar = dialog.query_one("#export-bar", ProgressBar)
        assert not bar.display and bar.total is not None  # no idle animation

        await pilot.press("tab", "tab")  # from, to, format
        picker = dialog.query_one("#export-format", FormatPicker)
        assert app.focused is picker
        await pilot.press("m")
        await pilot.pause()
        assert picker.value == "md" and path.value.endswith(".md")
        await pilot.press("enter")
        await wait_until(pilot, lambda: dialog.written is not None)
        await pilot.pause()
        written = folder / f"recon-{today.isoformat()}.md"
        assert dialog.written == written and written.exists()
        assert "2025-06-01" in written.read_text(encoding="utf-8")  # OLD-1 is in
        assert f"Wrote {written}" in status_text(dialog)
        assert bar.total is not None and bar.progress == bar.total  # full, and still


async def test_format_keys_and_a_bare_name_goes_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    app = make_app(tmp_path, folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        picker = dialog.query_one("#export-format", FormatPicker)
        picker.focus()
        await pilot.press("right")
        assert picker.value == "csv"
        await pilot.press("left", "left")
        assert picker.value == "md"  # it wraps around
        await pilot.press("j")
        assert picker.value == "json"
        await pilot.press("x")
        assert picker.value == "xlsx"
        dialog.query_one("#export-path").value = "mine.csv"  # the extension wins
        dialog.query_one("#export-path").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: dialog.written is not None)
        assert dialog.written == folder / "mine.csv" and picker.value == "csv"
        assert (folder / "mine.csv").read_text(encoding="utf-8-sig").startswith(
            "invoice_date,")
