"""Autotask queries read whole: ``POST {Entity}/query`` followed through every
``nextPageUrl`` (POSTed again with the same body), each read proved by
``{Entity}/query/count`` for the same filter.

Apart from the connector (:mod:`autotask`) so that it reads as the records it
asks for, as :mod:`connectwise_paging` is for ConnectWise. The facts relied on
(Autotask's REST documentation and public clients) are listed in
:mod:`autotask`'s docstring: ``{"filter": [...], "MaxRecords": N}`` bodies, at
least one filter (``id gte 0`` is "everything"), the ``items``/``pageDetails``
envelope, ``nextPageUrl`` followed until null, ``{"queryCount": N}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from recon_tui.connectors.base import BadData, ConnectorError
from recon_tui.connectors.http import ApiClient
from recon_tui.connectors.paging import unseen_records

__all__ = ["ALL", "query_count", "query_items"]

SYSTEM = "autotask"
#: The filter that means "every record": Autotask refuses a query without one.
ALL = {"op": "gte", "field": "id", "value": 0}


def query_items(
    api: ApiClient, entity: str, filters: list[dict[str, Any]], operation: str,
    *, page_size: int, include: Sequence[str] = (), verify: bool = True,
) -> Iterator[Mapping[str, Any]]:
    """Every item of ``POST {entity}/query``, POSTing the same body to each
    ``nextPageUrl`` until there is none, each item once; then, with ``verify``,
    proof that nothing is missing: ``{entity}/query/count`` for the same filter
    must equal the items read, else the read fails and nothing is taken."""
    body: dict[str, Any] = {"filter": filters or [ALL], "MaxRecords": page_size}
    if include:
        body["IncludeFields"] = list(include)
    url = f"{entity}/query"
    links: set[str] = set()
    seen: set[str] = set()
    while True:
        data, response = api.post_json(url, body, operation=operation)
        items = _page_items(data, response, operation)
        fresh = yield from unseen_records(items, seen, system=SYSTEM, operation=operation,
                                          noun="item")
        if items and fresh == 0:
            raise BadData(
                SYSTEM, f"{operation}: the server sent a page of items already read; "
                "the read cannot complete")
        following = _next_page(data, links, operation)
        if following is None:
            break
        url = following
    if verify:
        expected = query_count(api, entity, filters, operation)
        if expected != len(seen):
            raise BadData(
                SYSTEM,
                f"{operation}: read {len(seen):,} of the {expected:,} items Autotask "
                "counts; the answer was incomplete, so nothing was taken from it",
            )


def query_count(api: ApiClient, entity: str, filters: list[dict[str, Any]],
                operation: str) -> int:
    """``POST {entity}/query/count`` answers ``{"queryCount": N}``."""
    data, _ = api.post_json(f"{entity}/query/count", {"filter": filters or [ALL]},
                            operation=f"count: {operation}")
    value = data.get("queryCount") if isinstance(data, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
        raise BadData(SYSTEM, f"count: {operation}: the answer holds no queryCount")
    return int(value)


def _page_items(data: Any, response: httpx.Response, operation: str) -> list[Any]:
    """A page's ``items``, or a clear error (the envelope's own ``errors`` too)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise BadData(
            SYSTEM,
            f'{operation}: expected {{"items": [...]}}, got '
            f"{type(data).__name__} (HTTP {response.status_code})",
            status=response.status_code,
        )
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        raise ConnectorError(SYSTEM, f"{operation}: {'; '.join(map(str, errors))}")
    items: list[Any] = data["items"]
    return items



def _next_page(data: Mapping[str, Any], links: set[str], operation: str) -> str | None:
    """The ``pageDetails.nextPageUrl`` to POST next, None at the end; a cursor
    that is not a string or was seen before fails the read."""
    details = data.get("pageDetails")
    following = details.get("nextPageUrl") if isinstance(details, Mapping) else None
    if not following:
        return None
    if not isinstance(following, str) or following in links:
        raise BadData(
            SYSTEM, f"{operation}: the server sent a bad or repeated nextPageUrl"
        )
    links.add(following)
    return following
