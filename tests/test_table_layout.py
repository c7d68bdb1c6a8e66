"""Narrow terminals: columns shrink to a readable minimum, leave in their drop order,
the key column stays pinned, → and ← scroll to the rest; the footer keeps ? and q."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult

from recon_tui.tui.sources import CLIENT_COLUMNS, INVOICE_COLUMNS
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.table_layout import Column, layout_columns
from recon_tui.tui.widgets.virtual_table import ListRowSource, TableRow, VirtualTable
from tests.test_tui import make_app, screen_text

LONG_NAME = "Grossmann-Übersee Logistik und Spedition Aktiengesellschaft Niederlassung Süd"


def keys(columns: tuple[Column, ...], indexes: tuple[int, ...]) -> list[str]:
    return [columns[i].key for i in indexes]


def test_everything_fits_in_natural_order_and_flex_columns_take_the_rest() -> None:
    layout = layout_columns(CLIENT_COLUMNS, 200)
    assert keys(CLIENT_COLUMNS, layout.order) == [c.key for c in CLIENT_COLUMNS]
    assert layout.dropped == () and layout.pinned == 0
    assert sum(layout.widths) + len(CLIENT_COLUMNS) - 1 == 200


def test_at_80_columns_the_client_name_keeps_its_minimum_and_the_difference_shows() -> None:
    layout = layout_columns(CLIENT_COLUMNS, 78)
    on_screen = [i for i in layout.order if i not in layout.dropped]
    assert keys(CLIENT_COLUMNS, on_screen) == [
        "name", "psa_owing", "ledger_balance", "difference"]
    assert keys(CLIENT_COLUMNS, layout.dropped) == ["ledger", "credits", "discrepant", "mapped"]
    name = layout.widths[0]
    assert name >= 30
    # the row fills the width but the last cell, where the header's → goes
    assert sum(layout.widths[i] for i in on_screen) + len(on_screen) - 1 == 77


def test_columns_leave_in_their_drop_order() -> None:
    gone: list[str] = []
    for width in range(160, 30, -1):
        for key in keys(CLIENT_COLUMNS, layout_columns(CLIENT_COLUMNS, width).dropped):
            if key not in gone:
                gone.append(key)
    by_order = sorted((c for c in CLIENT_COLUMNS if c.drop_order), key=lambda c: c.drop_order)
    assert gone == [c.key for c in by_order]
    narrow = layout_columns(CLIENT_COLUMNS, 30)
    left = [CLIENT_COLUMNS[i].key for i in narrow.order if i not in narrow.dropped]
    assert left == ["name", "difference"]  # never dropped; past the edge, → reaches it


def test_the_invoice_number_is_pinned_first_and_the_owing_amounts_stay() -> None:
    layout = layout_columns(INVOICE_COLUMNS, 78)
    assert INVOICE_COLUMNS[layout.order[0]].key == "psa_number" and layout.pinned == 1
    on_screen = keys(INVOICE_COLUMNS, tuple(i for i in layout.order if i not in layout.dropped))
    assert on_screen == ["psa_number", "psa_owing", "ledger_number", "ledger_owing",
                         "diff_owing", "cause"]


class OneTable(App[None]):
    def __init__(self, columns: tuple[Column, ...], rows: list[TableRow]) -> None:
        super().__init__()
        self._table = VirtualTable(columns, ListRowSource(rows))

    def compose(self) -> ComposeResult:
        yield self._table


def client_rows() -> list[TableRow]:
    return [TableRow(str(n), (Text(name), "Ledger name", "1.00", "2.00", f"-{n}.00", "",
                              "3", "mapped"))
            for n, name in enumerate([LONG_NAME, "Acme [bold]Ltd[/]", "東京テック株式会社"])]


async def test_right_scrolls_whole_columns_with_the_name_pinned() -> None:
    app = OneTable(CLIENT_COLUMNS, client_rows())
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        header = table.render_line(0).text
        assert header.startswith("Client") and header.endswith("→") and "Difference" in header
        first = table.render_line(1).text
        assert first.startswith("Grossmann-Übersee Logistik") and "…" in first
        assert "-0.00" in first and header.endswith("Difference→")
        assert "Acme [bold]Ltd[/]" in table.render_line(2).text  # literal, never markup
        before = [c.key for c in table.visible_columns()]
        await pilot.press("right")
        after = [c.key for c in table.visible_columns()]
        assert after[0] == "name" and before[1] not in after
        assert table.render_line(0).text.split()[1] == "←"
        seen = set(before) | set(after)
        for _ in range(10):
            await pilot.press("right")
            seen |= {c.key for c in table.visible_columns()}
            assert table.visible_columns()[0].key == "name"
        assert seen == {c.key for c in CLIENT_COLUMNS}  # every column is reachable
        assert not table.render_line(0).text.endswith("→")
        assert "mapped" in table.render_line(1).text
        for _ in range(10):
            await pilot.press("left")
        assert [c.key for c in table.visible_columns()] == before and table.hscroll == 0


async def test_widening_the_terminal_brings_every_column_back() -> None:
    app = OneTable(CLIENT_COLUMNS, client_rows())
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.press("right", "right")
        await pilot.resize_terminal(170, 10)
        await pilot.pause()
        assert [c.key for c in table.visible_columns()] == [c.key for c in CLIENT_COLUMNS]
        assert table.hscroll == 0 or table.layout().max_scroll(table.size.width) == 0
        assert LONG_NAME[:30] in table.render_line(1).text


async def test_the_footer_keeps_help_and_quit_at_80_columns(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "? Help" in footer and "q Quit" in footer and "/ Filter" in footer
        assert "^p Commands" in footer
        await pilot.press("enter")  # a client: its own keys before the app's
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "? Help" in footer and "q Quit" in footer and "f Fix" in footer
        shown = app.screen.query_one(KeyFooter).shown_bindings(80)
        assert [b.action for b, _, _ in shown][-2:] == ["help", "quit"]
        await pilot.press("question_mark")  # what the footer leaves out is in the help
        await pilot.pause()
        assert "Export" in screen_text(app) and "Apply credit" in screen_text(app)
