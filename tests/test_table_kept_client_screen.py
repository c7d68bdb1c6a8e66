"""Opening a client again reuses the app's kept client screen (issue 12: composing,
mounting and styling its widgets was most of opening a client). What it shows
must be what a new screen shows, whatever the last client left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon_tui.config import Config
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.test_tui import make_app, screen_text
from tests.tui_app import recon_app
from tests.waits import wait_until


def looks(app: ReconApp) -> str:
    """The screen as the snapshots see it: every character and its colours."""
    return app.export_screenshot()


async def _open(pilot, app: ReconApp, client_key: str, *,
                pair_id: int | None = None) -> ClientDetailScreen:
    app.open_client(client_key, pair_id=pair_id)
    await wait_until(pilot, lambda: isinstance(app.screen, ClientDetailScreen)
                     and app.screen.client_key == client_key and app.screen.is_attached)
    await pilot.pause()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ClientDetailScreen)
    return screen


async def _fresh_look(tmp_path: Path, size: tuple[int, int], client_key: str, *,
                      theme: str = "") -> str:
    """The client on a new app's first client screen, over the same cache."""
    app = recon_app(config=Config.default(), cache_path=tmp_path / "book.db", demo=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        if theme:
            app.theme = theme
        await _open(pilot, app, client_key)
        return looks(app)


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_a_client_opened_again_looks_as_on_a_new_screen(tmp_path: Path,
                                                              size: tuple[int, int]) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        first = await _open(pilot, app, "psa:1")
        # Leave things behind: columns scrolled, the keyboard on the credits panel.
        await pilot.press("right", "right")
        assert first.query_one("#invoices", VirtualTable).hscroll > 0 or size[0] > 100
        await pilot.press("tab", "tab")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ClientsScreen))
        again = await _open(pilot, app, "psa:2")
        assert again is first  # the kept screen, not a new one
        assert again.query_one("#invoices", VirtualTable).hscroll == 0
        assert again.focused is again.query_one("#invoices", VirtualTable)
        shown = looks(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ClientsScreen))
        same = await _open(pilot, app, "psa:1")
        assert same is first
        shown_first = looks(app)
    assert shown == await _fresh_look(tmp_path, size, "psa:2")
    assert shown_first == await _fresh_look(tmp_path, size, "psa:1")


async def test_the_kept_screen_is_styled_again_for_a_new_size_or_theme(tmp_path: Path) -> None:
    """Shown again, it skips restyling only when nothing its styles follow changed:
    here the terminal shrank (other breakpoint classes), then the theme changed."""
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        kept = await _open(pilot, app, "psa:1")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ClientsScreen))
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert await _open(pilot, app, "psa:1") is kept
        narrow = looks(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ClientsScreen))
        app.theme = "textual-light"
        await pilot.pause()
        assert await _open(pilot, app, "psa:1") is kept
        light = looks(app)
    assert narrow == await _fresh_look(tmp_path, (80, 24), "psa:1")
    assert light == await _fresh_look(tmp_path, (80, 24), "psa:1", theme="textual-light")


async def test_a_client_opened_over_a_client_screen_gets_a_new_one(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        kept = await _open(pilot, app, "psa:1")
        over = await _open(pilot, app, "psa:3")  # the palette opens a client from here
        assert over is not kept and kept in app.screen_stack
        assert "Quiet Co" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is kept)
        assert "Northwind Traders" in screen_text(app)


async def test_the_kept_screen_starts_on_the_row_it_is_opened_at(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        await _open(pilot, app, "psa:3")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ClientsScreen))
        [pair] = app.cache.recon.pairs_for_number("110273")
        screen = await _open(pilot, app, pair.client_key, pair_id=pair.pair_id)
        table = screen.query_one("#invoices", VirtualTable)
        assert table.current_row is not None and table.current_row.key == str(pair.pair_id)
