"""ConnectWise list pages and counts, at the cost of the page.

The answers are the ones :mod:`connectwise` documents (numbered pages with a
``Link`` header of first/prev/next/last; forward-only keyset pages in id order
with a ``Link`` to ``pageId=...``; ``/count``). How they stay cheap on a
200,000-invoice book (see :mod:`index`):

* the collection's keys are kept in id order, so a forward-only page bisects to
  its ``pageId`` and reads the page;
* ``conditions`` are evaluated on the first page of a read and by every count,
  over the records the leading ``id`` comparisons allow (an id-range read looks
  at its range only); a later forward-only page evaluates from its ``pageId`` on
  until the page is full, so it sees the records as they are now;
* numbered pages with conditions or an ``orderBy`` keep their order for the later
  pages of the read while the book is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.cw_conditions import ConditionError, parse_conditions
from recon_tui.sandbox.cw_query import Paths, _lookup, _matches, _order_by, _sort_key, id_bounds
from recon_tui.sandbox.index import Ordered

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "count_of", "list_page"]

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


def _int_param(request: Request, name: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConditionError(f"{name} must be a whole number, got {raw!r}", name) from None
    if value < minimum:
        raise ConditionError(f"{name} must be {minimum} or more, got {value}", name)
    return value


def _url(request: Request, params: Mapping[str, Any]) -> str:
    """An absolute URL to the same endpoint, as the real API writes its links."""
    return str(request.url.replace(query=urlencode(params)))


def _json(body: object, headers: Mapping[str, str] | None = None) -> Response:
    from recon_tui.sandbox.app import dumps  # late: app imports this module

    return Response(dumps(body), media_type="application/json", headers=dict(headers or {}))


def _project(records: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    """``fields=id,company/id,_info/lastUpdated``: only those paths of each record
    (nested paths keep their parents), as ConnectWise answers a field list."""
    text = request.query_params.get("fields", "").strip()
    if not text:
        return records
    paths = [tuple(p.strip() for p in f.split("/")) for f in text.split(",") if f.strip()]
    out = []
    for record in records:
        picked: dict[str, Any] = {}
        for path in paths:
            node: Any = record
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None  # JSON objects
                if node is None:
                    break
            if node is None:
                continue
            target = picked
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = node
        out.append(picked)
    return out


def _forward_page(request: Request, records: list[dict[str, Any]], size: int) -> Response:
    """A forward-only page over a plain list of records (a small collection)."""
    after = _int_param(request, "pageId", 0, 0)
    remaining = sorted((r for r in records if int(r["id"]) > after), key=lambda r: int(r["id"]))
    return _forward_answer(request, remaining[:size], len(remaining) > size, size)


def _forward_answer(request: Request, page: list[dict[str, Any]], more: bool,
                    size: int) -> Response:
    link = ""
    if more:
        params = {k: v for k, v in request.query_params.items() if k not in ("page", "pageId")}
        params["pageSize"] = str(size)
        params["pageId"] = str(page[-1]["id"])
        link = f'<{_url(request, params)}>; rel="next"'
    return _json(_project(page, request), {"Link": link})


def _numbered_page(
    request: Request, records: list[dict[str, Any]], page: int, size: int
) -> Response:
    """A numbered page over a plain, ordered list of records (a small collection)."""
    start = (page - 1) * size
    return _numbered_answer(request, records[start : start + size], len(records), page, size)


def _numbered_answer(request: Request, rows: list[dict[str, Any]], total: int, page: int,
                     size: int) -> Response:
    body = _project(rows, request)
    last = max(1, -(-total // size))
    base = {k: v for k, v in request.query_params.items() if k != "page"}
    base["pageSize"] = str(size)
    links = []
    if total:
        if page > 1:
            links.append(f'<{_url(request, {**base, "page": "1"})}>; rel="first"')
            links.append(
                f'<{_url(request, {**base, "page": str(min(page - 1, last))})}>; rel="prev"'
            )
        if page < last:
            links.append(f'<{_url(request, {**base, "page": str(page + 1)})}>; rel="next"')
            links.append(f'<{_url(request, {**base, "page": str(last)})}>; rel="last"')
    return _json(body, {"Link": ", ".join(links)} if links else None)



# --------------------------------------------------------------------------- indexed
def _whole_id(record: Mapping[str, Any]) -> int:
    value = record["id"]
    if type(value) is not int:
        raise TypeError("not a whole-number id")
    return value


def _order(book: SandboxBook, collection: str, records: dict[Any, Any]) -> Ordered:
    """The collection's keys in id order (as ``cw_query._sorted`` orders them)."""
    return book.index.order(("connectwise", collection), records,
                            lambda r: _sort_key(r.get("id")), _whole_id)


def _paths(book: SandboxBook, collection: str, records: dict[Any, Any],
           index: Ordered) -> Paths:
    return book.index.memo(("connectwise paths", collection), index, book.generation,
                           lambda: Paths(records.values()))


def _span(tree: Any, index: Ordered, paths: Paths) -> tuple[int, int]:
    """Positions of the records the tree's leading id comparisons allow."""
    if tree is None or index.numbers is None:
        return 0, len(index.ordered)
    return index.span(*id_bounds(tree, paths))


def _matching(tree: Any, index: Ordered, paths: Paths) -> list[dict[str, Any]]:
    """Every record the tree matches, in id order (errors raised as they are met)."""
    start, end = _span(tree, index, paths)
    return [r for r in index.records(start, end) if _matches(tree, r, paths)]


def count_of(book: SandboxBook, collection: str, request: Request) -> int:
    """``/count``: the records the conditions match, counted now (caller holds the lock)."""
    records = book.connectwise.get(collection, {})
    text = request.query_params.get("conditions")
    if text is None:
        return len(records)
    tree = parse_conditions(text)
    index = _order(book, collection, records)
    paths = _paths(book, collection, records, index)
    if index.numbers is None:
        return sum(1 for r in records.values() if _matches(tree, r, paths))
    return len(_matching(tree, index, paths))


def list_page(book: SandboxBook, collection: str, request: Request) -> Response:
    """One list page (caller holds the lock; ConditionError for a 400)."""
    records = book.connectwise.get(collection, {})
    params = request.query_params
    text = params.get("conditions")
    tree = parse_conditions(text) if text is not None else None
    index = _order(book, collection, records)
    paths = _paths(book, collection, records, index)
    forward = request.headers.get("pagination-type", "").strip().lower() == "forward-only"
    if forward:
        return _forward(request, records, tree, index, paths,
                        first=params.get("pageId", "") in ("", "0"))
    first = params.get("page", "") in ("", "1")
    order_text = params.get("orderBy", "").strip()
    name = ("connectwise", collection, text, order_text)
    kept = None if first else book.index.snapshots.get(name, records, book.generation)
    matched: list[Any] | None = None
    if kept is None and tree is not None:  # matched before the paging parameters, as ever
        if index.numbers is not None:
            start, end = _span(tree, index, paths)
            matched = [k for k in index.ordered[start:end] if _matches(tree, records[k], paths)]
        else:
            matched = [k for k, r in records.items() if _matches(tree, r, paths)]
    size = min(_int_param(request, "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    order = _order_by(order_text, paths) if order_text else []
    page = _int_param(request, "page", 1, 1)
    if kept is None:
        by_id = index.numbers is not None and order in ([], [(("id",), False)])
        if tree is None and by_id:
            kept = index.ordered  # exact as it is: no snapshot needed
        else:
            keys = matched if matched is not None else list(records)
            if not by_id:  # as cw_query._sorted: by id, then stable by each key, last first
                keys.sort(key=lambda k: _sort_key(records[k].get("id")))
                for path, descending in reversed(order):
                    keys.sort(key=lambda k, p=path: _sort_key(_lookup(records[k], p)),
                              reverse=descending)
            kept = book.index.snapshots.put(name, records, book.generation, keys)
    first_row = (page - 1) * size
    rows = [records[k] for k in kept[first_row:first_row + size]]
    return _numbered_answer(request, rows, len(kept), page, size)


def _forward(request: Request, records: dict[Any, Any], tree: Any, index: Ordered,
             paths: Paths, *, first: bool) -> Response:
    matched = None
    if tree is not None and (first or index.numbers is None):
        matched = (_matching(tree, index, paths) if index.numbers is not None
                   else [r for r in records.values() if _matches(tree, r, paths)])
    size = min(_int_param(request, "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    order_text = request.query_params.get("orderBy", "").strip()
    if order_text and _order_by(order_text, paths) != [(("id",), False)]:
        raise ConditionError("forward-only pagination returns records in id order; use "
                             "orderBy=id asc or leave it out", "orderBy")
    if index.numbers is None:
        return _forward_page(request, matched if matched is not None
                             else list(records.values()), size)
    after = _int_param(request, "pageId", 0, 0)
    if matched is not None:
        remaining = [r for r in matched if int(r["id"]) > after]
        page, more = remaining[:size], len(remaining) > size
    else:
        start, end = _span(tree, index, paths)
        start = max(start, index.first_after(after))
        if tree is None:
            page = list(index.records(start, min(end, start + size)))
            more = end - start > size
        else:
            found = []
            for record in index.records(start, end):
                if _matches(tree, record, paths):
                    found.append(record)
                    if len(found) > size:
                        break
            page, more = found[:size], len(found) > size
    return _forward_answer(request, page, more, size)
