"""The one Decimal JSON codec (recon_tui.jsonio): money's digits exact both ways,
the json module's reading of the same text, one error for what is not JSON; and
two emulator answers that went through ``json.dumps`` with a Decimal in them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_tui.jsonio import JsonError, decode, dumps_exact, encode
from tests.test_autotask import ROOT, Sandbox

money = st.decimals(allow_nan=False, allow_infinity=False, places=2,
                    min_value=Decimal("-1e15"), max_value=Decimal("1e15"))
text = st.text(st.characters(blacklist_categories=("Cs",)))  # no lone surrogate
values = st.recursive(
    st.none() | st.booleans() | st.integers() | text | money,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20)


@given(values)
def test_decimals_come_back_with_their_digits(value: object) -> None:
    encoded = encode(value)
    assert decode(encoded) == value
    assert json.loads(encoded, parse_float=Decimal) == value  # plain JSON to anyone
    assert dumps_exact(value) == encoded.decode("utf-8")


def test_the_digits_are_the_decimals_own() -> None:
    assert encode({"a": Decimal("1.50"), "b": Decimal("-0.00"), "c": 7}) == (
        b'{"a":1.50,"b":-0.00,"c":7}')
    got = decode(b'[1.50, 1e5, 123456789012345678901234567890, -0.0]')
    assert [str(v) for v in got] == ["1.50", "1E+5", "123456789012345678901234567890",
                                     "-0.0"]
    assert isinstance(got[0], Decimal) and isinstance(got[2], int)


@given(st.recursive(st.none() | st.booleans() | st.integers() | text
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(text, inner, max_size=4), max_leaves=20))
def test_it_reads_what_json_loads_read(value: object) -> None:
    written = json.dumps(value)
    assert decode(written) == json.loads(written, parse_float=Decimal)


@pytest.mark.parametrize("data", [b"", b"not json", b'{"a": 1', b"\xff\xfe", b"NaN",
                                  b"[Infinity]", b"[" * 100_000 + b"]" * 100_000])
def test_what_is_not_json_is_one_error(data: bytes) -> None:
    with pytest.raises(JsonError) as caught:
        decode(data)
    assert isinstance(caught.value, ValueError)


# --------------------------------------------------------------------------- the emulator
@pytest.fixture(scope="module")
def autotask() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def test_a_number_where_a_filter_should_be_is_refused_by_name(autotask: Sandbox) -> None:
    """Was a 500: the message quoted the filter with json.dumps, which has no Decimal."""
    response = httpx.post(f"{autotask.url}{ROOT}/Companies/query",
                          content=b'{"filter": [1.50]}',
                          headers={**autotask.headers(), "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert "Each filter must be an object, got 1.50." in response.text


def test_a_cursors_search_keeps_its_numbers(autotask: Sandbox) -> None:
    """The next-page link carries the search as sent: a number stays a number
    (json.dumps(default=str) wrote it as the text "1.50")."""
    search = {"filter": [{"op": "gte", "field": "id", "value": 0},
                         {"op": "gte", "field": "invoiceTotal", "value": Decimal("0.50")}],
              "MaxRecords": 1}
    response = httpx.post(f"{autotask.url}{ROOT}/Invoices/query", content=encode(search),
                          headers={**autotask.headers(), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    link = response.json()["pageDetails"]["nextPageUrl"]
    sent = decode(parse_qs(urlsplit(link).query)["search"][0])
    assert sent["filter"][1]["value"] == Decimal("0.50")
    assert isinstance(sent["filter"][1]["value"], Decimal)
