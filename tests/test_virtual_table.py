"""Tests for the virtual table: bounded data access, literal text, cursor behaviour."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.message import Message

from recon_tui.tui.widgets.virtual_table import (
    Column,
    ListRowSource,
    RowSource,
    TableRow,
    VirtualTable,
)

SIZE = (120, 30)
COLUMNS = [
    Column("id", "Invoice", 14),
    Column("client", "Client", 30, flex=True),
    Column("amount", "Amount", 12, align="right"),
]


class CountingSource:
    """A huge synthetic source that records how many rows it handed out."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.served = 0
        self.calls: list[tuple[int, int]] = []

    def count(self) -> int:
        return self.total

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        assert 0 <= offset < self.total, offset
        assert limit > 0
        end = min(offset + limit, self.total)
        self.calls.append((offset, limit))
        self.served += end - offset
        return [
            TableRow(f"INV-{i}", (f"row {i}", f"Client {i % 97}", f"{i * 1.5:,.2f}"))
            for i in range(offset, end)
        ]


class TableApp(App[None]):
    """Hosts one VirtualTable and records the messages it posts."""

    def __init__(self, source: RowSource | None, columns: Sequence[Column] = COLUMNS) -> None:
        super().__init__()
        self._source = source
        self._columns = columns
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(self._columns, self._source, page_size=200)

    def on_virtual_table_row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        self.messages.append(message)

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.messages.append(message)


def screen_lines(table: VirtualTable) -> list[str]:
    """The text of every line the widget currently shows (what the compositor gets)."""
    return [table.render_line(y).text for y in range(table.size.height)]


def selected(app: TableApp) -> list[VirtualTable.RowSelected]:
    return [m for m in app.messages if isinstance(m, VirtualTable.RowSelected)]


def highlighted(app: TableApp) -> list[VirtualTable.RowHighlighted]:
    return [m for m in app.messages if isinstance(m, VirtualTable.RowHighlighted)]


async def test_million_rows_fetches_bounded_pages() -> None:
    source = CountingSource(1_000_000)
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.pause()
        assert table.row_count == 1_000_000
        lines = screen_lines(table)
        assert "Invoice" in lines[0] and "Amount" in lines[0]
        assert lines[1].startswith("row 0 ")

        await pilot.press("down", "down", "down")
        assert table.cursor_row == 3
        await pilot.press("pagedown", "pagedown")
        assert table.cursor_row > 3
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 999_999
        assert table.current_row is not None
        assert table.current_row.key == "INV-999999"

        lines = screen_lines(table)
        assert any(line.startswith("row 999999 ") for line in lines)
        assert lines[-1].startswith("row 999999 ")
        # Re-rendering the same screen must come from the caches.
        served = source.served
        screen_lines(table)
        assert source.served == served
        assert source.served < 5 * table.page_size
        assert all(limit <= table.page_size for _, limit in source.calls)

        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0
        assert screen_lines(table)[1].startswith("row 0 ")
        assert source.served < 5 * table.page_size


async def test_cells_are_literal_not_markup() -> None:
    cells = ["Refund [/] pending [bold]x", "[bold]ACME", "Foo [/]"]
    rows = [TableRow("r1", cells), TableRow("r2", [Text("[red]styled[/]", style="bold"), "", ""])]
    columns = [Column("a", "[b]A[/b]", 30), Column("b", "B", 20), Column("c", "C", 20)]
    app = TableApp(ListRowSource(rows), columns)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        lines = screen_lines(table)
        assert lines[0].startswith("[b]A[/b]")
        assert "Refund [/] pending [bold]x" in lines[1]
        assert "[bold]ACME" in lines[1]
        assert "Foo [/]" in lines[1]
        assert "[red]styled[/]" in lines[2]
        for line in lines:
            assert cell_len(line) == table.size.width


async def test_control_characters_do_not_break_the_line() -> None:
    rows = [TableRow("r1", ["line1\nline2\ttab\x1b[31m", "x", "y"])]
    app = TableApp(ListRowSource(rows))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        line = table.render_line(1).text
        assert "\n" not in line and "\x1b" not in line and "\t" not in line
        assert cell_len(line) == table.size.width


async def test_wide_characters_are_truncated_within_column() -> None:
    columns = [Column("name", "Name", 5), Column("next", "Next", 4), Column("rest", "R", 3)]
    rows = [
        TableRow("cjk", ["日本語テキスト", "NEXT", "end"]),
        TableRow("odd", ["日本語", "NEXT", "end"]),  # 6 cells into 5: a wide char can't split
        TableRow("emoji", ["💰💰💰", "NEXT", "end"]),
        TableRow("short", ["日", "NEXT", "end"]),
    ]
    app = TableApp(ListRowSource(rows), columns)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        for y in range(1, 5):
            strip = table.render_line(y)
            assert strip.cell_length == table.size.width
            first = strip.crop(0, 5).text
            assert cell_len(first) == 5
            assert strip.crop(5, 6).text == " "
            assert strip.crop(6, 10).text == "NEXT"
        assert table.render_line(1).crop(0, 5).text.endswith("…")
        assert table.render_line(1).crop(0, 5).text.startswith("日本")
        assert table.render_line(4).crop(0, 5).text == "日   "


async def test_right_alignment_and_ellipsis() -> None:
    columns = [Column("a", "A", 6), Column("amt", "Amt", 8, align="right")]
    rows = [TableRow("r", ["abcdefghij", "12.50"])]
    app = TableApp(ListRowSource(rows), columns)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        line = table.render_line(1).text
        assert line.startswith("abcde… ")
        # The last column flexes to fill; right alignment pads on the left.
        assert line.rstrip().endswith("12.50")
        assert line.endswith("12.50")


async def test_enter_selects_and_moves_highlight() -> None:
    rows = [TableRow(f"K{i}", [f"row {i}", "c", "1"]) for i in range(10)]
    app = TableApp(ListRowSource(rows))
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.pause()
        assert highlighted(app)[-1].row.key == "K0"

        await pilot.press("down", "down")
        await pilot.pause()
        last = highlighted(app)[-1]
        assert (last.row_index, last.row.key) == (2, "K2")
        assert last.table is table

        await pilot.press("enter")
        await pilot.pause()
        picks = selected(app)
        assert len(picks) == 1
        assert (picks[0].row_index, picks[0].row.key) == (2, "K2")


async def test_click_moves_cursor_then_selects() -> None:
    rows = [TableRow(f"K{i}", [f"row {i}", "c", "1"]) for i in range(10)]
    app = TableApp(ListRowSource(rows))
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        await pilot.click(VirtualTable, offset=(3, 4))  # screen line 4 = row 3
        await pilot.pause()
        assert table.cursor_row == 3
        assert not selected(app)
        await pilot.click(VirtualTable, offset=(3, 4))
        await pilot.pause()
        assert [m.row.key for m in selected(app)] == ["K3"]
        await pilot.click(VirtualTable, offset=(3, 0))  # header: no-op
        await pilot.pause()
        assert table.cursor_row == 3


async def test_reload_keeps_cursor_on_same_key() -> None:
    rows = [TableRow(f"K{i}", [f"row {i}", "c", "1"]) for i in range(50)]

    class MutableSource:
        """Plain RowSource without index_of, so reload must scan pages."""

        def __init__(self) -> None:
            self.data = list(rows)

        def count(self) -> int:
            return len(self.data)

        def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
            return self.data[offset : offset + limit]

    source = MutableSource()
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        table.move_cursor(10)
        await pilot.pause()
        assert table.current_row is not None and table.current_row.key == "K10"

        source.data.reverse()
        table.reload()
        await pilot.pause()
        assert table.cursor_row == 39
        assert table.current_row is not None and table.current_row.key == "K10"
        assert highlighted(app)[-1].row.key == "K10"
        assert any(line.startswith("row 10 ") for line in screen_lines(table))

        # Key gone: the index is clamped to the new row count.
        source.data = [row for row in source.data if row.key != "K10"][:5]
        table.reload()
        await pilot.pause()
        assert table.row_count == 5
        assert table.cursor_row == 4


async def test_reload_uses_index_of_when_available() -> None:
    class KeyedSource:
        """Implements the optional index_of, so reload can find keys far away."""

        def __init__(self) -> None:
            self.data = [TableRow(f"K{i}", [f"row {i}", "c", "1"]) for i in range(5000)]
            self.lookups: list[str] = []

        def count(self) -> int:
            return len(self.data)

        def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
            return self.data[offset : offset + limit]

        def index_of(self, key: str) -> int | None:
            self.lookups.append(key)
            return next((i for i, row in enumerate(self.data) if row.key == key), None)

    source = KeyedSource()
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        table.move_cursor(4990)
        await pilot.pause()
        source.data.reverse()
        table.reload()
        await pilot.pause()
        assert source.lookups == ["K4990"]
        assert table.cursor_row == 9
        assert table.current_row is not None and table.current_row.key == "K4990"
        top = table.scroll_offset.y
        assert top <= 9 < top + table.size.height - 1


async def test_empty_source_shows_no_rows() -> None:
    app = TableApp(ListRowSource([]))
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.pause()
        lines = screen_lines(table)
        assert "Invoice" in lines[0]
        assert lines[1].strip() == "No rows"
        assert table.current_row is None
        await pilot.press("down", "end", "enter")
        await pilot.pause()
        assert app.messages == []

        table.empty_text = "Nothing to reconcile"
        table.refresh()
        assert table.render_line(1).text.strip() == "Nothing to reconcile"


async def test_set_source_resets_cursor_and_highlights() -> None:
    app = TableApp(None)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        assert table.row_count == 0
        assert screen_lines(table)[1].strip() == "No rows"

        source = CountingSource(1000)
        table.set_source(source)
        await pilot.pause()
        assert table.row_count == 1000
        assert highlighted(app)[-1].row.key == "INV-0"
        table.move_cursor(500)
        await pilot.pause()
        assert screen_lines(table)[-1].startswith("row 500 ")

        table.set_source(CountingSource(3))
        await pilot.pause()
        assert table.cursor_row == 0
        assert table.scroll_offset.y == 0
        assert highlighted(app)[-1].row.key == "INV-0"
        assert screen_lines(table)[3].startswith("row 2 ")
        assert screen_lines(table)[4].strip() == ""


async def test_row_styles_and_cursor_are_distinct() -> None:
    rows = [
        TableRow("a", ["plain", "", ""]),
        TableRow("b", ["warn", "", ""], style="warn"),
        TableRow("c", ["bad", "", ""], style="bad"),
        TableRow("d", ["muted", "", ""], style="muted"),
    ]
    app = TableApp(ListRowSource(rows))
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.pause()

        def colour(y: int) -> object:
            segment = next(iter(table.render_line(y)))
            assert segment.style is not None
            return (segment.style.color, segment.style.bgcolor)

        colours = {colour(y) for y in range(1, 5)}
        assert len(colours) == 4  # cursor (row 0), warn, bad, muted all differ
        before = colour(2)
        await pilot.press("down")
        await pilot.pause()
        assert colour(2) != before  # the warn row now carries the cursor


async def test_page_keys_keep_cursor_visible() -> None:
    app = TableApp(CountingSource(10_000))
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.pause()
        for _ in range(5):
            await pilot.press("pagedown")
        await pilot.pause()
        top = table.scroll_offset.y
        visible = table.size.height - 1
        assert top <= table.cursor_row < top + visible
        for _ in range(3):
            await pilot.press("pageup")
        await pilot.press("up")
        await pilot.pause()
        top = table.scroll_offset.y
        assert top <= table.cursor_row < top + visible
        assert any(line.startswith(f"row {table.cursor_row} ") for line in screen_lines(table)[1:])
