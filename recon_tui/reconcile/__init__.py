"""Reconciliation: pair PSA invoices with ledger invoices, then total and roll up.

Pure functions over the shared models, no I/O, so the TUI, the headless report and
the tests all compute the same numbers. Statuses, difference columns and totals
follow the ServiceBox reconciliation report with the PSA in ServiceBox's place:
differences read ledger minus PSA, and the totals satisfy

    invoice_difference == matched_difference - expected_not_found

exactly, which is why every ledger invoice and every PSA invoice lands in exactly
one pair.

The pairing (the reference engine the SQL recompute is proven against) lives in
``reconcile.pairing``, the client rollup in ``reconcile.rollup``; the totals stay
here, and every name is importable from ``recon_tui.reconcile`` as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from recon_tui.models import InvoicePair, ReconStatus, ReportTotals
from recon_tui.money import ZERO
from recon_tui.reconcile.pairing import (
    NaturalKey,
    natural_key,
    pair_documents,
    pair_invoices,
    pair_sort_key,
)
from recon_tui.reconcile.rollup import client_key_for, rollup_clients

__all__ = [
    "NaturalKey",
    "client_key_for",
    "difference_contribution",
    "difference_rows",
    "filter_period",
    "natural_key",
    "pair_documents",
    "pair_invoices",
    "pair_sort_key",
    "report_totals",
    "rollup_clients",
]


# --------------------------------------------------------------------------- totals
def report_totals(pairs: Iterable[InvoicePair]) -> ReportTotals:
    """The ServiceBox totals block; its residual is 0.00 whenever each invoice sits in
    exactly one pair, which ``pair_invoices`` guarantees."""
    total_psa = total_ledger = ZERO
    not_downloaded = not_in_psa = matched_difference = expected_not_found = ZERO
    for pair in pairs:
        if pair.psa is not None:
            total_psa += pair.psa.total
        if pair.ledger is not None:
            total_ledger += pair.ledger.total
        status = pair.status
        if status is ReconStatus.NOT_IN_LEDGER:
            not_downloaded += pair.psa_total
        elif status is ReconStatus.NOT_IN_PSA:
            not_in_psa += pair.ledger_total
        elif status is ReconStatus.MATCHED:
            matched_difference += pair.difference_total
        elif status is ReconStatus.EXPECTED_NOT_FOUND:
            expected_not_found += pair.psa_total
    return ReportTotals(
        total_psa=total_psa,
        total_ledger=total_ledger,
        not_downloaded_to_ledger=not_downloaded,
        not_in_psa=not_in_psa,
        matched_difference=matched_difference,
        expected_not_found=expected_not_found,
    )


def difference_contribution(pair: InvoicePair) -> Decimal:
    """What one row adds to the Invoice Difference: a matched row its total
    difference, an expected-but-not-found row minus its PSA total, others nothing."""
    if pair.status is ReconStatus.MATCHED:
        return pair.difference_total
    if pair.status is ReconStatus.EXPECTED_NOT_FOUND:
        return -pair.psa_total
    return ZERO


def difference_rows(pairs: Iterable[InvoicePair]) -> list[InvoicePair]:
    """The rows that explain a non-zero Invoice Difference, biggest first, so the
    report can show where the money went instead of just a number."""
    rows = [
        pair
        for pair in pairs
        if pair.status is ReconStatus.EXPECTED_NOT_FOUND
        or (pair.status is ReconStatus.MATCHED and pair.difference_total != 0)
    ]
    rows.sort(key=lambda p: (-abs(difference_contribution(p)), pair_sort_key(p)))
    return rows


def filter_period(
    pairs: Iterable[InvoicePair], start: date | None, end: date | None
) -> list[InvoicePair]:
    """Rows whose invoice date falls in [start, end]; a missing bound is open, like
    the report's Start and End dates."""
    return [
        pair
        for pair in pairs
        if (start is None or pair.invoice_date >= start)
        and (end is None or pair.invoice_date <= end)
    ]
