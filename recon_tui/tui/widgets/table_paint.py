"""How a ``VirtualTable`` paints: the header and the rows on screen, each line
built once and kept in the table's strip caches (``row_render`` builds a line).

A mixin of ``VirtualTable`` (its state lives there); split out so the table's
module holds its data and cursor, this one what it looks like.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip

from recon_tui.text import printable
from recon_tui.tui.widgets.row_render import header_strip, row_look, row_strip, text_strip
from recon_tui.tui.widgets.table_layout import Column, TableLayout, layout_columns
from recon_tui.tui.widgets.table_scrollbar import TableScrollBar

if TYPE_CHECKING:
    from collections.abc import Hashable

    from recon_tui.tui.widgets.row_source import LRU, TableRow

__all__ = ["TablePainter"]

_ROW_STYLE_COMPONENTS: dict[str, str] = {
    "warn": "virtual-table--warn",
    "bad": "virtual-table--bad",
    "muted": "virtual-table--muted",
}


class TablePainter:
    """The painting half of ``VirtualTable``: line 0 is the header, line ``y`` the
    row at ``y - 1`` plus the scroll offset."""

    _columns: tuple[Column, ...]
    _layouts: LRU[int, TableLayout]
    _strips: LRU[tuple[Hashable, int, int, bool, bool], Strip]
    _header_strips: LRU[tuple[int, int, bool], Strip]
    _hscroll: int
    _row_count: int
    _cursor_row: int
    _paint: tuple[int, Style] | None
    empty_text: str
    # Provided by the Textual widget the mixin is part of.
    scrollable_content_region: Region
    scroll_offset: Any
    rich_style: Style
    has_focus: bool
    app: Any
    _vertical_scrollbar: Any
    scrollbar_size_vertical: int
    # (and ``_get_row``, ``_fit_pages`` and Textual's ``get_component_rich_style``: not
    # declared here, where a stub would come before the real ones in the method order)

    @property
    def vertical_scrollbar(self) -> TableScrollBar:
        """Textual's vertical scrollbar (made on first use, hidden until needed), as a
        ``TableScrollBar``: drawn the same, not drawn again while it looks the same."""
        bar = self._vertical_scrollbar
        if bar is None:
            bar = TableScrollBar(vertical=True, name="vertical",
                                 thickness=self.scrollbar_size_vertical)
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return bar

    def layout(self, width: int | None = None) -> TableLayout:
        """The columns' layout at ``width`` (default: the widget's own)."""
        width = self.scrollable_content_region.width if width is None else width
        cached = self._layouts.get(width)
        if cached is None:
            cached = layout_columns(self._columns, width)
            self._layouts.set(width, cached)
        return cached

    def visible_columns(self) -> list[Column]:
        """The columns on screen now, left to right (only the first scrollable one
        may be cut)."""
        width = self.scrollable_content_region.width
        return [self._columns[i] for i in self._shown(self.layout(width), width)[0]]

    def render_lines(self, crop: Region) -> list[Strip]:
        """Every line of one paint shares the width and the base style, worked out
        once here (``rich_style`` walks every ancestor's styles: per line it cost a
        fifth of a filter keystroke)."""
        self._fit_pages()  # the first paint comes before the Resize event: pages of a screenful
        self._paint = (self.scrollable_content_region.width, self.rich_style)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        """Render screen line ``y``: the header at 0, then rows from the scroll offset."""
        width, base_style = self._paint or (self.scrollable_content_region.width,
                                            self.rich_style)
        if y == 0:
            return self._render_header(width, base_style)
        if self._row_count == 0:
            if y == 1 and self.empty_text:
                text = Text(printable(self.empty_text), style=base_style + Style(dim=True),
                            end="")
                return text_strip(text, width, base_style, self.app.console)
            return Strip.blank(width, base_style)
        index = y - 1 + self.scroll_offset.y
        row = self._get_row(index) if 0 <= index < self._row_count else None
        if row is None:  # (or the source returned fewer rows than it counted)
            return Strip.blank(width, base_style)
        # Kept by what the line is drawn from, not where: a filter keystroke that
        # keeps a row on screen (most of a narrowing list) draws it again for free.
        is_cursor = index == self._cursor_row
        key = (row_look(row), width, self._hscroll, is_cursor, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(row, width, is_cursor, base_style)
            self._strips.set(key, strip)
        return strip

    def _render_header(self, width: int, base_style: Style) -> Strip:
        key = (width, self._hscroll, self.has_focus)
        strip = self._header_strips.get(key)
        if strip is None:
            style = base_style + self.get_component_rich_style("virtual-table--header")
            layout = self.layout(width)
            shown, more_right = self._shown(layout, width)
            strip = header_strip([column.label for column in self._columns], self._columns,
                                 layout, shown, more_right, self._hscroll, width, style,
                                 self.app.console)
            self._header_strips.set(key, strip)
        return strip

    def _render_row(self, row: TableRow, width: int, is_cursor: bool,
                    base_style: Style) -> Strip:
        style = base_style
        component = _ROW_STYLE_COMPONENTS.get(row.style)
        if component is not None:
            style += self.get_component_rich_style(component)
        if is_cursor:
            style += self.get_component_rich_style("virtual-table--cursor")
        layout = self.layout(width)
        shown, _more_right = self._shown(layout, width)
        return row_strip(row.cells, self._columns, layout, shown, width, style,
                         self.app.console)

    def _shown(self, layout: TableLayout, width: int) -> tuple[list[int], bool]:
        """The columns drawn (pinned, then whole scrollable ones from the scroll
        point; the first of those even if cut) and whether more lie to the right."""
        start = layout.pinned + min(self._hscroll, layout.max_scroll(width))
        order = layout.order[: layout.pinned] + layout.order[start:]
        shown: list[int] = []
        used = -1
        for position, i in enumerate(order):
            used += layout.widths[i] + 1
            if used > width and position > layout.pinned:
                return shown, True
            shown.append(i)
        return shown, used > width
