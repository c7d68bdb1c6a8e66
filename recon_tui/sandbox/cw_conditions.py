"""ConnectWise ``conditions``: a parser of the query language the REST API takes.

``field op value`` joined by ``and``/``or``, ``not``, parentheses; ops ``= != < >
<= >=``, ``contains``, ``like``, ``in (...)``; values ``"strings"``, ``[datetimes]``,
numbers, ``true``/``false``/``null``. Split from :mod:`connectwise` (its sources
are cited there); :mod:`cw_query` evaluates the trees parsed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

__all__ = ["ConditionError", "parse_conditions"]


class ConditionError(ValueError):
    """A ``conditions`` or ``orderBy`` value the emulator cannot accept."""

    def __init__(self, message: str, field: str = "conditions") -> None:
        super().__init__(message)
        self.field = field


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<datetime>\[[^\]]*\])
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<number>-?\d+(?:\.\d+)?(?![\w/]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "contains", "like", "in", "true", "false", "null"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ConditionError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        kind = match.lastgroup or ""
        if kind != "ws":
            value = match.group()
            if kind == "word" and value.lower() in _KEYWORDS:
                kind = value.lower()
            tokens.append(_Token(kind, value, pos + 1))
        pos = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


@dataclass(frozen=True, slots=True)
class _Literal:
    kind: str  # string, datetime, number, bool, null, list
    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class _Compare:
    field: str
    op: str
    literal: _Literal
    pos: int


@dataclass(frozen=True, slots=True)
class _Bool:
    op: str  # and, or
    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Not:
    item: Any


class _Parser:
    """Recursive descent over the tokens; ``and`` binds tighter than ``or``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, expected: str) -> ConditionError:
        token = self.tok
        found = "the end" if token.kind == "end" else repr(token.text)
        return ConditionError(f"expected {expected} at position {token.pos}, found {found}")

    def parse(self) -> Any:
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail("'and', 'or' or the end")
        return node

    def expr(self) -> Any:
        items = [self.conjunction()]
        while self.tok.kind == "or":
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else _Bool("or", tuple(items))

    def conjunction(self) -> Any:
        items = [self.unary()]
        while self.tok.kind == "and":
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else _Bool("and", tuple(items))

    def unary(self) -> Any:
        if self.tok.kind == "not":
            self.take()
            return _Not(self.unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.take()
            node = self.expr()
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise self.fail("')'")
            self.take()
            return node
        return self.comparison()

    def comparison(self) -> _Compare:
        if self.tok.kind != "word":
            raise self.fail("a field name")
        field_token = self.take()
        op = self.operator()
        literal = self.value_list() if op in ("in", "not in") else self.value()
        return _Compare(field_token.text, op, literal, field_token.pos)

    def operator(self) -> str:
        token = self.tok
        if token.kind == "op":
            self.take()
            return "!=" if token.text == "<>" else token.text
        if token.kind in ("contains", "like", "in"):
            self.take()
            return token.kind
        if token.kind == "not":
            self.take()
            if self.tok.kind in ("contains", "like", "in"):
                return "not " + self.take().kind
            raise self.fail("'contains', 'like' or 'in' after 'not'")
        raise self.fail("an operator (= != < > <= >= contains like in)")

    def value(self) -> _Literal:
        token = self.tok
        if token.kind == "string":
            self.take()
            inner = token.text[1:-1]
            return _Literal("string", re.sub(r"\\(.)", r"\1", inner), token.text)
        if token.kind == "datetime":
            self.take()
            inner = token.text[1:-1].strip()
            try:
                moment = _parse_datetime(inner)
            except ValueError:
                raise ConditionError(
                    f"invalid datetime {token.text} at position {token.pos}"
                ) from None
            return _Literal("datetime", moment, token.text)
        if token.kind == "number":
            self.take()
            return _Literal("number", Decimal(token.text), token.text)
        if token.kind in ("true", "false"):
            self.take()
            return _Literal("bool", token.kind == "true", token.text)
        if token.kind == "null":
            self.take()
            return _Literal("null", None, token.text)
        raise self.fail('a value ("text", [datetime], number, true, false or null)')

    def value_list(self) -> _Literal:
        if not (self.tok.kind == "punct" and self.tok.text == "("):
            raise self.fail("'(' starting a list of values")
        start = self.take()
        values = [self.value()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.take()
            values.append(self.value())
        if not (self.tok.kind == "punct" and self.tok.text == ")"):
            raise self.fail("',' or ')'")
        self.take()
        return _Literal("list", tuple(values), start.text)


def parse_conditions(text: str) -> Any:
    """Parse a ``conditions`` string into a tree (raises ConditionError)."""
    if not text.strip():
        raise ConditionError("conditions is empty")
    return _Parser(text).parse()


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
