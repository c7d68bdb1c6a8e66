"""A guided fix of one discrepant row, as the cache stores it.

Three kinds: record a payment the ledger lacks (QBO Receive Payment), record
one the PSA lacks (ConnectWise invoice payment), or a change only a person can
make (an edited amount, a void on one side, a reversal) with its exact steps.
Each is verified by a resync of the invoice, never ticked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class FixKind(StrEnum):
    RECORD_IN_LEDGER = "record payment in ledger"
    RECORD_IN_PSA = "record payment in PSA"
    BY_HAND = "by hand"


class FixState(StrEnum):
    PLANNED = "planned"          # shown, not confirmed
    SENDING = "sending"          # request id / prior payments stored, write sent or about to be
    SENT = "sent"                # the system accepted the write
    AWAITING_HAND = "awaiting the tech"  # by hand: steps shown, waiting for "done"
    DONE = "done"                # a resync shows both sides agree
    FAILED_VERIFICATION = "failed verification"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self not in (FixState.DONE, FixState.CANCELLED)


class FixMethod(StrEnum):
    API = "api"
    HAND = "by hand"


@dataclass(frozen=True, slots=True)
class PaymentFix:
    """One fix as stored: what it writes, where, and how far it got."""

    id: int
    state: FixState
    kind: FixKind
    target: str  # "ledger" | "psa": the system that is wrong
    cause: str
    number: str
    psa_invoice_id: str | None
    ledger_invoice_id: str | None
    ledger_customer_id: str | None
    amount: Decimal | None
    txn_date: date | None
    reference: str
    note: str
    created_at: datetime
    updated_at: datetime
    request_id: str | None = None
    known_before: tuple[str, ...] | None = None
    posted_id: str | None = None
    method: FixMethod | None = None
    finding: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FixEvent:
    """One line of a fix's audit trail."""

    id: int
    fix_id: int
    at: datetime
    step: int
    outcome: str  # ok | fail | info
    state: FixState
    message: str
