"""The xlsx sheets of report rows (Invoices, Difference rows, Discrepant, Credit
memos), written straight from the spool's pages.

A page arrives as plain tuples with money as exact two-place strings; it is turned
into columns once, the text columns made inert in one scan each
(:mod:`recon_tui.report.pages`), the money strings made ``Decimal`` (XlsxWriter
writes a ``Decimal``'s own digits), the dates Excel serial days; then each cell is
one XlsxWriter call with a format made once per workbook. The widths come from the
page's longest texts and from the sheet's least and greatest amounts (one SQL
aggregate), not from a look at every cell. The cells are the ones
:func:`~recon_tui.report.xlsx_cells.table` would write from row objects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from recon_tui.money import from_cents
from recon_tui.report.fields import ROW_COLUMNS, VALUE_COLUMNS, row_columns, show
from recon_tui.report.pages import inert_columns
from recon_tui.report.row_view import RowView
from recon_tui.report.xlsx_cells import (
    EXACT_NUMBER_LIMIT,
    Formats,
    fitted,
    serial_day,
    total_row,
)

__all__ = ["ROW_KINDS", "row_table"]

ROW_KINDS = tuple(c.kind for c in ROW_COLUMNS)

#: Rows per page read, written, and between two progress reports.
PROGRESS_EVERY = 2_000

_FILL_AT = VALUE_COLUMNS.index("fill")
#: A two-place string with at most 13 integer digits is below EXACT_NUMBER_LIMIT.
_EXACT_DIGITS = len(str(EXACT_NUMBER_LIMIT)) - 1 + 3
_SERIALS: dict[str, int] = {}


def _serial(day: str) -> int:
    """An ISO date as Excel's serial day (:func:`~recon_tui.report.xlsx_cells.serial_day`)."""
    serial = _SERIALS.get(day)
    if serial is None:
        serial = _SERIALS[day] = serial_day(date.fromisoformat(day))
    return serial


def _amount(text: str | None) -> Decimal | str | None:
    """A money cell's value: the Decimal, or the exact text when a double could not
    hold its cents (see :func:`~recon_tui.report.xlsx_cells.put_money`)."""
    if text is None:
        return None
    return Decimal(text) if len(text) - (text[0] == "-") <= _EXACT_DIGITS else text


def _serials(days: tuple[str, ...]) -> list[int]:
    """A page's dates as serial days (a page holds a few distinct days)."""
    if len(_SERIALS) > 50_000:  # a bound, not every day ever written
        _SERIALS.clear()
    for day in set(days).difference(_SERIALS):
        _serial(day)
    return list(map(_SERIALS.__getitem__, days))


def _amounts(texts: tuple[str | None, ...]) -> list[Decimal | str | None]:
    """A page's money column as :func:`_amount` gives each cell; a column with no
    blank and no amount too long for a double (nearly every one) in one ``map``."""
    if None not in texts and max(map(len, texts), default=0) <= _EXACT_DIGITS:
        return list(map(Decimal, texts))
    return [_amount(text) for text in texts]


def _money_widths(view: RowView, money_at: list[int]) -> dict[int, int]:
    """The width each money column needs: its widest amount is its least or its
    greatest (a longer amount of one sign never prints shorter)."""
    widths = {}
    bounds = view.money_bounds(tuple(VALUE_COLUMNS[col] for col in money_at))
    for col, (low, high) in zip(money_at, bounds, strict=True):
        shown = [len(show(from_cents(cents))) + 1 for cents in (low, high)
                 if cents is not None]
        if shown:
            widths[col] = max(shown)
    return widths


def row_table(fmt: Formats, name: str, view: RowView, *, contribution: bool = False,
              total: tuple[str, dict[int, object]] | None = None,
              progress: Callable[[int], None] | None = None) -> None:
    """One sheet of report rows (with the Contribution column when asked): frozen
    header, autofilter, fitted widths, the rows filled by status, an optional total
    row; ``progress(rows_written)`` after each page."""
    columns_shown = row_columns(contribution)
    width = len(columns_shown)
    titles = [c.title for c in columns_shown]
    kinds = tuple(c.kind for c in columns_shown)
    money_at = [col for col, kind in enumerate(kinds) if kind == "money"]
    text_at = [col for col, kind in enumerate(kinds) if kind == "text"]
    ws = fmt.wb.add_worksheet(name)
    widths = [len(title) + 3 for title in titles]  # room for the filter arrow
    for col, title in enumerate(titles):
        ws.write_string(0, col, title, fmt.header)
    formats = {fill: [fmt.cell(kind, fill) for kind in kinds] for fill in Formats.FILLS}
    write_string, write_number, write_blank = ws.write_string, ws.write_number, ws.write_blank
    row = 0
    for page in view.value_pages(PROGRESS_EVERY):
        columns: list[Any] = list(zip(*page, strict=True))
        fills = columns[_FILL_AT]
        del columns[width:]
        for col in text_at:
            longest = max(map(len, filter(None, columns[col])), default=0)
            widths[col] = fitted(widths[col], longest + 1)
        inert_columns(columns, text_at)
        columns[0] = _serials(columns[0])
        for col in money_at:
            columns[col] = _amounts(columns[col])
        for values, fill in zip(zip(*columns, strict=True), fills, strict=True):
            row += 1
            for col, (value, cell_format) in enumerate(zip(values, formats[fill],
                                                           strict=True)):
                if value is None:
                    if cell_format is not None:  # a plain blank cell is no cell
                        write_blank(row, col, None, cell_format)
                elif value.__class__ is str:
                    write_string(row, col, value, cell_format)
                else:
                    write_number(row, col, value, cell_format)
        if progress is not None:
            progress(row)
    if row:
        widths[0] = fitted(widths[0], 11)
        for col, needed in _money_widths(view, money_at).items():
            widths[col] = fitted(widths[col], needed)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(row, 1), width - 1)
    if total is not None:
        total_row(ws, fmt, row + 1, titles, kinds, total)
        widths[0] = fitted(widths[0], 11)  # the label sits in the date column
    for col, col_width in enumerate(widths):
        ws.set_column(col, col, col_width)
