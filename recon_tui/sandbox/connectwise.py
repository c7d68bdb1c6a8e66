"""Emulated ConnectWise PSA (Manage REST 3.0) endpoints over ``book.connectwise``.

Served under ``/v4_6_release/apis/3.0/``:

* ``GET company/companies``, ``company/contacts``, ``finance/invoices`` (lists),
  ``.../{id}`` (one record) and ``.../count`` (``{"count": N}``);
* Basic auth ``sandbox+sandbox-public:sandbox-private`` and a ``clientId`` header,
  else 401 in ConnectWise's ``{"code", "message", "errors"}`` envelope;
* ``conditions`` (the subset people and the connector use: ``field op value``
  joined by ``and``/``or``, ``not``, parentheses; ops ``= != < > <= >=``,
  ``contains``, ``like`` with ``*`` or ``%``, ``in (...)``; values ``"strings"``,
  ``[datetimes]``, numbers, ``true``/``false``/``null``; nested fields like
  ``company/id``; ``lastUpdated`` resolving to ``_info/lastUpdated``); anything else
  is a 400 in the real envelope saying where the parse failed;
* ``orderBy=field asc|desc[, ...]``, ``page``/``pageSize`` (default 25, max 1000)
  with a ``Link`` header carrying first/prev/next/last like the real API;
* with header ``pagination-type: forward-only``: keyset pages in id order and a
  ``Link: <absolute url with pageId=...>; rel="next"`` header, empty on the last
  page (ConnectWise sends the header, blank, when there is nothing more).

* ``fields=id,company/id,_info/lastUpdated``: only those paths of each record;
* ``DELETE finance/invoices/{id}`` (204, and the invoice leaves the unposted list);
* ``finance/accounting/unpostedinvoices`` (and ``/count``): what the accounting
  interface has not exported yet (``id``, ``billingLogId``, ``invoiceNumber``,
  ``invoiceType``, ``company``, ``invoiceDate``, ``total``...), numbered pages.

Records go out exactly as stored (amounts as exact JSON numbers), in the shapes
of API version 2022.1: no ``glBatch`` on invoices, no ledger-id field (the
optional custom field is on a few invoices of the sample book only).

Sources: ConnectWise publishes its reference behind a login; the shapes and
endpoints follow the public clients generated from its OpenAPI schema
(HealthITAU/pyconnectwise ``src/pyconnectwise/models/manage/__init__.py``:
Invoice ``type`` Agreement/CreditMemo/DownPayment/Miscellaneous/Progress/Standard,
Contact ``disablePortalLoginFlag``, UnpostedInvoice, Count; its endpoints
``FinanceInvoicesIdEndpoint`` (GET, DELETE), ``FinanceInvoicesCountEndpoint``,
``FinanceAccountingUnpostedinvoicesEndpoint``), and for ``fields`` and forward-only
paging christaylorcodes/ConnectWiseManageAPI ``Invoke-CWMGetMaster.ps1`` and
``Invoke-CWMAllResult.ps1``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.envelopes import connectwise_error

__all__ = [
    "API_ROOT",
    "CLIENT_ID",
    "COMPANY_ID",
    "ENDPOINTS",
    "PRIVATE_KEY",
    "PUBLIC_KEY",
    "ConditionError",
    "grow_book",
    "parse_conditions",
    "routes",
]

API_ROOT = "/v4_6_release/apis/3.0"
COMPANY_ID = "sandbox"
PUBLIC_KEY = "sandbox-public"
PRIVATE_KEY = "sandbox-private"
CLIENT_ID = "00000000-0000-0000-0000-000000000000"
_EXPECTED_AUTH = base64.b64encode(f"{COMPANY_ID}+{PUBLIC_KEY}:{PRIVATE_KEY}".encode()).decode()

ENDPOINTS: dict[str, str] = {
    "company/companies": "companies",
    "company/contacts": "contacts",
    "finance/invoices": "invoices",
    "finance/accounting/unpostedinvoices": "unpostedinvoices",
}
"""URL path -> collection in ``book.connectwise``."""

DELETABLE = {"finance/invoices": "invoices"}
"""Collections whose records ``DELETE .../{id}`` removes (answering 204)."""

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


# --------------------------------------------------------------------------- errors
class ConditionError(ValueError):
    """A ``conditions`` or ``orderBy`` value the emulator cannot accept."""

    def __init__(self, message: str, field: str = "conditions") -> None:
        super().__init__(message)
        self.field = field


def _error(
    status: int, code: str, message: str, *, field: str | None = None, resource: str | None = None
) -> JSONResponse:
    body = connectwise_error(code, message)
    if field is not None:
        body["errors"] = [
            {
                "code": "InvalidField" if field != "conditions" else "InvalidConditions",
                "message": message,
                "resource": resource or "",
                "field": field,
            }
        ]
    return JSONResponse(body, status_code=status)


# --------------------------------------------------------------------------- conditions
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


_MISSING = object()


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


# --------------------------------------------------------------------------- HTTP
def _authorized(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return (
        scheme.lower() == "basic"
        and token.strip() == _EXPECTED_AUTH
        and bool(request.headers.get("clientid", "").strip())
    )


def _unauthorized(request: Request) -> JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or token.strip() != _EXPECTED_AUTH:
        message = "Invalid company, public key or private key"
    else:
        message = "A clientId header is required on every request (developer.connectwise.com)"
    return _error(401, "Unauthorized", message)


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


def _selected(
    book: SandboxBook, collection: str, request: Request
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, ...]]]:
    with book.lock:
        records = list(book.connectwise.get(collection, {}).values())
    paths = _known_paths(records)
    conditions = request.query_params.get("conditions")
    if conditions is not None:
        tree = parse_conditions(conditions)
        records = [r for r in records if _matches(tree, r, paths)]
    return records, paths


def _list_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        try:
            records, paths = _selected(book, collection, request)
            size = min(_int_param(request, "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
            order_text = request.query_params.get("orderBy", "").strip()
            forward = request.headers.get("pagination-type", "").strip().lower() == "forward-only"
            if forward:
                if order_text and [(p, d) for p, d in _order_by(order_text, paths)] != [
                    (("id",), False)
                ]:
                    raise ConditionError(
                        "forward-only pagination returns records in id "
                        "order; use orderBy=id asc or leave it out",
                        "orderBy",
                    )
                return _forward_page(request, records, size)
            order = _order_by(order_text, paths) if order_text else []
            page = _int_param(request, "page", 1, 1)
            return _numbered_page(request, _sorted(records, order), page, size)
        except ConditionError as exc:
            return _error(400, "InvalidObject", f"{exc}", field=exc.field, resource=collection)

    return handler


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
                node = node.get(part) if isinstance(node, Mapping) else None
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
    after = _int_param(request, "pageId", 0, 0)
    remaining = sorted((r for r in records if int(r["id"]) > after), key=lambda r: int(r["id"]))
    page = remaining[:size]
    link = ""
    if len(remaining) > size:
        params = {k: v for k, v in request.query_params.items() if k not in ("page", "pageId")}
        params["pageSize"] = str(size)
        params["pageId"] = str(page[-1]["id"])
        link = f'<{_url(request, params)}>; rel="next"'
    return _json(_project(page, request), {"Link": link})


def _numbered_page(
    request: Request, records: list[dict[str, Any]], page: int, size: int
) -> Response:
    start = (page - 1) * size
    body = _project(records[start : start + size], request)
    last = max(1, -(-len(records) // size))
    base = {k: v for k, v in request.query_params.items() if k != "page"}
    base["pageSize"] = str(size)
    links = []
    if records:
        if page > 1:
            links.append(f'<{_url(request, {**base, "page": "1"})}>; rel="first"')
            links.append(
                f'<{_url(request, {**base, "page": str(min(page - 1, last))})}>; rel="prev"'
            )
        if page < last:
            links.append(f'<{_url(request, {**base, "page": str(page + 1)})}>; rel="next"')
            links.append(f'<{_url(request, {**base, "page": str(last)})}>; rel="last"')
    return _json(body, {"Link": ", ".join(links)} if links else None)


def _count_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        try:
            records, _ = _selected(book, collection, request)
        except ConditionError as exc:
            return _error(400, "InvalidObject", f"{exc}", field=exc.field, resource=collection)
        return _json({"count": len(records)})

    return handler


def _one_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        record_id = request.path_params["record_id"]
        with book.lock:
            record = book.connectwise.get(collection, {}).get(record_id)
        if record is None:
            noun = collection[:-1].capitalize()
            return _error(404, "NotFound", f"{noun} with id {record_id} not found")
        return _json(record)

    return handler


def _delete_endpoint(book: SandboxBook, collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if not _authorized(request):
            return _unauthorized(request)
        record_id = request.path_params["record_id"]
        with book.lock:
            record = book.connectwise.get(collection, {}).pop(record_id, None)
            if record is not None and collection == "invoices":
                # A deleted invoice leaves the accounting interface's unposted list too.
                unposted = book.connectwise.get("unpostedinvoices", {})
                for key in [k for k, u in unposted.items()
                            if u.get("billingLogId") == record_id
                            or u.get("invoiceNumber") == record.get("invoiceNumber")]:
                    del unposted[key]
        if record is None:
            noun = collection[:-1].capitalize()
            return _error(404, "NotFound", f"{noun} with id {record_id} not found")
        return Response(status_code=204)

    return handler


def routes(book: SandboxBook) -> list[Route]:
    """The ConnectWise endpoints over ``book``."""
    out: list[Route] = []
    for path, collection in ENDPOINTS.items():
        out.append(
            Route(f"{API_ROOT}/{path}/count", _count_endpoint(book, collection), methods=["GET"])
        )
        out.append(
            Route(
                f"{API_ROOT}/{path}/{{record_id:int}}",
                _one_endpoint(book, collection),
                methods=["GET"],
            )
        )
        if path in DELETABLE:
            out.append(
                Route(
                    f"{API_ROOT}/{path}/{{record_id:int}}",
                    _delete_endpoint(book, collection),
                    methods=["DELETE"],
                )
            )
        out.append(Route(f"{API_ROOT}/{path}", _list_endpoint(book, collection), methods=["GET"]))
    return out


# --------------------------------------------------------------------------- test support
def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def grow_book(book: SandboxBook, at_least: int = 2600, *, extra_invoices: int = 0) -> None:
    """Add synthetic companies, contacts and invoices until each collection holds
    ``at_least`` records (invoices ``extra_invoices`` more), for paging tests
    (deterministic; ids above the demo's)."""
    base = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    with book.lock:
        cw = book.connectwise
        companies = cw.setdefault("companies", {})
        contacts = cw.setdefault("contacts", {})
        invoices = cw.setdefault("invoices", {})
        next_id = max(companies, default=0) + 1
        while len(companies) < at_least:
            n = next_id
            companies[n] = {
                "id": n,
                "identifier": f"Synth{n}",
                "name": f"Synthetic Client {n}",
                "status": {"id": 1, "name": "Active"},
                "deletedFlag": False,
                "types": [{"id": 1, "name": "Client"}],
                "_info": {
                    "lastUpdated": _iso(base + timedelta(hours=n % 7000)),
                    "dateEntered": _iso(base - timedelta(days=400)),
                },
            }
            next_id += 1
        company_ids = sorted(companies)
        next_id = max(contacts, default=0) + 1
        while len(contacts) < at_least:
            n = next_id
            company = companies[company_ids[n % len(company_ids)]]
            contacts[n] = {
                "id": n,
                "firstName": "Synth",
                "lastName": f"Contact{n}",
                "company": {
                    "id": company["id"],
                    "identifier": company["identifier"],
                    "name": company["name"],
                },
                "portalSecurityLevel": 1 + n % 6,
                "inactiveFlag": n % 11 == 0,
                "communicationItems": [
                    {
                        "id": n * 10 + 1,
                        "type": {"id": 1, "name": "Email"},
                        "value": f"contact{n}@synthetic.example.com",
                        "defaultFlag": True,
                        "communicationType": "Email",
                    }
                ],
                "_info": {"lastUpdated": _iso(base + timedelta(hours=n % 7000))},
            }
            next_id += 1
        next_id = max(invoices, default=0) + 1
        while len(invoices) < at_least + extra_invoices:
            n = next_id
            company = companies[company_ids[n % len(company_ids)]]
            total = Decimal(f"{100 + n % 900}.{n % 100:02d}")
            paid = n % 3 == 0
            day = date(2025, 12, 1) + timedelta(days=n % 330)
            invoices[n] = {
                "id": n,
                "invoiceNumber": f"S{n}",
                "type": "Standard",
                "status": {"id": 4 if paid else 2, "name": "Paid" if paid else "Sent"},
                "company": {
                    "id": company["id"],
                    "identifier": company["identifier"],
                    "name": company["name"],
                },
                "applyToType": "All",
                "date": f"{day.isoformat()}T00:00:00Z",
                "dueDate": f"{(day + timedelta(days=30)).isoformat()}T00:00:00Z",
                "billingTerms": {"id": 1, "name": "Net 30 days"},
                "subtotal": total,
                "salesTax": Decimal("0.00"),
                "total": total,
                "payments": total if paid else Decimal("0.00"),
                "credits": Decimal("0.00"),
                "balance": Decimal("0.00") if paid else total,
                "currency": {"id": 1, "currencyCode": "USD", "name": "US Dollars"},
                "_info": {
                    "lastUpdated": _iso(base + timedelta(hours=n % 7000)),
                    "dateEntered": f"{day.isoformat()}T18:05:00Z",
                },
            }
            next_id += 1
