"""Receipts (payments received) read from a receipts journal export: one row per
invoice a receipt pays, the receipt's own fields repeated on each.

A row naming a credit memo is that credit used by the receipt (Sage 50 shows it
in the receipt's list of documents as a negative amount): the QBO shape of a
payment whose lines link the invoice and the memo, so the same
``applications_from_lines`` splits it. Amounts are read by their size; which
way the money goes is what the number names (a journal export may sign its
lines as debits and credits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from recon_tui.ledger_files.cells import Cells
from recon_tui.ledger_files.values import shown
from recon_tui.models import CreditKind, DocKind, LedgerInvoice, OrganizationalCredit
from recon_tui.money import ZERO
from recon_tui.transactions import (
    InvoiceTxn,
    LedgerPayment,
    Side,
    TxnKind,
    applications_from_lines,
)

if TYPE_CHECKING:
    from recon_tui.ledger_files.book import Customers, Documents

__all__ = ["memo_application", "read_receipts"]

#: The QBO entity names a payment's lines link, as ``applications_from_lines`` reads them.
_INVOICE, _MEMO = "Invoice", "CreditMemo"


@dataclass
class _Receipt:
    """One receipt gathered from its rows."""

    id: str
    customer_id: str
    day: date
    reference: str
    cash: Decimal
    method: str
    first: Cells
    lines: list[tuple[str, str, Decimal]] = field(default_factory=list)


def receipt_id(customer_id: str, reference: str, day: date) -> str:
    """A receipt's identity: exports carry no internal id, and a reference (a cheque
    number) is unique only per customer and day."""
    return f"{customer_id}/{reference}/{day.isoformat()}"


def _line(cells: Cells, docs: Documents, customer_id: str) -> tuple[str, str, Decimal] | None:
    """What one row applies (None for a row that pays no document): a document of
    the receipt's own customer, as every ledger requires."""
    target = cells.text("applies_to")
    if not target:
        return None
    doc = docs.find(target)
    if doc is None:
        raise cells.error("applies_to", f"{shown(target)} is not an invoice or credit memo of "
                          "the sales lists")
    if doc.customer_id != customer_id:
        raise cells.error("applies_to", f"{shown(target)} is a document of customer "
                          f"{shown(doc.customer_id)}, not of this receipt's "
                          f"{shown(customer_id)}")
    if not cells.has("applied"):
        raise cells.error("applies_to", "names a document but the file has no column of "
                          "the amount applied")
    amount = abs(cells.amount("applied"))
    return (_MEMO if doc.kind is DocKind.CREDIT_MEMO else _INVOICE, doc.id, amount)


def _gather(rows: Iterable[Cells], customers: Customers,
            docs: Documents) -> dict[str, _Receipt]:
    receipts: dict[str, _Receipt] = {}
    for cells in rows:
        customer_id = customers.resolve(cells)
        reference = cells.text("reference", required=True)
        day = cells.day("date")
        key = receipt_id(customer_id, reference, day)
        cash = abs(cells.amount("amount"))
        receipt = receipts.get(key)
        if receipt is None:
            receipt = receipts[key] = _Receipt(key, customer_id, day, reference, cash,
                                               cells.text("method"), cells)
        elif receipt.cash != cash:
            raise cells.error("amount", f"receipt {shown(reference)} of {day.isoformat()} reads "
                              f"{receipt.cash:,} at line {receipt.first.row.line}")
        line = _line(cells, docs, customer_id)
        if line is not None:
            receipt.lines.append(line)
    return receipts


def _payment(receipt: _Receipt, docs: Documents) -> LedgerPayment:
    paid = sum((a for kind, _, a in receipt.lines if kind == _INVOICE), ZERO)
    credits = sum((a for kind, _, a in receipt.lines if kind == _MEMO), ZERO)
    unapplied = receipt.cash - (paid - credits)
    if unapplied < ZERO:
        raise receipt.first.error("amount", f"receipt {shown(receipt.reference)} pays {paid:,}, "
                                  f"more than its {receipt.cash:,} and the {credits:,} of "
                                  "credit it uses")
    credit = OrganizationalCredit(
        id=receipt.id, kind=CreditKind.UNAPPLIED_PAYMENT, customer_id=receipt.customer_id,
        date=receipt.day, amount=unapplied, total=receipt.cash, doc_number=receipt.reference)
    numbers = {memo_id: docs.memos[memo_id].doc_number
               for kind, memo_id, _ in receipt.lines if kind == _MEMO}
    return LedgerPayment(credit, applications_from_lines(
        receipt.id, receipt.day, receipt.lines, reference=receipt.reference,
        method=receipt.method, credit_numbers=numbers))


def read_receipts(rows: Iterable[Cells], customers: Customers,
                  docs: Documents) -> list[LedgerPayment]:
    """Every receipt of the receipts files, with what it applies to which invoice."""
    return [_payment(r, docs) for r in _gather(rows, customers, docs).values()]


def memo_application(memo: LedgerInvoice, invoice: LedgerInvoice) -> LedgerPayment:
    """A credit memo applied to one invoice as it was entered (Sage 50's ``Apply to
    Invoice Number``): a payment of no cash whose one application is the credit."""
    txn_id = f"{memo.id}>{invoice.id}"
    credit = OrganizationalCredit(
        id=txn_id, kind=CreditKind.UNAPPLIED_PAYMENT, customer_id=memo.customer_id,
        date=memo.date, amount=ZERO, total=ZERO, doc_number=memo.doc_number)
    return LedgerPayment(credit, (InvoiceTxn(
        Side.LEDGER, invoice.id, txn_id, TxnKind.CREDIT, memo.date, memo.total,
        reference=memo.doc_number, credit_id=memo.id),))
