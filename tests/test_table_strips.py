"""A table's row lines are kept by what they show, not where: a new source (a
filter keystroke) that keeps rows on screen draws them again for free, and a row
whose text changed is drawn anew."""

from __future__ import annotations

from textual.strip import Strip

from recon_tui.tui.widgets.virtual_table import ListRowSource, TableRow, VirtualTable
from tests.test_virtual_table import SIZE, TableApp, screen_lines


def rows(count: int, changed: int | None = None) -> list[TableRow]:
    return [TableRow(f"K{i}", (f"row {i}", f"Client {i}" + (" (new)" if i == changed else ""),
                               f"{i}.00")) for i in range(count)]


def lines_by_text(table: VirtualTable) -> dict[str, Strip]:
    return {line.text: line for line in (table.render_line(y) for y in range(2, 12))}


async def test_rows_still_on_screen_after_a_new_source_are_not_drawn_again() -> None:
    app = TableApp(ListRowSource(rows(100)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        before = lines_by_text(table)
        table.set_source(ListRowSource(rows(100)[:1] + rows(100)[4:]))  # three rows gone
        await pilot.pause()
        after = lines_by_text(table)
        kept = [text for text in after if text in before]
        assert len(kept) >= 6  # rows 4.. moved up three lines, each line the same strip
        assert all(after[text] is before[text] for text in kept)
        assert screen_lines(table)[2].startswith("row 4 ")

        table.set_source(ListRowSource(rows(100, changed=5)))
        await pilot.pause()
        shown = screen_lines(table)
        assert "Client 5 (new)" in shown[6] and "Client 6" in shown[7]
        assert table.render_line(7) is before[table.render_line(7).text]


async def test_a_click_names_the_row_under_it_wherever_its_line_came_from() -> None:
    app = TableApp(ListRowSource(rows(100)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        table.set_source(ListRowSource(rows(100)[10:]))  # lines drawn before, elsewhere
        await pilot.pause()
        await pilot.click(VirtualTable, offset=(3, 3))  # screen line 3 = row 2 = K12
        await pilot.pause()
        assert table.cursor_row == 2 and table.current_row.key == "K12"
        table.scroll_to(y=5, animate=False, force=True)
        await pilot.pause()
        await pilot.click(VirtualTable, offset=(3, 1))  # the first line under the header
        await pilot.pause()
        assert table.cursor_row == 5 and table.current_row.key == "K15"
