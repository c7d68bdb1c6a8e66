"""Why one reconciliation row differs, and what puts it right.

Pure: it reads the facts of one row (both documents, both sides' payments and
credits, the mapping) and names one cause of a closed set, with the evidence
it rests on and the fix. The seeds' causes: a payment or a credit applied on
one side only, a payment reversed after the sync, an amount edited after
export, a void on one side, an invoice never exported, deleted or created
directly in the ledger, a customer nobody mapped; plus cents and currencies.
When the records do not show which, the cause is "unknown" and the evidence
says what was compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from recon_tui.models import ReconStatus
from recon_tui.money import ZERO
from recon_tui.transactions import (
    SAME_PAYMENT_DAYS,
    InvoiceTxn,
    Side,
    TxnKind,
    match_txns,
    total,
)

#: A difference this small is rounding (a cent on a line, a tax computed twice).
ROUNDING_LIMIT = Decimal("0.01")


class Cause(StrEnum):
    """The closed set of reasons a row differs (values are what screens show)."""

    PAYMENT_LEDGER_ONLY = "payment in ledger only"
    PAYMENT_PSA_ONLY = "payment in PSA only"
    CREDIT_LEDGER_ONLY = "credit in ledger only"
    CREDIT_PSA_ONLY = "credit in PSA only"
    PAYMENT_REVERSED = "payment reversed"
    AMOUNT_EDITED = "amount edited"
    VOIDED_ONE_SIDE = "voided on one side"
    ROUNDING = "rounding"
    CURRENCY = "currency mismatch"
    NEVER_EXPORTED = "never exported"
    MISSING_IN_LEDGER = "exported, not in ledger"
    DELETED_IN_LEDGER = "deleted in ledger"
    CREATED_IN_LEDGER = "created in ledger"
    CUSTOMER_UNMAPPED = "customer unmapped"
    UNKNOWN = "unknown"

    @property
    def meaning(self) -> str:
        return CAUSE_MEANINGS[self]


CAUSE_MEANINGS: dict[Cause, str] = {
    Cause.PAYMENT_LEDGER_ONLY: "The ledger has a payment the PSA does not: it was received "
    "in the accounting system and never reached the PSA.",
    Cause.PAYMENT_PSA_ONLY: "The PSA has a payment the ledger does not (a portal payment "
    "never posted to the books).",
    Cause.CREDIT_LEDGER_ONLY: "A credit memo was applied to the invoice in the ledger only.",
    Cause.CREDIT_PSA_ONLY: "A credit was applied to the invoice in the PSA only.",
    Cause.PAYMENT_REVERSED: "A payment both sides had was deleted, voided or unapplied on "
    "one side after it was recorded.",
    Cause.AMOUNT_EDITED: "The invoice's amount differs: it was edited in one system after "
    "it was exported.",
    Cause.VOIDED_ONE_SIDE: "The invoice is voided in one system and open in the other.",
    Cause.ROUNDING: "A difference of a cent: rounding of a line or of tax.",
    Cause.CURRENCY: "The two copies are in different currencies.",
    Cause.NEVER_EXPORTED: "The PSA has not handed the invoice to the accounting system yet.",
    Cause.MISSING_IN_LEDGER: "The PSA says the invoice was exported, but the ledger has no "
    "invoice of that number.",
    Cause.DELETED_IN_LEDGER: "The ledger copy the invoice was linked to has been deleted.",
    Cause.CREATED_IN_LEDGER: "The invoice was created directly in the ledger; the PSA never "
    "billed it.",
    Cause.CUSTOMER_UNMAPPED: "The ledger customer is not mapped to a PSA company, so its "
    "invoices are hidden from the client's view.",
    Cause.UNKNOWN: "The records do not show why; the evidence says what was compared.",
}


class FixKind(StrEnum):
    RECORD_IN_LEDGER = "record payment in ledger"
    RECORD_IN_PSA = "record payment in PSA"
    BY_HAND = "by hand"
    MAP_CUSTOMER = "map the customer"
    RESYNC = "resync"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class DocFacts:
    """One side's document as the diagnosis needs it."""

    number: str
    total: Decimal
    owing: Decimal
    currency: str = "USD"
    voided: bool = False
    date: date | None = None


@dataclass(frozen=True, slots=True)
class RowFacts:
    """Everything known about one reconciliation row."""

    status: ReconStatus
    psa: DocFacts | None
    ledger: DocFacts | None
    psa_txns: tuple[InvoiceTxn, ...] = ()
    ledger_txns: tuple[InvoiceTxn, ...] = ()
    #: The PSA's payments of this invoice were read (ConnectWise lists them;
    #: Autotask's API cannot, and an invoice not yet looked at has none cached).
    psa_txns_known: bool = False
    psa_exported: bool = True
    customer_mapped: bool = True
    psa_name: str = "the PSA"
    ledger_name: str = "the ledger"
    #: A credit-memo row: its "owing" is the credit left to use, not money owed.
    credit_memo: bool = False
    #: For a credit-memo row: the invoices the ledger applied it to (numbers).
    credit_applied_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A cause, the evidence for it, and the fix (what, in which system, how much)."""

    cause: Cause
    summary: str
    evidence: tuple[str, ...] = ()
    fix: FixKind = FixKind.BY_HAND
    fix_text: str = ""
    fix_side: Side | None = None
    amount: Decimal | None = None
    #: The applications the fix would copy to the other side.
    txns: tuple[InvoiceTxn, ...] = field(default=())


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _listing(txns: tuple[InvoiceTxn, ...]) -> str:
    return ", ".join(f"{t.label} of {_money(t.amount)} on {t.date.isoformat()}" for t in txns)


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
            (f"{row.psa_name} still bills {_money(row.psa.total)}, owing "
             f"{_money(row.psa.owing)}",),
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
            (f"totals {_money(psa.total)} {psa.currency} and "
             f"{_money(ledger.total)} {ledger.currency}",),
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
    return _applied(row)


def _ledger_only(row: RowFacts) -> Diagnosis:
    assert row.ledger is not None
    number = row.ledger.number or "(no number)"
    if not row.customer_mapped:
        return Diagnosis(
            Cause.CUSTOMER_UNMAPPED,
            f"invoice {number} belongs to a ledger customer no PSA company is mapped to",
            (f"{row.ledger_name} total {_money(row.ledger.total)}, balance "
             f"{_money(row.ledger.owing)}",),
            FixKind.MAP_CUSTOMER,
            "Map the customer to its PSA company (m opens the mapper)")
    return Diagnosis(
        Cause.CREATED_IN_LEDGER,
        f"invoice {number} exists in {row.ledger_name} only",
        (f"{row.psa_name} has no invoice {number}; {row.ledger_name} total "
         f"{_money(row.ledger.total)}, balance {_money(row.ledger.owing)}",),
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
        (f"{row.psa_name} total {_money(row.psa.total)}, owing {_money(row.psa.owing)}",),
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
        (f"{row.psa_name} owing {_money(row.psa.owing)}, {row.ledger_name} balance "
         f"{_money(row.ledger.owing)}",),
        FixKind.BY_HAND,
        f"Void it in {open_in} too, or reinstate it in {voided_in} if the void was a mistake",
        wrong)


def _amount(row: RowFacts) -> Diagnosis:
    assert row.psa is not None and row.ledger is not None
    diff = row.ledger.total - row.psa.total
    evidence = (f"{row.psa_name} total {_money(row.psa.total)}, {row.ledger_name} total "
                f"{_money(row.ledger.total)} (difference {_money(diff)})",)
    if abs(diff) <= ROUNDING_LIMIT:
        return Diagnosis(Cause.ROUNDING, f"the totals differ by {_money(abs(diff))}",
                         evidence, FixKind.BY_HAND,
                         f"Adjust the invoice's tax or line rounding in {row.ledger_name}, "
                         "or write off the cent", Side.LEDGER, abs(diff))
    return Diagnosis(
        Cause.AMOUNT_EDITED,
        f"invoice {row.psa.number} was edited after export: the totals differ by "
        f"{_money(abs(diff))}",
        evidence, FixKind.BY_HAND,
        f"Open invoice {row.psa.number} in {row.ledger_name} and set its lines back to "
        f"{row.psa_name}'s {_money(row.psa.total)} (or correct the PSA invoice and "
        "re-export it if the ledger is right)", Side.LEDGER, abs(diff))


def _applied(row: RowFacts) -> Diagnosis:
    """Same totals, different balances: money applied on one side only."""
    assert row.psa is not None and row.ledger is not None
    psa, ledger = row.psa, row.ledger
    gap = ledger.owing - psa.owing  # > 0: the PSA applied more than the ledger
    if abs(gap) <= ROUNDING_LIMIT:
        return Diagnosis(Cause.ROUNDING, f"the balances differ by {_money(abs(gap))}",
                         (f"{row.psa_name} owing {_money(psa.owing)}, {row.ledger_name} "
                          f"balance {_money(ledger.owing)}",),
                         FixKind.BY_HAND, "Write off the cent in the system that is off",
                         None, abs(gap))
    if row.credit_memo:
        return _credit_memo_used(row, gap)
    compared = (f"{row.psa_name} owing {_money(psa.owing)} of {_money(psa.total)}, "
                f"{row.ledger_name} balance {_money(ledger.owing)} of {_money(ledger.total)}")
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
    evidence = [f"credit left: {row.psa_name} {_money(row.psa.owing)} of "
                f"{_money(row.psa.total)}, {row.ledger_name} {_money(row.ledger.owing)} of "
                f"{_money(row.ledger.total)}"]
    where = "the invoice it went to there (that invoice's row shows the same credit)"
    if cause is Cause.CREDIT_LEDGER_ONLY and row.credit_applied_to:
        numbers = ", ".join(row.credit_applied_to)
        evidence.append(f"{row.ledger_name} applied it to invoice {numbers}")
        where = f"invoice {numbers}"
    return Diagnosis(
        cause,
        f"credit memo {number}: {_money(amount)} of it was applied in {used_in} only",
        tuple(evidence), FixKind.BY_HAND,
        f"Apply {_money(amount)} of credit memo {number} to {where} in {lags}, then "
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
        f"{small.label} applies {_money(small.amount)} in {reduced_in}, {big.label} "
        f"{_money(big.amount)} on the other side: {_money(gap)} of it was unapplied or "
        f"edited in {reduced_in}",
        (compared,), FixKind.BY_HAND,
        f"Check the payment in {reduced_in}: re-apply the {_money(gap)} to this invoice if "
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
            f"{gone.label} of {_money(gone.amount)} was {gone.removed_how or 'removed'} in "
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
            f"{row.psa_name} has {_money(gap)} more applied than {row.ledger_name}",
            (compared, f"{row.psa_name}'s own payment list of this invoice is not cached "
             "(a resync reads it where the PSA's API lists payments)"),
            FixKind.RECORD_IN_LEDGER,
            f"Record the payment of {_money(gap)} in {row.ledger_name} (Receive Payment "
            "against this invoice)", Side.LEDGER, gap)
    if total(psa_only) == gap and psa_only:
        credit = all(t.kind is TxnKind.CREDIT for t in psa_only)
        return Diagnosis(
            Cause.CREDIT_PSA_ONLY if credit else Cause.PAYMENT_PSA_ONLY,
            f"{_listing(psa_only)} is in {row.psa_name}, not in {row.ledger_name}",
            (compared,),
            FixKind.BY_HAND if credit else FixKind.RECORD_IN_LEDGER,
            (f"Apply the credit to the invoice in {row.ledger_name}" if credit else
             f"Record the payment of {_money(gap)} in {row.ledger_name} (Receive Payment "
             "against this invoice)"), Side.LEDGER, gap, psa_only)
    return Diagnosis(
        Cause.UNKNOWN, f"{row.psa_name} has {_money(gap)} more applied; no single payment "
        "explains it", (compared, f"{row.psa_name} only: {_listing(psa_only) or 'nothing'}"),
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
            f"{gone.label} of {_money(gone.amount)} was removed in {row.psa_name}; "
            f"{row.ledger_name} still counts it",
            (compared,), FixKind.BY_HAND,
            f"Record the payment again in {row.psa_name} if it is real, or reverse it in "
            f"{row.ledger_name}", Side.PSA, gap)
    if ledger_only and total(ledger_only) == gap:
        credit = all(t.kind is TxnKind.CREDIT for t in ledger_only)
        return Diagnosis(
            Cause.CREDIT_LEDGER_ONLY if credit else Cause.PAYMENT_LEDGER_ONLY,
            f"{_listing(ledger_only)} is in {row.ledger_name}, not in {row.psa_name}",
            (compared,) + (() if row.psa_txns_known else
                           (f"{row.psa_name}'s own payment list was not read",)),
            FixKind.RECORD_IN_PSA,
            f"Record {'the credit' if credit else 'the payment'} of {_money(gap)} on the "
            f"invoice in {row.psa_name}", Side.PSA, gap, ledger_only)
    if not ledger_only and not row.ledger_txns:
        return Diagnosis(
            Cause.PAYMENT_LEDGER_ONLY,
            f"{row.ledger_name} has {_money(gap)} more applied than {row.psa_name}",
            (compared, f"{row.ledger_name}'s payments of this invoice are not cached; a "
             "resync reads them"),
            FixKind.RESYNC, "Resync the invoice (r) to read both sides' payments", None, gap)
    return Diagnosis(
        Cause.UNKNOWN, f"{row.ledger_name} has {_money(gap)} more applied; no single payment "
        "explains it",
        (compared, f"{row.ledger_name} only: {_listing(ledger_only) or 'nothing'}"),
        FixKind.BY_HAND, "Compare the invoice's payments in both systems (Enter shows them)",
        None, gap)
