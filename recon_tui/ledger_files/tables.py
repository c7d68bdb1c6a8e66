"""The column mapping of every export recon-tui reads: one declared table per list.

Each table names the list (customers, sales: invoices and credit memos, receipts:
payments with what they apply to), the export it comes from, and for each field
the header names accepted for it, compared case-insensitively with surrounding
spaces ignored. The first name of a column is what the source documents; the
others are aliases. Correcting a header is editing one tuple here.

What the public references say (checked 2026-12 with the search tool):

* Sage 50 US edition, File > Select Import/Export (help-sage50.na.sage.com,
  "Customer List Fields (Import/Export)", "Sales Journal Fields (Import/Export)",
  "Cash Receipts Journal Fields (Import/Export)"): the Customer List is exported
  as CUSTOMER.CSV with ``Customer ID``, ``Customer Name``, ``Inactive``
  (TRUE/FALSE); the Sales Journal as SALES.CSV with ``Customer ID``, ``Customer
  Name``, ``Invoice/CM #``, ``Apply to Invoice Number``, ``Date`` (##/##/##,
  month/day/year), ``Quote``; the "Import/Export Tips" page names ``Date Due``
  and says a journal export adds ``Transaction Period`` and ``Transaction
  Number``; the Cash Receipts Journal as RECEIPTS.CSV with ``Deposit Ticket ID``,
  ``Customer ID``, ``Customer Name``, ``Reference``, ``Date``, ``Payment
  Method``, ``Cash Amount`` (export only: the net cash of the receipt). A journal
  is exported one row per distribution, the header fields repeated on each. The
  export window's Options tab has an "Include Heading" box (CaseWare's "Importing
  from Sage 50 Accounting (Peachtree - WIN) Export"): it must be ticked, the
  header row is how a file is mapped.
* Not found in any public page: the Sales Journal's invoice-amount column and
  credit-memo flag, and the Cash Receipts Journal's per-invoice columns. The
  names used below (``Accounts Receivable Amount``, ``Credit Memo``, ``Invoice
  Paid``, ``Amount``; the Payments Journal's import uses ``Invoice Paid`` and
  ``Amount`` for the same job, per Bill.com's Peachtree format article) are
  unverified: check them against your export and correct the tuple.
* Sage 50 Canada edition (Report Centre, Customers & Sales: Customer List,
  Customer Aged Detail, Sales Journal, Receipts Journal; each report exports to
  CSV): no public page lists the exported column headers. Canada keys a customer
  by its name, not an id, so the customer column accepts a name; the aliases
  ``Source`` (the document number of a Canada journal, per its General Journal
  import page), ``Invoice No.``, ``Cheque No.`` are guesses to correct.
* QuickBooks Desktop report exports (Reports > Customers & Receivables: Customer
  Contact List, Open Invoices; Transaction List by Customer) name their columns
  ``Customer``, ``Type``, ``Date``, ``Num``, ``Due Date``, ``Open Balance``,
  ``Amount`` on screen; no Intuit page lists them for the CSV export either, so
  the ``qbd`` tables are the same kind of correctable guess. Those reports say
  which invoice a payment paid nowhere, so ``qbd`` reads customers and documents
  (their Open Balance is the balance) and no payments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = ["FORMATS", "Column", "ListKind", "ListTable", "tables_for", "with_headers"]


class ListKind(StrEnum):
    """Which list an export is."""

    CUSTOMERS = "customers"
    SALES = "sales"  # invoices and credit memos
    RECEIPTS = "receipts"  # payments received, one row per invoice paid


@dataclass(frozen=True, slots=True)
class Column:
    """One field and the header names that carry it."""

    field: str
    headers: tuple[str, ...]
    required: bool = False


@dataclass(frozen=True, slots=True)
class ListTable:
    """How one export of one ledger maps onto recon-tui's fields."""

    kind: ListKind
    title: str
    columns: tuple[Column, ...]

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)


# --------------------------------------------------------------------------- Sage 50
SAGE50 = (
    ListTable(ListKind.CUSTOMERS, "Sage 50 customer list (US: CUSTOMER.CSV; Canada: "
              "the Customer List report)", (
        Column("customer_id", ("Customer ID",)),
        Column("name", ("Customer Name", "Customer", "Name"), required=True),
        Column("inactive", ("Inactive",)),
        Column("currency", ("Currency", "Currency Code")),
    )),
    ListTable(ListKind.SALES, "Sage 50 sales journal (US: SALES.CSV; Canada: the Sales "
              "Journal report)", (
        Column("customer", ("Customer ID", "Customer", "Customer Name"), required=True),
        Column("number", ("Invoice/CM #", "Invoice No.", "Invoice Number", "Source"),
               required=True),
        Column("date", ("Date", "Invoice Date"), required=True),
        Column("total", ("Accounts Receivable Amount", "Invoice Amount", "Invoice Total",
                         "Total"), required=True),
        Column("due_date", ("Date Due", "Due Date")),
        Column("credit_memo", ("Credit Memo",)),
        Column("apply_to", ("Apply to Invoice Number",)),
        Column("quote", ("Quote",)),
        Column("balance", ("Amount Due", "Balance Owing", "Balance")),
        Column("voided", ("Voided", "Void")),
        Column("currency", ("Currency", "Currency Code")),
    )),
    ListTable(ListKind.RECEIPTS, "Sage 50 receipts journal (US: RECEIPTS.CSV, the Cash "
              "Receipts Journal; Canada: the Receipts Journal report)", (
        Column("customer", ("Customer ID", "Customer", "Customer Name"), required=True),
        Column("reference", ("Reference", "Cheque No.", "Cheque Number", "Receipt No."),
               required=True),
        Column("date", ("Date", "Receipt Date"), required=True),
        Column("amount", ("Cash Amount", "Receipt Amount", "Amount Received"), required=True),
        Column("applies_to", ("Invoice Paid", "Invoice No.", "Invoice Number")),
        Column("applied", ("Amount", "Amount Paid", "Payment Amount")),
        Column("method", ("Payment Method", "Method")),
    )),
)

# --------------------------------------------------------------------------- QuickBooks Desktop
QBD = (
    ListTable(ListKind.CUSTOMERS, "QuickBooks Desktop Customer Contact List (report "
              "export)", (
        Column("name", ("Customer", "Customer Name", "Name"), required=True),
        Column("inactive", ("Inactive",)),
        Column("currency", ("Currency",)),
    )),
    ListTable(ListKind.SALES, "QuickBooks Desktop invoices and credit memos (Transaction "
              "List by Customer, or Open Invoices, report export)", (
        Column("customer", ("Customer", "Name", "Source Name"), required=True),
        Column("type", ("Type", "Transaction Type"), required=True),
        Column("number", ("Num", "Invoice #", "No."), required=True),
        Column("date", ("Date",), required=True),
        Column("total", ("Amount", "Original Amount"), required=True),
        Column("due_date", ("Due Date",)),
        Column("balance", ("Open Balance", "Balance"), required=True),
        Column("currency", ("Currency",)),
    )),
)

#: Format name (the word after ``import``) -> its tables.
FORMATS: dict[str, tuple[ListTable, ...]] = {"sage50": SAGE50, "qbd": QBD}
#: How each format's ledger is named in the book identity and in messages.
SYSTEM_NAMES = {"sage50": "Sage 50", "qbd": "QuickBooks Desktop"}
#: QuickBooks Desktop's transaction types (its reports' Type column) that are
#: sales documents; rows of any other type (Payment, Deposit...) are skipped.
QBD_SALES_TYPES = {"invoice": False, "credit memo": True}  # type -> is a credit memo


def tables_for(format_name: str) -> tuple[ListTable, ...]:
    """The tables of one format (KeyError for an unknown one: the parser's choices
    keep that from users)."""
    return FORMATS[format_name]


def with_headers(tables: tuple[ListTable, ...], extra: dict[tuple[ListKind, str], str]
                 ) -> tuple[ListTable, ...]:
    """The tables with a header of the user's first for a field (``--header
    sales.total="Invoice Amt"``): an export whose column is named otherwise is
    read without editing this module. ValueError names an unknown list or field."""
    out = []
    for table in tables:
        columns = []
        for column in table.columns:
            header = extra.get((table.kind, column.field))
            columns.append(replace(column, headers=(header, *column.headers))
                           if header else column)
        out.append(replace(table, columns=tuple(columns)))
    for kind, name in extra:
        table = next((t for t in tables if t.kind is kind), None)
        if table is None or all(c.field != name for c in table.columns):
            fields = ", ".join(c.field for c in table.columns) if table else ""
            raise ValueError(f"{kind.value}.{name} is no field of this format"
                             + (f" (the {kind.value} list has: {fields})" if fields else ""))
    return tuple(out)
