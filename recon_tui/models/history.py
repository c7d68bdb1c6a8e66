"""The records of what the app did: sync runs with their steps, and the credit
checklists with their audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from recon_tui.models.documents import CreditKind

__all__ = [
    "ApplyMethod",
    "ChecklistEvent",
    "ChecklistState",
    "CreditChecklist",
    "SyncRun",
    "SyncStatus",
    "SyncStep",
]


# --------------------------------------------------------------------------- sync history
class SyncStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class SyncStep:
    """One step of a sync (one entity from one system), applied in one transaction."""

    name: str
    system: str
    status: SyncStatus = SyncStatus.PENDING
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    error: str | None = None


@dataclass(slots=True)
class SyncRun:
    """A recorded sync: full, demo load, or a single-invoice resync."""

    kind: str
    status: SyncStatus = SyncStatus.PENDING
    id: int | None = None
    since: date | None = None
    target: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    steps: list[SyncStep] = field(default_factory=list)


# --------------------------------------------------------------------------- credit checklists
class ChecklistState(StrEnum):
    """Where a credit-application checklist (seed 001) stands."""

    CHOOSE_INVOICE = "choose invoice"
    READY_TO_APPLY = "ready to apply"
    APPLYING = "applying"  # sent to the ledger (request id stored), answer not yet recorded
    APPLIED = "applied"
    RESYNCED = "resynced"
    FULL_SYNCED = "full synced"
    #: The ledger shows the credit applied, the PSA does not yet (it has to be
    #: recorded there): open until a re-check finds both sides agreeing.
    LEDGER_DONE_PSA_LAGS = "ledger done, PSA lags"
    DONE = "done"
    FAILED_VERIFICATION = "failed verification"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self not in (ChecklistState.DONE, ChecklistState.CANCELLED)


class ApplyMethod(StrEnum):
    """How the credit reached the ledger."""

    API = "api"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class CreditChecklist:
    """One credit being applied to one invoice, as stored in the cache.

    The credit and invoice amounts are snapshots taken when the operator chose the
    target: verification compares the ledger after the application with them.
    """

    id: int
    state: ChecklistState
    customer_id: str
    customer_name: str
    credit_kind: CreditKind
    credit_id: str
    credit_doc_number: str
    credit_date: date
    credit_amount: Decimal
    created_at: datetime
    updated_at: datetime
    invoice_id: str | None = None
    invoice_number: str | None = None
    invoice_total: Decimal | None = None
    invoice_balance: Decimal | None = None
    amount: Decimal | None = None
    method: ApplyMethod | None = None
    request_id: str | None = None
    applied_at: datetime | None = None
    needs_full_sync: bool | None = None
    sync_since: date | None = None
    failed_step: int | None = None
    finding: str | None = None
    note: str | None = None
    closed_at: datetime | None = None

    @property
    def credit_key(self) -> str:
        return f"{self.credit_kind.value}:{self.credit_id}"

    @property
    def credit_label(self) -> str:
        """'credit memo 11261' / 'unapplied payment 123', as findings name it."""
        kind = "credit memo" if self.credit_kind is CreditKind.CREDIT_MEMO else "unapplied payment"
        return f"{kind} {self.credit_id}"


@dataclass(frozen=True, slots=True)
class ChecklistEvent:
    """One timestamped line of a checklist's audit trail."""

    id: int
    checklist_id: int
    at: datetime
    step: int
    outcome: str  # "ok" | "fail" | "info"
    state: ChecklistState
    message: str
