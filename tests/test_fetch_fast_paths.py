"""The fetch half's short cuts give what the long way gives.

* a page whose keys are all set, distinct and new is taken whole by the counted
  read; any other page goes row by row: the records yielded and the errors
  raised are those of the row-by-row check for every kind of page;
* a date or time text read again is looked up, not parsed: the same value
  either way, a text that does not parse is refused every time, and a book with
  more distinct texts than are kept still reads each one right;
* a relative URL is not built into a request to check its origin: whatever its
  shape, it is sent to the base URL's host;
* the records a sync builds by the hundred thousand are not tracked by the
  garbage collector, and hold nothing that could point back at them.
"""

from __future__ import annotations

import gc
import itertools
import random
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_args

import httpx
import msgspec
import pytest

from recon_tui.connectors import records
from recon_tui.connectors.base import BadData
from recon_tui.connectors.connectwise_records import _day, _reader
from recon_tui.connectors.http import ApiClient, RetryPolicy
from recon_tui.connectors.paging import counted_read
from recon_tui.connectors.records import Slow, day_of_moment, fast_moment, parse_utc_datetime
from recon_tui.models import (
    Contact,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)

FAST = RetryPolicy(max_attempts=1)


def row_by_row(fetch: Callable[[int], tuple[str, list[Any]]], expected: int,
               page_size: int) -> Iterator[Any]:
    """The counted read's page checks as they read before the short cut."""
    pages = -(-expected // page_size)
    seen: set[str] = set()
    for index in range(pages):
        operation, rows = fetch(index)
        due = min(page_size, expected - index * page_size)
        fresh = []
        for row in rows:
            key = str(row.get("id", ""))
            if key and key in seen:
                continue
            seen.add(key)
            fresh.append(row)
        if rows and not fresh:
            raise BadData("x", f"{operation}: repeated")
        if len(rows) != due:
            raise BadData("x", f"r: read {len(seen):,} of the {expected:,} records c counts; "
                          f"the answer was incomplete ({operation} held {len(rows):,} where "
                          f"{due:,} were due, or the records changed during the read), so "
                          "nothing was taken from it")
        yield from fresh
    if len(seen) != expected:
        raise BadData("x", f"r: read {len(seen):,} of the {expected:,} records c counts; the "
                      "answer was incomplete, so nothing was taken from it")


def outcome(read: Iterator[Any]) -> tuple[list[Any], str | None]:
    got: list[Any] = []
    try:
        for row in read:
            got.append(row)
    except BadData as exc:
        return got, str(exc)
    return got, None


def pages_of(rng: random.Random) -> tuple[list[list[dict[str, Any]]], int, int]:
    """Pages as a server might send them: mostly fresh ids, now and then a
    blank id, a repeat within the page or of an earlier page, a short page."""
    size = rng.choice([1, 2, 3, 5])
    count = rng.randint(0, 4)
    pages: list[list[dict[str, Any]]] = []
    next_id = 1
    for _ in range(count):
        page = []
        for _ in range(size if rng.random() > 0.2 else rng.randint(0, size)):
            roll = rng.random()
            if roll < 0.08:
                page.append({"id": ""})
            elif roll < 0.16 and next_id > 1:
                page.append({"id": str(rng.randint(1, next_id - 1))})
            elif roll < 0.2:
                page.append({})
            else:
                page.append({"id": str(next_id)})
                next_id += 1
        pages.append(page)
    expected = sum(map(len, pages)) if rng.random() > 0.2 else rng.randint(0, size * count + 1)
    return pages, expected, size


def test_the_counted_read_takes_a_clean_page_whole_and_checks_every_other_as_before() -> None:
    rng = random.Random(12)
    for _ in range(3000):
        pages, expected, size = pages_of(rng)

        def fetch(index: int, pages: list[list[dict[str, Any]]] = pages) -> tuple[str, list[Any]]:
            return f"page {index + 1}", pages[index] if index < len(pages) else []

        ours = outcome(counted_read(fetch, expected, size, 1, system="x", read="r",
                                    counted_by="c", repeated="repeated",
                                    key=lambda row: str(row.get("id", ""))))
        assert ours == outcome(row_by_row(fetch, expected, size)), (pages, expected, size)


TIMES = ["2026-03-02T10:15:00Z", "2026-03-02T10:15:00-08:00", " 2026-03-02T10:15:00Z ",
         "2026-03-02T10:15:00.1234567", "2026-03-02", "2026-03-02T10:15:00+05:30",
         "2026-13-45T00:00:00Z", "", "not a time", "2026-03-02T24:00:00Z"]


def checked_moment(text: str) -> object:
    try:
        return parse_utc_datetime(text)
    except ValueError:
        return "refused"


def fast(text: str) -> object:
    try:
        return fast_moment(text)
    except Slow:
        return "refused"


def checked_day(text: str) -> object:
    try:
        return _day(_reader("invoice", {"id": 1, "date": text}), "date", required=True)
    except ValueError:
        return "refused"


def day(text: str) -> object:
    try:
        return day_of_moment(text)
    except ValueError:
        return "refused"


def test_a_time_or_date_read_again_is_what_it_read_the_first_time() -> None:
    for text in TIMES * 3:  # first read, then looked up (or refused again)
        assert fast(text) == checked_moment(text), text
        assert day(text) == checked_day(text), text
    assert "not a time" not in records._MOMENTS and "not a time" not in records._DAYS


def test_more_distinct_times_than_are_kept_still_read_right(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "_MOMENTS", {})
    monkeypatch.setattr(records, "_DAYS", {})
    monkeypatch.setattr(records, "_CACHED", 5)
    texts = [f"2026-03-{d:02d}T10:{m:02d}:00-0{d % 10}:00"
             for d, m in itertools.product(range(1, 29), range(0, 60, 7))]
    for text in texts + texts:
        assert fast(text) == checked_moment(text)
        assert day(text) == checked_day(text)
    assert len(records._MOMENTS) == len(records._DAYS) == 5


@pytest.mark.parametrize("url", [
    "company/companies", "/company/companies", "//evil.example/x", "http:evil.example",
    "\\\\evil.example\\x", " https://evil.example/", "finance/invoices/12/payments?x=1"])
def test_a_relative_url_of_any_shape_goes_only_to_the_base_host(url: str) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[])

    api = ApiClient("cw", "https://cw.example:8443/v4_6_release/apis/3.0/", retry=FAST,
                    transport=httpx.MockTransport(answer), sleep=lambda _s: None)
    try:
        api.get_json(url, operation="list", params={"page": 2})
    finally:
        api.close()
    assert [(r.url.scheme, r.url.host, r.url.port) for r in sent] == [
        ("https", "cw.example", 8443)]
    assert sent[0].url.path.startswith("/v4_6_release/apis/3.0/")


SCALARS = (str, int, bool, Decimal, date, datetime, type(None))


@pytest.mark.parametrize("record", [PsaCompany, Contact, PsaInvoice, LedgerCustomer,
                                    LedgerInvoice, OrganizationalCredit])
def test_the_records_a_sync_builds_are_untracked_and_hold_only_scalars(record: type) -> None:
    for field in msgspec.structs.fields(record):
        kinds = get_args(field.type) or (field.type,)
        assert all(isinstance(k, type) and issubclass(k, SCALARS) for k in kinds), (
            record, field.name)  # enums are str enums
    sample = msgspec.convert(
        {f.name: _value(f.type) for f in msgspec.structs.fields(record)}, record)
    assert not gc.is_tracked(sample)


def _value(kind: Any) -> object:
    kind = (get_args(kind) or (kind,))[0]
    values = {str: "1", int: 1, bool: True, Decimal: "1.00", date: "2026-03-02",
              datetime: "2026-03-02T10:15:00Z"}
    if kind in values:
        return values[kind]
    return next(iter(kind)).value  # an enum: its first member
