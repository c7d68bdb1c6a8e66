"""Fault injection for the emulator: ``--faults SPEC``.

SPEC is a comma-separated list of ``FAULT@SYSTEM[:N][+COUNT]``: inject FAULT on
the N-th request (1-based, default 1) that SYSTEM receives, and on the COUNT-1
requests after it (default COUNT 1). SYSTEM is ``qbo``, ``token`` (the OAuth
endpoint), ``connectwise`` or ``autotask``.

Transport faults; N counts every request to SYSTEM:

* ``429`` (throttled, with Retry-After), ``500``, ``503``, ``401`` (access token
  expired), ``slow`` (answer after ``--slow-ms``), ``garbage`` (a 200 whose body
  is not JSON).

Page faults rewrite a list page the emulator really answered (a proxy or a
misbehaving server between recon-tui and the API). N counts only SYSTEM's *list
pages*: QBO ``SELECT`` queries other than ``COUNT(*)``; ConnectWise list GETs
(not ``/count``, not one record by id); Autotask ``{Entity}/query`` and
``{Entity}/query/next``. Counts, CDC and reads by id are never rewritten: they
are what a connector checks a page against. Not for ``token``:

* ``empty``: QBO ``{"QueryResponse": {}, "time": ...}`` (what QBO answers for no
  rows), ConnectWise ``[]`` with an empty ``Link``, Autotask ``{"items": [],
  "pageDetails": {"count": 0, ..., "nextPageUrl": null}}``;
* ``short``: the page with the last half of its rows dropped (links kept);
* ``nokey``: QBO ``QueryResponse`` without its entity key but with
  ``startPosition``/``maxResults``; ConnectWise ``{}`` instead of the array;
  Autotask ``pageDetails`` without ``items``;
* ``repeat``: the page for a later position answered with the first page (a
  proxy ignoring ``STARTPOSITION``, ``pageId``/``page`` or the Autotask cursor).
  N counts only *later* pages (QBO ``STARTPOSITION`` above 1, a ConnectWise
  ``pageId`` or ``page`` above 1, Autotask ``query/next``);
* ``foreign`` (``connectwise``, ``autotask`` only; QBO pages carry no link): the
  page's next link (ConnectWise ``Link: <...>; rel="next"``, Autotask
  ``pageDetails.nextPageUrl``) pointed at :attr:`FaultPlan.foreign_origin`,
  same path and query, also on the last page.

Token faults (``token`` only); N counts requests to the token endpoint:

* ``echo``: an error (:attr:`FaultPlan.echo_status`, default 502) whose JSON body
  echoes the request form (``grant_type=refresh_token&refresh_token=...``) in
  ``error``, ``error_description`` and ``message``. (The HTTP reason phrase
  cannot be set through ASGI: uvicorn always sends the standard one.)
* ``truncated``: the real answer (the refresh token has rotated on the server)
  as a 200 whose JSON body is cut in the middle of the new refresh token.

Write faults (``qbo``, ``connectwise``, ``autotask``); N counts only SYSTEM's
*writes* (POST, PUT, PATCH, DELETE):

* ``drop_after_write``: the write is applied (and the demo's state saved), then
  the connection is closed without a byte of the answer, as when a network drops
  the response: the client cannot tell whether its write landed. QBO writes keep
  their ``requestid``, so a retry with the same one is answered from the first;
  ConnectWise has no such key, so a client must re-read before writing again.

Standing faults: from the N-th request SYSTEM receives on, *every* later request
of SYSTEM gets them (a wrong clock or a missing permission does not fix itself),
unless ``+COUNT`` limits them; they combine with the faults above:

* ``skew=MINUTES`` (any system; MINUTES a signed whole number, e.g.
  ``skew=15@qbo``, ``skew=-90@connectwise``): the ``Date`` response header is
  MINUTES off the real time (the emulator writes ``Date`` itself, RFC 9110
  format), as a server or client with a wrong clock shows;
* ``forbidden`` (``qbo``, ``connectwise``, ``autotask``): a 403 in the system's
  own envelope for a permission the API user lacks (see :func:`forbidden_body`),
  to callers whose credentials are good only (a bad key stays a 401; the
  unauthenticated look-ups are never refused);
* ``expired`` (``token`` only): every ``grant_type=refresh_token`` request is
  answered ``400 {"error": "invalid_grant"}``, as Intuit answers an expired or
  revoked refresh token; authorization-code grants still work (a new
  authorization gives a new refresh token);
* ``zone_moved`` (``autotask`` only): the tenant moves to the emulator's second
  zone (``/zone2/atservicesrest/v1.0``): the old root answers 401 and
  ``zoneInformation`` names the new URL (see :mod:`recon_tui.sandbox.onboarding`).
  Permanent for the emulator's life; COUNT does not apply.

A bad key is already a 401 from each API; no fault is needed for it. Tests adding
a standing fault with :meth:`FaultPlan.add` pass ``count=FOREVER`` themselves.

Example: ``429@qbo:2,500@connectwise:1+2,empty@qbo:3,foreign@autotask:2,echo@token``,
``skew=15@qbo,forbidden@connectwise:3,expired@token,zone_moved@autotask:2``
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

TRANSPORT_FAULTS = ("429", "500", "503", "401", "slow", "garbage")
PAGE_FAULTS = ("empty", "short", "nokey", "repeat", "foreign")
TOKEN_FAULTS = ("echo", "truncated")
WRITE_FAULTS = ("drop_after_write",)
#: Apply to every request from the N-th on (see the module docstring).
STANDING_FAULTS = ("skew", "forbidden", "expired", "zone_moved")
FAULTS = TRANSPORT_FAULTS + PAGE_FAULTS + TOKEN_FAULTS + WRITE_FAULTS + STANDING_FAULTS
#: A standing fault's COUNT when none is given: for the emulator's whole life.
FOREVER = 10**9
SYSTEMS = ("qbo", "token", "connectwise", "autotask")

#: What a request is, for counting: every request is ANY; list pages are PAGE too,
#: and pages after a read's first are LATER as well; writes are WRITE.
ANY, PAGE, LATER, WRITE = "any", "page", "later", "write"


class FaultSpecError(ValueError):
    """A --faults value that cannot be read; the message says which part and why."""


def fault_name(fault: str) -> str:
    """``skew=15`` -> ``skew``; other faults are their own name."""
    return fault.partition("=")[0]


def skew_minutes(fault: str) -> int:
    """The minutes of a ``skew=MINUTES`` fault (parse_faults has checked them)."""
    return int(fault.partition("=")[2])


def counted_as(fault: str) -> str:
    """Which requests a fault's N counts (see the module docstring)."""
    fault = fault_name(fault)
    if fault == "repeat":
        return LATER
    if fault in WRITE_FAULTS:
        return WRITE
    if fault in PAGE_FAULTS:
        return PAGE
    return ANY


def check_applies(fault: str, system: str) -> str | None:
    """Why ``fault`` makes no sense on ``system``, or None when it does."""
    fault = fault_name(fault)
    if fault == "expired" and system != "token":
        return "'expired' makes refresh tokens expire: use expired@token"
    if fault == "zone_moved" and system != "autotask":
        return "only Autotask has zones: use zone_moved@autotask"
    if fault == "forbidden" and system == "token":
        return ("'forbidden' is an API permission; the token endpoint refuses with "
                "invalid_grant (use expired@token)")
    if fault in TOKEN_FAULTS and system != "token":
        return f"'{fault}' is a token endpoint fault (use {fault}@token)"
    if fault in WRITE_FAULTS and system == "token":
        return f"'{fault}' drops the answer to a write; use qbo, connectwise or autotask"
    if fault in PAGE_FAULTS and system == "token":
        return f"'{fault}' rewrites list pages; the token endpoint has none"
    if fault == "foreign" and system == "qbo":
        return "QBO pages by STARTPOSITION and sends no next link to point elsewhere"
    return None


@dataclass(frozen=True, slots=True)
class FaultRule:
    fault: str
    system: str
    start: int = 1
    count: int = 1

    def applies(self, nth: int) -> bool:
        return self.start <= nth < self.start + self.count


@dataclass
class FaultPlan:
    """Rules plus per-system request counters (thread-safe)."""

    rules: list[FaultRule] = field(default_factory=list)
    retry_after_seconds: int = 1
    slow_ms: int = 2000
    #: Where ``foreign`` points next-page links (scheme://host:port).
    foreign_origin: str = "http://127.0.0.1:9"
    #: The HTTP status of an ``echo`` answer.
    echo_status: int = 502
    #: Every list page served, in order: (system, later page?, what it lists), so
    #: a test can aim a page fault at one read's N-th page.
    pages: deque[tuple[str, bool, str]] = field(default_factory=lambda: deque(maxlen=10_000))
    _seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, system: str, kinds: frozenset[str] = frozenset(),
                   what: str = "") -> str | None:
        """Count one request to ``system`` (of ``kinds`` besides ANY: PAGE, LATER, WRITE;
        ``what`` names a page's list) and say which fault, if any, it gets."""
        faults = self.next_faults(system, kinds, what)
        return faults[0] if faults else None

    def next_faults(self, system: str, kinds: frozenset[str] = frozenset(),
                    what: str = "") -> list[str]:
        """Like :meth:`next_fault`, but every fault due, in rule order (standing
        faults combine with one transient fault)."""
        counted = {ANY, *kinds}
        with self._lock:
            if PAGE in kinds:
                self.pages.append((system, LATER in kinds, what))
            for kind in counted:
                self._seen[system, kind] += 1
            nth = {kind: self._seen[system, kind] for kind in counted}
        return [rule.fault for rule in self.rules
                if rule.system == system and counted_as(rule.fault) in nth
                and rule.applies(nth[counted_as(rule.fault)])]

    def requests_seen(self, system: str, kind: str = ANY) -> int:
        """Requests (or, with ``kind`` PAGE, LATER or WRITE, list pages or writes)
        ``system`` received."""
        with self._lock:
            return self._seen[system, kind]

    def add(self, rule: FaultRule) -> None:
        """Tests add rules on a running emulator, relative to requests seen so far
        (of the kind the fault counts)."""
        with self._lock:
            seen = self._seen[rule.system, counted_as(rule.fault)]
            self.rules.append(FaultRule(rule.fault, rule.system, seen + rule.start, rule.count))

    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
            self._seen.clear()
            self.pages.clear()


def parse_faults(spec: str | None) -> FaultPlan:
    plan = FaultPlan()
    if not spec:
        return plan
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        fault, sep, rest = part.partition("@")
        if not sep:
            raise FaultSpecError(f"fault '{part}': expected FAULT@SYSTEM[:N][+COUNT]")
        _check_name(fault, part)
        count = FOREVER if fault_name(fault) in STANDING_FAULTS else 1
        if "+" in rest:
            rest, _, count_text = rest.partition("+")
            count = _positive(count_text, part, "COUNT")
        system, _, start_text = rest.partition(":")
        if system not in SYSTEMS:
            raise FaultSpecError(f"fault '{part}': unknown system '{system}' "
                                 f"(one of {', '.join(SYSTEMS)})")
        problem = check_applies(fault, system)
        if problem:
            raise FaultSpecError(f"fault '{part}': {problem}")
        start = _positive(start_text, part, "N") if start_text else 1
        plan.rules.append(FaultRule(fault, system, start, count))
    return plan


def _check_name(fault: str, part: str) -> None:
    """A known fault; ``skew`` and only ``skew`` with ``=MINUTES``."""
    name, eq, minutes = fault.partition("=")
    if name not in FAULTS:
        raise FaultSpecError(f"fault '{part}': unknown fault '{name}' "
                             f"(one of {', '.join(FAULTS)})")
    if name == "skew":
        if not re.fullmatch(r"[+-]?\d{1,6}", minutes):
            raise FaultSpecError(f"fault '{part}': skew needs its minutes, e.g. "
                                 "skew=15@qbo or skew=-90@connectwise")
    elif eq:
        raise FaultSpecError(f"fault '{part}': only skew takes a value (skew=MINUTES)")


def _positive(text: str, part: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise FaultSpecError(f"fault '{part}': {name} must be a whole number") from None
    if value < 1:
        raise FaultSpecError(f"fault '{part}': {name} must be 1 or more")
    return value


# --------------------------------------------------------------------------- page rewrites
# Pure functions over a decoded page: the middleware in app.py calls the route,
# hands the JSON and the Link header here, and sends back what they return.

_QBO_META = ("startPosition", "maxResults", "totalCount")


def rewrite_page(fault: str, system: str, body: Any, link: str | None, *,
                 origin: str, request_url: str) -> tuple[Any, str | None]:
    """(body, Link header) of a page under ``fault`` (empty, short, nokey, foreign)."""
    if system == "qbo":
        return _qbo(fault, body), link
    if system == "connectwise":
        return _connectwise(fault, body, link, origin, request_url)
    return _autotask(fault, body, origin, request_url), link


def _qbo(fault: str, body: Any) -> Any:
    response = body.get("QueryResponse") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        return body
    entity = next((k for k in response if k not in _QBO_META), None)
    rows = response.get(entity, []) if entity else []
    if fault == "empty":
        return {"QueryResponse": {}, "time": body.get("time")}
    if fault == "nokey":
        meta = {"startPosition": response.get("startPosition", 1),
                "maxResults": response.get("maxResults", len(rows))}
        return {"QueryResponse": meta, "time": body.get("time")}
    kept = rows[: len(rows) // 2]  # short
    if not kept or entity is None:
        return {"QueryResponse": {}, "time": body.get("time")}
    return {"QueryResponse": {**response, entity: kept, "maxResults": len(kept)},
            "time": body.get("time")}


def _connectwise(fault: str, body: Any, link: str | None, origin: str,
                 request_url: str) -> tuple[Any, str | None]:
    rows = body if isinstance(body, list) else []
    if fault == "empty":
        return [], ""
    if fault == "nokey":
        return {}, link
    if fault == "short":
        return rows[: len(rows) // 2], link
    target = _link_url(link) or request_url  # foreign
    return body, f'<{foreign_url(target, origin)}>; rel="next"'


def _autotask(fault: str, body: Any, origin: str, request_url: str) -> Any:
    if not isinstance(body, dict):
        return body
    items = body.get("items") if isinstance(body.get("items"), list) else []
    details = dict(body.get("pageDetails") or {})
    if fault == "empty":
        return {"items": [], "pageDetails": {**details, "count": 0, "nextPageUrl": None}}
    if fault == "nokey":
        return {"pageDetails": details}
    if fault == "short":
        kept = items[: len(items) // 2]
        return {**body, "items": kept, "pageDetails": {**details, "count": len(kept)}}
    target = details.get("nextPageUrl") or request_url.split("?")[0] + "/next?paging=%7B%7D"
    return {**body, "pageDetails": {**details, "nextPageUrl": foreign_url(target, origin)}}


_LINK_URL = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.IGNORECASE)


def _link_url(link: str | None) -> str | None:
    match = _LINK_URL.search(link or "")
    return match.group(1) if match and match.group(1) else None


def foreign_url(url: str, origin: str) -> str:
    """``url`` with its scheme and host:port replaced by ``origin``'s."""
    parts, other = urllib.parse.urlsplit(url), urllib.parse.urlsplit(origin)
    return urllib.parse.urlunsplit((other.scheme, other.netloc, parts.path, parts.query, ""))


def forbidden_body(system: str) -> dict[str, Any]:
    """A 403 for a permission the API user lacks, in ``system``'s envelope.

    QBO: lowercase ``fault`` with ``AuthorizationFailed``/3100, type SERVICE, as a
    real 403 body quoted in intuit/oauth-jsclient issue #2 shows. ConnectWise: its
    ``{"code", "message", "errors"}`` envelope; 403 is "Improper security role
    settings for the supplied authentication" (ConnectWise Developer Guide, HTTP
    Response Statuses, https://developer.connectwise.com/Best_Practices/PSA/Developer_Guide,
    read in a markdown copy); the ``code`` value ``Forbidden`` is not documented
    (ours, after its ``Unauthorized`` for 401). Autotask: ``{"errors": [...]}``;
    403 means valid credentials without the permission (a Postman collection's
    notes for ``Companies/entityInformation``; Autotask's own page not stored).
    """
    from recon_tui.sandbox.envelopes import autotask_error, connectwise_error, now_iso

    if system == "qbo":
        return {"fault": {"error": [{
            "message": "message=AuthorizationFailed; errorCode=003100; statusCode=403",
            "detail": "The API user lacks a permission this request needs (injected)",
            "code": "3100"}], "type": "SERVICE"}, "time": now_iso()}
    if system == "connectwise":
        return connectwise_error("Forbidden", "Improper security role settings for the "
                                 "supplied authentication (injected)")
    return autotask_error("The API user's security level does not permit this request "
                          "(injected).")


def echo_body(form: str) -> dict[str, str]:
    """An error body that repeats the request it answers (a careless gateway)."""
    return {"error": form, "error_description": f"could not process request: {form}",
            "message": form}


def truncate_token_answer(text: str) -> str | None:
    """The token answer cut in the middle of its refresh token, or None when it
    holds none."""
    match = re.search(r'"refresh_token"\s*:\s*"([^"]*)"', text)
    if match is None or not match.group(1):
        return None
    return text[: match.start(1) + len(match.group(1)) // 2]
