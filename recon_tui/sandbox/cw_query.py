"""Evaluating ConnectWise ``conditions`` and ``orderBy`` over records: field paths,
comparisons with ConnectWise's types, sort order, and the id bounds an
``id >= a and id < b and ...`` condition sets (so an id-range read looks only at
its range). Split from :mod:`connectwise`; the trees come from :mod:`cw_conditions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from recon_tui.sandbox.cw_conditions import (
    ConditionError,
    _Bool,
    _Compare,
    _Literal,
    _Not,
    _parse_datetime,
)

__all__ = ["Paths", "id_bounds"]


# --------------------------------------------------------------------------- fields
def _known_paths(records: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Every nested field path in the collection, lower-cased -> real keys."""
    paths: dict[str, tuple[str, ...]] = {}

    def walk(node: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in node.items():
            path = (*prefix, key)
            paths.setdefault("/".join(path).lower(), path)
            if isinstance(value, Mapping):
                walk(value, path)

    for record in records:
        walk(record, ())
    return paths


def _resolve(
    name: str, paths: Mapping[str, tuple[str, ...]], pos: int | None, field: str = "conditions"
) -> tuple[str, ...]:
    key = name.lower()
    if key in paths:
        return paths[key]
    info = "_info/" + key
    if info in paths:  # lastUpdated, dateEntered, ... live under _info
        return paths[info]
    where = f" at position {pos}" if pos is not None else ""
    raise ConditionError(f"unknown field '{name}'{where}", field)


def _lookup(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = record
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


# --------------------------------------------------------------------------- evaluation
def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char in "*%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _comparable(value: Any, literal: _Literal, node: _Compare) -> tuple[Any, Any]:
    """Both sides in one comparable type, or a ConditionError naming the field."""
    kind = literal.kind
    if kind == "datetime":
        if not isinstance(value, str):
            raise ConditionError(f"field '{node.field}' is not a datetime (position {node.pos})")
        try:
            return _parse_datetime(value), literal.value
        except ValueError:
            raise ConditionError(
                f"field '{node.field}' is not a datetime (position {node.pos})"
            ) from None
    if kind == "number":
        if isinstance(value, bool):
            raise ConditionError(
                f"field '{node.field}' is a boolean, not a number (position {node.pos})"
            )
        if isinstance(value, int | Decimal):
            return Decimal(value), literal.value
        if isinstance(value, str):  # invoiceNumber = 10040: compare as text
            return value.casefold(), literal.text.casefold()
        raise ConditionError(f"field '{node.field}' is not a number (position {node.pos})")
    if kind == "string":
        if isinstance(value, str):
            return value.casefold(), literal.value.casefold()
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value).casefold(), literal.value.casefold()
        raise ConditionError(
            f"field '{node.field}' cannot be compared with a string (position {node.pos})"
        )
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConditionError(f"field '{node.field}' is not a boolean (position {node.pos})")
        return value, literal.value
    raise ConditionError(f"cannot compare field '{node.field}' with {literal.text}")


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _matches(node: Any, record: Mapping[str, Any], paths: Mapping[str, tuple[str, ...]]) -> bool:
    if isinstance(node, _Bool):
        results = (_matches(item, record, paths) for item in node.items)
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, _Not):
        return not _matches(node.item, record, paths)
    assert isinstance(node, _Compare)
    value = _lookup(record, _resolve(node.field, paths, node.pos))
    literal, op = node.literal, node.op
    if literal.kind == "null":
        if op == "=":
            return value is None
        if op == "!=":
            return value is not None
        raise ConditionError(f"null can only be compared with = or != (position {node.pos})")
    if op in ("in", "not in"):
        if value is None:
            hit = any(item.kind == "null" for item in literal.value)
        else:
            hit = any(
                _ORDER["="](*_comparable(value, item, node))
                for item in literal.value
                if item.kind != "null"
            )
        return hit if op == "in" else not hit
    if op in ("contains", "like", "not contains", "not like"):
        if literal.kind != "string":
            raise ConditionError(f"'{op}' needs a \"string\" value (position {node.pos})")
        if value is None:
            return op.startswith("not ")
        if not isinstance(value, str):
            raise ConditionError(
                f"'{op}' works on text fields; '{node.field}' is not text (position {node.pos})"
            )
        if op.endswith("contains"):
            hit = literal.value.casefold() in value.casefold()
        else:
            hit = _like(literal.value).fullmatch(value) is not None
        return hit if not op.startswith("not ") else not hit
    if value is None:
        return False
    if isinstance(value, Mapping | list):
        raise ConditionError(
            f"field '{node.field}' is an object; name one of its fields, "
            f"like '{node.field}/id' (position {node.pos})"
        )
    left, right = _comparable(value, literal, node)
    if literal.kind == "bool" and op not in ("=", "!="):
        raise ConditionError(f"booleans can only be compared with = or != (position {node.pos})")
    return _ORDER[op](left, right)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)  # SQL Server sorts NULL first
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | Decimal):
        return (2, Decimal(value))
    if isinstance(value, str):
        return (3, value.casefold())
    return (4, str(value))


def _order_by(
    text: str, paths: Mapping[str, tuple[str, ...]]
) -> list[tuple[tuple[str, ...], bool]]:
    """``"name asc, id desc"`` -> [(path, descending)]."""
    order: list[tuple[tuple[str, ...], bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise ConditionError(f"invalid orderBy clause {part.strip()!r}", "orderBy")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise ConditionError(f"invalid sort direction {words[1]!r} (asc or desc)", "orderBy")
        order.append((_resolve(words[0], paths, None, "orderBy"), direction == "desc"))
    return order


def _sorted(
    records: list[dict[str, Any]], order: list[tuple[tuple[str, ...], bool]]
) -> list[dict[str, Any]]:
    result = sorted(records, key=lambda r: _sort_key(r.get("id")))
    for path, descending in reversed(order):  # stable sorts, last key first
        result.sort(key=lambda r, p=path: _sort_key(_lookup(r, p)), reverse=descending)
    return result


# --------------------------------------------------------------------------- at scale
class Paths(Mapping[str, tuple[str, ...]]):
    """The field paths of a collection, found on demand: what :func:`_known_paths`
    answers (lower-cased path -> real keys, the first record and the first key in
    order winning), without walking every field of every record first.

    A name is looked for component by component, and only under keys that match
    it; each node's keys are matched once per distinct key set (a book's records
    share a few shapes). Iterating is not offered: :func:`_resolve` only asks
    ``in`` and ``[]``.
    """

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._records = records
        self._found: dict[str, tuple[str, ...] | None] = {}
        self._keys: dict[tuple[tuple[str, ...], str], list[str]] = {}

    def __getitem__(self, key: str) -> tuple[str, ...]:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def __iter__(self) -> Any:
        raise TypeError("Paths are looked up, not listed")

    def __len__(self) -> int:
        raise TypeError("Paths are looked up, not counted")

    def _find(self, key: str) -> tuple[str, ...] | None:
        if key in self._found:
            return self._found[key]
        parts = key.split("/")
        found = None
        for record in self._records:
            found = self._descend(record, parts, ())
            if found is not None:
                break
        self._found[key] = found
        return found

    def _descend(self, node: Mapping[str, Any], parts: list[str], prefix: tuple[str, ...]
                 ) -> tuple[str, ...] | None:
        shape = (tuple(node), parts[0])
        keys = self._keys.get(shape)
        if keys is None:
            keys = self._keys[shape] = [k for k in node if k.lower() == parts[0]]
        for key in keys:
            path = (*prefix, key)
            if len(parts) == 1:
                return path
            child = node[key]
            if isinstance(child, Mapping):
                found = self._descend(child, parts[1:], path)
                if found is not None:
                    return found
        return None


def id_bounds(tree: Any, paths: Mapping[str, tuple[str, ...]]) -> tuple[int | None, int | None]:
    """(low, high), inclusive, None for open: what the leading ``id`` comparisons
    of a top-level ``and`` (or a lone one) allow. Exact: a record outside them
    fails those comparisons before anything after them is evaluated, as ``and``
    stops at the first false one."""
    items = tree.items if isinstance(tree, _Bool) and tree.op == "and" else (tree,)
    low: int | None = None
    high: int | None = None
    for item in items:
        if not (isinstance(item, _Compare) and item.literal.kind == "number"
                and item.op in ("=", ">", ">=", "<", "<=")
                and item.field.lower() in paths and paths[item.field.lower()] == ("id",)):
            break
        value: Decimal = item.literal.value
        floor = int(value.to_integral_value(ROUND_FLOOR))
        ceiling = int(value.to_integral_value(ROUND_CEILING))
        below = {">": floor + 1, ">=": ceiling, "=": ceiling}.get(item.op)
        above = {"<": ceiling - 1, "<=": floor, "=": floor}.get(item.op)
        if below is not None:
            low = below if low is None else max(low, below)
        if above is not None:
            high = above if high is None else min(high, above)
    return low, high
