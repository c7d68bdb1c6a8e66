"""One cell of an exported list read strictly: amounts, dates, yes/no flags.

An export is typed by a person's settings (date order, currency symbol, how a
negative is shown), so every reader here accepts exactly the spellings it
documents and refuses anything else with a reason, never a guess: ``1.234,56``
is not read as 1234.56, ``12/03/26`` is read only in the order the command was
told, and ``0.005`` is not rounded to a cent.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from recon_tui.money import CENT, MAX_AMOUNT, ZERO

__all__ = ["DateOrder", "ValueProblem", "read_amount", "read_date", "read_flag"]


class ValueProblem(ValueError):
    """Why one cell cannot be read (the caller adds the file, line and column)."""


#: Currency marks an amount may carry, as Sage 50 and QuickBooks Desktop print
#: them on reports (before the digits, after the sign): dollars of either edition.
CURRENCY_MARKS = ("CA$", "US$", "C$", "$")
_DIGITS = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+")


def shown(text: str) -> str:
    """A cell as an error quotes it: at most 40 characters of it."""
    value = text.strip()
    return repr(value if len(value) <= 40 else f"{value[:37]}...")


def _strip_mark(text: str) -> str:
    for mark in CURRENCY_MARKS:
        if text.startswith(mark):
            return text[len(mark):].strip()
    return text


def read_amount(text: str, *, blank: Decimal | None = None) -> Decimal:
    """``1,234.50``, ``-1,234.50``, ``(1,234.50)``, ``$1,234.50``, ``-$5``, ``$-5``.

    Thousands separators only in groups of three, a point for the decimals, and
    nothing finer than a cent (``10.005`` is refused; ``10.500`` is 10.50). A
    blank cell is ``blank`` when the column may be empty, else refused."""
    value = text.strip()
    if not value:
        if blank is not None:
            return blank
        raise ValueProblem("is empty; an amount is needed")
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1].strip()
    value = _strip_mark(value)
    if value.startswith("-") and not negative:
        negative, value = True, _strip_mark(value[1:].strip())
    if _DIGITS.fullmatch(value) is None:
        raise ValueProblem(f"{shown(text)} is not an amount (expected e.g. 1,234.56, "
                           "-1,234.56 or (1,234.56))")
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValueProblem(f"{shown(text)} is not an amount") from None
    if amount >= MAX_AMOUNT:  # first: quantizing 400 digits overflows the context
        raise ValueProblem(f"{shown(text)} is beyond any real amount "
                           f"(the limit is {MAX_AMOUNT:,})")
    if amount != amount.quantize(CENT):
        raise ValueProblem(f"{shown(text)} has more than two decimals")
    amount = amount.quantize(CENT)
    return -amount if negative and amount != ZERO else amount


class DateOrder(StrEnum):
    """How the export writes a date: Windows' short-date setting decides it on the
    machine that exported, so the command is told rather than guessing."""

    MDY = "mdy"  # 12/31/2026, 12/31/26, 12-31-2026 (Sage 50 US edition: ##/##/##)
    DMY = "dmy"  # 31/12/2026, 31/12/26
    YMD = "ymd"  # 2026-12-31, 2026/12/31


_PARTS = re.compile(r"(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})")


def read_date(text: str, order: DateOrder) -> date:
    """A date in ``order``; a two-digit year is 2000-2099 (``26`` = 2026)."""
    value = text.strip()
    match = _PARTS.fullmatch(value)
    if match is None:
        raise ValueProblem(f"{shown(value)} is not a date ({_example(order)})")
    first, _, second, third = match.groups()
    if order is DateOrder.YMD:
        year, month, day = first, second, third
    elif order is DateOrder.MDY:
        month, day, year = first, second, third
    else:
        day, month, year = first, second, third
    if len(year) not in (2, 4) or len(month) > 2 or len(day) > 2:
        raise ValueProblem(f"{shown(value)} is not a date ({_example(order)})")
    try:
        return date(int(year) + (2000 if len(year) == 2 else 0), int(month), int(day))
    except ValueError:
        raise ValueProblem(f"{shown(value)} is not a real date ({_example(order)})") from None


def _example(order: DateOrder) -> str:
    return {DateOrder.MDY: "expected month/day/year, e.g. 12/31/2026; see --date-order",
            DateOrder.DMY: "expected day/month/year, e.g. 31/12/2026; see --date-order",
            DateOrder.YMD: "expected year-month-day, e.g. 2026-12-31; see --date-order"}[order]


_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


def read_flag(text: str) -> bool:
    """A check box as exported: ``TRUE``/``FALSE`` (Sage 50's Boolean fields),
    yes/no, 1/0, an ``x``; blank is no."""
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueProblem(f"{shown(text)} is not yes or no (expected TRUE or FALSE)")
