"""API pages decoded by msgspec: money exact as Decimal, garbage one clear line."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import decode_json, default_error_parser, loads_exact


def test_numbers_keep_their_digits_as_decimal_and_integers_stay_int() -> None:
    body = loads_exact(b'{"TotalAmt": 1049.10, "Balance": 0.00, "Id": 9002, "big": 1e3, '
                       b'"ids": [123456789012345678901234567890], "name": "Caf\xc3\xa9"}')
    assert body["TotalAmt"] == Decimal("1049.10") and str(body["TotalAmt"]) == "1049.10"
    assert str(body["Balance"]) == "0.00" and type(body["Balance"]) is Decimal
    assert body["Id"] == 9002 and type(body["Id"]) is int
    assert body["big"] == Decimal("1E+3")
    assert body["ids"] == [123456789012345678901234567890]
    assert body["name"] == "Café"


@pytest.mark.parametrize("content", [b'{"QueryResponse": {"Invoice": [<<truncated>>',
                                     b"NaN", b'{"a": 1} trailing', b"\xff\xfe{}", b""])
def test_garbage_is_one_line_quoting_a_little_of_the_body(content: bytes) -> None:
    response = httpx.Response(200, content=content)
    with pytest.raises(ConnectorError) as caught:
        decode_json(response, "qbo", "query Invoice")
    message = str(caught.value)
    assert message.startswith("qbo: query Invoice: the server returned invalid JSON (HTTP 200, "
                              "body starts ")
    assert "\n" not in message


def test_an_error_body_that_is_not_json_falls_back_to_the_reason() -> None:
    assert default_error_parser(httpx.Response(502, content=b"<html>")) == ("Bad Gateway", None)
    answer = httpx.Response(400, content=b'{"message": "bad", "code": 7}')
    assert default_error_parser(answer) == ("bad", "7")
