"""Screen state lives in reactive attributes: setting one repaints what depends
on it, whoever sets it (a key, a worker's message, a test)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input, ProgressBar

from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.export import ExportScreen
from recon_tui.tui.screens.sync import SyncScreen
from recon_tui.tui.sources import ClientFilter
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.test_tui import SIZE, make_app, screen_text
from tests.waits import wait_until


async def test_a_new_client_filter_requeries_the_list_and_its_status(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ClientsScreen)
        table = screen.query_one("#clients", VirtualTable)
        await wait_until(pilot, lambda: table.row_count == 4)
        screen.client_filter = ClientFilter(discrepant_only=True)
        await pilot.pause()
        assert table.row_count == 2
        assert "2 clients with discrepancies" in screen_text(app)
        await pilot.press("escape")  # clear filters: a fresh filter, the whole book again
        await wait_until(pilot, lambda: table.row_count == 4)
        assert screen.client_filter == ClientFilter()


async def test_a_running_sync_locks_its_date_and_one_that_cannot_start_frees_it(
        tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen))
        dialog = app.screen
        field = dialog.query_one("#since", Input)
        assert not field.disabled
        dialog.running = True
        assert field.disabled
        dialog._finished(None, "the sync lock is held by another process")
        assert not dialog.running and not field.disabled


async def test_a_running_export_locks_every_field(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
        dialog = app.screen
        dialog.running = True
        assert all(field.disabled for field in dialog.query(Input))
        assert dialog.query_one("#export-go", Button).disabled
        assert dialog.query_one("#export-bar", ProgressBar).display
        dialog._finished(None, None, False, "disk full")
        assert not any(field.disabled for field in dialog.query(Input))
        assert not dialog.query_one("#export-go", Button).disabled
        assert not dialog.query_one("#export-bar", ProgressBar).display
