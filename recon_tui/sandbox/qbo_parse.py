"""A real parser of QBO's SQL-like query subset, with QBO's own error wording.

``SELECT * | COUNT(*) | fields FROM Entity [WHERE a AND b ...] [ORDERBY f [DESC], ...]
[STARTPOSITION n] [MAXRESULTS m]``: a default page of 100, at most 1000, no ``OR``.
Source: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
(split from :mod:`qbo`; :mod:`qbo_query` runs what this parses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["DEFAULT_MAX_RESULTS", "MAX_RESULTS_LIMIT", "Condition", "Query", "QueryError",
           "parse_query"]

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000


class QueryError(ValueError):
    """A query QBO would refuse: ``code`` and ``detail`` go into the Fault."""

    def __init__(self, detail: str, code: str = "4000", message: str = "Error parsing query"):
        super().__init__(detail)
        self.code = code
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str  # = < > <= >= IN LIKE
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Query:
    entity: str
    select: tuple[str, ...] | None  # None = *, () = COUNT(*)
    count: bool = False
    where: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:[^'\\]|\\.|'')*')
     |(?P<number>-?\d+(?:\.\d+)?)(?![A-Za-z_])
     |(?P<op><=|>=|!=|<>|=|<|>)
     |(?P<punct>[(),*])
     |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


def _unquote(literal: str) -> str:
    """``'O\\'Brien'`` or ``'O''Brien'`` -> ``O'Brien``."""
    inner, out, i = literal[1:-1], [], 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and i + 1 < len(inner):
            out.append(inner[i + 1])
            i += 2
        elif ch == "'" and inner[i + 1 : i + 2] == "'":
            out.append("'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(
                f'QueryParserError: Encountered " "{text[pos:].strip()[:20]}"" at column {pos + 1}'
            )
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            tokens.append(("string", _unquote(raw)))
        elif kind == "number":
            tokens.append(("number", Decimal(raw)))
        elif kind == "word" and raw.lower() in ("true", "false"):
            tokens.append(("bool", raw.lower() == "true"))
        else:
            tokens.append((kind, raw))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise QueryError('QueryParserError: Encountered "<EOF>": the query ends too soon')
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        """Consume the next token if it is one of ``words`` (case-insensitive)."""
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() in words:
            self.pos += 1
            return token[1].upper()
        return None

    def expect_keyword(self, word: str) -> None:
        if self.keyword(word) is None:
            raise self.unexpected(f"expecting {word}")

    def expect_punct(self, char: str) -> None:
        token = self.take()
        if token != ("punct", char):
            self.pos -= 1
            raise self.unexpected(f'expecting "{char}"')

    def unexpected(self, expecting: str) -> QueryError:
        token = self.peek()
        shown = "<EOF>" if token is None else str(token[1])
        return QueryError(f'QueryParserError: Encountered " "{shown}"" ({expecting})')

    def word(self, what: str) -> str:
        token = self.take()
        if token[0] != "word":
            self.pos -= 1
            raise self.unexpected(f"expecting {what}")
        return str(token[1])

    def integer(self, what: str) -> int:
        token = self.take()
        if token[0] != "number" or token[1] != token[1].to_integral_value():
            self.pos -= 1
            raise self.unexpected(f"expecting a whole number after {what}")
        return int(token[1])

    def value(self) -> Any:
        token = self.take()
        if token[0] in ("string", "number", "bool"):
            return token[1]
        self.pos -= 1
        raise self.unexpected("expecting a value")

    def condition(self) -> Condition:
        name = self.word("a field name")
        if self.keyword("IN"):
            self.expect_punct("(")
            values = [self.value()]
            while self.peek() == ("punct", ","):
                self.pos += 1
                values.append(self.value())
            self.expect_punct(")")
            return Condition(name, "IN", tuple(values))
        if self.keyword("LIKE"):
            token = self.take()
            if token[0] != "string":
                self.pos -= 1
                raise self.unexpected("expecting a quoted pattern after LIKE")
            return Condition(name, "LIKE", (token[1],))
        token = self.take()
        if token[0] != "op" or token[1] in ("!=", "<>"):
            self.pos -= 1
            raise self.unexpected("expecting =, <, >, <=, >=, IN or LIKE")
        return Condition(name, token[1], (self.value(),))

    def query(self) -> Query:
        """``SELECT ... FROM entity [WHERE ...] [ORDERBY ...] [STARTPOSITION n]
        [MAXRESULTS n]``, each clause in that order, as the data-queries page lists."""
        self.expect_keyword("SELECT")
        select, count = self.selection()
        self.expect_keyword("FROM")
        entity = self.word("an entity name")
        where = self.where()
        order = self.order_by()
        start, limit = 1, DEFAULT_MAX_RESULTS
        if self.keyword("STARTPOSITION"):
            start = self.integer("STARTPOSITION")
        if self.keyword("MAXRESULTS"):
            limit = self.integer("MAXRESULTS")
        if self.peek() is not None:
            if self.keyword("OR"):
                raise QueryError('QueryParserError: Encountered " "OR"": OR is not supported')
            raise self.unexpected("expecting the end of the query")
        _check_page(start, limit)
        return Query(
            entity=entity,
            select=select,
            count=count,
            where=tuple(where),
            order_by=tuple(order),
            start=start,
            max_results=limit,
        )

    def selection(self) -> tuple[tuple[str, ...] | None, bool]:
        """(fields, is a count): ``*`` is None, ``COUNT(*)`` is ``((), True)``."""
        if self.peek() == ("punct", "*"):
            self.pos += 1
            return None, False
        if self.keyword("COUNT"):
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            return (), True
        fields = [self.word("a field list")]
        while self.peek() == ("punct", ","):
            self.pos += 1
            fields.append(self.word("a field name"))
        return tuple(fields), False

    def where(self) -> list[Condition]:
        """The WHERE clause's conditions, joined by AND (QBO has no OR)."""
        where: list[Condition] = []
        if self.keyword("WHERE"):
            where.append(self.condition())
            while True:
                if self.keyword("OR"):
                    raise QueryError(
                        'QueryParserError: Encountered " "OR"": OR is not '
                        "supported (use IN, or separate queries)"
                    )
                if not self.keyword("AND"):
                    break
                where.append(self.condition())
        return where

    def order_by(self) -> list[tuple[str, bool]]:
        """``ORDERBY`` (or ``ORDER BY``) fields, each (name, descending)."""
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDERBY") or (self.keyword("ORDER") and self._by()):
            while True:
                name = self.word("a field to order by")
                descending = self.keyword("DESC", "ASC") == "DESC"
                order.append((name, descending))
                if self.peek() != ("punct", ","):
                    break
                self.pos += 1
        return order

    def _by(self) -> bool:
        self.expect_keyword("BY")
        return True


def _check_page(start: int, limit: int) -> None:
    """STARTPOSITION from 1; MAXRESULTS from 1 to 1000, in QBO's wording."""
    if start < 1:
        raise QueryError(
            f"QueryValidationError: STARTPOSITION {start} must be 1 or more",
            code="4001",
            message="Invalid query",
        )
    if limit < 1 or limit > MAX_RESULTS_LIMIT:
        raise QueryError(
            f"QueryValidationError: value {limit} is too large. Max allowed "
            f"value is: {MAX_RESULTS_LIMIT}"
            if limit > 1
            else f"QueryValidationError: MAXRESULTS {limit} must be 1 or more",
            code="4001",
            message="Invalid query",
        )


def parse_query(text: str) -> Query:
    """Parse QBO's query subset; raises QueryError with QBO's wording on anything else."""
    return _Parser(text).query()
