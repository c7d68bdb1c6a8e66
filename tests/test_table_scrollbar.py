"""A table's scrollbar draws what Textual's draws, and is not drawn again while it
looks the same; a table given rows before it has a size fetches a screenful."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.message import Message
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from recon_tui.tui.widgets.table_scrollbar import TableScrollBar
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.test_virtual_table import COLUMNS, CountingSource

SIZE = (100, 30)


class LateSourceApp(App[None]):
    """Sets its table's rows on mount, before the first layout (as the client
    screen does), and records what the table posts."""

    def __init__(self, source: CountingSource) -> None:
        super().__init__()
        self.source = source
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).set_source(self.source)

    def on_virtual_table_row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        self.messages.append(message)


def drawn(bar: ScrollBar) -> list[list[tuple[str, object]]]:
    """The bar's lines as the compositor gets them, as text and style."""
    lines = bar.render_lines(bar.size.region)
    return [[(segment.text, segment.style) for segment in line] for line in lines]


def textual_lines(bar: ScrollBar) -> list[Strip]:
    """The bar's lines drawn by Textual's ScrollBar itself, nothing kept."""
    bar._dirty_regions.add(bar.size.region)
    bar._styles_cache.clear()
    return ScrollBar.render_lines(bar, bar.size.region)


def textual_drawn(bar: ScrollBar) -> list[list[tuple[str, object]]]:
    return [[(segment.text, segment.style) for segment in line]
            for line in textual_lines(bar)]


async def test_the_scrollbar_draws_what_textual_draws_at_every_size_and_place() -> None:
    source = CountingSource(10_000)
    app = LateSourceApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        bar = table.vertical_scrollbar
        assert isinstance(bar, TableScrollBar)
        assert bar.display
        looks = set()
        for rows, cursor in ((10_000, 0), (10_000, 5_000), (10_000, 9_999), (600, 0),
                             (600, 300), (120, 119), (60, 0), (10_000, 0)):
            table.set_source(CountingSource(rows))
            table.move_cursor(cursor)
            await pilot.pause()
            lines = drawn(bar)
            assert lines == textual_drawn(bar), (rows, cursor)
            assert len(lines) == bar.size.height
            looks.add(str(lines))
        assert len(looks) > 4  # the thumb moved and changed size: each drawn anew
        await pilot.hover(bar)  # the hover colour is a look of its own
        await pilot.pause()
        assert drawn(bar) == textual_drawn(bar)


async def test_a_scrollbar_that_looks_the_same_is_not_drawn_again() -> None:
    app = LateSourceApp(CountingSource(10_000))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        bar = table.vertical_scrollbar
        first = bar.render_lines(bar.size.region)
        table.set_source(CountingSource(9_000))  # another count, the same one-cell thumb
        await pilot.pause()
        again = bar.render_lines(bar.size.region)
        assert all(a is b for a, b in zip(first, again, strict=True))
        table.set_source(CountingSource(40))  # a big thumb: drawn anew
        await pilot.pause()
        other = bar.render_lines(bar.size.region)
        assert [line.text for line in other] == [line.text for line in textual_lines(bar)]
        assert not all(a is b for a, b in zip(first, other, strict=True))


async def test_rows_set_before_the_first_layout_are_fetched_a_screenful_at_a_time() -> None:
    source = CountingSource(5_000)
    app = LateSourceApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        visible = table.size.height - 1
        assert visible < VirtualTable.DEFAULT_PAGE_SIZE
        # Only a screenful was asked for (not a page of 64 sized before the layout) ...
        assert source.calls and all(limit <= visible + 1 for _, limit in source.calls)
        assert source.served <= visible + 1
        # ... and the cursor's row was still announced, once the table had a size.
        assert [m.row.key for m in app.messages] == ["INV-0"]
        assert table.render_line(1).text.startswith("row 0 ")
