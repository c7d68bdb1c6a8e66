"""One table line as a ``Strip``: the cells fitted to their columns' widths.

A filter keystroke or opening a client repaints every row on screen, so a row is
built straight into segments: a cell of plain text (most of them: names, numbers,
money that agrees) becomes one padded segment with no ``Text`` copied; only a
cell that must be cut (ellipsis) or that carries its own spans (a coloured
difference) goes through ``fit_cell`` and Rich's renderer. The result is the
same segments, styles and meta either way, so what is drawn does not change.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from recon_tui.text import printable
from recon_tui.tui.widgets.row_source import TableRow
from recon_tui.tui.widgets.table_layout import (
    _CONTROL_TO_SPACE,
    Column,
    TableLayout,
    fit_cell,
)

__all__ = ["header_strip", "row_look", "row_strip", "text_strip"]

#: Cell styles given as strings ("bold red"), parsed once.
_PARSED_STYLES: dict[str, Style] = {}


def cell_style(console: Console, style: str | Style) -> Style:
    """A cell's own style as a Rich ``Style`` (strings parsed once per process)."""
    if isinstance(style, Style):
        return style
    parsed = _PARSED_STYLES.get(style)
    if parsed is None:
        parsed = _PARSED_STYLES[style] = console.get_style(style, default="")
    return parsed


def _plain_cell(cell: str | Text, width: int, align: Literal["left", "right"],
                style: Style, console: Console) -> Segment | None:
    """The cell as one segment when it is plain text that fits; None otherwise
    (the caller then fits it the general way). The same text and style as
    ``fit_cell`` followed by rendering, without building a ``Text``."""
    if isinstance(cell, Text):
        if cell.spans:
            return None
        plain = cell.plain.translate(_CONTROL_TO_SPACE)
        own = cell.style
    else:
        plain, own = printable(cell), ""
    length = cell_len(plain)
    if length > width:
        return None
    if length < width:
        pad = " " * (width - length)
        plain = pad + plain if align == "right" else plain + pad
    return Segment(plain, style + cell_style(console, own) if own else style)


def _fitted_segments(fitted: Text, style: Style, console: Console) -> list[Segment]:
    """One fitted cell as segments over the row's style: its own style, then
    its spans (a coloured difference), win over the row's, as in a Rich Text."""
    own = fitted.style
    base = style + cell_style(console, own) if own else style
    if not fitted.spans:
        return [Segment(fitted.plain, base)]
    return [Segment(segment.text, base + segment.style if segment.style else base)
            for segment in fitted.render(console, end="")
            if segment.text and not segment.control]


def row_look(row: TableRow) -> Hashable:
    """What a row's line is drawn from: its style and each cell's text, style and
    spans (not its key: two rows that read the same are drawn the same)."""
    return (row.style, tuple(
        (cell.plain, cell.style, tuple(cell.spans)) if isinstance(cell, Text) else cell
        for cell in row.cells))


def row_strip(cells: Sequence[str | Text], columns: Sequence[Column], layout: TableLayout,
              shown: Sequence[int], width: int, style: Style, console: Console) -> Strip:
    """A row's line: the ``shown`` columns' cells, each exactly its width, one
    space apart, padded or cut to ``width``; every segment over ``style``."""
    segments: list[Segment] = []
    gap = Segment(" ", style)
    used = -1
    for position, i in enumerate(shown):
        if position:
            segments.append(gap)
        cell = cells[i] if i < len(cells) else ""
        cell_width = layout.widths[i]
        used += cell_width + 1
        if cell_width <= 0:
            segments.append(Segment("", style))
            continue
        plain = _plain_cell(cell, cell_width, columns[i].align, style, console)
        if plain is not None:
            segments.append(plain)
        else:
            segments.extend(_fitted_segments(
                fit_cell(cell, cell_width, columns[i].align), style, console))
    used = max(used, 0)
    if used > width:  # the last column is cut at the edge
        return Strip(segments).crop_extend(0, width, style).simplify()
    if used < width:
        segments.append(Segment(" " * (width - used), style))
    return Strip(Segment.simplify(segments), width)


def text_strip(text: Text, width: int, style: Style, console: Console) -> Strip:
    """A whole line given as a Rich ``Text`` (the header, the empty-table note)."""
    segments = [
        segment
        for segment in text.render(console, end="")
        if not segment.control and segment.text
    ]
    # Text.render drops the Text's own style when it has no spans, so apply the
    # line style underneath every segment (span styles still win).
    strip = Strip(segments).apply_style(style)
    return strip.crop_extend(0, width, style).simplify()


def header_strip(labels: Sequence[str], columns: Sequence[Column], layout: TableLayout,
                 shown: Sequence[int], more_right: bool, hscroll: int, width: int,
                 style: Style, console: Console) -> Strip:
    """The header line: columns scrolled off either side are marked ← and →."""
    line = Text(style=style, no_wrap=True, end="")
    for position, i in enumerate(shown):
        if position:
            line.append(" ")
        label = labels[i] if i < len(labels) else ""
        if position == layout.pinned and hscroll:
            label = "← " + printable(label)
        line.append_text(fit_cell(label, layout.widths[i], columns[i].align))
    if more_right:
        line.truncate(max(0, width - 1))
        line.pad_right(max(0, width - 1 - line.cell_len))
        line.append("→")
    return text_strip(line, width, style, console)
