"""Which of the sample book's records a qbXML query asks for.

The query elements, from the OSR pages of CustomerQuery, InvoiceQuery,
CreditMemoQuery and ReceivePaymentQuery
(https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/customerquery
and .../invoicequery etc.): a query names records by id (``ListID`` /
``TxnID``, repeatable), by name or number (``FullName`` / ``RefNumber``), or
filters them (``MaxReturned``, ``ActiveStatus``, ``FromModifiedDate`` /
``ToModifiedDate`` for lists; ``ModifiedDateRangeFilter`` with
``FromModifiedDate``/``ToModifiedDate``, ``TxnDateRangeFilter``, ``EntityFilter``
with ``ListID`` for transactions). Two rules users trip over are kept:

* ``ActiveStatus`` defaults to ``ActiveOnly`` (the OSR's CustomerQuery:
  "ActiveOnly [DEFAULT], InactiveOnly, All"), so an inactive customer is missed
  unless the query asks for ``All``;
* an id asked for that does not exist answers statusCode 500 ("a required
  element ... could not be found"), a filter that matches nothing statusCode 1;
* a value the schema does not allow (an enum, a non-integer MaxReturned) is a
  request QuickBooks cannot parse (it validates requests against the qbXML
  schema: HRESULT 0x80040400, see :mod:`qbd_xml`).

Dates without a UTC offset are read as UTC (QuickBooks reads them in the
computer's local time zone; the sample company's computer is on UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from recon_tui.sandbox.qbd_status import StatusAnswer
from recon_tui.sandbox.qbd_xml import QbxmlRequest, RequestError

__all__ = ["QueryStatus", "Selection", "max_returned", "select_list", "select_txns"]


@dataclass(frozen=True)
class Selection:
    """The matching records in id order, and how many the query may return."""

    records: list[Mapping[str, Any]]
    max_returned: int | None


def _moment(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        # 3020: "There was an error when converting the date value ... in the field ..."
        raise QueryStatus(StatusAnswer(3020, f"{text}\" in the field \"{field}")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise QueryStatus(StatusAnswer(3020, f"{text}\" in the field \"{field}")) from None


class QueryStatus(Exception):
    """The query is answered with this status instead of data."""

    def __init__(self, answer: StatusAnswer) -> None:
        super().__init__(answer.message)
        self.answer = answer


def _modified(entity: Mapping[str, Any]) -> datetime:
    return _moment(str(entity["MetaData"]["LastUpdatedTime"]), "TimeModified")


def max_returned(request: QbxmlRequest) -> int | None:
    """``MaxReturned`` (None when absent)."""
    text = request.text("MaxReturned")
    if text is None:
        return None
    if not text.strip().isdigit():
        raise RequestError(f"MaxReturned {text!r} is not an integer")
    return int(text)


def _by_ids(records: Mapping[str, Mapping[str, Any]], ids: list[str]) -> list[Mapping[str, Any]]:
    missing = [record_id for record_id in ids if record_id not in records]
    if missing:
        raise QueryStatus(StatusAnswer(500, missing[0]))
    return [records[record_id] for record_id in dict.fromkeys(ids)]


def _id_order(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def key(entity: Mapping[str, Any]) -> tuple[int, str]:
        text = str(entity["Id"])
        return (int(text), text) if text.isdigit() else (1 << 62, text)
    return sorted(records, key=key)


def select_list(request: QbxmlRequest, records: Mapping[str, Mapping[str, Any]],
                name_key: str) -> Selection:
    """CustomerQuery: by ListID, by FullName, or the filters (see the module)."""
    ids = request.texts("ListID")
    if ids:
        return Selection(_by_ids(records, ids), None)
    names = request.texts("FullName")
    if names:
        wanted = set(names)
        found = [r for r in records.values() if str(r.get(name_key, "")) in wanted]
        if len({str(r.get(name_key)) for r in found}) < len(wanted):
            missing = sorted(wanted - {str(r.get(name_key)) for r in found})
            raise QueryStatus(StatusAnswer(500, missing[0]))
        return Selection(_id_order(found), None)
    status = request.text("ActiveStatus") or "ActiveOnly"
    if status not in ("ActiveOnly", "InactiveOnly", "All"):
        raise RequestError(f"ActiveStatus {status!r} is not ActiveOnly, InactiveOnly or All")
    start, end = request.text("FromModifiedDate"), request.text("ToModifiedDate")
    chosen = []
    for entity in records.values():
        active = bool(entity.get("Active", True))
        if (status == "ActiveOnly" and not active) or (status == "InactiveOnly" and active):
            continue
        if start is not None and _modified(entity) < _moment(start, "FromModifiedDate"):
            continue
        if end is not None and _modified(entity) > _moment(end, "ToModifiedDate"):
            continue
        chosen.append(entity)
    return Selection(_id_order(chosen), max_returned(request))


def select_txns(request: QbxmlRequest, records: Mapping[str, Mapping[str, Any]],
                number_key: str) -> Selection:
    """InvoiceQuery, CreditMemoQuery, ReceivePaymentQuery: by TxnID, by RefNumber,
    or by the filters (see the module)."""
    ids = request.texts("TxnID")
    if ids:
        return Selection(_by_ids(records, ids), None)
    numbers = request.texts("RefNumber")
    if numbers:
        wanted = set(numbers)
        return Selection(_id_order(r for r in records.values()
                                   if str(r.get(number_key, "")) in wanted), None)
    chosen = [entity for entity in records.values() if _txn_matches(request, entity)]
    return Selection(_id_order(chosen), max_returned(request))


def _txn_matches(request: QbxmlRequest, entity: Mapping[str, Any]) -> bool:
    start = request.text("ModifiedDateRangeFilter/FromModifiedDate")
    end = request.text("ModifiedDateRangeFilter/ToModifiedDate")
    if start is not None and _modified(entity) < _moment(start, "FromModifiedDate"):
        return False
    if end is not None and _modified(entity) > _moment(end, "ToModifiedDate"):
        return False
    day = entity.get("TxnDate")
    first = request.text("TxnDateRangeFilter/FromTxnDate")
    last = request.text("TxnDateRangeFilter/ToTxnDate")
    txn_day = None if day is None else _day(str(day), "TxnDate")
    if first is not None and (txn_day is None or txn_day < _day(first, "FromTxnDate")):
        return False
    if last is not None and (txn_day is None or txn_day > _day(last, "ToTxnDate")):
        return False
    customers = request.texts("EntityFilter/ListID")
    return not customers or str((entity.get("CustomerRef") or {}).get("value")) in customers
