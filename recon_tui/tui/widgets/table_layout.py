"""How a ``VirtualTable``'s columns share the width, and how one cell is fitted.

The rule, the same for every table (README, *Screens and keys*):

1. Everything fits: every column at its width, flexible ones share what is left.
2. Too narrow: flexible columns shrink, but never below their ``min_width`` (a
   client name stays readable).
3. Still too narrow: columns leave the screen in their ``drop_order`` (1 first;
   ``None`` never), moving past the right edge, where ``→`` scrolls to them.
   ``pinned`` key columns (client name, invoice number) come first and never
   scroll away. What is left on screen fills the width (flexible columns grow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.text import Text

from recon_tui.text import UNSAFE_CHARACTERS, printable

__all__ = ["Column", "TableLayout", "fit_cell", "layout_columns"]

# A last guard for ``Text`` cells built without ``literal``: the characters
# ``printable`` would replace (C0/C1 controls, bidi overrides...) would break a
# one-line strip or reach the terminal as escape sequences, so they are shown as
# spaces. Mapping one char to one char keeps the offsets of a Text's spans valid.
_CONTROL_TO_SPACE = dict.fromkeys(UNSAFE_CHARACTERS, " ")

#: A flexible column with no ``min_width`` shrinks to at most this.
DEFAULT_FLEX_MIN = 10


@dataclass(frozen=True)
class Column:
    """A column definition.

    ``width`` is in terminal cells. Columns with ``flex=True`` (or the last column,
    when none is flexible) absorb spare width and are the first to shrink when the
    widget is narrower than the natural table width, down to ``min_width``.
    ``pinned`` columns stay at the left when the table scrolls sideways;
    ``drop_order`` says when a column leaves the screen as the width shrinks (1 is
    the first to go, ``None`` stays as long as anything does).
    """

    key: str
    label: str
    width: int
    align: Literal["left", "right"] = "left"
    flex: bool = False
    min_width: int | None = None
    pinned: bool = False
    drop_order: int | None = None

    @property
    def narrowest(self) -> int:
        """The width below which this column never shrinks."""
        if self.min_width is not None:
            return max(1, min(self.min_width, self.width))
        return max(1, min(DEFAULT_FLEX_MIN, self.width))


@dataclass(frozen=True)
class TableLayout:
    """Where each column goes at one width.

    ``order`` lists column indexes left to right: the pinned ones, the ones on
    screen, then the dropped ones (reached by scrolling). ``widths`` is per column
    index (the order of ``columns``).
    """

    widths: tuple[int, ...]
    order: tuple[int, ...]
    pinned: int
    """How many of ``order``'s first columns are pinned."""
    dropped: tuple[int, ...]
    """Indexes of the columns that did not fit (they are at the end of ``order``)."""

    @property
    def scrollable(self) -> tuple[int, ...]:
        return self.order[self.pinned:]

    def pinned_width(self) -> int:
        """Cells the pinned columns take, with the gap after each."""
        return sum(self.widths[i] + 1 for i in self.order[: self.pinned])

    def max_scroll(self, width: int) -> int:
        """The furthest first scrollable column: from it, the rest fit the width."""
        room = width - self.pinned_width()
        used = -1
        columns = self.scrollable
        for position in range(len(columns) - 1, -1, -1):
            used += self.widths[columns[position]] + 1
            if used > room:
                return min(len(columns) - 1, position + 1)
        return 0


def _total(widths: list[int], indexes: list[int]) -> int:
    return sum(widths[i] for i in indexes) + max(0, len(indexes) - 1)


def _grow(widths: list[int], flexible: list[int], extra: int) -> None:
    if extra <= 0 or not flexible:
        return
    share, remainder = divmod(extra, len(flexible))
    for position, i in enumerate(flexible):
        widths[i] += share + (1 if position < remainder else 0)


def layout_columns(columns: tuple[Column, ...], width: int) -> TableLayout:
    """The layout of ``columns`` in ``width`` cells (see the module docstring)."""
    widths = [max(0, column.width) for column in columns]
    everything = list(range(len(columns)))
    flexible = [i for i, column in enumerate(columns) if column.flex]
    if not flexible and widths:
        flexible = [len(widths) - 1]
    extra = width - _total(widths, everything)
    if extra >= 0:
        _grow(widths, flexible, extra)
        return TableLayout(tuple(widths), tuple(everything), 0, ())
    for i in reversed(flexible):  # 2. shrink the flexible ones to their minimum
        give = min(-extra, max(0, widths[i] - columns[i].narrowest))
        widths[i] -= give
        extra += give
        if extra >= 0:
            break
    if extra >= 0:  # nothing leaves the screen, so nothing scrolls: the usual order
        return TableLayout(tuple(widths), tuple(everything), 0, ())
    pinned = [i for i in everything if columns[i].pinned]
    shown = [i for i in everything if not columns[i].pinned]
    dropped: list[int] = []
    droppable = sorted((i for i in shown if columns[i].drop_order is not None),
                       key=lambda i: (columns[i].drop_order, -i))
    for i in droppable:  # 3. columns leave the screen in their order
        if _total(widths, pinned + shown) <= width:
            break
        shown.remove(i)
        dropped.append(i)
    dropped.sort()
    on_screen = pinned + shown
    # Keep a cell, when there is one, for the header's → (more to the right).
    room = width - _total(widths, on_screen) - 1
    if dropped and room > 0:  # what stays fills the width; dropped columns keep theirs
        _grow(widths, [i for i in flexible if i in on_screen], room)
    return TableLayout(tuple(widths), tuple(on_screen + dropped), len(pinned),
                       tuple(dropped))


def fit_cell(cell: str | Text, width: int, align: Literal["left", "right"]) -> Text:
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
