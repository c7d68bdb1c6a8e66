"""What every report format shares: the row contract (its fields, their titles
and kinds), the totals' labels, and the few rules each writer applies alike
(money as exact two-place strings, no negative zero, data never a formula)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from recon_tui.money import ZERO, format_money, money_str
from recon_tui.report.snapshot import ReportRow

__all__ = [
    "MONEY_FIELDS",
    "ROW_FIELDS",
    "ROW_TITLES",
    "TEXT_FIELDS",
    "TOTAL_FIELDS",
    "amount",
    "human_moment",
    "iso_moment",
    "money",
    "neutralise",
    "row_dict",
    "rows_text",
    "show",
]

ROW_FIELDS = (
    "invoice_date", "customer", "psa_company", "psa_invoice_number", "psa_status",
    "psa_total", "psa_owing", "ledger_invoice_number", "ledger_total", "ledger_owing",
    "difference_total", "difference_owing", "sync_status", "cause",
)
MONEY_FIELDS = frozenset({"psa_total", "psa_owing", "ledger_total", "ledger_owing",
                          "difference_total", "difference_owing"})
TEXT_FIELDS = frozenset({"customer", "psa_company", "psa_invoice_number", "psa_status",
                         "ledger_invoice_number", "sync_status", "cause"})
ROW_TITLES = {
    "invoice_date": "Invoice date", "customer": "Customer", "psa_company": "PSA company",
    "psa_invoice_number": "PSA invoice #", "psa_status": "PSA status",
    "psa_total": "PSA total", "psa_owing": "PSA owing",
    "ledger_invoice_number": "Ledger invoice #", "ledger_total": "Ledger total",
    "ledger_owing": "Ledger owing", "difference_total": "Difference total (ledger − PSA)",
    "difference_owing": "Difference owing (ledger − PSA)", "sync_status": "Sync status",
    "cause": "Cause",
}

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


def row_dict(row: ReportRow) -> dict[str, Any]:
    """One row exactly as the JSON contract has it (csv writes the same values).
    ``cause`` is always there: null for a row that agrees or one not diagnosed."""
    return {
        "invoice_date": row.invoice_date.isoformat(),
        "customer": row.customer,
        "psa_company": row.psa_company,
        "psa_invoice_number": row.psa_invoice_number,
        "psa_status": row.psa_status,
        "psa_total": money(row.psa_total),
        "psa_owing": money(row.psa_owing),
        "ledger_invoice_number": row.ledger_invoice_number,
        "ledger_total": money(row.ledger_total),
        "ledger_owing": money(row.ledger_owing),
        "difference_total": money(row.difference_total),
        "difference_owing": money(row.difference_owing),
        "sync_status": row.sync_status.value,
        "cause": row.cause,
    }
