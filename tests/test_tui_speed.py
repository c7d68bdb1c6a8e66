"""What keeps the TUI quick (issue 12), each checked as behaviour: the fast row
renderer draws what the general one draws, a pushed screen has its breakpoint
classes before it is styled, the footer is not rebuilt when its keys did not
change, the token check runs off the UI thread, and the launch imports nothing
the clients screen does not need."""

from __future__ import annotations

import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from recon_tui.tui.formatting import literal, money
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.widgets import row_render
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.row_source import ListRowSource, RowPages, TableRow
from recon_tui.tui.widgets.table_layout import Column, fit_cell, layout_columns
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.test_tui import make_app, screen_text
from tests.waits import wait_until

HOSTILE_CELLS: list[str | Text] = [
    "plain", "", "Refund [/] pending [bold]x", "日本語の会社名前がとても長い株式会社",
    "a\tb\x1b[31m",
    "x" * 60, Text("styled", style="bold red"), literal("[b]lit"), Text("🙂 wide 🙂🙂🙂🙂🙂🙂🙂🙂"),
    Text("bell\x07", style="italic"), Text(""), money(None),
    money(Decimal("-12.50"), colour=True),
]


def _general_segments(cell: str | Text, width: int, align: str, style: Style,
                      console: Console) -> list[Segment]:
    """A cell the general way: fit_cell, then Rich's renderer."""
    return row_render._fitted_segments(fit_cell(cell, width, align), style,  # type: ignore[arg-type]
                                       console)


@pytest.mark.parametrize("cell", HOSTILE_CELLS, ids=range(len(HOSTILE_CELLS)))
@pytest.mark.parametrize("width", [1, 3, 8, 20, 70])
@pytest.mark.parametrize("align", ["left", "right"])
def test_the_plain_cell_fast_path_draws_what_fit_cell_draws(cell: str | Text, width: int,
                                                            align: str) -> None:
    console = Console(width=200)
    style = Style(color="white", bgcolor="blue") + Style.from_meta({"virtual_table_row": 3})
    fast = row_render._plain_cell(cell, width, align, style, console)  # type: ignore[arg-type]
    general = _general_segments(cell, width, align, style, console)
    if fast is None:  # cut or styled by spans: the general way, which must still fit
        assert sum(cell_len(segment.text) for segment in general) == width
        return
    assert [fast] == general


def test_a_row_is_exactly_the_width_and_carries_its_row_everywhere() -> None:
    console = Console(width=200)
    columns = [Column("a", "A", 10), Column("b", "B", 12, align="right"),
               Column("c", "C", 30, flex=True)]
    style = Style(bgcolor="black") + Style.from_meta({"virtual_table_row": 7})
    for width in (15, 40, 60, 120):
        layout = layout_columns(columns, width)
        shown = list(layout.order)
        strip = row_render.row_strip(["left", money(Decimal("5")),
                                      "日本語" * 20], columns, layout, shown, width, style,
                                     console)
        assert strip.cell_length == width
        assert all(segment.style is not None and segment.style.meta == {"virtual_table_row": 7}
                   for segment in strip)


async def test_a_pushed_screen_has_its_breakpoint_classes_before_it_is_styled(
        tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = ClientDetailScreen(app.screen.query_one("#clients").current_row.key)
        app.push_screen(screen)
        # Synchronously, before its first Resize: what Textual would give it then.
        assert screen.has_class("-narrow") and screen.has_class("-short")
        assert not screen.has_class("-wide") and not screen.has_class("-tall")
        await wait_until(pilot, lambda: app.screen is screen and screen.is_attached)
        await pilot.pause()
        assert {"-narrow", "-short"} <= set(screen.classes)
        assert not {"-wide", "-tall"} & set(screen.classes)


async def test_the_footer_is_rebuilt_only_when_its_keys_change(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        built: list[int] = []
        original = footer.compose

        def counting_compose():  # type: ignore[no-untyped-def]
            built.append(1)
            return original()

        footer.compose = counting_compose  # type: ignore[method-assign]
        # Let the start settle first: on a loaded machine the footer may still be
        # rebuilt for the first screen's final keys (focus, the first resize).
        looks: list[int] = []

        def settled() -> bool:
            """No rebuild between two looks (wait_until looks every 50 ms)."""
            quiet = bool(looks) and not built
            looks.append(1)
            built.clear()
            return quiet

        await wait_until(pilot, settled)
        footer.bindings_changed(app.screen)  # the same keys: nothing to rebuild
        await pilot.pause()
        assert built == []
        before = screen_text(app).splitlines()[-1]
        await pilot.press("slash")  # the filter box has other keys than the table
        await wait_until(pilot, lambda: built)
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen_text(app).splitlines()[-1] == before)
        assert "Quit" in before and "Help" in before


async def test_the_expiry_warning_is_read_off_the_ui_thread(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    import recon_tui.onboarding.qbo_expiry as qbo_expiry

    threads: list[threading.Thread] = []

    def warning(_config: object) -> str:
        threads.append(threading.current_thread())
        return "the QuickBooks connection expires on 2026-12-24: run `recon-tui connect qbo`"

    monkeypatch.setattr(qbo_expiry, "warning_for_config", warning)
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: any("expires on 2026-12-24" in n.message
                                            for n in app._notifications))
    assert threads and threads[0] is not threading.main_thread()


def test_showing_the_clients_screen_imports_none_of_the_heavy_libraries() -> None:
    heavy = ("sqlite_utils", "httpx", "keyring", "rapidfuzz", "xlsxwriter", "starlette",
             "uvicorn")
    code = ("import sys, recon_tui.cli, recon_tui.tui.app, recon_tui.tui.screens.clients; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.strip() == "[]"


async def test_a_new_source_fetches_a_screenful_not_a_fixed_page() -> None:
    from textual.app import App, ComposeResult

    from tests.test_virtual_table import COLUMNS, CountingSource, screen_lines

    class OneTable(App[None]):
        def compose(self) -> ComposeResult:
            yield VirtualTable(COLUMNS, CountingSource(10_000))  # no page_size given

    app = OneTable()
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        visible = table.scrollable_content_region.height - 1
        assert table.page_size == visible + 1
        source = CountingSource(10_000)
        table.set_source(source)
        await pilot.pause()
        assert source.calls == [(0, visible + 1)]  # what is shown, plus one
        assert screen_lines(table)[1].startswith("row 0 ")


def test_resized_pages_keep_the_rows_already_fetched() -> None:
    rows = [TableRow(f"K{i}", (f"row {i}",)) for i in range(100)]

    class Once(ListRowSource):
        def __init__(self) -> None:
            super().__init__(rows)
            self.calls: list[tuple[int, int]] = []

        def rows(self, offset: int, limit: int) -> list[TableRow]:
            self.calls.append((offset, limit))
            return list(super().rows(offset, limit))

    source = Once()
    pages = RowPages(source, 64, 16)
    assert pages.get(5) is rows[5]
    smaller = pages.resized(20)
    assert smaller.count == 100
    assert [smaller.get(i) for i in range(60)] == rows[:60]  # pages 0-2 from page 0
    assert source.calls == [(0, 64)]
    assert smaller.get(61) is rows[61]  # 60-79 was never whole: fetched now
    assert source.calls == [(0, 64), (60, 20)]
