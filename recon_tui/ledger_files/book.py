"""The files of one export read into one ledger book: customers, invoices, credit
memos and payments, as the QBO connector would hand them over.

An export holds no balance of its own in most formats (a Sage 50 US journal
export lists what was billed and what was received): an invoice's balance is
its total less what the receipts and credit memos in the same export apply to
it, a credit memo's remaining credit its total less what it was applied to, a
receipt's unapplied amount its cash less what it pays (plus the credits it
uses). A column holding the balance (``Amount Due``, QuickBooks Desktop's
``Open Balance``) is taken as the ledger's word instead. A customer's balance
is the sum of its open invoices' balances, as the sample book's QBO customers
carry it.

Identity: a customer is its Customer ID (a Sage 50 Canada list has none: its
name), a document its number, a receipt its customer, reference and date; a
receipt naming an invoice or a customer the export does not list is an error
at that cell, never a guess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from msgspec.structs import replace

from recon_tui.ledger_files.cells import Cells, ReadOptions
from recon_tui.ledger_files.reader import ExportError, ExportFile
from recon_tui.ledger_files.receipts import memo_application, read_receipts
from recon_tui.ledger_files.tables import QBD_SALES_TYPES, ListKind
from recon_tui.ledger_files.values import shown
from recon_tui.models import DocKind, LedgerCustomer, LedgerInvoice
from recon_tui.money import ZERO
from recon_tui.transactions import LedgerPayment

__all__ = ["Customers", "Documents", "LedgerBook", "assemble"]


@dataclass
class Customers:
    """The customer list, looked up by id, else by name (Canada's key)."""

    by_id: dict[str, LedgerCustomer] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    currency: dict[str, str] = field(default_factory=dict)

    def resolve(self, cells: Cells, name: str = "customer") -> str:
        """The customer id a cell names; an unknown or ambiguous one is its error."""
        text = cells.text(name, required=True)
        if text in self.by_id:
            return text
        ids = self.by_name.get(text, [])
        if len(ids) == 1:
            return ids[0]
        if ids:
            raise cells.error(name, f"{shown(text)} names {len(ids)} customers; export the "
                              "Customer ID column to tell them apart")
        raise cells.error(name, f"{shown(text)} is not in the customer list")


@dataclass
class Documents:
    """Invoices and credit memos by id (their number), with where each was read."""

    invoices: dict[str, LedgerInvoice] = field(default_factory=dict)
    memos: dict[str, LedgerInvoice] = field(default_factory=dict)
    where: dict[str, Cells] = field(default_factory=dict)
    given_balance: set[str] = field(default_factory=set)

    def find(self, number: str) -> LedgerInvoice | None:
        return self.invoices.get(number) or self.memos.get(number)


@dataclass(frozen=True)
class LedgerBook:
    """Everything one import read."""

    customers: tuple[LedgerCustomer, ...]
    invoices: tuple[LedgerInvoice, ...]
    credit_memos: tuple[LedgerInvoice, ...]
    payments: tuple[LedgerPayment, ...]
    files: tuple[ExportFile, ...]


def _rows(files: Iterable[ExportFile], options: ReadOptions) -> Iterable[Cells]:
    for file in files:
        for row in file.rows:
            yield Cells(file, row, options)


def read_customers(files: list[ExportFile], options: ReadOptions) -> Customers:
    customers = Customers()
    seen: dict[str, Cells] = {}
    for cells in _rows(files, options):
        name = cells.text("name", required=True)
        customer_id = cells.text("customer_id") or name
        if customer_id in seen:
            raise cells.error("customer_id" if cells.has("customer_id") else "name",
                              f"customer {shown(customer_id)} is listed twice (first at line "
                              f"{seen[customer_id].row.line})")
        seen[customer_id] = cells
        customers.by_id[customer_id] = LedgerCustomer(
            id=customer_id, display_name=name, company_name=name,
            active=not cells.flag("inactive"))
        customers.by_name.setdefault(name, []).append(customer_id)
        customers.currency[customer_id] = cells.currency(options.currency)
    return customers


def _document(cells: Cells, customers: Customers) -> LedgerInvoice | None:
    """One sales row as a document; None for a row that is no sale (a quote, a
    QuickBooks Desktop row of another type)."""
    if cells.has("quote") and cells.flag("quote"):
        return None
    memo: bool | None = None
    if cells.has("type"):
        memo = QBD_SALES_TYPES.get(" ".join(cells.text("type").split()).casefold())
        if memo is None:
            return None
    total = cells.amount("total")
    if memo is None:
        memo = cells.flag("credit_memo") if cells.has("credit_memo") else total < ZERO
    customer_id = customers.resolve(cells)
    number = cells.text("number", required=True)
    balance = abs(cells.amount("balance")) if cells.has("balance") else abs(total)
    return LedgerInvoice(
        id=number, doc_number=number, customer_id=customer_id, date=cells.day("date"),
        total=abs(total), balance=balance, due_date=cells.optional_day("due_date"),
        voided=cells.flag("voided"),
        currency=cells.currency(customers.currency[customer_id]),
        kind=DocKind.CREDIT_MEMO if memo else DocKind.INVOICE)


def read_documents(files: list[ExportFile], options: ReadOptions,
                   customers: Customers) -> Documents:
    """Every sales row; a journal's distribution rows repeat one document's header,
    and must agree on it."""
    docs = Documents()
    for cells in _rows(files, options):
        doc = _document(cells, customers)
        if doc is None:
            continue
        held = docs.find(doc.id)
        if held is not None:
            if held != doc:
                first = docs.where[doc.id]
                where = f"line {first.row.line}" + (
                    "" if first.file is cells.file else f" of {first.file.path}")
                raise cells.error("number", f"document {shown(doc.id)} is read differently at "
                                  f"{where} (customer, date, amount or kind differ)")
            continue
        (docs.memos if doc.kind is DocKind.CREDIT_MEMO else docs.invoices)[doc.id] = doc
        docs.where[doc.id] = cells
        if cells.has("balance"):
            docs.given_balance.add(doc.id)
    return docs


def _memo_applications(docs: Documents) -> list[LedgerPayment]:
    """A Sage 50 credit memo with an ``Apply to Invoice Number`` applies its whole
    amount to that invoice when it is entered: one application, no cash."""
    out = []
    for memo in docs.memos.values():
        cells = docs.where[memo.id]
        target = cells.text("apply_to")
        if not target:
            continue
        if target not in docs.invoices:
            raise cells.error("apply_to", f"{shown(target)} is not an invoice of the sales lists")
        out.append(memo_application(memo, docs.invoices[target]))
    return out


def _settle(docs: Documents, payments: list[LedgerPayment]) -> Documents:
    """Balances from what the payments apply, unless the export gave them."""
    applied: dict[str, Decimal] = defaultdict(lambda: ZERO)
    used: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in payments:
        for txn in payment.applications:
            applied[txn.invoice_id] += txn.amount
            if txn.credit_id:
                used[txn.credit_id] += txn.amount
    for table, taken, what in ((docs.invoices, applied, "paid"),
                               (docs.memos, used, "applied")):
        for doc_id, doc in table.items():
            if doc_id in docs.given_balance:
                continue
            left = doc.total - taken[doc_id]
            if left < ZERO:
                raise docs.where[doc_id].error("total", f"{doc.doc_number} is {what} "
                                               f"{taken[doc_id]:,} by the receipts, more "
                                               f"than its {doc.total:,}")
            table[doc_id] = replace(doc, balance=left)
    return docs


def assemble(files: list[ExportFile], options: ReadOptions) -> LedgerBook:
    """The book the files make together (each list's files in the order given)."""
    kinds = {kind: [f for f in files if f.table.kind is kind] for kind in ListKind}
    customers = read_customers(kinds[ListKind.CUSTOMERS], options)
    docs = read_documents(kinds[ListKind.SALES], options, customers)
    payments = [*_memo_applications(docs),
                *read_receipts(_rows(kinds[ListKind.RECEIPTS], options), customers, docs)]
    docs = _settle(docs, payments)
    owed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for invoice in docs.invoices.values():
        owed[invoice.customer_id] += invoice.balance
    listed = tuple(replace(c, balance=owed[c.id]) for c in customers.by_id.values())
    return LedgerBook(listed, tuple(docs.invoices.values()), tuple(docs.memos.values()),
                      tuple(payments), tuple(files))


def missing_lists(files: list[ExportFile], wanted: Iterable[ListKind]) -> list[ListKind]:
    """The lists of a format no file is: the import reads a whole book or nothing."""
    have = {f.table.kind for f in files}
    return [kind for kind in wanted if kind not in have]


def refuse_missing(system: str, files: list[ExportFile], wanted: Iterable[ListKind]) -> None:
    missing = missing_lists(files, wanted)
    if missing:
        given = ", ".join(f.path.name for f in files) or "none"
        raise ExportError(f"{system} import", "no " + " and no ".join(
            k.value for k in missing) + f" list among the files ({given}); an export is "
            "read as the whole book (what it leaves out is deleted), so each list is "
            "needed, even one with no rows")
