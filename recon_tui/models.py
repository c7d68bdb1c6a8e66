"""Domain records shared by every layer.

Frozen records, money as ``Decimal``. The records a sync reads by the
hundred thousand (companies, contacts, invoices, customers, credits) are frozen
``msgspec.Struct``s: built about twenty times faster than a frozen dataclass
(whose ``__init__`` goes through ``object.__setattr__`` per field), equal,
hashable and immutable all the same; the rest are frozen dataclasses. Ids are strings because each
system owns its own id space (QBO ids are numeric strings, ConnectWise ids are
integers, Autotask ids are integers) and the cache keys every record on its
system's own id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import msgspec

from recon_tui.money import ZERO


class DocKind(StrEnum):
    """What a billing document is. Both systems keep credit memos beside invoices
    (ConnectWise: a ``finance/invoices`` record of type ``CreditMemo``; QBO: a
    ``CreditMemo`` entity); they pair with each other, never with an invoice."""

    INVOICE = "invoice"
    CREDIT_MEMO = "credit memo"


# --------------------------------------------------------------------------- PSA side
class PsaCompany(msgspec.Struct, frozen=True):
    """A client company in the PSA (ConnectWise company, Autotask company).

    ``portal_active`` is the company-wide portal switch (Autotask
    ``Companies.isClientPortalActive``): off, nobody at the company can log in.
    """

    id: str
    identifier: str
    name: str
    status: str = "Active"
    deleted: bool = False
    updated_at: datetime | None = None
    portal_active: bool = True


class Contact(msgspec.Struct, frozen=True):
    """A PSA contact; its portal security level decides whether it can see invoices,
    unless the contact is inactive or its portal login is disabled (ConnectWise
    ``disablePortalLoginFlag``)."""

    id: str
    company_id: str
    first_name: str
    last_name: str
    portal_security_level: int | None = None
    email: str | None = None
    inactive: bool = False
    updated_at: datetime | None = None
    portal_login_disabled: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part).strip()


class PsaInvoice(msgspec.Struct, frozen=True):
    """An invoice (or a credit memo, by ``kind``) as billed in the PSA, with the
    balance the PSA last knew.

    ``ledger_invoice_id`` is the ledger document this one is known to be linked
    to: the optional custom field an integration fills in, else the link the
    cache remembers from an earlier pairing by number. ``exported`` says the PSA
    believes it went to the ledger (ConnectWise: not listed among the accounting
    interface's unposted invoices; Autotask: ``webServiceDate`` set); it explains
    a missing ledger copy but never decides a status.

    A credit memo's ``total`` and ``owing`` are the credit and what is left of it,
    as positive amounts (ConnectWise sends them negative).
    """

    id: str
    number: str
    company_id: str
    date: date
    total: Decimal
    owing: Decimal
    due_date: date | None = None
    status: str = ""
    ledger_invoice_id: str | None = None
    exported: bool = False
    currency: str = "USD"
    updated_at: datetime | None = None
    kind: DocKind = DocKind.INVOICE


# --------------------------------------------------------------------------- ledger side
class LedgerCustomer(msgspec.Struct, frozen=True):
    """A customer in the ledger (QBO Customer)."""

    id: str
    display_name: str
    company_name: str = ""
    active: bool = True
    balance: Decimal = ZERO
    updated_at: datetime | None = None


class LedgerInvoice(msgspec.Struct, frozen=True):
    """An invoice in the ledger: its balance is the real one. With ``kind`` credit
    memo it is a QBO CreditMemo: ``total`` its TotalAmt, ``balance`` its
    RemainingCredit."""

    id: str
    doc_number: str
    customer_id: str
    date: date
    total: Decimal
    balance: Decimal
    due_date: date | None = None
    voided: bool = False
    currency: str = "USD"
    updated_at: datetime | None = None
    kind: DocKind = DocKind.INVOICE


class CreditKind(StrEnum):
    """Where an organizational credit lives in the ledger."""

    CREDIT_MEMO = "CreditMemo"
    UNAPPLIED_PAYMENT = "Payment"


class OrganizationalCredit(msgspec.Struct, frozen=True):
    """Money the customer has on account: a credit memo's remaining credit or a
    payment's unapplied amount. ``amount`` is what is still available."""

    id: str
    kind: CreditKind
    customer_id: str
    date: date
    amount: Decimal
    total: Decimal
    doc_number: str = ""
    updated_at: datetime | None = None

    @property
    def source(self) -> str:
        return "Credit memo" if self.kind is CreditKind.CREDIT_MEMO else "Unapplied payment"

    @classmethod
    def from_credit_memo(cls, memo: LedgerInvoice) -> OrganizationalCredit:
        """A ledger credit memo's remaining credit as money on account."""
        return cls(id=memo.id, kind=CreditKind.CREDIT_MEMO, customer_id=memo.customer_id,
                   date=memo.date, amount=memo.balance, total=memo.total,
                   doc_number=memo.doc_number, updated_at=memo.updated_at)


# --------------------------------------------------------------------------- mapping
class MappingMethod(StrEnum):
    """How a ledger customer came to be mapped to a PSA company."""

    AUTO_EXACT = "auto-exact"
    AUTO_IDENTIFIER = "auto-identifier"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class CompanyMapping:
    """Ledger customer -> PSA company. Several ledger customers may map to one company."""

    ledger_customer_id: str
    psa_company_id: str
    method: MappingMethod
    created_at: datetime | None = None


# --------------------------------------------------------------------------- reconciliation
class ReconStatus(StrEnum):
    """Sync status of an invoice pair (ServiceBox's statuses, PSA in its place)."""

    MATCHED = "Matched"
    NOT_IN_LEDGER = "Not in Ledger"
    NOT_IN_PSA = "Not in PSA"
    EXPECTED_NOT_FOUND = "Ledger Invoice Expected but not Found"


@dataclass(frozen=True, slots=True)
class InvoicePair:
    """One row of the reconciliation: a PSA invoice, a ledger invoice, or both.

    Differences are ledger minus PSA; a missing side counts as zero.
    """

    status: ReconStatus
    psa: PsaInvoice | None = None
    ledger: LedgerInvoice | None = None

    @property
    def psa_total(self) -> Decimal:
        return self.psa.total if self.psa else ZERO

    @property
    def psa_owing(self) -> Decimal:
        return self.psa.owing if self.psa else ZERO

    @property
    def ledger_total(self) -> Decimal:
        return self.ledger.total if self.ledger else ZERO

    @property
    def ledger_owing(self) -> Decimal:
        return self.ledger.balance if self.ledger else ZERO

    @property
    def difference_total(self) -> Decimal:
        return self.ledger_total - self.psa_total

    @property
    def difference_owing(self) -> Decimal:
        return self.ledger_owing - self.psa_owing

    @property
    def discrepant(self) -> bool:
        """Anything a technician would need to look at."""
        return (
            self.status is not ReconStatus.MATCHED
            or self.difference_total != 0
            or self.difference_owing != 0
        )

    @property
    def invoice_date(self) -> date:
        if self.psa is not None:
            return self.psa.date
        assert self.ledger is not None
        return self.ledger.date

    @property
    def kind(self) -> DocKind:
        side = self.psa if self.psa is not None else self.ledger
        assert side is not None, "an InvoicePair has at least one side"
        return side.kind


@dataclass(frozen=True, slots=True)
class ClientSummary:
    """One row of the clients screen: a PSA company with its mapped ledger
    customers, or a ledger customer nobody has mapped yet."""

    client_key: str
    name: str
    psa_company_id: str | None
    ledger_customer_ids: tuple[str, ...]
    ledger_name: str
    psa_owing: Decimal
    ledger_balance: Decimal
    unapplied_credits: Decimal
    discrepant_count: int
    invoice_count: int
    mapped: bool

    @property
    def difference(self) -> Decimal:
        """Ledger minus PSA, the way every difference in the product reads."""
        return self.ledger_balance - self.psa_owing


@dataclass(frozen=True, slots=True)
class ReportTotals:
    """The ServiceBox totals block, PSA in ServiceBox's place."""

    total_psa: Decimal
    total_ledger: Decimal
    not_downloaded_to_ledger: Decimal
    not_in_psa: Decimal
    matched_difference: Decimal
    expected_not_found: Decimal

    @property
    def total_expected_in_ledger(self) -> Decimal:
        return self.total_psa - self.not_downloaded_to_ledger

    @property
    def total_expected_in_psa(self) -> Decimal:
        return self.total_ledger - self.not_in_psa

    @property
    def invoice_difference(self) -> Decimal:
        return self.total_expected_in_psa - self.total_expected_in_ledger

    @property
    def explained_difference(self) -> Decimal:
        """What the rows say the difference is: matched differences minus the
        PSA totals of invoices whose ledger copy vanished."""
        return self.matched_difference - self.expected_not_found

    @property
    def residual(self) -> Decimal:
        """Always 0.00 when the report is sound."""
        return self.invoice_difference - self.explained_difference


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
