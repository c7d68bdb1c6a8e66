"""A page of report rows as columns, made safe to print in one pass per column.

The writers take the spool's rows as plain tuples
(:meth:`~recon_tui.report.row_view.RowView.value_pages`) and turn a page into
columns (``zip(*page)``, done in C). A text column is then checked whole: one
regular-expression scan of the column joined, for a control or bidi character or a
cell a spreadsheet could run as a formula. Only a column where one is found is
made visible and inert value by value, so a clean book (nearly every book) costs a
scan per column per page instead of two function calls per cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from recon_tui.report.fields import ROW_COLUMNS, VALUE_COLUMNS, neutralise
from recon_tui.text import UNSAFE_CHARACTERS, character_class, printable

__all__ = ["CONTRACT_WIDTH", "TEXT_AT", "inert", "inert_columns"]

#: The row contract's fields: the first columns of a value page.
CONTRACT_WIDTH = len(ROW_COLUMNS)
#: Where the text fields are in a value page (names, numbers, statuses, cause).
TEXT_AT = tuple(VALUE_COLUMNS.index(c.spool) for c in ROW_COLUMNS if c.kind == "text")

# Joined with a character that is neither unsafe nor a formula start, a column needs
# a look when some value holds an unsafe character (one scan for a character class,
# which the regex engine runs far faster than a class or an anchored alternative)
# or starts a formula (the separator then a formula start: a substring search each;
# tab and carriage return are unsafe characters already).
_JOIN = "\ue000"
_UNSAFE = re.compile(character_class(UNSAFE_CHARACTERS))
_FORMULA_STARTS = ("=", "+", "-", "@")
_AFTER_JOIN = tuple(_JOIN + start for start in _FORMULA_STARTS)


def _needs_care(joined: str) -> bool:
    return (joined.startswith(_FORMULA_STARTS) or _UNSAFE.search(joined) is not None
            or any(start in joined for start in _AFTER_JOIN))


def inert(value: str | None) -> str | None:
    """One text cell visible and inert (None stays None: a blank cell)."""
    return None if value is None else neutralise(printable(value))


def inert_columns(columns: list[Sequence[str | None]], at: Sequence[int] = TEXT_AT) -> None:
    """Make the text columns ``at`` of a page (as columns) visible and inert, in place."""
    for index in at:
        column = columns[index]
        if _needs_care(_JOIN.join(filter(None, column))):
            columns[index] = [inert(value) for value in column]
