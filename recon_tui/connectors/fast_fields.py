"""The fast path's field readers, shared by the parsers that read a decoded
dict directly (ConnectWise companies and contacts, QBO customers and payments).

Each mirrors one ``EntityReader`` method for one value and raises ``Slow`` for
anything the checked reader might refuse or read otherwise (a wrong type, a
blank required field), which then reads the record and gives the same record
or the precise RecordError.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from recon_tui.connectors.records import Slow
from recon_tui.money import MoneyError, to_api_money

__all__ = ["fast_child", "fast_day", "fast_flag", "fast_money", "fast_required", "fast_text"]


def fast_text(value: Any, default: str) -> str:
    """As ``EntityReader.text(path, default)`` for a value read."""
    if value is None:
        return default
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    raise Slow


def fast_required(value: Any) -> str:
    """As ``EntityReader.required_text``."""
    kind = type(value)
    if kind is str and value.strip():
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    raise Slow


def fast_flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if type(value) is bool:
        return value  # type: ignore[no-any-return]
    raise Slow


def fast_child(d: dict[str, Any], key: str, field: str) -> Any:
    """``d[key][field]`` as a dotted lookup reads it (a null parent: None)."""
    parent = d.get(key)
    if parent is None:
        return None
    if type(parent) is not dict:
        raise Slow
    return parent.get(field)


def fast_money(value: Any, default: Decimal | None = None) -> Decimal:
    """As ``EntityReader.money(path[, default])``: the same ``to_api_money``."""
    if value is None:
        if default is None:
            raise Slow
        value = default
    try:
        return to_api_money(value)
    except MoneyError:
        raise Slow from None


def fast_day(value: Any) -> date:
    """As ``EntityReader.day(path)`` (required) for a string value."""
    if type(value) is not str:
        raise Slow
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise Slow from None
