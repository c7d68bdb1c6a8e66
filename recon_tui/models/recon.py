"""The records of a reconciliation: company mappings, one row per document pair
(with its status and differences), the client rollup and the totals block."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from recon_tui.models.documents import DocKind, LedgerInvoice, PsaInvoice
from recon_tui.money import ZERO

__all__ = [
    "ClientSummary",
    "CompanyMapping",
    "InvoicePair",
    "MappingMethod",
    "ReconStatus",
    "ReportTotals",
]


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
