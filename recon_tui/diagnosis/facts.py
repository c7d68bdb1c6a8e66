"""The vocabulary of a diagnosis: the closed set of causes and fixes, the facts of
one row it reads, and the diagnosis it gives (with the money formatting its
evidence is written in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from recon_tui.models import ReconStatus
from recon_tui.transactions import InvoiceTxn, Side

__all__ = ["ROUNDING_LIMIT", "Cause", "Diagnosis", "DocFacts", "FixKind", "RowFacts",
           "listing", "money"]

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


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def listing(txns: tuple[InvoiceTxn, ...]) -> str:
    return ", ".join(f"{t.label} of {money(t.amount)} on {t.date.isoformat()}" for t in txns)
