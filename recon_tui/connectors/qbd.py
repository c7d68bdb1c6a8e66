"""QuickBooks Desktop (qbXML through the Web Connector) as a LedgerConnector.

Every read is qbXML requests sent over a :class:`QbxmlChannel`, one at a time
(the Web Connector carries one request per ``sendRequestXML``), so
``max_concurrency`` is 1. What it takes care of, because each is a trap:

* completeness: a list is read with an iterator (``iterator="Start"`` and
  ``MaxReturned``, then ``Continue`` with the ``iteratorID``; OSR "iterator"),
  and every page is checked against ``iteratorRemainingCount``: the first
  answer's records plus its remaining count are the whole list, each page must
  bring exactly the records the count dropped by, the last ends at 0 and as many
  distinct records as counted arrived. Anything else is BadData and the sync
  takes nothing (a record deleted mid-read shortens a page; a proxy that drops
  one shows the same);
* inactive customers: ``ActiveStatus All`` (the default is ActiveOnly);
* payments change balances: Desktop's references do not say that applying a
  payment touches the invoice's or the credit memo's ``TimeModified``, so a
  dated read also re-reads the invoices and credit memos that payments changed
  since then name (by TxnID);
* deletions: from ``TxnDeletedQueryRq`` when the sync's ``since`` is inside the
  90 days it covers, else from complete id lists proved by their count; a failed
  or short read never counts as a deletion;
* errors: statusCode and HRESULT as one line with the fix (:mod:`qbd_errors`).

Writes (a payment received, a credit memo applied) are ``ReceivePaymentAddRq``,
applied once across retries (:mod:`qbd_writes`).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from typing import Any

from recon_tui.connectors.base import BadData, ConnectorError
from recon_tui.connectors.qbd_channel import QbxmlChannel
from recon_tui.connectors.qbd_errors import SYSTEM, status_error
from recon_tui.connectors.qbd_records import (
    Response,
    as_bad_data,
    credit_from_memo,
    credit_memo_from_qbd,
    currency_code,
    currency_codes,
    customer_from_qbd,
    invoice_from_qbd,
    parse_responses,
    payment_credit_from_qbd,
    payment_from_qbd,
)
from recon_tui.connectors.qbd_requests import Query, by_ids, deleted_query, document, query
from recon_tui.connectors.qbd_writes import QbdWrites
from recon_tui.connectors.records import RecordError
from recon_tui.models import LedgerCustomer, LedgerInvoice, OrganizationalCredit
from recon_tui.transactions import LedgerPayment

__all__ = ["DELETION_LOG_WINDOW", "PAGE_SIZE", "QbdConnector"]

log = logging.getLogger(__name__)

#: Records per iterator page: one Web Connector round trip each.
PAGE_SIZE = 500
#: TxnDeletedQuery lists deletions of the last 90 days (Conductor's QuickBooks
#: Desktop reference, "deleted transactions"); a day less leaves room for clocks.
DELETION_LOG_WINDOW = timedelta(days=89)
#: The cache's entity names -> (query, Ret's id tag, TxnDelType).
ENTITIES = {"Invoice": ("InvoiceQueryRq", "Invoice"),
            "CreditMemo": ("CreditMemoQueryRq", "CreditMemo"),
            "Payment": ("ReceivePaymentQueryRq", "ReceivePayment")}


class QbdConnector(QbdWrites):
    """The ledger: one QuickBooks Desktop company file, through a qbXML channel."""

    kind = "qbd"
    max_concurrency = 1

    def __init__(self, channel: QbxmlChannel, *, book: str, page_size: int = PAGE_SIZE,
                 home_currency: str = "USD",
                 now: Callable[[], datetime] | None = None) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.channel = channel
        self.book = book if book.startswith("qbd:") else f"qbd:{book}"
        self.page_size = page_size
        #: A record without CurrencyRef is in the home currency (a file without
        #: multicurrency); the US edition's is USD, as QBO's default.
        self.home_currency = home_currency
        self._now = now or (lambda: datetime.now(UTC))
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._currencies: dict[str, str] | None = None
        self.requests_sent = 0

    def close(self) -> None:
        """Nothing to release: the channel belongs to the Web Connector session."""

    # ------------------------------------------------------------------ exchange
    def _send(self, built: Query, step: str) -> Response:
        """One request document out, its one response back, status not yet checked."""
        text = document(built)
        with self._lock:
            self.requests_sent += 1
            answer = self.channel.exchange(text, step=step)
        responses = parse_responses(answer, step=step)
        name = built.element.tag[:-2] + "Rs"
        if len(responses) != 1 or responses[0].name != name:
            raise BadData(SYSTEM, f"{step}: expected one {name}, the answer held "
                                  f"{[r.name for r in responses]}")
        response = responses[0]
        wanted = built.element.get("requestID")
        if response.request_id not in (None, wanted):
            raise BadData(SYSTEM, f"{step}: the answer is for request {response.request_id}, "
                                  f"not {wanted}")
        return response

    def _checked(self, response: Response, step: str, *, ok: tuple[int, ...] = (0, 1)) -> Response:
        if response.code not in ok:
            raise status_error(response.code, response.severity, response.message, step=step,
                               request=response.name[:-2] + "Rq")
        return response

    def _request_id(self) -> str:
        return str(next(self._ids))

    def _iterate(self, name: str, step: str, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every record a query matches, page by page, proved complete (see the module)."""
        first = self._checked(self._send(query(
            name, request_id=self._request_id(), max_returned=self.page_size,
            iterator="Start", **filters), step), step)
        if first.code == 1 and not first.records and not first.remaining:
            return  # "no match": QuickBooks says the list is empty, a complete answer
        if first.remaining is None or not first.iterator_id:
            raise BadData(SYSTEM, f"{step}: the answer to an iterator carries no "
                                  "iteratorRemainingCount/iteratorID; the read cannot prove "
                                  "itself complete")
        expected = len(first.records) + first.remaining
        seen: set[str] = set()
        yield from _fresh(first.records, seen)
        remaining, page_number = first.remaining, 1
        while remaining > 0:
            page_number += 1
            page = self._checked(self._send(query(
                name, request_id=self._request_id(), max_returned=self.page_size,
                iterator="Continue", iterator_id=first.iterator_id, **filters), step), step)
            left = page.remaining
            if left is None or left >= remaining or len(page.records) != remaining - left:
                raise BadData(SYSTEM, _short(step, page_number, len(seen), expected,
                                             len(page.records), remaining, left))
            remaining = left
            yield from _fresh(page.records, seen)
        if len(seen) != expected:
            raise BadData(SYSTEM, f"{step}: read {len(seen):,} distinct records of the "
                                  f"{expected:,} QuickBooks counted; nothing was taken from it")

    def _read(self, name: str, step: str, read: Callable[[dict[str, Any]], Any],
              **filters: Any) -> Iterator[Any]:
        for record in self._iterate(name, step, **filters):
            yield _mapped(read, record, step)

    # ------------------------------------------------------------------ currencies
    def _currency(self, record: Mapping[str, Any], step: str) -> str:
        ref = record.get("CurrencyRef")
        if not isinstance(ref, Mapping):
            return self.home_currency
        if self._currencies is None:
            response = self._checked(self._send(Query(
                "CurrencyQueryRq", request_id=self._request_id()), step), step)
            self._currencies = currency_codes(response.records)
        code = currency_code(ref, self._currencies, self.home_currency)
        if code is None:
            raise BadData(SYSTEM, f"{step}: record {record.get('TxnID', '?')} is in a currency "
                                  "the currency list does not name")
        return code

    def _invoice(self, record: dict[str, Any], step: str = "read invoices") -> LedgerInvoice:
        return invoice_from_qbd(record, self._currency(record, step))

    def _memo(self, record: dict[str, Any], step: str = "read credit memos") -> LedgerInvoice:
        return credit_memo_from_qbd(record, self._currency(record, step))

    # ------------------------------------------------------------------ reads
    def customers(self, since: datetime | None = None) -> Iterator[LedgerCustomer]:
        """Active and inactive customers: an inactive customer's invoices still count."""
        yield from self._read("CustomerQueryRq", "read customers", customer_from_qbd, since=since)

    def invoices(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        step = "read invoices"
        seen: set[str] = set()
        for invoice in self._read("InvoiceQueryRq", step, self._invoice, since=since):
            seen.add(invoice.id)
            yield invoice
        if since is not None:
            touched = self._touched_by_payments(since, "Invoice") - seen
            yield from self._by_txn_ids("InvoiceQueryRq", sorted(touched), step, self._invoice)

    def credit_memos(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        """Every credit memo as a document (CreditRemaining as its balance), used-up ones too."""
        step = "read credit memos"
        seen: set[str] = set()
        for memo in self._read("CreditMemoQueryRq", step, self._memo, since=since):
            seen.add(memo.id)
            yield memo
        if since is not None:
            touched = self._touched_by_payments(since, "CreditMemo") - seen
            yield from self._by_txn_ids("CreditMemoQueryRq", sorted(touched), step, self._memo)

    def payment_credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        """Payments with their UnusedPayment, zero ones included."""
        yield from self._read("ReceivePaymentQueryRq", "read payments", payment_credit_from_qbd,
                              since=since)

    def payments(self, since: datetime | None = None) -> Iterator[LedgerPayment]:
        """Payments with what each applies to each invoice (IncludeLineItems)."""
        yield from self._read("ReceivePaymentQueryRq", "read payments", payment_from_qbd,
                              since=since, include=("IncludeLineItems",))

    def credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        """Credit memos (CreditRemaining) and payments (UnusedPayment) as credits."""
        for memo in self.credit_memos(since):
            yield OrganizationalCredit.from_credit_memo(memo)
        yield from self.payment_credits(since)

    def customer_payments(self, customer_id: str) -> Iterator[LedgerPayment]:
        yield from self._read("ReceivePaymentQueryRq", f"read customer {customer_id}'s payments",
                              payment_from_qbd, customer_id=customer_id,
                              include=("IncludeLineItems",))

    def customer_memo_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        step = f"read customer {customer_id}'s credit memos"
        yield from self._read(
            "CreditMemoQueryRq", step,
            lambda r: credit_from_memo(r, self._currency(r, step)), customer_id=customer_id)

    def customer_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        yield from self.customer_memo_credits(customer_id)
        yield from self._read("ReceivePaymentQueryRq", f"read customer {customer_id}'s payments",
                              payment_credit_from_qbd, customer_id=customer_id)

    def _touched_by_payments(self, since: datetime, kind: str) -> set[str]:
        """Ids of the invoices (or credit memos) that payments changed since ``since``
        apply to: their balances moved even if their own TimeModified did not."""
        ids: set[str] = set()
        for payment in self.payments(since):
            for txn in payment.applications:
                ids.add(txn.invoice_id if kind == "Invoice" else txn.credit_id)
        ids.discard("")
        return ids

    def _by_txn_ids(self, name: str, ids: list[str], step: str,
                    read: Callable[[dict[str, Any]], Any]) -> Iterator[Any]:
        """Records by TxnID, a page at a time; one deleted since (statusCode 500 for
        the page) is looked up alone and left out when QuickBooks says it is gone."""
        for start in range(0, len(ids), self.page_size):
            chunk = ids[start:start + self.page_size]
            response = self._checked(self._send(by_ids(
                name, "TxnID", chunk, request_id=self._request_id()), step), step,
                ok=(0, 1, 500))
            if response.code != 500:
                records = response.records
            else:
                records = [r for one in chunk for r in self._lookup(name, "TxnID", one, step)]
            for record in records:
                yield _mapped(read, record, step)

    def _lookup(self, name: str, tag: str, value: str, step: str) -> list[dict[str, Any]]:
        """The records one id or number names; [] only when QuickBooks says none
        exists (statusCode 1, or 500 "could not be found")."""
        response = self._checked(self._send(by_ids(
            name, tag, [value], request_id=self._request_id()), step), step, ok=(0, 1, 500))
        return response.records if response.code == 0 else []

    def invoice_by_id(self, invoice_id: str) -> LedgerInvoice | None:
        step = f"read invoice {invoice_id}"
        found = self._lookup("InvoiceQueryRq", "TxnID", invoice_id, step)
        return _mapped(self._invoice, found[0], step) if found else None

    def credit_memo_by_id(self, memo_id: str) -> LedgerInvoice | None:
        step = f"read credit memo {memo_id}"
        found = self._lookup("CreditMemoQueryRq", "TxnID", memo_id, step)
        return _mapped(self._memo, found[0], step) if found else None

    def invoice_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        step = f"find invoice number {doc_number}"
        return _newest(self._lookup("InvoiceQueryRq", "RefNumber", doc_number, step),
                       self._invoice, step)

    def credit_memo_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        step = f"find credit memo number {doc_number}"
        return _newest(self._lookup("CreditMemoQueryRq", "RefNumber", doc_number, step),
                       self._memo, step)

    # ------------------------------------------------------------------ deletions
    def deleted_ids(self, expected: Mapping[str, AbstractSet[str]],
                    since: datetime | None) -> dict[str, set[str]]:
        """Which of ``expected`` (Invoice, CreditMemo, Payment -> ids) QuickBooks
        deleted: from TxnDeletedQuery when ``since`` is within its 90 days, else
        by comparing each entity's complete id list (proved by its count)."""
        wanted = {entity: ids for entity, ids in expected.items() if ids}
        unknown = sorted(set(wanted) - set(ENTITIES))
        if unknown:
            raise ConnectorError(SYSTEM, f"list deletions: no such entity {unknown[0]!r}")
        if not wanted:
            return {}
        if since is not None:
            moment = since if since.tzinfo else since.replace(tzinfo=UTC)
            if self._now() - moment < DELETION_LOG_WINDOW:
                return self._logged_deletions(wanted, moment)
        return {entity: set(ids) - self._all_ids(entity) for entity, ids in wanted.items()}

    def _logged_deletions(self, wanted: Mapping[str, AbstractSet[str]],
                          since: datetime) -> dict[str, set[str]]:
        step = "list deletions"
        types = {ENTITIES[entity][1]: entity for entity in wanted}
        response = self._checked(self._send(deleted_query(
            sorted(types), since, request_id=self._request_id()), step), step)
        out: dict[str, set[str]] = {entity: set() for entity in wanted}
        for record in response.records:
            entity = types.get(str(record.get("TxnDelType", "")))
            txn_id = record.get("TxnID")
            if entity is None or not isinstance(txn_id, str):
                raise BadData(SYSTEM, f"{step}: a TxnDeletedRet without a known TxnDelType "
                                      "and a TxnID")
            if txn_id in wanted[entity]:
                out[entity].add(txn_id)
        return out

    def _all_ids(self, entity: str) -> set[str]:
        name, _ = ENTITIES[entity]
        step = f"list every {entity} id"
        ids = set()
        for record in self._iterate(name, step, include_ret=("TxnID",)):
            txn_id = record.get("TxnID")
            if not isinstance(txn_id, str) or not txn_id:
                raise BadData(SYSTEM, f"{step}: a record without a TxnID")
            ids.add(txn_id)
        return ids


def _fresh(records: list[dict[str, Any]], seen: set[str]) -> Iterator[dict[str, Any]]:
    """The page's records not met before (by ListID/TxnID); a repeat is counted once."""
    for record in records:
        key = record.get("TxnID") or record.get("ListID") or ""
        if not isinstance(key, str):
            raise BadData(SYSTEM, "a record whose id is not text")
        if key and key in seen:
            continue
        seen.add(key)
        yield record


def _short(step: str, page: int, read: int, expected: int, got: int, before: int,
           left: int | None) -> str:
    due = "?" if left is None else f"{before - left:,}"
    return (f"{step}: page {page} held {got:,} records where {due} were due "
            f"(iteratorRemainingCount {before:,} -> {left if left is not None else 'absent'}); "
            f"read {read:,} of the {expected:,} QuickBooks counted, so the answer was "
            "incomplete (or the records changed during the read) and nothing was taken from it")


def _mapped(read: Callable[[dict[str, Any]], Any], record: dict[str, Any], step: str) -> Any:
    try:
        return read(record)
    except RecordError as exc:
        raise as_bad_data(exc, step) from None


def _newest(records: list[dict[str, Any]], read: Callable[[dict[str, Any]], LedgerInvoice],
            step: str) -> LedgerInvoice | None:
    if not records:
        return None
    found = [_mapped(read, record, step) for record in records]
    if len(found) > 1:
        log.warning("qbd: %d records carry the number (%s); using the newest (id %s)",
                    len(found), step, found[-1].id)
    return max(found, key=lambda doc: (doc.updated_at or datetime.min.replace(tzinfo=UTC)))
