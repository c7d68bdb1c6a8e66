"""A ledger read from its exports, behind the same LedgerConnector interface as
QuickBooks Online, so the real sync (``recon_tui.sync``) fills the cache from it
and the reconciliation, the report and the screens work unchanged.

An export is a complete list: every read returns the whole book whatever
``since`` says, and what the cache holds that the export does not list was
deleted (``deleted_ids``), which the sync's mass-deletion guard still checks.
Exports cannot be written back: a fix is made in the ledger, exported again
and imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from decimal import Decimal

from recon_tui.connectors.base import ConnectorError
from recon_tui.ledger_files.book import LedgerBook
from recon_tui.models import (
    CreditKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
)
from recon_tui.transactions import LedgerPayment

__all__ = ["FileLedger"]


class FileLedger:
    """The LedgerConnector of one import: ``kind`` is the format (``sage50``),
    ``book`` ``<format>:<company name>`` (a cache holds one company's books)."""

    max_concurrency = 1

    def __init__(self, kind: str, system: str, company: str, book: LedgerBook) -> None:
        self.kind, self.system = kind, system
        self.book = f"{kind}:{company}"
        self._data = book
        self._invoices = {i.id: i for i in book.invoices}
        self._memos = {m.id: m for m in book.credit_memos}

    # -- the whole lists
    def customers(self, since: datetime | None = None) -> Iterator[LedgerCustomer]:
        return iter(self._data.customers)

    def invoices(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        return iter(self._data.invoices)

    def credit_memos(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        return iter(self._data.credit_memos)

    def payments(self, since: datetime | None = None) -> Iterator[LedgerPayment]:
        return iter(self._data.payments)

    def payment_credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        return (p.credit for p in self._data.payments)

    def deleted_ids(self, expected: Mapping[str, AbstractSet[str]],
                    since: datetime | None) -> dict[str, set[str]]:
        """What the cache holds that the export does not list: the export is the
        whole book, so its lists prove themselves complete."""
        listed = {"Invoice": set(self._invoices), "CreditMemo": set(self._memos),
                  "Payment": {p.credit.id for p in self._data.payments}}
        return {entity: {i for i in ids if i not in listed.get(entity, set())}
                for entity, ids in expected.items()}

    # -- one customer, one document (a resync)
    def customer_payments(self, customer_id: str) -> Iterator[LedgerPayment]:
        return (p for p in self._data.payments if p.credit.customer_id == customer_id)

    def customer_memo_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        return (OrganizationalCredit.from_credit_memo(m) for m in self._data.credit_memos
                if m.customer_id == customer_id)

    def customer_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        yield from self.customer_memo_credits(customer_id)
        yield from (p.credit for p in self.customer_payments(customer_id))

    def invoice_by_id(self, invoice_id: str) -> LedgerInvoice | None:
        return self._invoices.get(invoice_id)

    def invoice_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        return self._invoices.get(doc_number)

    def credit_memo_by_id(self, memo_id: str) -> LedgerInvoice | None:
        return self._memos.get(memo_id)

    def credit_memo_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        return self._memos.get(doc_number)

    # -- writes: an export cannot take them
    def _read_only(self) -> ConnectorError:
        return ConnectorError(self.system, "an export cannot be written to; record it in "
                              f"{self.system}, export the lists again and import them")

    def record_payment(self, customer_id: str, invoice_id: str, amount: Decimal,
                       txn_date: date, reference: str, note: str,
                       request_id: str) -> LedgerInvoice:
        raise self._read_only()

    def apply_credit(self, customer_id: str, invoice_id: str, credit_kind: CreditKind | str,
                     credit_id: str, amount: Decimal, request_id: str) -> LedgerInvoice:
        raise self._read_only()

    def close(self) -> None:
        """Nothing is open: the files were read whole before the sync began."""
