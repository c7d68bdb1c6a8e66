"""Records as the sync's stage takes them: rows of a cache table, staged in SQL.

A full sync stages the records of most steps (companies, contacts, customers,
PSA and ledger invoices) as rows of a temporary table shaped like the cache
table they are written to, and applies them with set-based SQL
(``cache/apply_staged.py``) instead of decoding each page back into records and
comparing each row in Python. Each record becomes its row here, on the way in.

Two conversions cost most of building a row in Python: a date as
``YYYY-MM-DD`` (about 1 us) and a moment as UTC to the millisecond (5-8 us,
``datetime.isoformat``). A row staged here carries a date as its ordinal and a
moment as integer milliseconds since the epoch, and the stage's INSERT turns
them into exactly the text :func:`recon_tui.cache.records.iso_text` gives
(SQLite's ``date()`` and ``strftime()``, in C). Any other value (a date before
1600, a moment not in UTC, text) is given as that text already and passes
through unchanged; ``tests/test_apply_staged.py`` holds the staged rows equal
to the rows of ``records.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from recon_tui.cache.records import (
    COMPANY,
    CONTACT,
    CUSTOMER,
    LEDGER_INVOICE,
    PSA_INVOICE,
    Row,
    TableSpec,
    cents,
    iso_text,
)
from recon_tui.models import Contact, LedgerCustomer, LedgerInvoice, PsaCompany, PsaInvoice
from recon_tui.models.flat import (
    FIRST_DAY,
    FIRST_MOMENT,
    LEDGER_INVOICE_COLUMNS,
    PSA_INVOICE_COLUMNS,
)

#: SQLite's calendar agrees with Python's (proleptic Gregorian) from 1600 on
#: (checked day by day to 9999); earlier dates are given as text.
_FIRST_DAY = FIRST_DAY
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_MOMENT = FIRST_MOMENT
_MS = timedelta(milliseconds=1)
#: Julian day number of ordinal 0's midnight: ``date(ordinal + this)``.
_JULIAN = 1721424.5


#: Whether a row built in this thread since ``_texts.seen`` was reset gave a
#: date or moment as text (the stage's INSERT then reads each value's type).
_texts = threading.local()


def _text(value: date | datetime | None) -> str | None:
    text = iso_text(value)
    if text is not None:
        _texts.seen = True
    return text


def day(value: date | None) -> int | str | None:
    """A date as the stage takes it: its ordinal (else its text)."""
    if type(value) is date and (ordinal := value.toordinal()) >= _FIRST_DAY:  # type: ignore[union-attr]
        return ordinal
    return _text(value)


def moment(value: datetime | None) -> int | str | None:
    """A moment as the stage takes it: UTC milliseconds since the epoch,
    truncated as ``iso_text`` truncates (else its text)."""
    if type(value) is datetime and value.tzinfo is UTC and value >= _FIRST_MOMENT:  # type: ignore[union-attr]
        return (value - _EPOCH) // _MS  # type: ignore[operator,no-any-return]
    return _text(value)


#: How the stage's INSERT reads each kind of column from its parameter ``?{n}``
#: when every value of the page is the fast kind (an integer, or NULL) ...
_FAST_READS = {
    "": "?{n}",
    "day": f"date(?{{n}} + {_JULIAN})",
    "moment": "strftime('%Y-%m-%dT%H:%M:%f+00:00', ?{n} / 1000.0, 'unixepoch')",
}
#: ... and when some are text (passed through as they are).
_READS = {
    "": "?{n}",
    "day": f"CASE WHEN typeof(?{{n}}) = 'integer' THEN date(?{{n}} + {_JULIAN}) ELSE ?{{n}} END",
    "moment": ("CASE WHEN typeof(?{n}) = 'integer' THEN strftime('%Y-%m-%dT%H:%M:%f+00:00', "
               "?{n} / 1000.0, 'unixepoch') ELSE ?{n} END"),
}


@dataclass(frozen=True)
class StagedTable:
    """How one step's records are staged: the cache table (``spec``) their rows
    go to, each record's staged row, and what the stage's lookups keep of them
    (``figures``: SQL over the staged row giving ``id, listed, number, link,
    total, owing`` for its ``record`` table, or None)."""

    spec: TableSpec
    row: Callable[[Any], Row]
    kinds: tuple[str, ...]
    figures: str | None = None

    def values(self, *, texts: bool = True) -> str:
        """The VALUES list of the stage's INSERT: reading each value's type where
        ``texts`` (some value is text), else the integers straight (about a
        third cheaper)."""
        reads = _READS if texts else _FAST_READS
        return ", ".join(reads[kind].format(n=n) for n, kind in enumerate(self.kinds, 1))

    def rows(self, records: Iterable[Any]) -> tuple[list[Row], bool]:
        """The records' staged rows, and whether any gave a date or moment as
        text. A record given as its flat row (a tuple: ``models.flat``, whose
        dates and moments are always numbers) is its staged row already."""
        _texts.seen = False
        row = self.row
        rows = [r if type(r) is tuple else row(r) for r in records]
        return rows, _texts.seen


def _company(c: PsaCompany) -> Row:
    return (c.id, c.identifier, c.name, c.status, int(c.deleted), int(c.portal_active),
            moment(c.updated_at))


def _contact(c: Contact) -> Row:
    return (c.id, c.company_id, c.first_name, c.last_name, c.email, c.portal_security_level,
            int(c.inactive), int(c.portal_login_disabled), moment(c.updated_at))


def _psa_invoice(i: PsaInvoice) -> Row:
    return (i.id, i.number, i.company_id, day(i.date), day(i.due_date), cents(i.total),
            cents(i.owing), i.status, i.ledger_invoice_id, int(i.exported), i.currency,
            i.kind._value_, moment(i.updated_at))


def _customer(c: LedgerCustomer) -> Row:
    return (c.id, c.display_name, c.company_name, int(c.active), cents(c.balance),
            moment(c.updated_at))


def _ledger_invoice(i: LedgerInvoice) -> Row:
    return (i.id, i.doc_number, i.customer_id, day(i.date), day(i.due_date), cents(i.total),
            cents(i.balance), int(i.voided), i.currency, i.kind._value_, moment(i.updated_at))


def _kinds(count: int, special: dict[int, str]) -> tuple[str, ...]:
    """Each column's kind: plain, but for the positions given."""
    return tuple(special.get(at, "") for at in range(count))


# A flat row (``models.flat``) is staged as it is: its columns are the table's.
if (PSA_INVOICE.columns, LEDGER_INVOICE.columns) != (PSA_INVOICE_COLUMNS, LEDGER_INVOICE_COLUMNS):
    raise ImportError("models.flat's invoice columns are not the cache tables' columns")

#: Only invoices are figures (``psa_payments.psa_figures``); every id is listed.
_INVOICE = "CASE WHEN kind = 'invoice' THEN {} END"
STAGED_COMPANIES = StagedTable(COMPANY, _company, _kinds(7, {6: "moment"}))
STAGED_CONTACTS = StagedTable(CONTACT, _contact, _kinds(9, {8: "moment"}))
STAGED_CUSTOMERS = StagedTable(CUSTOMER, _customer, _kinds(6, {5: "moment"}))
STAGED_PSA_INVOICES = StagedTable(
    PSA_INVOICE, _psa_invoice, _kinds(13, {3: "day", 4: "day", 12: "moment"}),
    figures="id, 1, " + ", ".join(_INVOICE.format(c) for c in (
        "number", "ledger_invoice_id", "total_cents", "owing_cents")))
STAGED_LEDGER_INVOICES = StagedTable(
    LEDGER_INVOICE, _ledger_invoice, _kinds(11, {3: "day", 4: "day", 10: "moment"}),
    figures="id, 1, " + ", ".join(_INVOICE.format(c) for c in (
        "coalesce(doc_number, '')", "NULL", "total_cents", "balance_cents")))
