"""A virtual, read-only table whose per-frame work is bounded by the screen size.

Textual's ``DataTable`` builds every row up front (seconds for 10k rows, far worse
for 100k) and parses ``str`` cells as markup, so an invoice memo such as
``"Refund [/] pending"`` crashes it. ``VirtualTable`` instead asks a ``RowSource``
for pages of rows on demand while rendering, via the Line API (``render_line``),
and keeps two small LRU caches (row pages and rendered strips). Scrolling through
200,000 invoices therefore touches only the rows that are actually on screen.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar, Literal

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from recon_tui.tui.widgets.row_source import (
    LRU,
    KeyedRowSource,
    ListRowSource,
    RowPages,
    RowSource,
    TableRow,
)
from recon_tui.tui.widgets.table_layout import Column, TableLayout
from recon_tui.tui.widgets.table_messages import RowHighlighted, RowSelected
from recon_tui.tui.widgets.table_paint import TablePainter

__all__ = ["Column", "KeyedRowSource", "ListRowSource", "RowSource", "TableRow", "VirtualTable"]

RowStyle = Literal["", "warn", "bad", "muted"]


class VirtualTable(TablePainter, ScrollView, can_focus=True):
    """A row-cursor table that renders only the visible rows of a ``RowSource``.

    Line 0 is a fixed header; row ``i`` lives at virtual line ``i + 1``.
    """

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "cursor_page_up", "Page up", show=False),
        Binding("pagedown", "cursor_page_down", "Page down", show=False),
        Binding("home,ctrl+home", "cursor_first", "First row", show=False),
        Binding("end,ctrl+end", "cursor_last", "Last row", show=False),
        Binding("left", "scroll_columns(-1)", "Columns left", show=False),
        Binding("right", "scroll_columns(1)", "Columns right", show=False),
        Binding("enter", "select_cursor", "Select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--warn",
        "virtual-table--bad",
        "virtual-table--muted",
    }

    DEFAULT_CSS = """
    VirtualTable {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        color: $foreground;

        & > .virtual-table--header {
            text-style: bold underline;
            background: $panel;
            color: $foreground;
        }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .virtual-table--warn {
            color: $text-warning;
        }
        & > .virtual-table--bad {
            color: $text-error;
        }
        & > .virtual-table--muted {
            color: $text-muted;
        }
    }
    """

    PAGE_CACHE_SIZE: ClassVar[int] = 16
    """Row pages kept in memory (each ``page_size`` rows)."""
    DEFAULT_PAGE_SIZE: ClassVar[int] = 64
    """Rows a page holds until the table knows its height; then, unless a
    ``page_size`` was given, a page is a screenful (the rows shown plus one), so a
    filter keystroke or a new source builds and fetches only about what is shown."""
    MIN_PAGE_SIZE: ClassVar[int] = 8
    STRIP_CACHE_SIZE: ClassVar[int] = 512
    """Rendered lines kept; a few screens' worth."""
    RELOAD_SEARCH_PAGES: ClassVar[int] = 2
    """Pages either side of the old cursor that ``reload`` scans for the cursor key
    when the source has no ``index_of``."""

    RowHighlighted = RowHighlighted
    RowSelected = RowSelected

    def __init__(self, columns: Sequence[Column], source: RowSource | None = None, *,
                 page_size: int | None = None, empty_text: str = "No rows",
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be >= 1")
        self._fixed_page_size = page_size is not None
        self._columns: tuple[Column, ...] = tuple(columns)
        self._page_size = page_size or self.DEFAULT_PAGE_SIZE
        self.empty_text = empty_text
        """Shown (dimmed) under the header when the source has no rows."""
        self._source: RowSource | None = None
        self._row_count = 0
        self._cursor_row = 0
        self._rows = RowPages(None, self._page_size, self.PAGE_CACHE_SIZE)
        self._strips: LRU[tuple[Hashable, int, int, bool, bool], Strip] = LRU(
            self.STRIP_CACHE_SIZE)
        self._header_strips: LRU[tuple[int, int, bool], Strip] = LRU(4)
        self._layouts: LRU[int, TableLayout] = LRU(4)
        self._natural_width = (sum(max(0, c.width) for c in self._columns)
                               + max(0, len(self._columns) - 1))
        self._hscroll = 0
        self._paint: tuple[int, Style] | None = None
        #: A RowHighlighted held back until the table has a size (see _post_highlighted).
        self._highlight_pending = False
        if source is not None:
            self._load_source(source)
        else:
            self._update_virtual_size()

    # ------------------------------------------------------------------ public API

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def source(self) -> RowSource | None:
        return self._source

    @property
    def page_size(self) -> int:
        return self._page_size

    @property
    def hscroll(self) -> int:
        """How many scrollable columns are scrolled off to the left (→ and ←)."""
        return self._hscroll

    @property
    def row_count(self) -> int:
        """Cached ``source.count()`` from the last ``set_source``/``reload``."""
        return self._row_count

    @property
    def cursor_row(self) -> int:
        """Index of the highlighted row (0 when the table is empty)."""
        return self._cursor_row

    @property
    def current_row(self) -> TableRow | None:
        """The row under the cursor, or None for an empty table."""
        return self._get_row(self._cursor_row)

    def get_row(self, index: int) -> TableRow | None:
        """Row at ``index`` through the page cache (None when out of range)."""
        return self._get_row(index)

    def set_source(self, source: RowSource) -> None:
        """Show a different data set: cursor back to the top, caches dropped."""
        self._load_source(source)
        self._cursor_row = 0
        if self.is_mounted:
            self.scroll_to(y=0, animate=False, force=True)
            self.refresh()
            self._post_highlighted()

    def reload(self, *, keep_cursor_key: bool = True) -> None:
        """Re-read the source after its data changed (re-count, drop caches).

        The cursor stays on the same row key when it can be found (via
        ``index_of`` if the source has it, else by scanning a few pages near the
        old position); otherwise the old index is clamped to the new row count.
        """
        if self._source is None:
            return
        old_index = self._cursor_row
        old_row = self._get_row(old_index) if self._row_count else None
        self._load_source(self._source)
        new_index = old_index
        if keep_cursor_key and old_row is not None:
            found = self._find_key(old_row.key, old_index)
            if found is not None:
                new_index = found
        self._cursor_row = self._clamp(new_index)
        if not self.is_mounted:
            return
        self.refresh()
        self._scroll_cursor_into_view()
        new_row = self.current_row
        old_key = old_row.key if old_row is not None else None
        new_key = new_row.key if new_row is not None else None
        if (self._cursor_row, new_key) != (old_index, old_key):
            self._post_highlighted()

    def move_cursor(self, row: int) -> None:
        """Move the cursor (clamped to the rows that exist) and scroll it into view."""
        new_row = self._clamp(row)
        changed = new_row != self._cursor_row
        self._cursor_row = new_row
        if not self.is_mounted:
            return
        if changed:
            self.refresh()
            self._post_highlighted()
        self._scroll_cursor_into_view()

    # --------------------------------------------------------------------- actions

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor_row + 1)

    def action_cursor_page_up(self) -> None:
        self._page(-1)

    def action_cursor_page_down(self) -> None:
        self._page(+1)

    def action_cursor_first(self) -> None:
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self.move_cursor(self._row_count - 1)

    def action_scroll_columns(self, step: int) -> None:
        """Scroll sideways by whole columns; the pinned ones stay put."""
        width = self.scrollable_content_region.width
        target = max(0, min(self._hscroll + step, self.layout(width).max_scroll(width)))
        if target != self._hscroll:
            self._hscroll = target
            self.refresh()

    def scroll_columns_home(self) -> None:
        """Back to the first scrollable column (a kept screen shown afresh)."""
        self.action_scroll_columns(-self._hscroll)

    def action_select_cursor(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.RowSelected(self, self._cursor_row, row))

    # ---------------------------------------------------------------- event hooks

    def _on_mount(self, _event: events.Mount) -> None:
        self._post_highlighted()

    def _on_resize(self, _event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        self._hscroll = min(self._hscroll, self.layout(width).max_scroll(width))
        self._fit_pages()
        # Moves made before the first layout (no height yet) are scrolled into view here.
        self._scroll_cursor_into_view()
        if self._highlight_pending:
            self._highlight_pending = False
            self._post_highlighted()

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)  # line 0 is the header
        row = offset.y - 1 + self.scroll_offset.y if offset is not None else -1
        if offset is None or offset.y < 1 or not 0 <= row < self._row_count:
            return
        event.stop()
        if row == self._cursor_row:
            self.action_select_cursor()
        else:
            self.move_cursor(row)

    def notify_style_update(self) -> None:
        """Theme, focus or hover changed: cached strips carry stale colours."""
        super().notify_style_update()
        self._clear_render_caches()
        self.refresh()

    # ----------------------------------------------------------------- data access

    def _load_source(self, source: RowSource) -> None:
        self._source = source
        self._page_size = self._screenful_page_size()
        self._rows = RowPages(source, self._page_size, self.PAGE_CACHE_SIZE)
        # (the strips are kept: they are keyed by what a line shows, not its index)
        self._row_count = self._rows.count
        self._cursor_row = self._clamp(self._cursor_row)
        self._update_virtual_size()

    def _get_row(self, index: int) -> TableRow | None:
        if self._source is None or not 0 <= index < self._row_count:
            return None
        return self._rows.get(index)

    def _find_key(self, key: str, near: int) -> int | None:
        """Locate ``key`` without loading the whole source (as many rows either side
        as ``RELOAD_SEARCH_PAGES`` pages of the default size, whatever the page)."""
        pages = -(-self.RELOAD_SEARCH_PAGES * self.DEFAULT_PAGE_SIZE // self._page_size)
        return self._rows.find(key, self._clamp(near), pages)

    def _screenful_page_size(self) -> int:
        """The page size now: the given one, else a screenful once laid out."""
        visible = self._visible_row_count if self.is_mounted else 0
        if self._fixed_page_size or visible <= 0:
            return self._page_size
        return max(self.MIN_PAGE_SIZE, visible + 1)

    def _fit_pages(self) -> None:
        """A new height: pages of a screenful, keeping the rows already fetched."""
        size = self._screenful_page_size()
        if size != self._page_size:
            self._page_size = size
            self._rows = self._rows.resized(size)

    # --------------------------------------------------------------------- helpers

    def _clamp(self, row: int) -> int:
        return max(0, min(row, self._row_count - 1)) if self._row_count else 0

    def _clear_render_caches(self) -> None:
        self._strips.clear()
        self._header_strips.clear()

    def _update_virtual_size(self) -> None:
        # +1 for the header line; sideways scrolling is by whole columns (hscroll),
        # not Textual's scroll_x, so the width is only nominal.
        self.virtual_size = Size(self._natural_width, self._row_count + 1)

    @property
    def _visible_row_count(self) -> int:
        """Rows that fit under the header."""
        return max(0, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        visible = self._visible_row_count
        if visible <= 0:
            return  # not laid out yet; the Resize handler will call again
        top = self.scroll_offset.y
        if self._cursor_row < top:
            target = self._cursor_row
        elif self._cursor_row >= top + visible:
            target = self._cursor_row - visible + 1
        else:
            return
        # Never animate: an animated jump to row 200,000 would render every row on the way.
        self.scroll_to(y=target, animate=False, force=True)

    def _page(self, direction: int) -> None:
        """Move the cursor a screenful and scroll by the same amount."""
        step = max(1, self._visible_row_count - 1)
        target = self._clamp(self._cursor_row + direction * step)
        delta = target - self._cursor_row
        if delta:
            self.scroll_to(y=self.scroll_offset.y + delta, animate=False, force=True)
        self.move_cursor(target)

    def _post_highlighted(self) -> None:
        """The cursor's row; before the first layout the message waits for it, so the
        page is fetched a screenful (a client's screen set four sources unsized)."""
        if not self.size.height:
            self._highlight_pending = True
            return
        row = self.current_row
        if row is not None:
            self.post_message(self.RowHighlighted(self, self._cursor_row, row))

