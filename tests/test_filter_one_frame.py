"""A filter keystroke lays the clients screen out once and draws it once (issue
12): the count beside the box grows with the text typed (it names the filter), and
Textual laid the screen out a second time for that new width; and its frame timer
drew the narrowed list before its layout, and then again after it."""

from __future__ import annotations

from pathlib import Path

from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.test_tui import SIZE, make_app, screen_text


async def test_each_filter_keystroke_is_one_layout_and_one_frame(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClientsScreen)
        counts = {"layouts": 0, "frames": 0}
        layout, render = screen._refresh_layout, screen._compositor.render_update

        def counting_layout(*args, **kwargs):  # type: ignore[no-untyped-def]
            counts["layouts"] += 1
            return layout(*args, **kwargs)

        def counting_render(*args, **kwargs):  # type: ignore[no-untyped-def]
            counts["frames"] += 1
            return render(*args, **kwargs)

        screen._refresh_layout = counting_layout  # type: ignore[method-assign]
        screen._compositor.render_update = counting_render  # type: ignore[method-assign]
        await pilot.press("slash")
        await pilot.pause()
        table = screen.query_one("#clients", VirtualTable)
        seen = []
        for ch in "north":
            counts.update(layouts=0, frames=0)
            await pilot.press(ch)
            for _ in range(3):  # settle: nothing more is laid out or drawn
                await pilot.pause()
            seen.append((counts["layouts"], counts["frames"]))
        assert seen == [(1, 1)] * 5, seen
        assert table.row_count == 1 and 'matching "north"' in screen_text(app)
