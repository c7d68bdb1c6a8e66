"""A virtual, read-only table whose per-frame work is bounded by the screen size.

Textual's ``DataTable`` builds every row up front (seconds for 10k rows, far worse
for 100k) and parses ``str`` cells as markup, so an invoice memo such as
``"Refund [/] pending"`` crashes it. ``VirtualTable`` instead asks a ``RowSource``
for pages of rows on demand while rendering, via the Line API (``render_line``),
and keeps two small LRU caches (row pages and rendered strips). Scrolling through
200,000 invoices therefore touches only the rows that are actually on screen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Literal, Protocol, TypeVar, runtime_checkable

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from recon_tui.text import UNSAFE_CHARACTERS, printable

__all__ = [
    "Column",
    "KeyedRowSource",
    "ListRowSource",
    "RowSource",
    "TableRow",
    "VirtualTable",
]

RowStyle = Literal["", "warn", "bad", "muted"]

# A last guard for ``Text`` cells built without ``literal``: the characters
# ``printable`` would replace (C0/C1 controls, bidi overrides...) would break a
# one-line strip or reach the terminal as escape sequences, so they are shown as
# spaces. Mapping one char to one char keeps the offsets of a Text's spans valid.
_CONTROL_TO_SPACE = dict.fromkeys(UNSAFE_CHARACTERS, " ")

_ROW_STYLE_COMPONENTS: dict[str, str] = {
    "warn": "virtual-table--warn",
    "bad": "virtual-table--bad",
    "muted": "virtual-table--muted",
}


@dataclass(frozen=True)
class Column:
    """A column definition.

    ``width`` is in terminal cells. Columns with ``flex=True`` (or the last column,
    when none is flexible) absorb spare width and are the first to shrink when the
    widget is narrower than the natural table width.
    """

    key: str
    label: str
    width: int
    align: Literal["left", "right"] = "left"
    flex: bool = False


@dataclass(frozen=True)
class TableRow:
    """One row as delivered by a ``RowSource``.

    ``str`` cells are always literal text (never markup); ``Text`` cells keep their
    own styles. ``style`` selects a row colour: "" | "warn" | "bad" | "muted".
    """

    key: str
    cells: Sequence[str | Text]
    style: str = ""


@runtime_checkable
class RowSource(Protocol):
    """Where rows come from (typically a SQLite query with LIMIT/OFFSET)."""

    def count(self) -> int:
        """Total number of rows; called once per ``set_source``/``reload``."""
        ...

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        """Rows ``offset .. offset+limit-1``; offset is always within ``[0, count)``."""
        ...


@runtime_checkable
class KeyedRowSource(RowSource, Protocol):
    """Optional extension: lets ``reload`` find a row key anywhere in O(1)/one query.

    Without it ``reload`` only searches a few pages around the old cursor position.
    """

    def index_of(self, key: str) -> int | None:
        """Index of the row with ``key``, or None when it is gone."""
        ...


class ListRowSource:
    """A ``RowSource`` over an in-memory list; handy for small tables and tests."""

    def __init__(self, rows: Sequence[TableRow]) -> None:
        self._rows = list(rows)
        self._index = {row.key: index for index, row in enumerate(self._rows)}

    def count(self) -> int:
        return len(self._rows)

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        return self._rows[offset : offset + limit]

    def index_of(self, key: str) -> int | None:
        return self._index.get(key)


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class _LRU(Generic[_K, _V]):
    """Minimal LRU mapping; bounded so memory stays flat however far the user scrolls."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        try:
            value = self._data[key]
        except KeyError:
            return None
        self._data.move_to_end(key)
        return value

    def set(self, key: _K, value: _V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class VirtualTable(ScrollView, can_focus=True):
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

    PAGE_CACHE_SIZE: ClassVar[int] = 8
    """Row pages kept in memory (each ``page_size`` rows)."""
    STRIP_CACHE_SIZE: ClassVar[int] = 512
    """Rendered lines kept; a few screens' worth."""
    RELOAD_SEARCH_PAGES: ClassVar[int] = 2
    """Pages either side of the old cursor that ``reload`` scans for the cursor key
    when the source has no ``index_of``."""

    class RowHighlighted(Message):
        """The cursor moved to a row (also sent after ``set_source`` when rows exist)."""

        def __init__(self, table: VirtualTable, row_index: int, row: TableRow) -> None:
            self.table = table
            self.row_index = row_index
            self.row = row
            super().__init__()

        @property
        def control(self) -> VirtualTable:
            """Alias so ``@on(VirtualTable.RowHighlighted, "#id")`` works."""
            return self.table

        @property
        def row_key(self) -> str:
            return self.row.key

    class RowSelected(Message):
        """The user pressed Enter on (or clicked the cursor) row."""

        def __init__(self, table: VirtualTable, row_index: int, row: TableRow) -> None:
            self.table = table
            self.row_index = row_index
            self.row = row
            super().__init__()

        @property
        def control(self) -> VirtualTable:
            """Alias so ``@on(VirtualTable.RowSelected, "#id")`` works."""
            return self.table

        @property
        def row_key(self) -> str:
            return self.row.key

    def __init__(
        self,
        columns: Sequence[Column],
        source: RowSource | None = None,
        *,
        page_size: int = 200,
        empty_text: str = "No rows",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self._columns: tuple[Column, ...] = tuple(columns)
        self._page_size = page_size
        self.empty_text = empty_text
        """Shown (dimmed) under the header when the source has no rows."""
        self._source: RowSource | None = None
        self._row_count = 0
        self._cursor_row = 0
        self._pages: _LRU[int, Sequence[TableRow]] = _LRU(self.PAGE_CACHE_SIZE)
        self._strips: _LRU[tuple[int, int, bool, bool], Strip] = _LRU(self.STRIP_CACHE_SIZE)
        self._header_strips: _LRU[tuple[int, bool], Strip] = _LRU(4)
        self._layouts: _LRU[int, tuple[int, ...]] = _LRU(4)
        natural = sum(max(0, c.width) for c in self._columns) + max(0, len(self._columns) - 1)
        self._natural_width = natural
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

    def action_select_cursor(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.RowSelected(self, self._cursor_row, row))

    # ---------------------------------------------------------------- event hooks

    def _on_mount(self, _event: events.Mount) -> None:
        self._post_highlighted()

    def _on_resize(self, _event: events.Resize) -> None:
        # Moves made before the first layout (no height yet) are scrolled into view here.
        self._scroll_cursor_into_view()

    async def _on_click(self, event: events.Click) -> None:
        row = event.style.meta.get("virtual_table_row")
        if not isinstance(row, int) or not 0 <= row < self._row_count:
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

    # ------------------------------------------------------------------- rendering

    def render_line(self, y: int) -> Strip:
        """Render screen line ``y``: the header at 0, then rows from the scroll offset."""
        width = self.scrollable_content_region.width
        base_style = self.rich_style
        if y == 0:
            return self._render_header(width, base_style)
        if self._row_count == 0:
            if y == 1 and self.empty_text:
                text = Text(printable(self.empty_text), style=base_style + Style(dim=True),
                            end="")
                return self._text_to_strip(text, width, base_style)
            return Strip.blank(width, base_style)
        index = y - 1 + self.scroll_offset.y
        if not 0 <= index < self._row_count:
            return Strip.blank(width, base_style)
        is_cursor = index == self._cursor_row
        key = (index, width, is_cursor, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(index, width, is_cursor, base_style)
            self._strips.set(key, strip)
        return strip

    def _render_header(self, width: int, base_style: Style) -> Strip:
        key = (width, self.has_focus)
        strip = self._header_strips.get(key)
        if strip is None:
            style = base_style + self.get_component_rich_style("virtual-table--header")
            labels = [column.label for column in self._columns]
            strip = self._render_cells(labels, width, style)
            self._header_strips.set(key, strip)
        return strip

    def _render_row(self, index: int, width: int, is_cursor: bool, base_style: Style) -> Strip:
        row = self._get_row(index)
        if row is None:  # source returned fewer rows than it counted
            return Strip.blank(width, base_style)
        style = base_style
        component = _ROW_STYLE_COMPONENTS.get(row.style)
        if component is not None:
            style += self.get_component_rich_style(component)
        if is_cursor:
            style += self.get_component_rich_style("virtual-table--cursor")
        strip = self._render_cells(row.cells, width, style)
        return strip.apply_meta({"virtual_table_row": index})

    def _render_cells(self, cells: Sequence[str | Text], width: int, style: Style) -> Strip:
        """Lay out cells into one line: truncate with an ellipsis, pad, align."""
        line = Text(style=style, no_wrap=True, end="")
        for position, (column, column_width) in enumerate(
            zip(self._columns, self._column_widths(width), strict=True)
        ):
            if position:
                line.append(" ")
            cell = cells[position] if position < len(cells) else ""
            line.append_text(_fit_cell(cell, column_width, column.align))
        return self._text_to_strip(line, width, style)

    def _text_to_strip(self, text: Text, width: int, style: Style) -> Strip:
        segments = [
            segment
            for segment in text.render(self.app.console, end="")
            if not segment.control and segment.text
        ]
        # Text.render drops the Text's own style when it has no spans, so apply the
        # line style underneath every segment (span styles still win).
        strip = Strip(segments).apply_style(style)
        return strip.crop_extend(0, width, style).simplify()

    def _column_widths(self, width: int) -> tuple[int, ...]:
        """Widths that fill ``width``: flex (or last) columns grow, then shrink first."""
        cached = self._layouts.get(width)
        if cached is not None:
            return cached
        widths = [max(0, column.width) for column in self._columns]
        flexible = [i for i, column in enumerate(self._columns) if column.flex]
        if not flexible and widths:
            flexible = [len(widths) - 1]
        extra = width - self._natural_width
        if extra > 0 and flexible:
            share, remainder = divmod(extra, len(flexible))
            for position, i in enumerate(flexible):
                widths[i] += share + (1 if position < remainder else 0)
        elif extra < 0:
            for i in reversed(flexible):
                give = min(-extra, max(0, widths[i] - 1))
                widths[i] -= give
                extra += give
                if extra >= 0:
                    break
        result = tuple(widths)
        self._layouts.set(width, result)
        return result

    # ----------------------------------------------------------------- data access

    def _load_source(self, source: RowSource) -> None:
        self._source = source
        self._pages.clear()
        self._clear_render_caches()
        self._row_count = max(0, int(source.count()))
        self._cursor_row = self._clamp(self._cursor_row)
        self._update_virtual_size()

    def _get_row(self, index: int) -> TableRow | None:
        if self._source is None or not 0 <= index < self._row_count:
            return None
        page_number, offset_in_page = divmod(index, self._page_size)
        page = self._get_page(page_number)
        return page[offset_in_page] if offset_in_page < len(page) else None

    def _get_page(self, page_number: int) -> Sequence[TableRow]:
        page = self._pages.get(page_number)
        if page is None:
            assert self._source is not None
            offset = page_number * self._page_size
            limit = min(self._page_size, self._row_count - offset)
            page = list(self._source.rows(offset, limit)) if limit > 0 else []
            self._pages.set(page_number, page)
        return page

    def _find_key(self, key: str, near: int) -> int | None:
        """Locate ``key`` without loading the whole source."""
        source = self._source
        if source is None or self._row_count == 0:
            return None
        if isinstance(source, KeyedRowSource):
            found = source.index_of(key)
            return found if found is not None and 0 <= found < self._row_count else None
        last_page = (self._row_count - 1) // self._page_size
        centre = min(self._clamp(near) // self._page_size, last_page)
        for distance in range(self.RELOAD_SEARCH_PAGES + 1):
            for page_number in {centre - distance, centre + distance}:
                if not 0 <= page_number <= last_page:
                    continue
                for offset, row in enumerate(self._get_page(page_number)):
                    if row.key == key:
                        return page_number * self._page_size + offset
        return None

    # --------------------------------------------------------------------- helpers

    def _clamp(self, row: int) -> int:
        return max(0, min(row, self._row_count - 1)) if self._row_count else 0

    def _clear_render_caches(self) -> None:
        self._strips.clear()
        self._header_strips.clear()

    def _update_virtual_size(self) -> None:
        # +1 for the header line; width is the natural width (no horizontal scroll).
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
        row = self.current_row
        if row is not None:
            self.post_message(self.RowHighlighted(self, self._cursor_row, row))


def _fit_cell(cell: str | Text, width: int, align: Literal["left", "right"]) -> Text:
    """Make a cell exactly ``width`` cells wide (wide CJK/emoji count double)."""
    if width <= 0:
        return Text()
    if isinstance(cell, Text):
        text = cell.copy()
        plain = text.plain
        clean = plain.translate(_CONTROL_TO_SPACE)
        if clean != plain:
            text.plain = clean
    else:
        # Text(...) never parses markup, so "[bold]" stays literal.
        text = Text(printable(cell))
    text.end = ""
    text.no_wrap = True
    length = cell_len(text.plain)
    if length > width:
        text.truncate(width, overflow="ellipsis")
        length = cell_len(text.plain)
    if length < width:
        if align == "right":
            text.pad_left(width - length)
        else:
            text.pad_right(width - length)
    return text
