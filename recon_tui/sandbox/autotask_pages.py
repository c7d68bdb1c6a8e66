"""One page of an Autotask query answer: ``MaxRecords``, ``IncludeFields`` and the
id-keyset cursors shaped like Autotask's.

``{"items", "pageDetails": {"count", "requestCount", "prevPageUrl",
"nextPageUrl"}}``, the cursors being
``{Entity}/query/next?paging={"pageSize","previousIds","nextIds"}&search=...``
after a POST query (the next page must be POSTed) and a GET ``{Entity}/query``
URL after a GET query. ``MaxRecords`` is 1..500 (default 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from recon_tui.jsonio import dumps_exact
from recon_tui.sandbox.autotask_query import FilterError, predicates, scan
from recon_tui.sandbox.autotask_records import ENTITIES, autotask_view
from recon_tui.sandbox.book import SandboxBook

__all__ = ["API_ROOT", "MAX_RECORDS", "page", "query_keys"]

API_ROOT = "/atservicesrest/v1.0"
MAX_RECORDS = 500


def query_keys(body: Mapping[str, Any]) -> dict[str, Any]:
    """Autotask reads body keys case-insensitively (``MaxRecords``/``maxRecords``)."""
    return {str(k).lower(): v for k, v in body.items()}


def _max_records(value: Any) -> int:
    if value is None:
        return MAX_RECORDS
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise FilterError("MaxRecords must be a whole number from 1 to 500.")
    try:
        size = int(str(value))
    except ValueError:
        raise FilterError("MaxRecords must be a whole number from 1 to 500.") from None
    if not 1 <= size <= MAX_RECORDS:
        raise FilterError(f"MaxRecords must be from 1 to 500, got {size}.")
    return size


def _project(record: Mapping[str, Any], include: Any, entity: str) -> dict[str, Any]:
    if not include:
        return dict(record)
    if not isinstance(include, list):
        raise FilterError("IncludeFields must be a list of field names.")
    lower = {name.lower(): name for name in ENTITIES[entity]}
    wanted = {"id"}
    for name in include:
        key = str(name).lower()
        if key not in lower:
            raise FilterError(f"Unable to find {name} in the {entity} entity.")
        wanted.add(lower[key])
    return {k: v for k, v in record.items() if k in wanted} | {"userDefinedFields": []}


def _cursor_url(
    request: Request,
    entity: str,
    *,
    post: bool,
    search: Mapping[str, Any],
    size: int,
    previous: list[int],
    next_id: int,
) -> str:
    paging = dumps_exact({"pageSize": size, "previousIds": previous, "nextIds": [next_id]})
    search_text = dumps_exact(search)  # its Decimals stay numbers (str() made them text)
    root = str(request.base_url).rstrip("/") + API_ROOT
    path = f"{root}/{entity}/query/next" if post else f"{root}/{entity}/query"
    return f"{path}?{urlencode({'paging': paging, 'search': search_text})}"


def _cursor(keys: Mapping[str, Any], paging: Mapping[str, Any] | None
            ) -> tuple[int, list[int], int | None]:
    """(page size, first ids of the pages before, id to start from): a first page
    from the query's ``MaxRecords``, a later one from its cursor."""
    if paging is None:
        return _max_records(keys.get("maxrecords")), [], None
    try:
        size = _max_records(paging.get("pageSize"))
        previous = [int(i) for i in paging.get("previousIds") or []]
        start = int((paging.get("nextIds") or [None])[0])
    except (TypeError, ValueError, AttributeError):
        raise FilterError("The paging cursor is not valid.") from None
    return size, previous, start


def page(
    request: Request,
    book: SandboxBook,
    entity: str,
    query: Mapping[str, Any],
    *,
    post: bool,
    paging: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The answer's body for one page of ``query`` (the first when ``paging`` is None)."""
    keys = query_keys(query)
    records = autotask_view(book)[entity]
    filters = keys.get("filter")
    tests = predicates(entity, filters)
    size, previous, start = _cursor(keys, paging)
    # The first page looks at every record (as a count does); a later one reads
    # from its cursor until one past the page (to know whether there is more).
    selected = scan(book, entity, records, filters, tests, start=start,
                    limit=None if paging is None else size + 1)
    shown = selected[:size]
    search = {"filter": keys.get("filter")}
    if keys.get("includefields"):
        search["IncludeFields"] = keys["includefields"]
    next_url = prev_url = None
    first_id = int(shown[0]["id"]) if shown else None
    if len(selected) > size and first_id is not None:
        next_url = _cursor_url(request, entity, post=post, search=search, size=size,
                               previous=[*previous, first_id],
                               next_id=int(selected[size]["id"]))
    if previous:
        prev_url = _cursor_url(request, entity, post=post, search=search, size=size,
                               previous=previous[:-1], next_id=previous[-1])
    items = [_project(r, keys.get("includefields"), entity) for r in shown]
    return {
        "items": items,
        "pageDetails": {
            "count": len(items),
            "requestCount": size,
            "prevPageUrl": prev_url,
            "nextPageUrl": next_url,
        },
    }
