"""A QuickBooks Desktop company file that answers qbXML: the sample book
(:mod:`book`, the one the QBO emulator serves) in Desktop's shapes.

``SampleCompany.answer(request)`` takes one qbXML request document, as the Web
Connector hands it to QuickBooks, and returns the response document. It answers
``CustomerQueryRq``, ``InvoiceQueryRq``, ``CreditMemoQueryRq``,
``ReceivePaymentQueryRq``, ``TxnDeletedQueryRq``, ``CurrencyQueryRq`` and
``ReceivePaymentAddRq`` (:mod:`qbd_writes`);
anything else gets statusCode 1030 ("This request is not supported by this
implementation."), as an unsupported request does in the OSR's status list.

Iterators (OSR, CustomerQuery "iterator"/"iteratorID"; public payloads:
``iteratorRemainingCount="18" iteratorID="{eb05f701-...}"``): a query with
``iterator="Start"`` and ``MaxReturned`` N returns the first N records, an
``iteratorID`` and ``iteratorRemainingCount``; each ``iterator="Continue"`` with
that id returns the next N, until the count is 0. The matching set is taken at
Start; records deleted since are skipped (the page comes back short, as a real
file's would: the reader must notice). An unknown or finished iterator id
answers an error: "Iterators are only valid for the current QuickBooks session"
(OSR); the wording of that status the OSR does not give, so the sample company
uses 1000 (internal error), the conservative reading.

``onError="stopOnError"``: the requests after one that fails with an error
severity are not answered (is2qb.com, "QBXML Message Information").

Test switches: :attr:`faults` (:class:`qbd_status.QbdFaults`: a status code or
an HRESULT for the next requests) and :meth:`delete` (a transaction deleted in
QuickBooks: gone from queries, listed by TxnDeletedQuery).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbd_query import (
    QueryStatus,
    Selection,
    select_list,
    select_txns,
)
from recon_tui.sandbox.qbd_query import (
    max_returned as _max_returned,
)
from recon_tui.sandbox.qbd_records import (
    amount,
    credit_memo_ret,
    currency_ret,
    customer_ret,
    invoice_ret,
    payment_applications,
    receive_payment_ret,
)
from recon_tui.sandbox.qbd_status import HResultError, QbdFaults, StatusAnswer
from recon_tui.sandbox.qbd_writes import receive_payment_add
from recon_tui.sandbox.qbd_xml import Node, QbxmlRequest, RequestError, document, parse_request

__all__ = ["DEFAULT_COMPANY_FILE", "DELETED_WINDOW", "DeletedTxn", "SampleCompany"]

DEFAULT_COMPANY_FILE = ("C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\"
                        "Sample MSP.qbw")
#: TxnDeletedQuery lists transactions deleted "in the last 90 days" (Conductor's
#: QuickBooks Desktop API reference, deleted-transactions, which wraps it).
DELETED_WINDOW = timedelta(days=90)
#: qbXML TxnDelType -> the book's QBO entity.
ENTITY_OF = {"Invoice": "Invoice", "CreditMemo": "CreditMemo", "ReceivePayment": "Payment"}
TXN_TYPE_OF = {entity: txn_type for txn_type, entity in ENTITY_OF.items()}


@dataclass(frozen=True)
class DeletedTxn:
    """One TxnDeletedRet: TxnDelType, TxnID, TimeCreated, TimeDeleted, RefNumber."""

    txn_type: str
    txn_id: str
    created: str
    deleted: datetime
    ref_number: str | None = None


@dataclass
class _Iterator:
    ids: list[str]
    entity: str
    size: int | None
    position: int = 0


@dataclass
class _Index:
    """The book's payments read once per answer: what each applies to what."""

    by_invoice: dict[str, list[tuple[Mapping[str, Any], Decimal, list[tuple[str, Decimal]]]]] = \
        field(default_factory=lambda: defaultdict(list))
    by_payment: dict[str, list[tuple[str, Decimal, list[tuple[str, Decimal]]]]] = \
        field(default_factory=dict)
    memo_uses: dict[str, list[tuple[str, Mapping[str, Any], Decimal]]] = \
        field(default_factory=lambda: defaultdict(list))


class SampleCompany:
    """The sample book as a QuickBooks Desktop company file (see the module)."""

    def __init__(self, book: SandboxBook, *, company_file: str = DEFAULT_COMPANY_FILE,
                 now: Callable[[], datetime] | None = None) -> None:
        self.book = book
        self.company_file = company_file
        self.faults = QbdFaults()
        self.requests: list[str] = []
        self._now = now or (lambda: datetime.now(UTC))
        self._iterators: dict[str, _Iterator] = {}
        self._kept: tuple[int, _Index] | None = None
        self.deleted: list[DeletedTxn] = [
            DeletedTxn(TXN_TYPE_OF.get(entity, entity), txn_id, at,
                       datetime.fromisoformat(at))
            for entity, txn_id, at in book.qbo_deleted]

    # ------------------------------------------------------------------ switches
    def delete(self, txn_type: str, txn_id: str, *, at: datetime | None = None) -> None:
        """Delete one transaction as a user would in QuickBooks (Edit > Delete):
        gone from every query, listed by TxnDeletedQuery. Deleting a payment
        reopens what it paid, as QuickBooks does."""
        entity = ENTITY_OF[txn_type]
        with self.book.lock:
            record = self.book.qbo[entity].pop(txn_id)
            if entity == "Payment":
                self._reopen(record)
            self.book.changed()
        number = record.get("PaymentRefNum") if entity == "Payment" else record.get("DocNumber")
        created = str((record.get("MetaData") or {}).get("CreateTime", ""))
        self.deleted.append(DeletedTxn(txn_type, txn_id, created, at or self._now(),
                                       None if number is None else str(number)))

    def _reopen(self, payment: Mapping[str, Any]) -> None:
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                target = self.book.qbo.get(link.get("TxnType", ""), {}).get(str(link["TxnId"]))
                if target is None:
                    continue
                key = "RemainingCredit" if link["TxnType"] == "CreditMemo" else "Balance"
                target[key] = amount(target.get(key)) + amount(line.get("Amount"))

    def end_session(self) -> None:
        """The QuickBooks session ended (the Web Connector closed the connection):
        its iterators are gone ("Iterators are only valid for the current
        QuickBooks session", OSR)."""
        self._iterators.clear()

    # ------------------------------------------------------------------ answering
    def answer(self, request: str) -> str:
        """The response document to one request document (see the module);
        HResultError when QuickBooks could not process it at all."""
        self.requests.append(request)
        try:
            parsed = parse_request(request)
        except RequestError:
            raise HResultError("0x80040400") from None
        responses: list[Node] = []
        for item in parsed.requests:
            response = self._one(item)
            responses.append(response)
            if parsed.stop_on_error and response.attrs.get("statusSeverity") == "Error":
                break
        return document(responses)

    def _one(self, request: QbxmlRequest) -> Node:
        fault = self.faults.take(request.name)
        if isinstance(fault, HResultError):
            raise fault
        if fault is not None:
            return _status_node(request, fault)
        handler = self._handlers().get(request.name)
        if handler is None:
            return _status_node(request, StatusAnswer(1030))
        try:
            with self.book.lock:
                return handler(request)
        except QueryStatus as status:
            return _status_node(request, status.answer)
        except RequestError:
            raise HResultError("0x80040400") from None

    def _handlers(self) -> dict[str, Callable[[QbxmlRequest], Node]]:
        return {
            "CustomerQueryRq": self._customers,
            "InvoiceQueryRq": self._invoices,
            "CreditMemoQueryRq": self._credit_memos,
            "ReceivePaymentQueryRq": self._payments,
            "TxnDeletedQueryRq": self._deleted,
            "CurrencyQueryRq": self._currencies,
            "ReceivePaymentAddRq": self._receive_payment,
        }

    # ------------------------------------------------------------------ queries
    def _customers(self, request: QbxmlRequest) -> Node:
        records = self.book.qbo.get("Customer", {})
        return self._paged(request, "Customer",
                           lambda: select_list(request, records, "DisplayName"), customer_ret)

    def _invoices(self, request: QbxmlRequest) -> Node:
        records = self.book.qbo.get("Invoice", {})
        index = self._index()
        linked = _flag(request, "IncludeLinkedTxns")
        memos = self.book.qbo.get("CreditMemo", {})
        return self._paged(request, "Invoice", lambda: select_txns(request, records, "DocNumber"),
                           lambda e: invoice_ret(e, index.by_invoice, linked=linked, memos=memos))

    def _credit_memos(self, request: QbxmlRequest) -> Node:
        records = self.book.qbo.get("CreditMemo", {})
        index = self._index()
        linked = _flag(request, "IncludeLinkedTxns")
        return self._paged(request, "CreditMemo",
                           lambda: select_txns(request, records, "DocNumber"),
                           lambda e: credit_memo_ret(e, index.memo_uses.get(str(e["Id"]), []),
                                                     linked=linked))

    def _payments(self, request: QbxmlRequest) -> Node:
        records = self.book.qbo.get("Payment", {})
        index = self._index()
        lines = _flag(request, "IncludeLineItems")
        documents = {**self.book.qbo.get("Invoice", {}), **self.book.qbo.get("CreditMemo", {})}
        return self._paged(request, "Payment",
                           lambda: select_txns(request, records, "PaymentRefNum"),
                           lambda e: receive_payment_ret(e, index.by_payment.get(str(e["Id"]), []),
                                                         include_lines=lines, documents=documents))

    def _receive_payment(self, request: QbxmlRequest) -> Node:
        """ReceivePaymentAddRq (:mod:`qbd_writes`): the new payment, its lines included."""
        payment = receive_payment_add(self.book, request)
        documents = {**self.book.qbo.get("Invoice", {}), **self.book.qbo.get("CreditMemo", {})}
        node = _status_node(request, StatusAnswer(0))
        node.children.append(receive_payment_ret(payment, payment_applications(payment),
                                                 include_lines=True, documents=documents))
        return node

    def _currencies(self, request: QbxmlRequest) -> Node:
        seen: dict[str, str] = {}
        for entity in ("Customer", "Invoice", "CreditMemo", "Payment"):
            for record in self.book.qbo.get(entity, {}).values():
                ref = record.get("CurrencyRef") or {}
                if ref.get("value"):
                    seen.setdefault(str(ref["value"]), str(ref.get("name") or ref["value"]))
        node = _status_node(request, StatusAnswer(0 if seen else 1))
        node.extend(currency_ret(code, name) for code, name in sorted(seen.items()))
        return node

    def _deleted(self, request: QbxmlRequest) -> Node:
        """TxnDeletedQuery: TxnDelType (required, repeatable), DeletedDateRangeFilter
        (FromDeletedDate/ToDeletedDate); the last 90 days only. No iterator."""
        types = request.texts("TxnDelType")
        if not types or any(t not in ENTITY_OF for t in types):
            raise RequestError("TxnDelType is required: Invoice, CreditMemo or ReceivePayment")
        start = request.text("DeletedDateRangeFilter/FromDeletedDate")
        end = request.text("DeletedDateRangeFilter/ToDeletedDate")
        oldest = self._now() - DELETED_WINDOW
        rows = []
        for entry in self.deleted:
            if entry.txn_type not in types or entry.deleted < oldest:
                continue
            if start is not None and entry.deleted < _when(start):
                continue
            if end is not None and entry.deleted > _when(end):
                continue
            rows.append(entry)
        node = _status_node(request, StatusAnswer(0 if rows else 1))
        for entry in sorted(rows, key=lambda e: (types.index(e.txn_type), e.deleted)):
            ret = node.nest("TxnDeletedRet")
            ret.add("TxnDelType", entry.txn_type)
            ret.add("TxnID", entry.txn_id)
            ret.add("TimeCreated", entry.created)
            ret.add("TimeDeleted", entry.deleted.isoformat(timespec="seconds"))
            ret.add("RefNumber", entry.ref_number)
        return node

    # ------------------------------------------------------------------ paging
    def _paged(self, request: QbxmlRequest, entity: str, select: Callable[[], Selection],
               render: Callable[[Mapping[str, Any]], Node]) -> Node:
        """One answer to a query: all of it, or one page of an iterator."""
        mode = request.attr("iterator")
        records = self.book.qbo.get(entity, {})
        if mode == "Continue":
            key = request.attr("iteratorID") or ""
            state = self._iterators.get(key)
            if state is None or state.entity != entity:
                return _status_node(request, StatusAnswer(1000))
            return self._page(request, state, key, records, render)
        if mode not in (None, "Start"):
            raise RequestError(f"iterator {mode!r} is not Start or Continue")
        selection = select()
        if mode == "Start":
            key = "{" + str(uuid.uuid4()) + "}"
            state = _Iterator([str(r["Id"]) for r in selection.records], entity,
                              selection.max_returned)
            self._iterators[key] = state
            return self._page(request, state, key, records, render)
        chosen = selection.records
        if selection.max_returned is not None:
            chosen = chosen[:selection.max_returned]
        node = _status_node(request, StatusAnswer(0 if chosen else 1))
        node.extend(self._trimmed(request, [render(record) for record in chosen]))
        return node

    @staticmethod
    def _trimmed(request: QbxmlRequest, nodes: list[Node]) -> list[Node]:
        """``IncludeRetElement``: only the named elements of each record (OSR)."""
        keep = set(request.texts("IncludeRetElement"))
        if keep:
            for node in nodes:
                node.children = [child for child in node.children if child.tag in keep]
        return nodes

    def _page(self, request: QbxmlRequest, state: _Iterator, key: str,
              records: Mapping[str, Mapping[str, Any]],
              render: Callable[[Mapping[str, Any]], Node]) -> Node:
        asked = _max_returned(request)  # each Continue may ask for its own page size
        size = asked or state.size or len(state.ids) or 1
        ids = state.ids[state.position:state.position + size]
        state.position += len(ids)
        remaining = len(state.ids) - state.position
        if remaining == 0:
            self._iterators.pop(key, None)
        present = [records[i] for i in ids if i in records]
        node = _status_node(request, StatusAnswer(0 if present else 1))
        node.attrs["iteratorRemainingCount"] = str(remaining)
        node.attrs["iteratorID"] = key
        node.extend(self._trimmed(request, [render(record) for record in present]))
        return node

    def _index(self) -> _Index:
        """What each payment applies (see :func:`qbd_records.receive_payment_ret`):
        a line linking an Invoice is cash for it, a line linking a CreditMemo is
        that credit, spread over the payment's invoices in order. Kept until the
        book changes (every write calls ``book.changed()``)."""
        if self._kept is not None and self._kept[0] == self.book.generation:
            return self._kept[1]
        index = _Index()
        invoices = self.book.qbo.get("Invoice", {})
        for payment in self.book.qbo.get("Payment", {}).values():
            applied = payment_applications(payment)
            index.by_payment[str(payment["Id"])] = applied
            for invoice_id, cash, credits in applied:
                index.by_invoice[invoice_id].append((payment, cash, credits))
                for memo_id, part in credits:
                    index.memo_uses[memo_id].append(
                        (invoice_id, invoices.get(invoice_id, {"Id": invoice_id}), part))
        self._kept = (self.book.generation, index)
        return index


def _flag(request: QbxmlRequest, tag: str) -> bool:
    value = request.text(tag)
    if value not in (None, "true", "false", "1", "0"):
        raise RequestError(f"{tag} {value!r} is not a boolean")
    return value in ("true", "1")


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status_node(request: QbxmlRequest, answer: StatusAnswer) -> Node:
    """``<XxxRs requestID=... statusCode=... statusSeverity=... statusMessage=...>``."""
    name = request.name[:-2] + "Rs"
    attrs = {} if request.request_id is None else {"requestID": request.request_id}
    attrs.update(statusCode=str(answer.code), statusSeverity=answer.severity,
                 statusMessage=answer.message)
    return Node(name, attrs=attrs)

