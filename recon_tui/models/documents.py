"""The records both systems hold: PSA companies, contacts and invoices, ledger
customers and invoices (credit memos by ``kind``) and the organizational credits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import msgspec

from recon_tui.money import ZERO

__all__ = [
    "Contact",
    "CreditKind",
    "DocKind",
    "LedgerCustomer",
    "LedgerInvoice",
    "OrganizationalCredit",
    "PsaCompany",
    "PsaInvoice",
]


class DocKind(StrEnum):
    """What a billing document is. Both systems keep credit memos beside invoices
    (ConnectWise: a ``finance/invoices`` record of type ``CreditMemo``; QBO: a
    ``CreditMemo`` entity); they pair with each other, never with an invoice."""

    INVOICE = "invoice"
    CREDIT_MEMO = "credit memo"


# --------------------------------------------------------------------------- PSA side
class PsaCompany(msgspec.Struct, frozen=True, gc=False):
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


class Contact(msgspec.Struct, frozen=True, gc=False):
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


class PsaInvoice(msgspec.Struct, frozen=True, gc=False):
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
class LedgerCustomer(msgspec.Struct, frozen=True, gc=False):
    """A customer in the ledger (QBO Customer)."""

    id: str
    display_name: str
    company_name: str = ""
    active: bool = True
    balance: Decimal = ZERO
    updated_at: datetime | None = None


class LedgerInvoice(msgspec.Struct, frozen=True, gc=False):
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


class OrganizationalCredit(msgspec.Struct, frozen=True, gc=False):
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
