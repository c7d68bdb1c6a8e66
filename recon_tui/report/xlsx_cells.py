"""The xlsx cells: formats per kind and row fill, a money cell exact to the cent,
a text cell inert, and a sheet holding one table (frozen header, filter, fitted
widths). The workbook itself is laid out in :mod:`recon_tui.report.xlsx_writer`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from recon_tui.money import money_str
from recon_tui.report.fields import amount, neutralise, show
from recon_tui.text import printable

__all__ = ["DATE_FORMAT", "EXACT_NUMBER_LIMIT", "MONEY_FORMAT", "Formats", "fitted", "put",
           "put_money", "table", "total_row"]

MONEY_FORMAT = "#,##0.00;-#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
EXACT_NUMBER_LIMIT = Decimal(10) ** 13


@dataclass
class _Sheet:
    """Column kinds and widths for one table sheet."""

    titles: Sequence[str]
    kinds: Sequence[str]  # "text" | "money" | "date" | "int" | "bool"
    widths: list[int]

    @classmethod
    def of(cls, titles: Sequence[str], kinds: Sequence[str]) -> _Sheet:
        return cls(titles, kinds, [len(t) + 3 for t in titles])  # room for the filter arrow

    def fit(self, col: int, value: object) -> None:
        kind = self.kinds[col]
        if value is None:
            return
        if kind == "money":
            width = len(show(value)) + 1  # type: ignore[arg-type]
        elif kind == "date":
            width = 11
        else:
            width = len(str(value)) + 1
        self.widths[col] = fitted(self.widths[col], width)


class Formats:
    """Formats for one workbook: cell kind x row fill."""

    FILLS = {"": None, "bad": "#FCE4E4", "warn": "#FFF4CC"}

    def __init__(self, workbook: Any) -> None:
        self.wb = workbook
        self._formats: dict[tuple[str, str], Any] = {}
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.section = workbook.add_format({"bold": True, "font_size": 12, "bottom": 1})
        self.header = workbook.add_format({"bold": True, "bg_color": "#DDE5F0", "bottom": 1,
                                           "valign": "top"})
        self.label = workbook.add_format({"bold": True})
        self.total_label = workbook.add_format({"bold": True, "top": 1})
        self.total_money = workbook.add_format({"bold": True, "top": 1,
                                                "num_format": MONEY_FORMAT})
        self.grand_label = workbook.add_format({"bold": True, "top": 1, "bottom": 6,
                                                "bg_color": "#E2EFDA"})
        self.grand_money = workbook.add_format({"bold": True, "top": 1, "bottom": 6,
                                                "bg_color": "#E2EFDA",
                                                "num_format": MONEY_FORMAT})
        self.bad_money = workbook.add_format({"bold": True, "top": 1, "bottom": 6,
                                              "bg_color": "#FCE4E4",
                                              "num_format": MONEY_FORMAT})
        self.note = workbook.add_format({"italic": True, "font_color": "#555555"})

    def cell(self, kind: str, fill: str = "") -> Any:
        """The format of a cell of that kind on a row of that fill; None for a plain
        cell (text, int or bool on an unfilled row): a format with no properties
        looks the same as none, and without one XlsxWriter writes no style index
        on the cell and no blank cell at all, a fair part of a big sheet's XML."""
        key = (kind, fill)
        if key not in self._formats:
            props: dict[str, Any] = {}
            if kind == "money":
                props["num_format"] = MONEY_FORMAT
            elif kind == "date":
                props["num_format"] = DATE_FORMAT
                props["align"] = "left"
            if self.FILLS.get(fill):
                props["bg_color"] = self.FILLS[fill]
            self._formats[key] = self.wb.add_format(props) if props else None
        return self._formats[key]


def put(ws: Any, fmt: Formats, row: int, col: int, kind: str, value: object,
         fill: str = "") -> None:
    _put(ws, row, col, kind, value, fmt.cell(kind, fill))


def _put(ws: Any, row: int, col: int, kind: str, value: object, cell_format: Any) -> None:
    if value is None:
        ws.write_blank(row, col, None, cell_format)
    elif kind == "money":
        put_money(ws, row, col, value, cell_format)  # type: ignore[arg-type]
    elif kind == "date":
        if value.__class__ is date:  # XlsxWriter's own serial, without its conversion
            ws.write_number(row, col, serial_day(value), cell_format)  # type: ignore[arg-type]
        else:
            ws.write_datetime(row, col, value, cell_format)
    elif kind == "int":
        ws.write_number(row, col, value, cell_format)
    elif kind == "bool":
        ws.write_string(row, col, "yes" if value else "no", cell_format)
    else:
        # XlsxWriter would write C0 controls as _xHHHH_ escapes and C1 and bidi ones
        # raw; a lone surrogate could not be encoded at all: all made visible.
        ws.write_string(row, col, neutralise(printable(value)), cell_format)


def serial_day(day: date) -> int:
    """A date as Excel's serial day, as XlsxWriter's ``write_datetime`` counts it
    (days since 1899-12-31, plus Excel's phantom 1900-02-29 after February 1900);
    a whole number, written with the same digits as XlsxWriter's own."""
    days = (day - _EPOCH).days
    return days + 1 if days > 59 else days


_EPOCH = date(1899, 12, 31)


def put_money(ws: Any, row: int, col: int, value: Decimal, cell_format: Any) -> None:
    """A money cell: the Decimal's own digits as a number, or exact text when a
    double could not hold its cents."""
    exact = amount(value)
    assert exact is not None
    if abs(exact) < EXACT_NUMBER_LIMIT:
        ws.write_number(row, col, exact, cell_format)  # the Decimal's digits, exactly
    else:
        ws.write_string(row, col, money_str(exact), cell_format)


#: Rows between two progress reports of a table.
PROGRESS_EVERY = 2_000


def total_row(ws: Any, fmt: Formats, row: int, titles: Sequence[str], kinds: Sequence[str],
              total: tuple[str, dict[int, object]]) -> None:
    """A styled total row: its label, then its values by column (blank elsewhere)."""
    label, values = total
    ws.write_string(row, 0, label, fmt.total_label)
    for c in range(1, len(titles)):
        value = values.get(c)
        if value is None:
            ws.write_blank(row, c, None, fmt.total_label)
        elif kinds[c] == "money":
            put_money(ws, row, c, value, fmt.total_money)  # type: ignore[arg-type]
        else:
            ws.write_number(row, c, value, fmt.total_label)


def fitted(width: int, needed: int) -> int:
    """A column's width grown to what a cell needs, up to 60."""
    return min(max(width, needed), 60)


def table(fmt: Formats, name: str, titles: Sequence[str], kinds: Sequence[str],
          rows: Iterable[tuple[Sequence[object], str]], *,
          total: tuple[str, dict[int, object]] | None = None,
          progress: Callable[[int], None] | None = None) -> tuple[Any, int]:
    """A sheet holding one table: header row frozen, autofilter over the data,
    fitted widths, an optional styled total row under the filtered range (its
    label, and its values by column). Returns the sheet and its next free row
    (rows are written in order: the workbook streams them)."""
    ws = fmt.wb.add_worksheet(name)
    sheet = _Sheet.of(titles, kinds)
    for col, title in enumerate(titles):
        ws.write_string(0, col, title, fmt.header)
    # Widths from the longest text and, for money, from the least and greatest
    # amount (the widest shown is one of the two), kept as the rows go by.
    longest = [0] * len(titles)
    bounds: dict[int, list[Decimal]] = {}
    formats: dict[str, list[Any]] = {}
    count = 0
    for count, (values, fill) in enumerate(rows, start=1):
        cell_formats = formats.get(fill)
        if cell_formats is None:
            cell_formats = formats[fill] = [fmt.cell(kind, fill) for kind in kinds]
        for col, value in enumerate(values):
            kind = kinds[col]
            _put(ws, count, col, kind, value, cell_formats[col])
            if value is None:
                continue
            if kind == "date":
                longest[col] = 10  # yyyy-mm-dd
            elif kind == "money":
                seen = bounds.get(col)
                if seen is None:
                    bounds[col] = [value, value]  # type: ignore[list-item]
                elif value < seen[0]:  # type: ignore[operator]
                    seen[0] = value  # type: ignore[assignment]
                elif value > seen[1]:  # type: ignore[operator]
                    seen[1] = value  # type: ignore[assignment]
            else:
                needed = len(value) if value.__class__ is str else len(str(value))
                if needed > longest[col]:
                    longest[col] = needed
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    for col, needed in enumerate(longest):
        if needed:
            sheet.widths[col] = fitted(sheet.widths[col], needed + 1)
    for col, (low, high) in bounds.items():
        sheet.fit(col, low)
        sheet.fit(col, high)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(count, 1), len(titles) - 1)
    following = count + 1
    if total is not None:
        total_row(ws, fmt, following, titles, kinds, total)
        sheet.fit(0, total[0])
        following += 1
    for col, width in enumerate(sheet.widths):
        ws.set_column(col, col, width)
    return ws, following
