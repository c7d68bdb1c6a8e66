"""What every API-entity parser shares: one error type naming the system,
entity, id and field, a reader that raises it, the UTC time parser, and the
fast path the busiest parsers try first."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from recon_tui.models.flat import day_number, moment_number
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


#: Each dotted path's parts, split once (the paths are the parsers' literals; a
#: bound keeps a caller passing made-up paths from growing it without end).
_PARTS: dict[str, tuple[str, ...]] = {}


def _parts(path: str) -> tuple[str, ...]:
    parts = tuple(path.split("."))
    if len(_PARTS) < 512:
        _PARTS[path] = parts
    return parts


class EntityReader:
    """Field access on one entity that turns every failure into a RecordError."""

    def __init__(self, system: str, entity: str, data: object, id_key: str) -> None:
        self.system = system
        self.entity = entity
        if type(data) is not dict and not isinstance(data, Mapping):
            raise RecordError(system, entity, None, entity, f"expected an object, got {data!r} for")
        self.data = data
        raw_id = data.get(id_key)
        self.id = "" if raw_id is None else str(raw_id)

    def error(self, field: str, problem: str) -> RecordError:
        return RecordError(self.system, self.entity, self.id, field, problem)

    def get(self, path: str, default: Any = _MISSING) -> Any:
        """Dotted lookup (``CustomerRef.value``); missing or null -> default or error.

        The hot path of every sync (a dozen lookups per record): the path's parts
        are split once per distinct path, and a plain ``dict`` (what JSON decodes
        to) skips the Mapping ABC check."""
        parts = _PARTS.get(path)
        if parts is None:
            parts = _parts(path)
        node: Any = self.data
        for part in parts:
            node = node.get(part) if type(node) is dict or isinstance(node, Mapping) else None
            if node is None:
                if default is _MISSING:
                    raise self.error(path, "missing required field")
                return default
        return node

    def text(self, path: str, default: Any = _MISSING) -> Any:
        value = self.get(path, default)
        if type(value) is str:
            return value
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
    if type(text) is not str and not isinstance(text, str):
        raise ValueError(f"not a datetime string: {text!r}")
    text = text.strip()
    # Only a fraction can carry more than six digits: without a dot, no regex.
    value = datetime.fromisoformat(_FRACTION.sub(r"\1", text) if "." in text else text)
    tz = value.tzinfo
    if tz is UTC:
        return value
    if tz is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- fast path
# A sync parses every invoice of a book, and the reader above costs a dozen method
# calls per record. So invoice pages are decoded into typed structs
# (``qbo_wire``, ``connectwise_invoice_wire``) and read directly; wherever only the
# checked reader may decide, those readers raise ``Slow`` and hand the record to it,
# which gives the same result or the precise RecordError.


class Slow(Exception):
    """The fast path met something only the checked reader may decide."""


#: Texts already read, each with what it reads as (the first ``_CACHED`` met):
#: a book's dates repeat (a billing run dates and times many invoices alike), and
#: a look-up costs a tenth of a parse. A text that does not parse is not kept.
_MOMENTS: dict[str, datetime] = {}
_DAYS: dict[str, date] = {}
_CACHED = 4096


def fast_moment(value: Any) -> datetime | None:
    """As ``EntityReader.moment(path, parse_utc_datetime)``."""
    if value is None:
        return None
    if type(value) is not str:
        raise Slow
    moment = _MOMENTS.get(value)
    if moment is None:
        try:
            moment = parse_utc_datetime(value)
        except ValueError:
            raise Slow from None
        if len(_MOMENTS) < _CACHED:
            _MOMENTS[value] = moment
    return moment


def day_of_moment(value: str) -> date:
    """The date part of an ISO datetime text as written ("2026-03-02T00:00:00Z"
    is March 2nd, whatever its zone); ValueError for one it cannot parse."""
    day = _DAYS.get(value)
    if day is None:
        day = datetime.fromisoformat(value.strip()).date()
        if len(_DAYS) < _CACHED:
            _DAYS[value] = day
    return day


#: As ``_MOMENTS`` and ``_DAYS``, each text with its flat form (``models.flat``).
_MOMENT_NUMBERS: dict[str, int] = {}
_DAY_NUMBERS: dict[str, int] = {}


def fast_moment_number(value: Any) -> int | None:
    """``fast_moment(value)`` as a flat row holds it (UTC milliseconds); Slow
    where it has none (a moment before 1600) or ``fast_moment`` raises."""
    if value is None:
        return None
    number = _MOMENT_NUMBERS.get(value) if type(value) is str else None
    if number is None:
        moment = fast_moment(value)
        try:
            number = moment_number(moment)  # type: ignore[arg-type]
        except ValueError:
            raise Slow from None
        if len(_MOMENT_NUMBERS) < _CACHED:
            _MOMENT_NUMBERS[value] = number
    return number


def fast_day_number(value: Any) -> int | None:
    """The date part of an ISO datetime text (:func:`day_of_moment`) as a flat
    row holds it (its ordinal); None for None; Slow for anything else, a text
    it cannot parse or a date before 1600."""
    if value is None:
        return None
    number = _DAY_NUMBERS.get(value) if type(value) is str else None
    if number is None:
        if type(value) is not str:
            raise Slow
        try:
            number = day_number(day_of_moment(value))
        except ValueError:
            raise Slow from None
        if len(_DAY_NUMBERS) < _CACHED:
            _DAY_NUMBERS[value] = number
    return number
