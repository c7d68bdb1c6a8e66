"""Why one reconciliation row differs, and what puts it right.

Pure: it reads the facts of one row (both documents, both sides' payments and
credits, the mapping) and names one cause of a closed set, with the evidence
it rests on and the fix. The seeds' causes: a payment or a credit applied on
one side only, a payment reversed after the sync, an amount edited after
export, a void on one side, an invoice never exported, deleted or created
directly in the ledger, a customer nobody mapped; plus cents and currencies.
When the records do not show which, the cause is "unknown" and the evidence
says what was compared.

The vocabulary (causes, fixes, facts) is in ``diagnosis.facts``, the rules for
money applied on one side only in ``diagnosis.applied``; every name is importable
from ``recon_tui.diagnosis`` as before.
"""

from __future__ import annotations

from recon_tui.diagnosis.applied import diagnose_applied
from recon_tui.diagnosis.facts import (
    ROUNDING_LIMIT,
    Cause,
    Diagnosis,
    DocFacts,
    FixKind,
    RowFacts,
    money,
)
from recon_tui.models import ReconStatus
from recon_tui.transactions import Side

__all__ = ["ROUNDING_LIMIT", "Cause", "Diagnosis", "DocFacts", "FixKind", "RowFacts",
           "diagnose"]


def diagnose(row: RowFacts) -> Diagnosis | None:
    """The cause of a discrepant row; None for a row that agrees."""
    if row.status is ReconStatus.NOT_IN_PSA:
        return _ledger_only(row)
    if row.status is ReconStatus.NOT_IN_LEDGER:
        return _psa_only(row)
    if row.status is ReconStatus.EXPECTED_NOT_FOUND:
        assert row.psa is not None
        return Diagnosis(
            Cause.DELETED_IN_LEDGER,
            f"{row.ledger_name} deleted the invoice {row.psa.number} was linked to",
            (f"{row.psa_name} still bills {money(row.psa.total)}, owing "
             f"{money(row.psa.owing)}",),
            FixKind.BY_HAND,
            f"Restore or re-create invoice {row.psa.number} in {row.ledger_name} (re-export "
            f"it from {row.psa_name}), or void it in {row.psa_name} if the deletion was right",
            Side.LEDGER)
    if row.psa is None or row.ledger is None:
        # A matched row whose document the cache cannot read back: say so, never
        # fail the sync or refresh that is diagnosing it.
        missing = row.psa_name if row.psa is None else row.ledger_name
        return Diagnosis(Cause.UNKNOWN, f"{missing}'s copy of this row is not in the cache",
                         ("resync the invoice to read both systems",), FixKind.RESYNC)
    psa, ledger = row.psa, row.ledger
    if psa.total == ledger.total and psa.owing == ledger.owing and psa.voided == ledger.voided:
        return None
    if psa.currency != ledger.currency:
        return Diagnosis(
            Cause.CURRENCY,
            f"{row.psa_name} bills in {psa.currency}, {row.ledger_name} holds {ledger.currency}",
            (f"totals {money(psa.total)} {psa.currency} and "
             f"{money(ledger.total)} {ledger.currency}",),
            FixKind.BY_HAND,
            # A ledger customer has one currency, fixed once it has a transaction
            # (QuickBooks Online multicurrency), so the fix is never "change it".
            f"Bill the invoice in {ledger.currency} in {row.psa_name} (the currency of the "
            f"customer in {row.ledger_name}) and re-export it; or, if it really is "
            f"{psa.currency} work, create a {psa.currency} customer for it in "
            f"{row.ledger_name} and export it there",
            Side.PSA)
    if psa.voided != ledger.voided:
        return _voided(row)
    if psa.total != ledger.total:
        return _amount(row)
    return diagnose_applied(row)


def _ledger_only(row: RowFacts) -> Diagnosis:
    assert row.ledger is not None
    number = row.ledger.number or "(no number)"
    if not row.customer_mapped:
        return Diagnosis(
            Cause.CUSTOMER_UNMAPPED,
            f"invoice {number} belongs to a ledger customer no PSA company is mapped to",
            (f"{row.ledger_name} total {money(row.ledger.total)}, balance "
             f"{money(row.ledger.owing)}",),
            FixKind.MAP_CUSTOMER,
            "Map the customer to its PSA company (m opens the mapper)")
    return Diagnosis(
        Cause.CREATED_IN_LEDGER,
        f"invoice {number} exists in {row.ledger_name} only",
        (f"{row.psa_name} has no invoice {number}; {row.ledger_name} total "
         f"{money(row.ledger.total)}, balance {money(row.ledger.owing)}",),
        FixKind.BY_HAND,
        f"Bill it in {row.psa_name} if the work is real, or void it in {row.ledger_name}",
        Side.PSA)


def _psa_only(row: RowFacts) -> Diagnosis:
    assert row.psa is not None
    if not row.psa_exported:
        return Diagnosis(
            Cause.NEVER_EXPORTED,
            f"invoice {row.psa.number} has not been exported from {row.psa_name}",
            (f"{row.psa_name} lists it among the invoices not yet sent to accounting",),
            FixKind.BY_HAND,
            f"Export it: in {row.psa_name}, Finance > Invoices > accounting interface, "
            "batch the invoice and send it", Side.PSA)
    return Diagnosis(
        Cause.MISSING_IN_LEDGER,
        f"{row.psa_name} exported invoice {row.psa.number}; {row.ledger_name} has none of "
        "that number",
        (f"{row.psa_name} total {money(row.psa.total)}, owing {money(row.psa.owing)}",),
        FixKind.BY_HAND,
        f"Search {row.ledger_name} for the invoice (renumbered? another company?) and "
        f"re-export it from {row.psa_name} if it is not there", Side.LEDGER)


def _voided(row: RowFacts) -> Diagnosis:
    assert row.psa is not None and row.ledger is not None
    voided_in, open_in = ((row.ledger_name, row.psa_name) if row.ledger.voided
                          else (row.psa_name, row.ledger_name))
    wrong = Side.PSA if row.ledger.voided else Side.LEDGER
    return Diagnosis(
        Cause.VOIDED_ONE_SIDE,
        f"invoice {row.psa.number} is voided in {voided_in} and open in {open_in}",
        (f"{row.psa_name} owing {money(row.psa.owing)}, {row.ledger_name} balance "
         f"{money(row.ledger.owing)}",),
        FixKind.BY_HAND,
        f"Void it in {open_in} too, or reinstate it in {voided_in} if the void was a mistake",
        wrong)


def _amount(row: RowFacts) -> Diagnosis:
    assert row.psa is not None and row.ledger is not None
    diff = row.ledger.total - row.psa.total
    evidence = (f"{row.psa_name} total {money(row.psa.total)}, {row.ledger_name} total "
                f"{money(row.ledger.total)} (difference {money(diff)})",)
    if abs(diff) <= ROUNDING_LIMIT:
        return Diagnosis(Cause.ROUNDING, f"the totals differ by {money(abs(diff))}",
                         evidence, FixKind.BY_HAND,
                         f"Adjust the invoice's tax or line rounding in {row.ledger_name}, "
                         "or write off the cent", Side.LEDGER, abs(diff))
    return Diagnosis(
        Cause.AMOUNT_EDITED,
        f"invoice {row.psa.number} was edited after export: the totals differ by "
        f"{money(abs(diff))}",
        evidence, FixKind.BY_HAND,
        f"Open invoice {row.psa.number} in {row.ledger_name} and set its lines back to "
        f"{row.psa_name}'s {money(row.psa.total)} (or correct the PSA invoice and "
        "re-export it if the ledger is right)", Side.LEDGER, abs(diff))
