"""Running a parsed QBO query over the book: matching, ordering, paging.

Pages ordered by Id (what the connector asks for) come from the book's index
(:mod:`index`): the keys in Id order, rebuilt only when the key set changes, so
``STARTPOSITION n MAXRESULTS m`` costs the page, not the book. A WHERE clause (or
another order) is matched afresh by each read's first page and by every
``COUNT(*)``; the later pages of that read reuse the matches while the book is
unchanged (see :class:`index.Snapshots`).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.index import Ordered
from recon_tui.sandbox.qbo_parse import Condition, QueryError, parse_query

__all__ = ["run_query"]


def _lookup(record: dict[str, Any], dotted: str) -> Any:
    """Case-insensitive dotted lookup; a reference (``CustomerRef``) compares by its value."""
    node: Any = record
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        if part in node:
            node = node[part]
            continue
        lowered = part.lower()
        node = next((v for k, v in node.items() if k.lower() == lowered), None)
    if isinstance(node, dict) and "value" in node:
        return node["value"]
    return node


@functools.lru_cache(maxsize=1 << 16)
def _as_moment(text: str) -> datetime | None:
    """A date or date-time literal or field value as a moment (cached: a book holds
    the same stamps many times, and every WHERE on a date compares them)."""
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return Decimal(value.strip())
    return None


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Bring a field value and a literal to one type (number, moment, bool, text)."""
    if left is None:
        return None
    if isinstance(right, bool) or isinstance(left, bool):
        lb = left if isinstance(left, bool) else str(left).lower() == "true"
        rb = right if isinstance(right, bool) else str(right).lower() == "true"
        return lb, rb
    ln, rn = _as_number(left), _as_number(right)
    if ln is not None and rn is not None:
        return ln, rn
    if isinstance(left, str) and isinstance(right, str):
        lm, rm = _as_moment(left), _as_moment(right)
        if lm is not None and rm is not None:
            return lm, rm
        return left.casefold(), right.casefold()
    return str(left).casefold(), str(right).casefold()


def _matches(record: dict[str, Any], cond: Condition) -> bool:
    value = _lookup(record, cond.field)
    if cond.op == "IN":
        return any(_matches(record, Condition(cond.field, "=", (v,))) for v in cond.values)
    if cond.op == "LIKE":
        if value is None:
            return False
        pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in str(cond.values[0]))
        return re.fullmatch(pattern, str(value), re.IGNORECASE | re.DOTALL) is not None
    pair = _comparable(value, cond.values[0])
    if pair is None:
        return False
    left, right = pair
    try:
        return {
            "=": left == right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[cond.op]
    except TypeError:
        return False


def _changed_since(stamp: Any, since: datetime) -> bool:
    moment = _as_moment(stamp) if isinstance(stamp, str) else None
    return moment is not None and moment >= since


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers (ids included) numerically, then moments, then text; missing last."""
    if value is None:
        return (3, "")
    number = _as_number(value)
    if number is not None:
        return (0, number)
    if isinstance(value, str):
        moment = _as_moment(value)
        if moment is not None:
            return (1, moment)
        return (2, value.casefold())
    return (2, str(value))


def _entity_name(book: SandboxBook, name: str) -> str:
    for known in book.qbo:
        if known.lower() == name.lower():
            return known
    raise QueryError(
        f"QueryValidationError: Invalid context declaration : {name}",
        code="4001",
        message="Invalid query",
    )


def run_query(book: SandboxBook, text: str) -> dict[str, Any]:
    """The ``QueryResponse`` object for a query over the book."""
    query = parse_query(text)
    entity = _entity_name(book, query.entity)
    conditions = list(query.where)
    if entity == "Customer" and not any(c.field.lower() == "active" for c in conditions):
        conditions.append(Condition("Active", "=", (True,)))  # QBO hides inactive ones
    order = query.order_by or (("Id", False),)
    first, last = query.start - 1, query.start - 1 + query.max_results
    with book.lock:
        records = book.qbo[entity]
        if query.count:
            if not conditions:
                return {"totalCount": len(records)}
            return {"totalCount": sum(1 for r in records.values()
                                      if all(_matches(r, c) for c in conditions))}
        if not conditions and _by_id(order):
            page = list(_id_order(book, entity, records).records(first, last))
        else:
            keys = book.index.snapshots.rows(
                ("qbo", entity, _condition_key(conditions), order), records, book.generation,
                lambda: _matching_keys(records, conditions, order), fresh=query.start == 1)
            page = [records[k] for k in keys[first:last]]
    if query.select is not None:
        page = [_project(r, query.select) for r in page]
    if not page:
        return {}
    return {entity: page, "startPosition": query.start, "maxResults": len(page)}


def _by_id(order: tuple[tuple[str, bool], ...]) -> bool:
    """``ORDERBY Id`` (ascending), what the connector asks for and the index keeps."""
    return len(order) == 1 and order[0][0].lower() == "id" and not order[0][1]


def _id_order(book: SandboxBook, entity: str, records: dict[str, Any]) -> Ordered:
    """The entity's keys in Id order, as the sort below orders them."""
    return book.index.order(("qbo", entity), records, lambda r: _sort_key(_lookup(r, "Id")))


def _matching_keys(records: dict[str, Any], conditions: list[Condition],
                   order: tuple[tuple[str, bool], ...]) -> list[str]:
    """Keys of the records matching every condition, in the query's order (stable
    sorts over insertion order, last key first, as QBO's ORDERBY reads)."""
    keys = [k for k, r in records.items() if all(_matches(r, c) for c in conditions)]
    for name, descending in reversed(order):
        keys.sort(key=lambda k, name=name: _sort_key(_lookup(records[k], name)),
                  reverse=descending)
    return keys


def _condition_key(conditions: list[Condition]) -> tuple[Any, ...]:
    """Conditions as a cache key: each value with its type (``true`` is not ``1``)."""
    return tuple((c.field, c.op, tuple((type(v).__name__, v) for v in c.values))
                 for c in conditions)


def _project(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": record.get("Id")}
    for name in fields:
        top = name.split(".")[0]
        key = next((k for k in record if k.lower() == top.lower()), None)
        if key is not None:
            out[key] = record[key]
    out["sparse"] = True
    return out
