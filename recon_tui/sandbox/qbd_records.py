"""The sample book's QBO entities as QuickBooks Desktop answers them (``XxxRet``).

The sample company is the same book the QBO emulator serves (:mod:`book`), so a
Desktop sync of the sample fills the cache as a QBO sync does. Ids: QBO's ``Id``
becomes the ``ListID``/``TxnID`` (both are opaque strings, IDTYPE, in the OSR;
real ones look like ``80000007-1273620121``); the same ids on both ledgers let a
test compare the two reads record by record.

Element names and their order follow the OSR's response pages
(https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/customerquery,
.../invoicequery, .../creditmemoquery, .../receivepaymentquery) and public
payloads: consolibyte's CustomerRet example (ListID, TimeCreated, TimeModified,
EditSequence, Name, FullName, IsActive, Sublevel, ..., Balance, TotalBalance),
an InvoiceRet (Subtotal, SalesTaxPercentage, SalesTaxTotal, AppliedAmount
*negative*, BalanceRemaining, IsPaid), a ReceivePaymentRet (TotalAmount,
UnusedPayment, UnusedCredits, AppliedToTxnRet with TxnID, TxnType, TxnDate,
RefNumber, BalanceRemaining, Amount and LinkedTxn of LinkType AMTTYPE with a
negative Amount) (consolibyte/quickbooks-php docs/example_object_fromqbxml
ReceivePayment payload). Only elements the book can fill are written; none is
made up to carry a value the book lacks.

Mappings the references leave to us, each the conservative reading:

* ``EditSequence``: an opaque string (the OSR); public payloads show it equal to
  TimeModified in Unix seconds, so it is that, plus QBO's SyncToken so that two
  edits within one second still differ.
* A voided invoice: QBO zeroes it and notes "Voided"; Desktop too "sets its
  amount to zero but keeps a record of it" (OSR, TxnVoid). How a voided
  InvoiceRet says so the OSR does not tell; QuickBooks' registers show the memo
  prefixed ``VOID:``, so the book's note becomes a ``Memo`` with that prefix
  (the connector needs both the zero total and the prefix).
* A QBO Payment whose lines link a CreditMemo applies that credit: Desktop shows
  a credit applied in Receive Payments as a LinkedTxn of TxnType CreditMemo under
  the invoice's AppliedToTxnRet ("in credit-only messages, the outcome may be
  linked transactions", Intuit, "Requests for receive payments, bill payments and
  deposits"); the AppliedToTxnRet ``Amount`` is the cash part only.
* Currencies: CurrencyRef names the currency by ``FullName``; the book's QBO name
  ("United States Dollar", "Canadian Dollar") is kept as that name, and
  :func:`currency_ret` lists each with its ISO ``CurrencyCode``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from recon_tui.sandbox.qbd_xml import Node

__all__ = [
    "Applications",
    "credit_memo_ret",
    "currency_ret",
    "customer_ret",
    "edit_sequence",
    "invoice_ret",
    "payment_applications",
    "receive_payment_ret",
]

ZERO = Decimal("0")
#: The book's QBO entities are parsed with floats; money leaves here as Decimal text.
CENT = Decimal("0.01")


def money(value: object) -> str:
    """``1234.50`` (AMTTYPE: two decimals, a leading minus when negative)."""
    return str(Decimal(str(value if value is not None else 0)).quantize(CENT))


def amount(value: object) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(CENT)


def edit_sequence(entity: Mapping[str, Any]) -> str:
    """TimeModified in Unix seconds, then the SyncToken (see the module's note)."""
    modified = datetime.fromisoformat(str(entity["MetaData"]["LastUpdatedTime"]))
    return f"{int(modified.timestamp())}{entity.get('SyncToken', '0')}"


def _header(node: Node, entity: Mapping[str, Any], id_tag: str) -> None:
    meta = entity.get("MetaData") or {}
    node.add(id_tag, entity["Id"])
    node.add("TimeCreated", meta.get("CreateTime"))
    node.add("TimeModified", meta.get("LastUpdatedTime"))
    node.add("EditSequence", edit_sequence(entity))


def _ref(node: Node, tag: str, ref: Mapping[str, Any] | None, *, name_key: str = "name",
         id_key: str | None = "value") -> None:
    if not ref:
        return
    inner = node.nest(tag)
    if id_key is not None:
        inner.add("ListID", ref.get(id_key))
    inner.add("FullName", ref.get(name_key))


def _currency(node: Node, entity: Mapping[str, Any]) -> None:
    currency = entity.get("CurrencyRef")
    if currency:
        inner = node.nest("CurrencyRef")
        inner.add("ListID", f"currency-{currency.get('value')}")
        inner.add("FullName", currency.get("name") or currency.get("value"))


def customer_ret(entity: Mapping[str, Any]) -> Node:
    """A QBO Customer as a CustomerRet (a top-level customer: Sublevel 0)."""
    node = Node("CustomerRet")
    _header(node, entity, "ListID")
    name = str(entity.get("DisplayName", ""))
    node.add("Name", name)
    node.add("FullName", str(entity.get("FullyQualifiedName") or name))
    node.add("IsActive", "true" if entity.get("Active", True) else "false")
    node.add("Sublevel", 0)
    node.add("CompanyName", entity.get("CompanyName"))
    email = (entity.get("PrimaryEmailAddr") or {}).get("Address")
    node.add("Email", email)
    node.add("Balance", money(entity.get("Balance")))
    node.add("TotalBalance", money(entity.get("BalanceWithJobs", entity.get("Balance"))))
    _currency(node, entity)
    return node


def _tax(entity: Mapping[str, Any]) -> Decimal:
    return amount((entity.get("TxnTaxDetail") or {}).get("TotalTax"))


def _memo(entity: Mapping[str, Any], voided: bool) -> str | None:
    note = entity.get("PrivateNote")
    if voided:
        return f"VOID: {note}" if note and note != "Voided" else "VOID:"
    return note


def is_voided(entity: Mapping[str, Any]) -> bool:
    """QBO's void: total 0 and the note "Voided" (as the QBO connector reads it)."""
    return (amount(entity.get("TotalAmt")) == ZERO
            and str(entity.get("PrivateNote", "")).lstrip().startswith("Voided"))


#: Per invoice id: (payment entity, cash applied, [(credit memo id, credit applied)]).
Applications = Mapping[str, list[tuple[Mapping[str, Any], Decimal, list[tuple[str, Decimal]]]]]


def invoice_ret(entity: Mapping[str, Any], applications: Applications, *,
                linked: bool, memos: Mapping[str, Mapping[str, Any]]) -> Node:
    """A QBO Invoice as an InvoiceRet; with ``linked`` (IncludeLinkedTxns) its
    payments and the credit memos applied to it as LinkedTxn."""
    node = Node("InvoiceRet")
    _header(node, entity, "TxnID")
    _ref(node, "CustomerRef", entity.get("CustomerRef"))
    node.add("TxnDate", entity.get("TxnDate"))
    node.add("RefNumber", entity.get("DocNumber"))
    node.add("DueDate", entity.get("DueDate"))
    total, tax = amount(entity.get("TotalAmt")), _tax(entity)
    balance = amount(entity.get("Balance"))
    node.add("Subtotal", money(total - tax))
    node.add("SalesTaxTotal", money(tax))
    node.add("AppliedAmount", money(balance - total))
    node.add("BalanceRemaining", money(balance))
    _currency(node, entity)
    node.add("ExchangeRate", entity.get("ExchangeRate"))
    node.add("Memo", _memo(entity, is_voided(entity)))
    node.add("IsPaid", "true" if balance == ZERO else "false")
    if linked:
        for payment, cash, credits in applications.get(str(entity["Id"]), []):
            if cash > ZERO:
                node.children.append(_linked(payment, "ReceivePayment", cash,
                                             payment.get("PaymentRefNum")))
            for memo_id, part in credits:
                memo = memos.get(memo_id, {"Id": memo_id})
                node.children.append(_linked(memo, "CreditMemo", part, memo.get("DocNumber")))
    return node


def _linked(entity: Mapping[str, Any], txn_type: str, value: Decimal,
            ref_number: object | None) -> Node:
    """A LinkedTxn: the other transaction, its date and number, AMTTYPE, the
    amount as it reduces this one (negative, as the public payload shows)."""
    node = Node("LinkedTxn")
    node.add("TxnID", entity["Id"])
    node.add("TxnType", txn_type)
    node.add("TxnDate", entity.get("TxnDate"))
    node.add("RefNumber", ref_number)
    node.add("LinkType", "AMTTYPE")
    node.add("Amount", money(-value))
    return node


def credit_memo_ret(entity: Mapping[str, Any], uses: list[tuple[str, Mapping[str, Any], Decimal]],
                    *, linked: bool) -> Node:
    """A QBO CreditMemo as a CreditMemoRet: TotalAmount, CreditRemaining; with
    ``linked`` the invoices it was applied to (``uses``: invoice id, invoice, amount)."""
    node = Node("CreditMemoRet")
    _header(node, entity, "TxnID")
    _ref(node, "CustomerRef", entity.get("CustomerRef"))
    node.add("TxnDate", entity.get("TxnDate"))
    node.add("RefNumber", entity.get("DocNumber"))
    total, tax = amount(entity.get("TotalAmt")), _tax(entity)
    node.add("Subtotal", money(total - tax))
    node.add("SalesTaxTotal", money(tax))
    node.add("TotalAmount", money(total))
    remaining = entity.get("RemainingCredit", entity.get("Balance"))
    node.add("CreditRemaining", money(remaining))
    _currency(node, entity)
    node.add("Memo", entity.get("PrivateNote"))
    if linked:
        for _invoice_id, invoice, part in uses:
            node.children.append(_linked(invoice, "Invoice", part, invoice.get("DocNumber")))
    return node


def receive_payment_ret(entity: Mapping[str, Any], lines: list[tuple[str, Decimal,
                        list[tuple[str, Decimal]]]], *, include_lines: bool,
                        documents: Mapping[str, Mapping[str, Any]]) -> Node:
    """A QBO Payment as a ReceivePaymentRet; with ``include_lines``
    (IncludeLineItems) an AppliedToTxnRet per invoice it pays: ``lines`` holds
    (invoice id, cash applied, [(memo id, credit applied)])."""
    node = Node("ReceivePaymentRet")
    _header(node, entity, "TxnID")
    _ref(node, "CustomerRef", entity.get("CustomerRef"))
    node.add("TxnDate", entity.get("TxnDate"))
    node.add("RefNumber", entity.get("PaymentRefNum"))
    node.add("TotalAmount", money(entity.get("TotalAmt")))
    _currency(node, entity)
    _ref(node, "PaymentMethodRef", entity.get("PaymentMethodRef"))
    node.add("Memo", entity.get("PrivateNote"))
    node.add("UnusedPayment", money(entity.get("UnappliedAmt", 0)))
    if include_lines:
        for invoice_id, cash, credits in lines:
            node.children.append(_applied(invoice_id, cash, credits, documents))
    return node


def _applied(invoice_id: str, cash: Decimal, credits: list[tuple[str, Decimal]],
             documents: Mapping[str, Mapping[str, Any]]) -> Node:
    invoice = documents.get(invoice_id, {"Id": invoice_id})
    node = Node("AppliedToTxnRet")
    node.add("TxnID", invoice_id)
    node.add("TxnType", "Invoice")
    node.add("TxnDate", invoice.get("TxnDate"))
    node.add("RefNumber", invoice.get("DocNumber"))
    node.add("BalanceRemaining", money(invoice.get("Balance")))
    node.add("Amount", money(cash))
    for memo_id, part in credits:
        memo = documents.get(memo_id, {"Id": memo_id})
        node.children.append(_linked(memo, "CreditMemo", part, memo.get("DocNumber")))
    return node


def currency_ret(code: str, name: str) -> Node:
    """A CurrencyRet: ListID, Name, IsActive, CurrencyCode (OSR CurrencyQuery)."""
    node = Node("CurrencyRet")
    node.add("ListID", f"currency-{code}")
    node.add("Name", name)
    node.add("IsActive", "true")
    node.add("CurrencyCode", code)
    return node


Applied = list[tuple[str, Decimal, list[tuple[str, Decimal]]]]


def payment_applications(payment: Mapping[str, Any]) -> Applied:
    """A QBO Payment's lines as (invoice id, cash, [(memo id, credit)]): a line
    linking an Invoice is cash for it, a line linking a CreditMemo that credit,
    spread over the payment's invoices in order."""
    invoice_lines: list[tuple[str, Decimal]] = []
    credit_lines: list[list[Any]] = []
    for line in payment.get("Line", []):
        for link in line.get("LinkedTxn", []):
            if link.get("TxnType") == "Invoice":
                invoice_lines.append((str(link["TxnId"]), amount(line.get("Amount"))))
            elif link.get("TxnType") == "CreditMemo":
                credit_lines.append([str(link["TxnId"]), amount(line.get("Amount"))])
    out: dict[str, tuple[Decimal, list[tuple[str, Decimal]]]] = {}
    for invoice_id, line_amount in invoice_lines:
        left, credits = line_amount, []
        while left > ZERO and credit_lines:
            part = min(left, credit_lines[0][1])
            credits.append((credit_lines[0][0], part))
            left -= part
            credit_lines[0][1] -= part
            if credit_lines[0][1] <= ZERO:
                credit_lines.pop(0)
        cash, held = out.get(invoice_id, (ZERO, []))
        out[invoice_id] = (cash + left, held + credits)
    return [(invoice_id, cash, credits) for invoice_id, (cash, credits) in out.items()]
