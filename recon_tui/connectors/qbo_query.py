"""QBO's query language and answers: literals, pages, faults, change data capture.

Pure functions and the per-company throttle, apart from the connector
(:mod:`qbo`) so that it reads as the reads and the writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from recon_tui.connectors.base import BadData, ConnectorError
from recon_tui.connectors.http import RateLimiter
from recon_tui.connectors.qbo_errors import fault_parts
from recon_tui.connectors.qbo_wire import WireInvoice

log = logging.getLogger(__name__)

SYSTEM = "qbo"
#: QBO's largest page; asked for explicitly on every query.
PAGE_SIZE = 1000
#: CDC looks back 30 days at most; stay clear of the edge.
CDC_WINDOW = timedelta(days=30) - timedelta(minutes=10)
#: CDC answers at most 1000 objects, with no paging: at that size it may be cut short.
CDC_LIMIT = 1000
#: QBO's throttle: 500 requests per minute and 10 concurrent, per company (realm and
#: app): https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
#: and https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon
REQUESTS_PER_MINUTE = 500
CONCURRENT_REQUESTS = 10
NOT_FOUND_CODE = "610"

_LIMITERS: dict[tuple[str, str], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_rate_limiter(base_url: str, realm_id: str) -> RateLimiter:
    """One limiter per company (per API host), shared by every connector in the process,
    because QBO counts the budget per realm, not per client."""
    key = (base_url.rstrip("/").lower(), realm_id)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(REQUESTS_PER_MINUTE, CONCURRENT_REQUESTS)
        return limiter


def qbo_quote(value: str) -> str:
    """A string literal for a QBO query: single-quoted, ``'`` and ``\\`` backslash-escaped
    (the escaping Intuit's own SDKs use)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def qbo_time(moment: datetime) -> str:
    """UTC, second precision, ``Z``: the form QBO queries and CDC accept."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_row_id(row: object) -> str:
    """A row's Id, to spot one read twice ("" for a row without one: always kept)."""
    if type(row) is WireInvoice:  # a typed page's row (the hot case), without a call
        return row.Id
    return str(row.get("Id")) if isinstance(row, Mapping) else ""


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def checked_body(body: Any, operation: str) -> dict[str, Any]:
    """A 200 can still carry a Fault; and anything but an object is a broken answer."""
    if not isinstance(body, dict):
        raise BadData(
            SYSTEM, f"{operation}: expected a JSON object, got {type(body).__name__}"
        )
    parts = fault_parts(body)
    if parts is not None:
        message, code = parts
        code_text = f" [code {code}]" if code else ""
        raise ConnectorError(SYSTEM, f"{operation}{code_text}: {message}", code=code)
    return body


def rows_of(body: dict[str, Any], entity: str, operation: str) -> list[dict[str, Any]]:
    """A query answer's rows of ``entity`` (an empty page has no entity key at all)."""
    response = body.get("QueryResponse")
    if not isinstance(response, dict):
        raise BadData(SYSTEM, f"{operation}: the answer has no QueryResponse")
    rows = response.get(entity, [])
    if not isinstance(rows, list):
        raise BadData(SYSTEM, f"{operation}: QueryResponse.{entity} is not a list")
    return rows


def cdc_deleted(body: dict[str, Any], entities: list[str],
                operation: str) -> dict[str, set[str]] | None:
    """Ids a change-data-capture answer reports deleted, per entity; None when the
    answer hit CDC's 1000-object cap and may have left some out (the caller then
    compares ids)."""
    responses = body.get("CDCResponse")
    if not isinstance(responses, list):
        raise BadData(SYSTEM, f"{operation}: the answer has no CDCResponse")
    deleted: dict[str, set[str]] = {entity: set() for entity in entities}
    objects = 0
    for cdc in responses:
        query_responses = cdc.get("QueryResponse", []) if isinstance(cdc, Mapping) else []
        for response in query_responses if isinstance(query_responses, list) else []:
            if not isinstance(response, Mapping):
                continue
            for entity in entities:
                rows = response.get(entity, [])
                for row in rows if isinstance(rows, list) else []:
                    objects += 1
                    if isinstance(row, Mapping) and row.get("status") == "Deleted":
                        deleted[entity].add(str(row.get("Id")))
    if objects >= CDC_LIMIT:
        log.info(
            "qbo: CDC returned %d objects (its cap); comparing ids instead", objects
        )
        return None
    return deleted
