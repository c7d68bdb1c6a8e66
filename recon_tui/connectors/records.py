"""What every API-entity parser shares: one error type naming the system,
entity, id and field, a reader that raises it, and the UTC time parser."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from recon_tui.money import MoneyError, to_api_money

_MISSING = object()


class RecordError(ValueError):
    """An API entity that cannot be read: says which system, entity, id and field."""

    def __init__(self, system: str, entity: str, entity_id: object, field: str, problem: str):
        label = entity_id if entity_id not in (None, "") else "<no id>"
        super().__init__(f"{system} {entity} {label}: {problem} {field!r}")
        self.system = system
        self.entity = entity
        self.entity_id = None if entity_id in (None, "") else str(entity_id)
        self.field = field


class EntityReader:
    """Field access on one entity that turns every failure into a RecordError."""

    def __init__(self, system: str, entity: str, data: object, id_key: str) -> None:
        self.system = system
        self.entity = entity
        if not isinstance(data, Mapping):
            raise RecordError(system, entity, None, entity, f"expected an object, got {data!r} for")
        self.data = data
        raw_id = data.get(id_key)
        self.id = "" if raw_id is None else str(raw_id)

    def error(self, field: str, problem: str) -> RecordError:
        return RecordError(self.system, self.entity, self.id, field, problem)

    def get(self, path: str, default: Any = _MISSING) -> Any:
        """Dotted lookup (``CustomerRef.value``); missing or null -> default or error."""
        node: Any = self.data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
            if node is None:
                if default is _MISSING:
                    raise self.error(path, "missing required field")
                return default
        return node

    def text(self, path: str, default: Any = _MISSING) -> Any:
        value = self.get(path, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(path, f"bad value {value!r} for")
        return str(value)

    def required_text(self, path: str) -> str:
        value = self.text(path)
        if not value.strip():
            raise self.error(path, "empty required field")
        return value

    def money(self, path: str, default: Any = _MISSING) -> Decimal:
        value = self.get(path, default)
        try:
            return to_api_money(value)
        except MoneyError as exc:
            raise self.error(path, f"bad amount {value!r} ({exc}) for") from exc

    def day(self, path: str, default: Any = _MISSING) -> date | None:
        value = self.get(path, default)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError as exc:
            raise self.error(path, f"bad date {value!r} for") from exc

    def moment(self, path: str, parse: Any) -> datetime | None:
        value = self.get(path, None)
        if value is None:
            return None
        try:
            return parse(value)
        except (TypeError, ValueError) as exc:
            raise self.error(path, f"bad datetime {value!r} for") from exc

    def flag(self, path: str, default: bool) -> bool:
        value = self.get(path, default)
        if not isinstance(value, bool):
            raise self.error(path, f"bad boolean {value!r} for")
        return value


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_utc_datetime(text: str) -> datetime:
    """An API time as aware UTC. QBO sends offsets ("2026-03-02T10:15:00-08:00"),
    ConnectWise "Z", Autotask sometimes no zone and seven fraction digits: a
    missing zone means UTC, extra fraction digits are dropped."""
    if not isinstance(text, str):
        raise ValueError(f"not a datetime string: {text!r}")
    value = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
