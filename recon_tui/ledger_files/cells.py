"""The typed reading of one row's cells, each failure the one-line error that names
the file, the line and the column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from recon_tui.ledger_files.reader import ExportError, ExportFile, Row
from recon_tui.ledger_files.values import (
    DateOrder,
    ValueProblem,
    read_amount,
    read_date,
    read_flag,
)

__all__ = ["Cells", "ReadOptions"]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What the files do not say themselves: the date order the exporting machine
    used, the text encoding, the currency of rows that name none."""

    date_order: DateOrder = DateOrder.MDY
    encoding: str = "utf-8"
    currency: str = "USD"


class Cells:
    """One row of one file, read field by field."""

    def __init__(self, file: ExportFile, row: Row, options: ReadOptions) -> None:
        self.file, self.row, self.options = file, row, options

    def has(self, field: str) -> bool:
        """Whether the file has the column at all."""
        return field in self.file.headers

    def error(self, field: str | None, message: str) -> ExportError:
        return self.file.error(self.row, field, message)

    def text(self, field: str, *, required: bool = False) -> str:
        value = self.row.cells.get(field, "")
        if required and not value:
            raise self.error(field, "is empty")
        return value

    def amount(self, field: str, *, blank: Decimal | None = None) -> Decimal:
        try:
            return read_amount(self.text(field), blank=blank)
        except ValueProblem as exc:
            raise self.error(field, str(exc)) from None

    def day(self, field: str) -> date:
        try:
            return read_date(self.text(field, required=True), self.options.date_order)
        except ValueProblem as exc:
            raise self.error(field, str(exc)) from None

    def optional_day(self, field: str) -> date | None:
        return self.day(field) if self.text(field) else None

    def flag(self, field: str) -> bool:
        try:
            return read_flag(self.text(field))
        except ValueProblem as exc:
            raise self.error(field, str(exc)) from None

    def currency(self, default: str) -> str:
        value = self.text("currency").upper()
        if value and (len(value) != 3 or not value.isalpha()):
            raise self.error("currency", f"{value!r} is not a currency code (e.g. USD, CAD)")
        return value or default
