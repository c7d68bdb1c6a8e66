"""qbXML request documents the QuickBooks Desktop connector sends.

Each document is ``<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?>
<QBXML><QBXMLMsgsRq onError="stopOnError">`` and one query (the OSR's examples
begin so; ``onError`` is required). qbXML 13.0 (QuickBooks Desktop 2014 and
later) has every element used here. Elements go in the order the OSR lists them,
because QuickBooks validates requests against its schema and order matters
(consolibyte wiki, QbXML FAQ: a request out of order fails with 0x80040400).

Queries used, from the OSR pages
(https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/customerquery,
.../invoicequery, .../creditmemoquery, .../receivepaymentquery, .../txndeletedquery):

* ``CustomerQueryRq``: ``MaxReturned``, ``ActiveStatus`` (``All``: the default
  is ActiveOnly, and an inactive customer's invoices still count),
  ``FromModifiedDate``; or ``ListID``;
* ``InvoiceQueryRq`` / ``CreditMemoQueryRq`` / ``ReceivePaymentQueryRq``:
  ``TxnID`` or ``RefNumber``, else ``MaxReturned``, ``ModifiedDateRangeFilter``
  (``FromModifiedDate``), ``EntityFilter`` (``ListID``); then
  ``IncludeLineItems`` (a payment's AppliedToTxnRet) and ``IncludeLinkedTxns``;
* ``TxnDeletedQueryRq``: ``TxnDelType`` (repeatable), ``DeletedDateRangeFilter``
  (``FromDeletedDate``);
* ``CurrencyQueryRq``: the currency list (CurrencyRef names a currency, its
  CurrencyRet says its ISO code).

Iterators: ``iterator="Start"`` with ``MaxReturned``, then ``iterator="Continue"``
with the ``iteratorID`` the first answer carried (OSR, "iterator").
Times are sent with their UTC offset, so QuickBooks need not guess a time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

__all__ = ["QBXML_VERSION", "Query", "by_ids", "deleted_query", "document", "qbd_time", "query"]

QBXML_VERSION = "13.0"

#: One child element: a name and its text, or a name and its own children.
Child = tuple[str, "str | list[Child]"]


def qbd_time(moment: datetime) -> str:
    """``2026-01-01T00:00:00+00:00`` (DATETIMETYPE with an offset)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")


class Query:
    """One ``<XxxQueryRq>``, built child by child in the schema's order."""

    def __init__(self, name: str, *, request_id: str, iterator: str | None = None,
                 iterator_id: str | None = None) -> None:
        attrs = {"requestID": request_id}
        if iterator is not None:
            attrs["iterator"] = iterator
        if iterator_id is not None:
            attrs["iteratorID"] = iterator_id
        self.element = Element(name, attrs)

    def add(self, name: str, value: str | list[Child]) -> Query:
        _add(self.element, name, value)
        return self


def _add(parent: Element, name: str, value: str | list[Child]) -> None:
    child = SubElement(parent, name)
    if isinstance(value, str):
        child.text = value
    else:
        for inner_name, inner_value in value:
            _add(child, inner_name, inner_value)


def document(*queries: Query) -> str:
    """The whole request document holding ``queries`` (stopOnError)."""
    root = Element("QBXML")
    msgs = SubElement(root, "QBXMLMsgsRq", {"onError": "stopOnError"})
    for item in queries:
        msgs.append(item.element)
    body = tostring(root, encoding="unicode")
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{QBXML_VERSION}"?>\n'
            f"{body}")


def query(name: str, *, request_id: str, since: datetime | None = None,
          customer_id: str | None = None, max_returned: int | None = None,
          iterator: str | None = None, iterator_id: str | None = None,
          include: tuple[str, ...] = (), include_ret: tuple[str, ...] = ()) -> Query:
    """A transaction or customer query filtered as the module describes;
    ``include`` names the ``IncludeLineItems``/``IncludeLinkedTxns`` flags to set,
    ``include_ret`` the only elements each record should carry (``IncludeRetElement``,
    OSR: "you can specify which elements to return")."""
    built = Query(name, request_id=request_id, iterator=iterator, iterator_id=iterator_id)
    if max_returned is not None:
        built.add("MaxReturned", str(max_returned))
    if name == "CustomerQueryRq":
        built.add("ActiveStatus", "All")
        if since is not None:
            built.add("FromModifiedDate", qbd_time(since))
    else:
        if since is not None:
            built.add("ModifiedDateRangeFilter", [("FromModifiedDate", qbd_time(since))])
        if customer_id is not None:
            built.add("EntityFilter", [("ListID", customer_id)])
        for flag in ("IncludeLineItems", "IncludeLinkedTxns"):
            if flag in include:
                built.add(flag, "true")
    for element in include_ret:
        built.add("IncludeRetElement", element)
    return built


def by_ids(name: str, tag: str, ids: list[str], *, request_id: str,
           include: tuple[str, ...] = ()) -> Query:
    """A query for records by ``TxnID``/``ListID``/``RefNumber`` (``tag``)."""
    built = Query(name, request_id=request_id)
    for value in ids:
        built.add(tag, value)
    for flag in ("IncludeLineItems", "IncludeLinkedTxns"):
        if flag in include:
            built.add(flag, "true")
    return built


def deleted_query(types: list[str], since: datetime | None, *, request_id: str) -> Query:
    """TxnDeletedQueryRq for ``types`` (Invoice, CreditMemo, ReceivePayment)."""
    built = Query("TxnDeletedQueryRq", request_id=request_id)
    for txn_type in types:
        built.add("TxnDelType", txn_type)
    if since is not None:
        built.add("DeletedDateRangeFilter", [("FromDeletedDate", qbd_time(since))])
    return built
