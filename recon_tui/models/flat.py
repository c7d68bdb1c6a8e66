"""Records as flat rows: the form a full sync stages invoices in.

A sync reads every invoice of a book (200,000 a side). Building each as its
record (``PsaInvoice``, ``LedgerInvoice``) and then the record as the row its
cache table takes costs two conversions of every amount, date and moment and
about a dozen Python calls per invoice. So a connector whose fast path reads an
invoice straight off the wire can hand the sync its *flat row* instead (its
``invoice_rows`` read), built once from the decoded fields.

A flat row holds a record's fields in its cache table's column order (the
``*_COLUMNS`` below; ``cache/stage_rows.py`` checks that they agree), each as a
scalar: text and integers as they are, a flag as 0 or 1, money as exact integer
cents, a date as its proleptic ordinal (``date.toordinal``) and a moment as
integer UTC milliseconds since 1970 (the stage turns both into the cache's text
in SQLite). A value that has no such form here (a date before 1600, an amount
of more than two places or out of range) is no flat row: the connector hands
over the record itself for that invoice, and the stage builds its row.

This module gives the conversions, so each side builds exactly the same row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from recon_tui.money import CENT, MAX_AMOUNT

__all__ = [
    "FIRST_DAY",
    "FIRST_MOMENT",
    "LEDGER_INVOICE_COLUMNS",
    "PSA_INVOICE_COLUMNS",
    "day_number",
    "exact_cents",
    "moment_number",
]

#: A PSA invoice's flat row (``psa_invoice``'s columns).
PSA_INVOICE_COLUMNS = ("id", "number", "company_id", "date", "due_date", "total_cents",
                       "owing_cents", "status", "ledger_invoice_id", "exported", "currency",
                       "kind", "updated_at")
#: A ledger invoice's flat row (``ledger_invoice``'s columns).
LEDGER_INVOICE_COLUMNS = ("id", "doc_number", "customer_id", "date", "due_date", "total_cents",
                          "balance_cents", "voided", "currency", "kind", "updated_at")

#: SQLite's calendar agrees with Python's (proleptic Gregorian) from 1600 on
#: (checked day by day to 9999); an earlier date has no flat form.
FIRST_DAY = date(1600, 1, 1).toordinal()
FIRST_MOMENT = datetime(1600, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
#: ``MAX_AMOUNT`` in cents: a flat amount lies strictly inside it either way.
_MAX_CENTS = int(MAX_AMOUNT) * 100


def exact_cents(amount: Decimal) -> int:
    """``to_cents(to_api_money(amount))`` for a Decimal: rounded half up to the
    cent, within ``MAX_AMOUNT`` either way; ArithmeticError or ValueError for any
    amount that reading refuses (not finite, too many digits, out of range).
    One quantize (which refuses an amount of more digits than Decimal holds
    before any big number is made) and the exact ratio, scaled."""
    numerator, denominator = amount.quantize(CENT, ROUND_HALF_UP).as_integer_ratio()
    cents = numerator * (100 // denominator)
    if -_MAX_CENTS < cents < _MAX_CENTS:
        return cents
    raise ValueError("amount out of range")


def day_number(value: date) -> int:
    """A date as a flat row holds it: its ordinal; ValueError before 1600."""
    number = value.toordinal()
    if number < FIRST_DAY:
        raise ValueError("a date before 1600 has no flat form")
    return number


def moment_number(value: datetime) -> int:
    """An aware UTC moment as a flat row holds it: milliseconds since 1970,
    truncated (as the cache's text is); ValueError before 1600 or not in UTC."""
    if value.tzinfo is not UTC or value < FIRST_MOMENT:
        raise ValueError("no flat form")
    return (value - _EPOCH) // _MS
