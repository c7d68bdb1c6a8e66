"""The QuickBooks Online emulator: OAuth2 token endpoint and the v3 Accounting API
subset recon-tui uses, over ``book.qbo`` (entities in their API shape).

It behaves the way the real service does where connectors tend to go wrong:

* refresh tokens rotate on every refresh and the previous one stops working
  (``invalid_grant``); the seed token ``sandbox-refresh-token`` is always
  accepted so a restarted emulator still lets the demo in (unless
  ``QboAuth.seed_reusable`` is off); ``--faults slow@token:1+N`` with
  ``--slow-ms 500`` makes the token endpoint as slow as Intuit's;
* queries go through a real parser of QBO's SQL-like subset: a default page
  of 100, at most 1000, no ``OR``, inactive customers hidden unless the WHERE
  clause mentions ``Active``, no entity key in an empty answer;
* CDC looks back 30 days at most and reports deletions as ``status: Deleted``;
* writes honour ``requestid`` (a repeat returns the first answer, applied once)
  and ``SyncToken`` (stale -> fault 5010);
* ``invoice``, ``payment`` and ``creditmemo`` take ``?operation=delete`` with
  ``{"Id", "SyncToken"}`` and answer ``{"<Entity>": {"status": "Deleted", ...}}``:
  a hard delete, gone from queries and reads, reported by CDC (deleting a payment
  reopens what it paid; deleting an applied credit memo is not modelled);
* errors come in QBO's ``Fault`` envelope (lowercase ``fault`` for auth).

Sources, beside each behaviour above: queries, ``COUNT(*)`` and paging,
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries;
change data capture (30 days, 1,000 objects, ``status: Deleted``),
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture;
deletes, the entity pages of
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
and .../payment and .../invoice; ``COUNT(*)`` answering ``{"totalCount": N}`` as
python-quickbooks reads it (ej2/python-quickbooks ``quickbooks/mixins.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recon_tui.jsonio import dumps_exact
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import error_for, now_iso, qbo_auth_fault, qbo_fault

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SEED_REFRESH_TOKEN",
    "QboAuth",
    "QboEmulatorState",
    "QueryError",
    "make_big_ledger",
    "parse_query",
    "routes",
    "run_query",
]

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
SEED_REFRESH_TOKEN = "sandbox-refresh-token"
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400  # 101 days, what Intuit announces
DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000
CDC_LOOKBACK = timedelta(days=30)
CDC_OBJECT_LIMIT = 1000

#: Path segment -> entity name, for reads (``GET invoice/{id}``).
READABLE = {
    "invoice": "Invoice",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "customer": "Customer",
}

NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made "
    "inactive. Check the fields with accounts, customers, items, vendors "
    "or employees."
)
STALE_DETAIL = (
    "Stale Object Error : You and root were working on this at the same time. "
    "root finished before you did, so your work was not saved."
)


# =========================================================================== state
@dataclass
class QboAuth:
    """Issued tokens. A restarted emulator starts empty, like a new process would,
    but still accepts the seed refresh token.

    Like Intuit, every refresh rotates the refresh token and the previous one
    stops working: clients must "use the latest refresh_token returned to you
    from the previous request"
    (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq),
    and a spent one is answered ``{"error": "invalid_grant"}`` with HTTP 400.
    Only the seed is kept usable, so a restarted demo gets in; ``seed_reusable``
    False makes it single-use too, exactly as Intuit treats every token (tests of
    concurrent refreshes need that, or a spent seed would hide the race).
    """

    current_refresh: str | None = None
    seed_reusable: bool = True
    seed_spent: bool = False
    access: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch s)
    #: One entry per refresh attempt: "seed", "latest" or "rejected" (tests read it).
    grants: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every token handed out (leak checks)
    #: What ``x_refresh_token_expires_in`` says (a test sets 20 days to see a warning).
    refresh_token_seconds: int = REFRESH_TOKEN_SECONDS
    lock: threading.Lock = field(default_factory=threading.Lock)

    def grant(self, refresh_token: str) -> dict[str, Any] | None:
        """Rotate: a new refresh and access token, or None for an unknown refresh token."""
        with self.lock:
            if refresh_token == SEED_REFRESH_TOKEN and (self.seed_reusable
                                                        or not self.seed_spent):
                self.grants.append("seed")
                self.seed_spent = True
            elif self.current_refresh is not None and refresh_token == self.current_refresh:
                self.grants.append("latest")
            else:
                self.grants.append("rejected")
                return None
            return self._issue()

    def issue(self, how: str) -> dict[str, Any]:
        """A new token pair for an authorization (``how`` goes into :attr:`grants`);
        its refresh token becomes the current one (see sandbox/onboarding.py)."""
        with self.lock:
            self.grants.append(how)
            return self._issue()

    def _issue(self) -> dict[str, Any]:
        """Mint the pair (caller holds the lock)."""
        self.current_refresh = "sbx-rt-" + secrets.token_urlsafe(24)
        access = "sbx-at-" + secrets.token_urlsafe(32)
        self.access[access] = time.time() + ACCESS_TOKEN_SECONDS
        self.issued += [self.current_refresh, access]
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": self.current_refresh,
            "x_refresh_token_expires_in": self.refresh_token_seconds,
        }

    def access_ok(self, token: str) -> bool:
        with self.lock:
            expiry = self.access.get(token)
            return expiry is not None and expiry > time.time()

    def expire_access_tokens(self) -> None:
        """Test support: every access token issued so far stops working."""
        with self.lock:
            for token in self.access:
                self.access[token] = 0.0


@dataclass(frozen=True, slots=True)
class QboRequest:
    """One authorised API request, as the emulator saw it."""

    method: str
    path: str
    params: dict[str, str]


@dataclass
class QboEmulatorState:
    """Everything the QBO routes keep besides the book's entities."""

    auth: QboAuth = field(default_factory=QboAuth)
    #: requestid -> (status, body) of the first successful write with that id.
    writes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: deque[QboRequest] = field(default_factory=lambda: deque(maxlen=20_000))
    #: Test support: this many next writes commit, then answer 503 as if the
    #: response were lost on the way back (the client retries with its requestid).
    fail_after_commit: int = 0

    def queries(self) -> list[str]:
        """The query texts received, in order."""
        return [r.params.get("query", "") for r in self.requests if r.path.endswith("/query")]


# =========================================================================== queries
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
        self.expect_keyword("SELECT")
        select: tuple[str, ...] | None
        count = False
        if self.peek() == ("punct", "*"):
            self.pos += 1
            select = None
        elif self.keyword("COUNT"):
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            select, count = (), True
        else:
            fields = [self.word("a field list")]
            while self.peek() == ("punct", ","):
                self.pos += 1
                fields.append(self.word("a field name"))
            select = tuple(fields)
        self.expect_keyword("FROM")
        entity = self.word("an entity name")
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
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDERBY") or (self.keyword("ORDER") and self._by()):
            while True:
                name = self.word("a field to order by")
                descending = self.keyword("DESC", "ASC") == "DESC"
                order.append((name, descending))
                if self.peek() != ("punct", ","):
                    break
                self.pos += 1
        start, limit = 1, DEFAULT_MAX_RESULTS
        if self.keyword("STARTPOSITION"):
            start = self.integer("STARTPOSITION")
        if self.keyword("MAXRESULTS"):
            limit = self.integer("MAXRESULTS")
        if self.peek() is not None:
            if self.keyword("OR"):
                raise QueryError('QueryParserError: Encountered " "OR"": OR is not supported')
            raise self.unexpected("expecting the end of the query")
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
        return Query(
            entity=entity,
            select=select,
            count=count,
            where=tuple(where),
            order_by=tuple(order),
            start=start,
            max_results=limit,
        )

    def _by(self) -> bool:
        self.expect_keyword("BY")
        return True


def parse_query(text: str) -> Query:
    """Parse QBO's query subset; raises QueryError with QBO's wording on anything else."""
    return _Parser(text).query()


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


def _as_moment(text: str) -> datetime | None:
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
    with book.lock:
        rows = [r for r in book.qbo[entity].values() if all(_matches(r, c) for c in conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    order = query.order_by or (("Id", False),)
    for name, descending in reversed(order):  # stable sort, last key first
        rows.sort(key=lambda r, name=name: _sort_key(_lookup(r, name)), reverse=descending)
    page = rows[query.start - 1 : query.start - 1 + query.max_results]
    if query.select is not None:
        page = [_project(r, query.select) for r in page]
    if not page:
        return {}
    return {entity: page, "startPosition": query.start, "maxResults": len(page)}


def _project(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": record.get("Id")}
    for name in fields:
        top = name.split(".")[0]
        key = next((k for k in record if k.lower() == top.lower()), None)
        if key is not None:
            out[key] = record[key]
    out["sparse"] = True
    return out


# =========================================================================== responses
def _json(body: Any, status: int = 200) -> Response:
    return Response(dumps_exact(body).encode(), status_code=status, media_type="application/json")


def _fault(
    status: int, message: str, detail: str, code: str, fault_type: str = "ValidationFault"
) -> Response:
    return _json(qbo_fault(message, detail, code, fault_type), status)


def _not_found() -> Response:
    return _fault(400, "Object Not Found", NOT_FOUND_DETAIL, "610")


def _business(detail: str, code: str = "6000") -> Response:
    return _fault(
        400,
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        code,
    )


def _now_qbo() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _touch(record: dict[str, Any], moment: str) -> None:
    """What every QBO write does to the record it changes."""
    record["SyncToken"] = str(int(str(record.get("SyncToken", "0")) or 0) + 1)
    meta = record.setdefault("MetaData", {})
    meta["LastUpdatedTime"] = moment


def _next_id(book: SandboxBook) -> str:
    highest = 0
    for records in book.qbo.values():
        for key in records:
            if key.isdigit():
                highest = max(highest, int(key))
    for _, key, _ in book.qbo_deleted:
        if key.isdigit():
            highest = max(highest, int(key))
    return str(highest + 1)


class _Refused(Exception):
    """A write that QBO would refuse, carrying the response to send."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def _money(value: Any, what: str) -> Decimal:
    invalid = _Refused(_fault(400, "Request has invalid or unsupported property",
                              f"Property Name:{what} has an invalid value", "2010"))
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise invalid
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise invalid from None
    if not amount.is_finite() or amount < 0:
        raise _Refused(_business(f"{what} must be zero or more"))
    return amount


def _applied(lines: Any) -> dict[tuple[str, str], Decimal]:
    """(TxnType, TxnId) -> amount, from a payment's Line array (validated)."""
    if not isinstance(lines, list):
        raise _Refused(
            _fault(
                400,
                "Request has invalid or unsupported property",
                "Property Name:Line must be an array",
                "2010",
            )
        )
    applied: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        if not isinstance(line, dict):
            raise _Refused(
                _fault(
                    400,
                    "Request has invalid or unsupported property",
                    "Property Name:Line has an invalid element",
                    "2010",
                )
            )
        amount = _money(line.get("Amount"), "Line.Amount")
        links = line.get("LinkedTxn") or []
        if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
            raise _Refused(_business("each payment line must link exactly one transaction"))
        txn_type, txn_id = links[0].get("TxnType"), str(links[0].get("TxnId", ""))
        if txn_type not in ("Invoice", "CreditMemo"):
            raise _Refused(_business(f"a payment line cannot link a {txn_type}"))
        key = (str(txn_type), txn_id)
        applied[key] = applied.get(key, Decimal(0)) + amount
    return applied


def _save_payment(
    book: SandboxBook, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    """Validate then apply a payment create or update; the caller holds book.lock.

    Works on the difference between the lines before and after, so adding a line to
    an unapplied payment, or a zero payment linking an invoice and a credit memo,
    move exactly the linked balances.
    """
    payments = book.qbo.setdefault("Payment", {})
    customers = book.qbo.get("Customer", {})
    if existing is None:
        customer_id = str((body.get("CustomerRef") or {}).get("value", ""))
        if customer_id not in customers:
            raise _Refused(
                _fault(
                    400,
                    "Invalid Reference Id",
                    f"Invalid Reference Id : Customer {customer_id or '(none)'}",
                    "2500",
                )
            )
        if "TotalAmt" not in body:
            raise _Refused(
                _fault(
                    400,
                    "Required param missing, need to supply the required value for the API",
                    "Required parameter TotalAmt is missing in the request",
                    "2020",
                )
            )
    else:
        customer_id = str((existing.get("CustomerRef") or {}).get("value", ""))
        asked = (body.get("CustomerRef") or {}).get("value")
        if asked is not None and str(asked) != customer_id:
            raise _Refused(_business("a payment cannot move to another customer"))
    total = _money(body.get("TotalAmt", existing.get("TotalAmt") if existing else 0), "TotalAmt")
    new_lines = body["Line"] if "Line" in body else (existing or {}).get("Line", [])
    new = _applied(new_lines)
    old = _applied((existing or {}).get("Line", []))

    unapplied = total
    for (txn_type, _), amount in new.items():
        unapplied += amount if txn_type == "CreditMemo" else -amount
    if unapplied < 0:
        raise _Refused(
            _business("the amounts applied exceed the payment amount plus the credits used")
        )

    changes: list[tuple[dict[str, Any], str, Decimal]] = []
    for key in sorted(set(new) | set(old)):
        delta = new.get(key, Decimal(0)) - old.get(key, Decimal(0))
        if delta == 0:
            continue
        txn_type, txn_id = key
        record = book.qbo.get(txn_type, {}).get(txn_id)
        if record is None:
            raise _Refused(
                _fault(
                    400,
                    "Invalid Reference Id",
                    f"Invalid Reference Id : {txn_type} {txn_id}",
                    "2500",
                )
            )
        owner = str((record.get("CustomerRef") or {}).get("value", ""))
        if owner != customer_id:
            raise _Refused(_business(f"{txn_type} {txn_id} belongs to another customer"))
        field_name = "Balance" if txn_type == "Invoice" else "RemainingCredit"
        current = Decimal(record.get(field_name, record.get("Balance", 0)))
        after = current - delta
        if after < 0:
            what = "invoice balance" if txn_type == "Invoice" else "credit memo's remaining credit"
            raise _Refused(
                _business(
                    f"the amount applied to {txn_type} {txn_id} exceeds the {what} ({current})"
                )
            )
        if after > Decimal(record.get("TotalAmt", after)):
            raise _Refused(_business(f"{txn_type} {txn_id} would exceed its total"))
        changes.append((record, field_name, after))

    # Everything checked: now change the book.
    moment = _now_qbo()
    payment_id = existing["Id"] if existing else _next_id(book)
    for record, field_name, after in changes:
        record[field_name] = after
        if field_name == "RemainingCredit":
            record["Balance"] = after
        if record.get("Id") is not None and field_name == "Balance":
            links = [
                t
                for t in record.get("LinkedTxn") or []
                if not (t.get("TxnType") == "Payment" and str(t.get("TxnId")) == payment_id)
            ]
            if new.get(("Invoice", str(record["Id"])), Decimal(0)) > 0:
                links.append({"TxnId": payment_id, "TxnType": "Payment"})
            record["LinkedTxn"] = links
        _touch(record, moment)
    customer = customers.get(customer_id)
    old_total = Decimal((existing or {}).get("TotalAmt", 0))
    if customer is not None and total != old_total:
        customer["Balance"] = Decimal(customer.get("Balance", 0)) - (total - old_total)

    if existing is None:
        payment: dict[str, Any] = {
            "domain": "QBO",
            "sparse": False,
            "Id": payment_id,
            "SyncToken": "-1",
            "MetaData": {"CreateTime": moment, "LastUpdatedTime": moment},
            "TxnDate": body.get("TxnDate") or datetime.now(UTC).date().isoformat(),
            "CurrencyRef": body.get("CurrencyRef")
            or {"value": "USD", "name": "United States Dollar"},
            "CustomerRef": {
                "value": customer_id,
                "name": customers[customer_id].get("DisplayName", ""),
            },
        }
        for key in ("PrivateNote", "PaymentRefNum", "DepositToAccountRef"):
            if key in body:
                payment[key] = body[key]
    else:
        payment = existing
        for key, value in body.items():
            if key not in ("Id", "SyncToken", "sparse", "MetaData", "domain", "CustomerRef"):
                payment[key] = value
    payment["TotalAmt"] = total
    payment["UnappliedAmt"] = unapplied
    payment["Line"] = new_lines
    _touch(payment, moment)
    payments[payment_id] = payment
    return payment


# =========================================================================== routes
Handler = Callable[[Request], Awaitable[Response]]


def routes(book: SandboxBook) -> list[Route]:
    """The token endpoint and the v3 company routes, over ``book``.

    The emulator's own state goes on ``book.qbo_state`` (tokens fresh on every
    start, like a restarted service; the requestid log kept with the book).
    """
    previous = getattr(book, "qbo_state", None)
    state = QboEmulatorState()
    if previous is not None:
        state.writes = previous.writes
    book.qbo_state = state  # type: ignore[attr-defined]

    def authed(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not state.auth.access_ok(token.strip()):
                return _json(qbo_auth_fault(), 401)
            minor = request.query_params.get("minorversion")
            if minor is not None and not minor.isdigit():
                return _fault(
                    400, "Invalid minorversion", f"minorversion {minor!r} is not a number", "4000"
                )
            state.requests.append(
                QboRequest(request.method, request.url.path, dict(request.query_params))
            )
            return await handler(request)

        return endpoint

    async def token(request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        from recon_tui.sandbox import onboarding  # late: it imports this module

        if scheme.lower() != "basic" or not onboarding.client_ok(book, client_id, secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if form.get("grant_type", [""])[0] == "authorization_code":
            return onboarding.exchange_code(book, state.auth, client_id, form)
        if form.get("grant_type", [""])[0] != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        answer = state.auth.grant(form.get("refresh_token", [""])[0])
        if answer is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def query(request: Request) -> Response:
        text = request.query_params.get("query", "")
        try:
            result = run_query(book, text)
        except QueryError as exc:
            return _fault(400, exc.message, exc.detail, exc.code)
        return _json({"QueryResponse": result, "time": now_iso()})

    async def read(request: Request) -> Response:
        entity = READABLE.get(request.path_params["entity"].lower())
        if entity is None:
            return _fault(
                400,
                "Unsupported Operation",
                f"Operation read is not supported for {request.path_params['entity']}",
                "500",
            )
        entity_id = request.path_params["entity_id"]
        with book.lock:
            record = book.qbo.get(entity, {}).get(entity_id)
            body = dumps_exact({entity: record, "time": now_iso()}) if record else None
        if body is None:
            return _not_found()
        return Response(body.encode(), media_type="application/json")

    async def cdc(request: Request) -> Response:
        names = [
            n.strip() for n in request.query_params.get("entities", "").split(",") if n.strip()
        ]
        since_text = request.query_params.get("changedSince", "")
        since = _as_moment(since_text)
        if not names or since is None:
            return _fault(
                400,
                "Required param missing, need to supply the required value for the API",
                "entities and changedSince are required",
                "2020",
            )
        if datetime.now(UTC) - since > CDC_LOOKBACK:
            return _fault(
                400, "Invalid changedSince", "changedSince must be within the last 30 days", "4001"
            )
        try:
            entities = [_entity_name(book, n) for n in names]
        except QueryError as exc:
            return _fault(400, exc.message, exc.detail, exc.code)
        budget = CDC_OBJECT_LIMIT
        responses: list[dict[str, Any]] = []
        with book.lock:
            for entity in entities:
                changed = [
                    r
                    for r in book.qbo[entity].values()
                    if _changed_since(_lookup(r, "MetaData.LastUpdatedTime"), since)
                ]
                changed.sort(key=lambda r: _sort_key(_lookup(r, "MetaData.LastUpdatedTime")))
                deleted = [
                    {
                        "domain": "QBO",
                        "status": "Deleted",
                        "Id": key,
                        "MetaData": {"LastUpdatedTime": when},
                    }
                    for name, key, when in book.qbo_deleted
                    if name == entity and _changed_since(when, since)
                ]
                rows = (changed + deleted)[:budget]
                budget -= len(rows)
                responses.append(
                    {entity: rows, "startPosition": 1, "maxResults": len(rows)} if rows else {}
                )
            body = dumps_exact({"CDCResponse": [{"QueryResponse": responses}], "time": now_iso()})
        return Response(body.encode(), media_type="application/json")

    async def write(request: Request, apply: Callable[[dict[str, Any]], Response]) -> Response:
        """Shared by every write: JSON body, requestid replay, lost-response simulation."""
        try:
            body = json.loads(await request.body(), parse_float=Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _fault(
                400,
                "Request has invalid or unsupported property",
                "The request body must be a JSON object",
                "2010",
            )
        request_id = request.query_params.get("requestid")
        with book.lock:
            if request_id and request_id in state.writes:
                status, cached = state.writes[request_id]
                return Response(cached, status_code=status, media_type="application/json")
            try:
                response = apply(body)
            except _Refused as refused:
                return refused.response
            if request_id and response.status_code == 200:
                state.writes[request_id] = (response.status_code, bytes(response.body))
            if state.fail_after_commit > 0:
                state.fail_after_commit -= 1
                return JSONResponse(
                    error_for("qbo", 503, "Service unavailable (after commit)"), status_code=503
                )
        return response

    def deletion(entity: str, body: dict[str, Any]) -> dict[str, Any] | Response:
        """The record a ``?operation=delete`` names, or the fault QBO answers."""
        record = book.qbo.setdefault(entity, {}).get(str(body.get("Id", "")))
        if record is None:
            return _not_found()
        if str(body.get("SyncToken")) != str(record.get("SyncToken")):
            return _fault(400, "Stale Object Error", STALE_DETAIL, "5010")
        return record

    def deleted(entity: str, record_id: str) -> Response:
        """Hard delete: gone from queries and reads, reported by CDC as Deleted."""
        del book.qbo[entity][record_id]
        book.qbo_deleted.append((entity, record_id, _now_qbo()))
        return _json({entity: {"domain": "QBO", "status": "Deleted", "Id": record_id},
                      "time": now_iso()})

    async def payment(request: Request) -> Response:
        if request.query_params.get("operation") == "delete":
            # Deleting a payment gives back what it paid: its invoices reopen and the
            # credit memos it used regain their credit (the lines are unwound).
            def remove(body: dict[str, Any]) -> Response:
                found = deletion("Payment", body)
                if isinstance(found, Response):
                    return found
                _save_payment(book, {"TotalAmt": 0, "Line": []}, found)
                return deleted("Payment", str(found["Id"]))

            return await write(request, remove)

        def apply(body: dict[str, Any]) -> Response:
            payments = book.qbo.setdefault("Payment", {})
            existing = None
            if body.get("Id") is not None:
                existing = payments.get(str(body["Id"]))
                if existing is None:
                    return _not_found()
                if str(body.get("SyncToken")) != str(existing.get("SyncToken")):
                    return _fault(400, "Stale Object Error", STALE_DETAIL, "5010")
            saved = _save_payment(book, body, existing)
            return _json({"Payment": saved, "time": now_iso()})

        return await write(request, apply)

    async def invoice(request: Request) -> Response:
        if request.query_params.get("operation") != "delete":
            return _fault(
                400,
                "Unsupported Operation",
                "The emulator supports only operation=delete on invoices",
                "500",
            )

        def apply(body: dict[str, Any]) -> Response:
            found = deletion("Invoice", body)
            if isinstance(found, Response):
                return found
            customer = book.qbo.get("Customer", {}).get(
                str((found.get("CustomerRef") or {}).get("value", ""))
            )
            if customer is not None:  # its open balance leaves the customer's
                customer["Balance"] = Decimal(customer.get("Balance", 0)) - Decimal(
                    found.get("Balance", 0)
                )
            return deleted("Invoice", str(found["Id"]))

        return await write(request, apply)

    async def credit_memo(request: Request) -> Response:
        if request.query_params.get("operation") != "delete":
            return _fault(400, "Unsupported Operation",
                          "The emulator supports only operation=delete on credit memos", "500")

        def remove(body: dict[str, Any]) -> Response:
            found = deletion("CreditMemo", body)
            if isinstance(found, Response):
                return found
            if Decimal(found.get("RemainingCredit", 0)) != Decimal(found.get("TotalAmt", 0)):
                # Not modelled here: QBO unlinks an applied memo from its payments.
                return _business("the emulator deletes only credit memos not yet applied")
            return deleted("CreditMemo", str(found["Id"]))

        return await write(request, remove)

    company = "/v3/company/{realm:str}"
    return [
        Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
        Route(f"{company}/query", authed(query), methods=["GET"]),
        Route(f"{company}/cdc", authed(cdc), methods=["GET"]),
        Route(f"{company}/payment", authed(payment), methods=["POST"]),
        Route(f"{company}/invoice", authed(invoice), methods=["POST"]),
        Route(f"{company}/creditmemo", authed(credit_memo), methods=["POST"]),
        Route(f"{company}/{{entity:str}}/{{entity_id:str}}", authed(read), methods=["GET"]),
    ]


# =========================================================================== test support
def make_big_ledger(book: SandboxBook, n_invoices: int, n_customers: int) -> list[str]:
    """Add ``n_customers`` customers and ``n_invoices`` invoices spread over them (ids
    above any in the book), for paging tests. Returns the new invoice ids in order."""
    if n_customers < 1 and n_invoices:
        raise ValueError("invoices need at least one customer")
    with book.lock:
        for entity in ("Customer", "Invoice", "Payment", "CreditMemo"):
            book.qbo.setdefault(entity, {})
        next_id = int(_next_id(book))
        base = datetime(2026, 1, 1, tzinfo=UTC)
        customer_ids = []
        for n in range(n_customers):
            cid = str(next_id + n)
            customer_ids.append(cid)
            stamp = (base + timedelta(minutes=n)).isoformat()
            book.qbo["Customer"][cid] = {
                "domain": "QBO",
                "sparse": False,
                "Id": cid,
                "SyncToken": "0",
                "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
                "DisplayName": f"Load Test Customer {n + 1:05d}",
                "CompanyName": f"Load Test Customer {n + 1:05d}",
                "Active": n % 10 != 9,  # every tenth one inactive
                "Balance": Decimal("0.00"),
            }
        next_id += n_customers
        ids = []
        for n in range(n_invoices):
            iid = str(next_id + n)
            ids.append(iid)
            cid = customer_ids[n % n_customers]
            day = date(2026, 1, 1) + timedelta(days=n % 300)
            stamp = (base + timedelta(hours=n)).isoformat()
            total = Decimal(100 + (n * 37) % 9000) + Decimal(n % 100) / 100
            balance = total if n % 3 else Decimal("0.00")
            book.qbo["Invoice"][iid] = {
                "domain": "QBO",
                "sparse": False,
                "Id": iid,
                "SyncToken": "0",
                "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
                "DocNumber": f"LT-{n + 1:06d}",
                "TxnDate": day.isoformat(),
                "DueDate": (day + timedelta(days=30)).isoformat(),
                "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
                "LinkedTxn": [],
                "Line": [
                    {
                        "Id": "1",
                        "LineNum": 1,
                        "Amount": total,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": "9"},
                            "Qty": 1,
                            "UnitPrice": total,
                        },
                    }
                ],
                "CustomerRef": {"value": cid},
                "TotalAmt": total,
                "Balance": balance,
            }
            customer = book.qbo["Customer"][cid]
            customer["Balance"] = customer["Balance"] + balance
    return ids
