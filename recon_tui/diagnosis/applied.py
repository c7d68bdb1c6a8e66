"""Same totals, different balances: which money was applied on one side only (a
payment, a credit, a credit memo), reversed after the sync, or applied partly,
named from both sides' payments and credits."""

from __future__ import annotations

from decimal import Decimal

from recon_tui.diagnosis.facts import (
    ROUNDING_LIMIT,
    Cause,
    Diagnosis,
    FixKind,
    RowFacts,
    listing,
    money,
)
from recon_tui.money import ZERO
from recon_tui.transactions import SAME_PAYMENT_DAYS, InvoiceTxn, Side, TxnKind, match_txns, total

__all__ = ["diagnose_applied"]


def diagnose_applied(row: RowFacts) -> Diagnosis:
    """Same totals, different balances: money applied on one side only."""
    assert row.psa is not None and row.ledger is not None
    psa, ledger = row.psa, row.ledger
    gap = ledger.owing - psa.owing  # > 0: the PSA applied more than the ledger
    if abs(gap) <= ROUNDING_LIMIT:
        return Diagnosis(Cause.ROUNDING, f"the balances differ by {money(abs(gap))}",
                         (f"{row.psa_name} owing {money(psa.owing)}, {row.ledger_name} "
                          f"balance {money(ledger.owing)}",),
                         FixKind.BY_HAND, "Write off the cent in the system that is off",
                         None, abs(gap))
    if row.credit_memo:
        return _credit_memo_used(row, gap)
    compared = (f"{row.psa_name} owing {money(psa.owing)} of {money(psa.total)}, "
                f"{row.ledger_name} balance {money(ledger.owing)} of {money(ledger.total)}")
    matched = match_txns(row.psa_txns, row.ledger_txns)
    if gap > ZERO:
        return _psa_applied_more(row, gap, matched.psa_only, compared)
    return _ledger_applied_more(row, -gap, matched.ledger_only, compared)


def _credit_memo_used(row: RowFacts, gap: Decimal) -> Diagnosis:
    """A credit memo with less credit left on one side: it was applied to an
    invoice there and not in the other system (the invoice row shows the same
    money as a credit on one side)."""
    assert row.psa is not None and row.ledger is not None
    number = row.psa.number
    if gap < ZERO:  # the ledger has less left: it applied the credit
        cause, used_in, lags, side = (Cause.CREDIT_LEDGER_ONLY, row.ledger_name,
                                      row.psa_name, Side.PSA)
    else:
        cause, used_in, lags, side = (Cause.CREDIT_PSA_ONLY, row.psa_name,
                                      row.ledger_name, Side.LEDGER)
    amount = abs(gap)
    evidence = [f"credit left: {row.psa_name} {money(row.psa.owing)} of "
                f"{money(row.psa.total)}, {row.ledger_name} {money(row.ledger.owing)} of "
                f"{money(row.ledger.total)}"]
    where = "the invoice it went to there (that invoice's row shows the same credit)"
    if cause is Cause.CREDIT_LEDGER_ONLY and row.credit_applied_to:
        numbers = ", ".join(row.credit_applied_to)
        evidence.append(f"{row.ledger_name} applied it to invoice {numbers}")
        where = f"invoice {numbers}"
    return Diagnosis(
        cause,
        f"credit memo {number}: {money(amount)} of it was applied in {used_in} only",
        tuple(evidence), FixKind.BY_HAND,
        f"Apply {money(amount)} of credit memo {number} to {where} in {lags}, then "
        "resync the invoice", side, amount)


def _reversed(removed: tuple[InvoiceTxn, ...], still: tuple[InvoiceTxn, ...],
              amount: Decimal) -> tuple[InvoiceTxn, InvoiceTxn] | None:
    """A payment one side removed while the other still lists it (same amount)."""
    for gone in removed:
        for kept in still:
            if gone.amount == kept.amount == amount:
                return gone, kept
    for gone in removed:
        if gone.amount == amount:
            return gone, gone
    return None


def _partly(more: tuple[InvoiceTxn, ...], less: tuple[InvoiceTxn, ...],
            gap: Decimal) -> tuple[InvoiceTxn, InvoiceTxn] | None:
    """One payment both sides list, applying ``gap`` less on one side (partly
    unapplied or edited there)."""
    for big in more:
        for small in less:
            if (big.amount - small.amount == gap
                    and abs((big.date - small.date).days) <= SAME_PAYMENT_DAYS):
                return big, small
    return None


def _partly_diagnosis(row: RowFacts, big: InvoiceTxn, small: InvoiceTxn, gap: Decimal,
                      compared: str, reduced_in: str, wrong: Side) -> Diagnosis:
    return Diagnosis(
        Cause.PAYMENT_REVERSED,
        f"{small.label} applies {money(small.amount)} in {reduced_in}, {big.label} "
        f"{money(big.amount)} on the other side: {money(gap)} of it was unapplied or "
        f"edited in {reduced_in}",
        (compared,), FixKind.BY_HAND,
        f"Check the payment in {reduced_in}: re-apply the {money(gap)} to this invoice if "
        "the change was a mistake, or correct the other system if it was right", wrong, gap)


def _psa_applied_more(row: RowFacts, gap: Decimal, psa_only: tuple[InvoiceTxn, ...],
                      compared: str) -> Diagnosis:
    removed = tuple(t for t in row.ledger_txns if not t.live)
    ledger_only = match_txns(row.psa_txns, row.ledger_txns).ledger_only
    partly = _partly(psa_only, ledger_only, gap)
    if partly is not None:
        return _partly_diagnosis(row, *partly, gap, compared, row.ledger_name, Side.LEDGER)
    hit = _reversed(removed, psa_only, gap)
    if hit is not None:
        gone, _ = hit
        return Diagnosis(
            Cause.PAYMENT_REVERSED,
            f"{gone.label} of {money(gone.amount)} was {gone.removed_how or 'removed'} in "
            f"{row.ledger_name}; {row.psa_name} still counts it",
            (compared, f"{row.ledger_name} listed {gone.label} on {gone.date.isoformat()} at "
             "an earlier sync"),
            FixKind.BY_HAND,
            f"If the reversal is right (a bounced payment), remove the payment from the "
            f"invoice in {row.psa_name}; if it was a mistake, record it again in "
            f"{row.ledger_name}", Side.PSA, gap)
    if not row.psa_txns_known:
        return Diagnosis(
            Cause.PAYMENT_PSA_ONLY,
            f"{row.psa_name} has {money(gap)} more applied than {row.ledger_name}",
            (compared, f"{row.psa_name}'s own payment list of this invoice is not cached "
             "(a resync reads it where the PSA's API lists payments)"),
            FixKind.RECORD_IN_LEDGER,
            f"Record the payment of {money(gap)} in {row.ledger_name} (Receive Payment "
            "against this invoice)", Side.LEDGER, gap)
    if total(psa_only) == gap and psa_only:
        credit = all(t.kind is TxnKind.CREDIT for t in psa_only)
        return Diagnosis(
            Cause.CREDIT_PSA_ONLY if credit else Cause.PAYMENT_PSA_ONLY,
            f"{listing(psa_only)} is in {row.psa_name}, not in {row.ledger_name}",
            (compared,),
            FixKind.BY_HAND if credit else FixKind.RECORD_IN_LEDGER,
            (f"Apply the credit to the invoice in {row.ledger_name}" if credit else
             f"Record the payment of {money(gap)} in {row.ledger_name} (Receive Payment "
             "against this invoice)"), Side.LEDGER, gap, psa_only)
    return Diagnosis(
        Cause.UNKNOWN, f"{row.psa_name} has {money(gap)} more applied; no single payment "
        "explains it", (compared, f"{row.psa_name} only: {listing(psa_only) or 'nothing'}"),
        FixKind.BY_HAND, "Compare the invoice's payments in both systems (Enter shows them)",
        None, gap)


def _ledger_applied_more(row: RowFacts, gap: Decimal, ledger_only: tuple[InvoiceTxn, ...],
                         compared: str) -> Diagnosis:
    removed = tuple(t for t in row.psa_txns if not t.live)
    psa_only = match_txns(row.psa_txns, row.ledger_txns).psa_only
    partly = _partly(ledger_only, psa_only, gap)
    if partly is not None:
        return _partly_diagnosis(row, *partly, gap, compared, row.psa_name, Side.PSA)
    hit = _reversed(removed, ledger_only, gap)
    if hit is not None:
        gone, _ = hit
        return Diagnosis(
            Cause.PAYMENT_REVERSED,
            f"{gone.label} of {money(gone.amount)} was removed in {row.psa_name}; "
            f"{row.ledger_name} still counts it",
            (compared,), FixKind.BY_HAND,
            f"Record the payment again in {row.psa_name} if it is real, or reverse it in "
            f"{row.ledger_name}", Side.PSA, gap)
    if ledger_only and total(ledger_only) == gap:
        credit = all(t.kind is TxnKind.CREDIT for t in ledger_only)
        return Diagnosis(
            Cause.CREDIT_LEDGER_ONLY if credit else Cause.PAYMENT_LEDGER_ONLY,
            f"{listing(ledger_only)} is in {row.ledger_name}, not in {row.psa_name}",
            (compared,) + (() if row.psa_txns_known else
                           (f"{row.psa_name}'s own payment list was not read",)),
            FixKind.RECORD_IN_PSA,
            f"Record {'the credit' if credit else 'the payment'} of {money(gap)} on the "
            f"invoice in {row.psa_name}", Side.PSA, gap, ledger_only)
    if not ledger_only and not row.ledger_txns:
        return Diagnosis(
            Cause.PAYMENT_LEDGER_ONLY,
            f"{row.ledger_name} has {money(gap)} more applied than {row.psa_name}",
            (compared, f"{row.ledger_name}'s payments of this invoice are not cached; a "
             "resync reads them"),
            FixKind.RESYNC, "Resync the invoice (r) to read both sides' payments", None, gap)
    return Diagnosis(
        Cause.UNKNOWN, f"{row.ledger_name} has {money(gap)} more applied; no single payment "
        "explains it",
        (compared, f"{row.ledger_name} only: {listing(ledger_only) or 'nothing'}"),
        FixKind.BY_HAND, "Compare the invoice's payments in both systems (Enter shows them)",
        None, gap)
