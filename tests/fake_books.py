"""Two tiny in-memory systems, a PSA and a ledger, that behave the way the real
ones do at the interface the sync uses (changed-since reads, deletions decided
from the system's own records), so a property test can drive hundreds of syncs
a second. They stand in for remote services, never for recon-tui code: the
sync, the cache and the refresh under test are the real ones."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from msgspec.structs import replace

from recon_tui.connectors.base import ConnectorError
from recon_tui.models import (
    Contact,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.transactions import InvoiceTxn, LedgerPayment, Side, TxnKind


def _changed(updated: datetime | None, since: datetime | None) -> bool:
    return since is None or (updated is not None and updated >= since)


@dataclass
class FakePsa:
    """ConnectWise-like: one id space for invoices and credit memos."""

    kind: str = "fake-psa"
    book: str = "fake-psa:one"
    #: One request at a time: its payment reads stay in order for the tests.
    max_concurrency: int = 1
    companies_by_id: dict[str, PsaCompany] = field(default_factory=dict)
    contacts_by_id: dict[str, Contact] = field(default_factory=dict)
    documents: dict[str, PsaInvoice] = field(default_factory=dict)
    unexported: set[str] = field(default_factory=set)
    #: invoice id -> its payments, and every invoice whose payments were read
    payments: dict[str, tuple[InvoiceTxn, ...]] = field(default_factory=dict)
    payment_reads: list[str] = field(default_factory=list)

    def touch(self, invoice: PsaInvoice) -> None:
        self.documents[invoice.id] = replace(invoice, updated_at=datetime.now(UTC))

    def companies(self, since: datetime | None = None) -> Iterator[PsaCompany]:
        return iter([c for c in self.companies_by_id.values() if _changed(c.updated_at, since)])

    def contacts(self, since: datetime | None = None) -> Iterator[Contact]:
        return iter(list(self.contacts_by_id.values()))

    def invoices(self, since: datetime | None = None) -> Iterator[PsaInvoice]:
        return iter([replace(i, exported=i.number not in self.unexported)
                     for i in self.documents.values() if _changed(i.updated_at, since)])

    def invoice_by_number(self, number: str) -> PsaInvoice | None:
        found = sorted((i for i in self.documents.values() if i.number == number),
                       key=lambda i: i.id)
        return replace(found[0], exported=number not in self.unexported) if found else None

    def unexported_invoice_numbers(self) -> set[str] | None:
        return set(self.unexported)

    def missing_invoice_ids(self, expected: set[str]) -> set[str]:
        return {i for i in expected if i not in self.documents}

    lists_payments = True
    #: The next record_payment applies, then fails as if its answer were lost.
    drop_next_answer: bool = False
    posts: int = 0

    def invoice_payments(self, invoice_id: str) -> list[InvoiceTxn]:
        """The invoice's payments; an invoice given none explicitly was paid by one
        payment of what its balance says was applied (a PSA's balance follows its
        payments)."""
        self.payment_reads.append(invoice_id)
        if invoice_id in self.payments:
            return list(self.payments[invoice_id])
        invoice = self.documents.get(invoice_id)
        applied = invoice.total - invoice.owing if invoice else Decimal(0)
        if invoice is None or applied <= 0:
            return []
        return [InvoiceTxn(Side.PSA, invoice_id, f"auto-{invoice_id}", TxnKind.PAYMENT,
                           invoice.date, applied)]

    def record_payment(self, invoice_id: str, amount: Decimal, payment_date: date) -> InvoiceTxn:
        self.posts += 1
        invoice = self.documents[invoice_id]
        txn = InvoiceTxn(Side.PSA, invoice_id, f"cw{self.posts}", TxnKind.PAYMENT,
                         payment_date, amount)
        self.payments[invoice_id] = (*self.payments.get(invoice_id, ()), txn)
        self.touch(replace(invoice, owing=invoice.owing - amount))
        if self.drop_next_answer:
            self.drop_next_answer = False
            raise ConnectorError("connectwise", "record payment: the connection dropped")
        return txn

    def close(self) -> None:
        pass


@dataclass
class FakeLedger:
    """QBO-like: invoices and credit memos in separate id spaces, payments that
    leave an unapplied amount, hard deletes it reports."""

    kind: str = "fake-ledger"
    book: str = "fake-ledger:one"
    #: Steps read two at a time, as the sync may with a real ledger.
    max_concurrency: int = 2
    customers_by_id: dict[str, LedgerCustomer] = field(default_factory=dict)
    invoices_by_id: dict[str, LedgerInvoice] = field(default_factory=dict)
    memos_by_id: dict[str, LedgerInvoice] = field(default_factory=dict)
    payments_by_id: dict[str, OrganizationalCredit] = field(default_factory=dict)
    deleted: list[tuple[str, str, datetime]] = field(default_factory=list)
    #: payment id -> what it applies to each invoice
    applications: dict[str, tuple[InvoiceTxn, ...]] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)

    def table(self, kind: DocKind) -> dict[str, LedgerInvoice]:
        return self.memos_by_id if kind is DocKind.CREDIT_MEMO else self.invoices_by_id

    def touch(self, document: LedgerInvoice) -> None:
        self.table(document.kind)[document.id] = replace(document, updated_at=datetime.now(UTC))

    def delete(self, entity: str, record_id: str) -> None:
        store = {"Invoice": self.invoices_by_id, "CreditMemo": self.memos_by_id,
                 "Payment": self.payments_by_id}[entity]
        if store.pop(record_id, None) is not None:
            self.deleted.append((entity, record_id, datetime.now(UTC)))

    def customers(self, since: datetime | None = None) -> Iterator[LedgerCustomer]:
        return iter(list(self.customers_by_id.values()))

    def invoices(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        return iter([i for i in self.invoices_by_id.values() if _changed(i.updated_at, since)])

    def credit_memos(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        return iter([m for m in self.memos_by_id.values() if _changed(m.updated_at, since)])

    def payment_credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        return iter([p for p in self.payments_by_id.values() if _changed(p.updated_at, since)])

    def payments(self, since: datetime | None = None) -> Iterator[LedgerPayment]:
        return iter([LedgerPayment(p, self.applications.get(p.id, ()))
                     for p in self.payment_credits(since)])

    def customer_payments(self, customer_id: str) -> Iterator[LedgerPayment]:
        return iter([LedgerPayment(p, self.applications.get(p.id, ()))
                     for p in self.payments_by_id.values() if p.customer_id == customer_id])

    def customer_memo_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        return iter([OrganizationalCredit.from_credit_memo(m) for m in self.memos_by_id.values()
                     if m.customer_id == customer_id])

    def deleted_ids(self, expected: Mapping[str, set[str]],
                    since: datetime | None) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for entity, ids in expected.items():
            gone = {i for e, i, when in self.deleted
                    if e == entity and (since is None or when >= since)}
            out[entity] = gone & ids
        return out

    def customer_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        memos = [OrganizationalCredit.from_credit_memo(m) for m in self.memos_by_id.values()
                 if m.customer_id == customer_id]
        payments = [p for p in self.payments_by_id.values() if p.customer_id == customer_id]
        return iter(memos + payments)

    def invoice_by_id(self, invoice_id: str) -> LedgerInvoice | None:
        return self.invoices_by_id.get(invoice_id)

    def invoice_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        found = sorted((i for i in self.invoices_by_id.values() if i.doc_number == doc_number),
                       key=lambda i: i.id)
        return found[-1] if found else None

    def credit_memo_by_id(self, memo_id: str) -> LedgerInvoice | None:
        return self.memos_by_id.get(memo_id)

    def credit_memo_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        found = sorted((m for m in self.memos_by_id.values() if m.doc_number == doc_number),
                       key=lambda m: m.id)
        return found[-1] if found else None

    def record_payment(self, customer_id: str, invoice_id: str, amount: Decimal,
                       txn_date: date, reference: str, note: str,
                       request_id: str) -> LedgerInvoice:
        """Applied once per request id, like QBO's requestid."""
        if request_id not in self.requests:
            self.requests[request_id] = payment_id = f"pay{len(self.requests) + 1}"
            invoice = self.invoices_by_id[invoice_id]
            self.payments_by_id[payment_id] = OrganizationalCredit(
                payment_id, CreditKind.UNAPPLIED_PAYMENT, customer_id, txn_date, Decimal(0),
                amount, reference, datetime.now(UTC))
            self.applications[payment_id] = (InvoiceTxn(
                Side.LEDGER, invoice_id, payment_id, TxnKind.PAYMENT, txn_date, amount),)
            self.touch(replace(invoice, balance=invoice.balance - amount))
        return self.invoices_by_id[invoice_id]

    def apply_credit(self, customer_id: str, invoice_id: str, credit_kind: CreditKind | str,
                     credit_id: str, amount: Decimal, request_id: str) -> LedgerInvoice:
        raise NotImplementedError("not used by the property test")

    def close(self) -> None:
        pass

