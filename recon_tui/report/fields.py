"""What every report format shares: the row contract (one table of its columns:
keys, titles, kinds, where the spool keeps them, which writers show them), the
totals' labels, and the few rules each writer applies alike (money as exact
two-place strings, no negative zero, data never a formula)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from recon_tui.money import ZERO, format_money, money_str

if TYPE_CHECKING:  # the rows' type only: the column table imports no writer
    from recon_tui.report.snapshot import ReportRow

__all__ = [
    "CONTRIBUTION",
    "MONEY_FIELDS",
    "ROW_COLUMNS",
    "ROW_FIELDS",
    "ROW_TITLES",
    "TEXT_FIELDS",
    "TOTAL_FIELDS",
    "VALUE_COLUMNS",
    "Column",
    "amount",
    "human_moment",
    "iso_moment",
    "money",
    "neutralise",
    "row_columns",
    "row_dict",
    "rows_text",
    "show",
]

class Column(NamedTuple):
    """One column of the report's rows, declared once for every writer: csv and
    json write ``key`` (the row contract), xlsx heads it with ``title``, markdown
    with ``md`` (None: not in the markdown tables, which are cut to fit a ticket),
    ``kind`` says how each formats the value, ``spool`` where the spool keeps it."""

    key: str  #: the JSON and csv key, and the ReportRow attribute
    title: str  #: the xlsx header
    kind: str  #: "date" | "money" | "text"
    spool: str  #: the report spool's column (:mod:`recon_tui.cache.report_spool`)
    md: str | None  #: the markdown header
    md_else: str | None = None  #: markdown shows this key's value when ``key``'s is empty


#: The row contract, in order: the first columns of every row sheet and table.
ROW_COLUMNS = (
    Column("invoice_date", "Invoice date", "date", "invoice_date", "Date"),
    Column("customer", "Customer", "text", "customer", "Customer", md_else="psa_company"),
    Column("psa_company", "PSA company", "text", "psa_company", None),
    Column("psa_invoice_number", "PSA invoice #", "text", "psa_number", "PSA #"),
    Column("psa_status", "PSA status", "text", "psa_status", None),
    Column("psa_total", "PSA total", "money", "psa_total", "PSA total"),
    Column("psa_owing", "PSA owing", "money", "psa_owing", "PSA owing"),
    Column("ledger_invoice_number", "Ledger invoice #", "text", "ledger_number", "Ledger #"),
    Column("ledger_total", "Ledger total", "money", "ledger_total", "Ledger total"),
    Column("ledger_owing", "Ledger owing", "money", "ledger_owing", "Ledger owing"),
    Column("difference_total", "Difference total (ledger − PSA)", "money", "diff_total",
           "Diff. total"),
    Column("difference_owing", "Difference owing (ledger − PSA)", "money", "diff_owing",
           "Diff. owing"),
    Column("sync_status", "Sync status", "text", "status", "Status"),
    Column("cause", "Cause", "text", "cause", "Cause"),
)
#: What a row adds to the Invoice Difference: only on the Difference rows' tables.
CONTRIBUTION = Column("contribution", "Contribution", "money", "contribution",
                      "Adds to difference")
#: What the writers read from the spool's pages: the contract, the contribution, the
#: row's fill ("bad" off Matched, "warn" when only the amounts differ).
VALUE_COLUMNS = (*(c.spool for c in ROW_COLUMNS), CONTRIBUTION.spool, "fill")

ROW_FIELDS = tuple(c.key for c in ROW_COLUMNS)
MONEY_FIELDS = frozenset(c.key for c in ROW_COLUMNS if c.kind == "money")
TEXT_FIELDS = frozenset(c.key for c in ROW_COLUMNS if c.kind == "text")
ROW_TITLES = {c.key: c.title for c in ROW_COLUMNS}


def row_columns(contribution: bool = False) -> tuple[Column, ...]:
    """The row contract's columns, with the Contribution column when asked."""
    return (*ROW_COLUMNS, CONTRIBUTION) if contribution else ROW_COLUMNS


TOTAL_FIELDS = (
    ("total_psa", "Total PSA"),
    ("total_ledger", "Total Ledger"),
    ("not_downloaded_to_ledger", "Not Downloaded to Ledger"),
    ("not_in_psa", "Not in PSA"),
    ("total_expected_in_ledger", "Total Expected in Ledger"),
    ("total_expected_in_psa", "Total Expected in PSA"),
    ("invoice_difference", "Invoice Difference"),
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A data string a spreadsheet could run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def amount(value: Decimal | None) -> Decimal | None:
    """Two places, and never a negative zero ("-0.00" would read as a discrepancy)."""
    if value is None:
        return None
    return ZERO if value == 0 else value


def money(value: Decimal | None) -> str | None:
    """The exact two-place string of an amount (None stays None)."""
    return money_str(amount(value))


def show(value: Decimal | None) -> str:
    """An amount for people: thousands separated, two places."""
    return format_money(amount(value))


def rows_text(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def iso_moment(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def human_moment(moment: datetime | None) -> str:
    if moment is None:
        return "never synced"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _contract_value(kind: str) -> Any:
    if kind == "money":
        return money
    if kind == "date":
        return date.isoformat
    return lambda value: value.value if isinstance(value, Enum) else value


_CONTRACT = tuple((c.key, _contract_value(c.kind)) for c in ROW_COLUMNS)


def row_dict(row: ReportRow) -> dict[str, Any]:
    """One row exactly as the JSON contract has it (csv writes the same values).
    ``cause`` is always there: null for a row that agrees or one not diagnosed."""
    return {key: value(getattr(row, key)) for key, value in _CONTRACT}
