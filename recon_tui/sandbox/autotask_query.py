"""The Autotask query filter language, as the emulator applies it.

Ops ``eq noteq gt gte lt lte beginsWith endsWith contains exist notExist in
notIn`` and ``{"op": "and"|"or", "items": [...]}`` groups; field names
case-insensitive; at least one filter required; fields Autotask cannot query
(Invoices ``dueDate``) refused. Every problem is raised as :class:`FilterError`
when the filters are compiled, before any record is looked at; leading ``id``
filters bound the scan to an id range of the book's index.

Source: https://autotask.net/help/developerhelp/content/apis/REST/API_Calls/REST_Advanced_Query_Features.htm
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from recon_tui.jsonio import dumps_exact
from recon_tui.sandbox.autotask_records import (
    BOOLEAN,
    DATETIME,
    DECIMAL,
    ENTITIES,
    INTEGER,
    STRING,
    UNQUERYABLE,
)
from recon_tui.sandbox.book import SandboxBook

__all__ = ["FilterError", "Predicate", "predicates", "scan"]


class FilterError(ValueError):
    """A query the emulator refuses, with Autotask's kind of wording."""


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "noteq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_TEXT = {
    "beginswith": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.endswith(b),
    "contains": lambda a, b: b in a,
}
Predicate = Callable[[Mapping[str, Any]], bool]


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _coerce(value: Any, kind: str, field: str) -> Any:
    """A filter value (or a record value) in the field's comparable type."""
    try:
        if kind == DATETIME:
            return _parse_time(value)
        if kind == INTEGER:
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, Decimal) and value != value.to_integral_value():
                raise ValueError(value)
            return int(str(value).strip())
        if kind == DECIMAL:
            if isinstance(value, bool):
                raise ValueError(value)
            return Decimal(str(value).strip())
        if kind == BOOLEAN:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise ValueError(value)
        return str(value).casefold()
    except (ValueError, InvalidOperation, TypeError):
        raise FilterError(f"Value {value!r} is not valid for field {field} ({kind}).") from None


def _compile(item: Any, entity: str) -> Predicate:
    """One filter expression as a predicate over records (checks in Autotask's order:
    shape, grouping, field, operator, value)."""
    if not isinstance(item, Mapping):
        raise FilterError(f"Each filter must be an object, got {dumps_exact(item)[:60]}.")
    op = str(item.get("op", "")).strip().lower()
    if op in ("and", "or"):
        return _group(item, op, entity)
    field, kind = _field(item, op, entity)
    if op == "exist":
        return lambda r: r.get(field) not in (None, "")
    if op == "notexist":
        return lambda r: r.get(field) in (None, "")
    if "value" not in item:
        raise FilterError(f"Filter on {field} with op '{op}' needs a 'value'.")
    value = item["value"]
    if op in ("in", "notin"):
        return _membership(op, field, kind, value)
    if op in _TEXT:
        return _text(item, op, field, kind, value)
    return _comparison(item, op, field, kind, value)


def _group(item: Mapping[str, Any], op: str, entity: str) -> Predicate:
    items = item.get("items")
    if not isinstance(items, list) or not items:
        raise FilterError(f"A grouping '{op}' filter needs a non-empty 'items' list.")
    parts = [_compile(sub, entity) for sub in items]
    if op == "and":
        return lambda r: all(p(r) for p in parts)
    return lambda r: any(p(r) for p in parts)


def _field(item: Mapping[str, Any], op: str, entity: str) -> tuple[str, str]:
    """The filter's field as the entity spells it, and its type."""
    fields = ENTITIES[entity]
    raw_field = item.get("field")
    if not isinstance(raw_field, str) or not raw_field.strip():
        raise FilterError(f"Filter with op '{op}' needs a 'field'.")
    lower = {name.lower(): name for name in fields}
    key = raw_field.strip().lower()
    if key in UNQUERYABLE.get(entity, set()):
        raise FilterError(f"The field {raw_field} of {entity} cannot be queried.")
    if key not in lower:
        raise FilterError(f"Unable to find {raw_field} in the {entity} entity.")
    field = lower[key]
    return field, fields[field]


def _membership(op: str, field: str, kind: str, value: Any) -> Predicate:
    if not isinstance(value, list) or not value:
        raise FilterError(f"Filter on {field} with op '{op}' needs a non-empty list value.")
    wanted = {_coerce(v, kind, field) for v in value}

    def hit(r: Mapping[str, Any]) -> bool:
        return r.get(field) is not None and _coerce(r[field], kind, field) in wanted

    return hit if op == "in" else (lambda r: not hit(r))


def _text(item: Mapping[str, Any], op: str, field: str, kind: str, value: Any) -> Predicate:
    if kind != STRING:
        raise FilterError(
            f"Operator '{item.get('op')}' is only valid for text; {field} is {kind}."
        )
    needle = str(value).casefold()
    test = _TEXT[op]
    return lambda r: isinstance(r.get(field), str) and test(r[field].casefold(), needle)


def _comparison(item: Mapping[str, Any], op: str, field: str, kind: str, value: Any
                ) -> Predicate:
    if op not in _COMPARE:
        raise FilterError(f"Unknown filter operator '{item.get('op')}'.")
    if value is None:
        raise FilterError(f"Filter on {field}: use exist/notExist to test for null.")
    if kind == BOOLEAN and op not in ("eq", "noteq"):
        raise FilterError(f"Operator '{item.get('op')}' is not valid for boolean {field}.")
    target = _coerce(value, kind, field)
    compare = _COMPARE[op]

    def predicate(r: Mapping[str, Any]) -> bool:
        current = r.get(field)
        if current is None:
            return op == "noteq"
        return compare(_coerce(current, kind, field), target)

    return predicate


def predicates(entity: str, filters: Any) -> list[Predicate]:
    """The query's filters compiled (every problem with them raised here, before
    any record is looked at)."""
    if not isinstance(filters, list) or not filters:
        raise FilterError(
            "A query needs a 'filter' with at least one expression, "
            'for everything use {"op": "gte", "field": "id", "value": 0}.'
        )
    return [_compile(item, entity) for item in filters]


def _id_bounds(filters: list[Any]) -> tuple[int | None, int | None]:
    """(low, high), inclusive, None for open: what the leading ``id`` filters allow
    (the top-level list is an ``and`` evaluated in order, so a record outside them
    fails there first). Exact: an id-range read looks only at its range."""
    low: int | None = None
    high: int | None = None
    for item in filters:
        op = str(item.get("op", "")).strip().lower() if isinstance(item, Mapping) else ""
        field = item.get("field") if isinstance(item, Mapping) else None
        if (op not in ("eq", "gt", "gte", "lt", "lte") or not isinstance(field, str)
                or field.strip().lower() != "id"):
            break
        target = _coerce(item.get("value"), INTEGER, "id")
        below = {"gt": target + 1, "gte": target, "eq": target}.get(op)
        above = {"lt": target - 1, "lte": target, "eq": target}.get(op)
        if below is not None:
            low = below if low is None else max(low, below)
        if above is not None:
            high = above if high is None else min(high, above)
    return low, high


def scan(book: SandboxBook, entity: str, records: dict[int, dict[str, Any]],
         filters: list[Any], tests: list[Predicate], *, start: int | None = None,
         limit: int | None = None) -> list[dict[str, Any]]:
    """The records matching every predicate in ``tests`` in id order, from id
    ``start`` on, ``limit`` of them at most (all when None), over the book's index."""
    with book.lock:
        index = book.index.order(("autotask", entity), records, None)
        begin, end = 0, len(index.ordered)
        if index.numbers is not None:
            begin, end = index.span(*_id_bounds(filters))
            if start is not None:
                begin = max(begin, index.first_after(start, inclusive=True))
        out = []
        for record in index.records(begin, end):
            if index.numbers is None and start is not None and int(record["id"]) < start:
                continue
            if all(p(record) for p in tests):
                out.append(record)
                if limit is not None and len(out) >= limit:
                    break
        return out
