"""The emulator's ConnectWise invoice payments (``finance/invoices/{id}/payments``)
over real sockets: paging, writes that move the invoice, refusals in ConnectWise's
envelope, and the fault that applies a write and loses its answer."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recon_tui.connectors.http import dumps_exact
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.faults import FaultRule, FaultSpecError, parse_faults
from recon_tui.sandbox.server import SandboxServer
from tests.emulator import running_emulator

AUTH = base64.b64encode(b"sandbox+sandbox-public:sandbox-private").decode()
HEADERS = {"Authorization": f"Basic {AUTH}", "clientId": "00000000-0000-0000-0000-000000000000"}
SEED_000 = 5099  # 110273: one $10 payment in the sample book
SEED_004 = 5355  # 220499-1: 3717.00 owing in ConnectWise, paid in QBO
ATOMAR_10040, ATOMAR_MEMO = 4555, 6004  # 10040 (120.00) and CM-1004 (10.00 left)


class Client:
    """httpx against the emulator's ConnectWise root, parsing amounts exactly."""

    def __init__(self, server: SandboxServer) -> None:
        self.root = f"{server.url}/v4_6_release/apis/3.0/finance/invoices"
        self.http = httpx.Client(headers=HEADERS, timeout=10)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{self.root}/{path}", params=params)

    def post(self, invoice_id: int, body: object) -> httpx.Response:
        return self.http.post(f"{self.root}/{invoice_id}/payments",
                              content=dumps_exact(body).encode(),
                              headers={"Content-Type": "application/json"})

    def invoice(self, invoice_id: int) -> dict[str, Any]:
        return exact(self.get(str(invoice_id)))


def exact(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture
def emulator() -> Iterator[tuple[Client, SandboxBook, Any]]:
    with running_emulator() as (server, book, plan):
        client = Client(server)
        yield client, book, plan
        client.http.close()


def test_lists_the_sample_payment_in_the_documented_shape(emulator) -> None:
    client, _book, _plan = emulator
    [payment] = exact(client.get(f"{SEED_000}/payments"))
    assert set(payment) == {"id", "invoice", "amount", "paymentDate", "appliedBy", "_info"}
    assert payment["invoice"] == {"id": SEED_000, "identifier": "110273"}
    assert payment["amount"] == Decimal("10.00")
    assert payment["paymentDate"] == "2026-07-02T00:00:00Z"
    assert exact(client.get(f"{SEED_000}/payments/{payment['id']}")) == payment


def test_pages_like_the_other_routes(emulator) -> None:
    client, _book, _plan = emulator
    for amount in ("100.00", "200.00", "300.00"):
        assert client.post(SEED_004, {"amount": Decimal(amount)}).status_code == 201
    first = client.get(f"{SEED_004}/payments", pageSize=2)
    assert [p["amount"] for p in exact(first)] == [Decimal("100.00"), Decimal("200.00")]
    assert 'rel="next"' in first.headers["link"] and "page=2" in first.headers["link"]
    second = client.get(f"{SEED_004}/payments", pageSize=2, page=2)
    assert [p["amount"] for p in exact(second)] == [Decimal("300.00")]
    assert 'rel="next"' not in second.headers.get("link", "")
    newest = exact(client.get(f"{SEED_004}/payments", orderBy="id desc",
                              conditions="amount >= 200"))
    assert [p["amount"] for p in newest] == [Decimal("300.00"), Decimal("200.00")]
    # No payment yet is an empty page, not an error, conditions included.
    assert exact(client.get(f"{ATOMAR_10040}/payments", conditions="amount > 0")) == []


def test_post_moves_the_invoice_and_a_later_read_shows_it(emulator) -> None:
    client, book, _plan = emulator
    before = client.invoice(SEED_004)
    created = client.post(SEED_004, {"amount": Decimal("3717.00"),
                                     "paymentDate": "2026-11-20T00:00:00Z",
                                     "invoice": {"id": SEED_004}})
    payment = exact(created, 201)
    assert payment["invoice"] == {"id": SEED_004, "identifier": "220499-1"}
    assert (payment["amount"], payment["paymentDate"]) == (Decimal("3717.00"),
                                                           "2026-11-20T00:00:00Z")
    assert payment["appliedBy"] and "type" not in payment
    after = client.invoice(SEED_004)
    assert after["payments"] == before["payments"] + Decimal("3717.00")
    assert (after["balance"], after["status"]["name"]) == (Decimal("0.00"), "Paid")
    assert after["_info"]["lastUpdated"] > before["_info"]["lastUpdated"]
    assert exact(client.get(f"{SEED_004}/payments")) == [payment]
    assert book.connectwise["payments"][payment["id"]]["amount"] == Decimal("3717.00")


def test_a_credit_memo_applied_moves_both_documents(emulator) -> None:
    client, _book, _plan = emulator
    created = client.post(ATOMAR_10040, {"amount": Decimal("10.00"),
                                         "credit": {"id": ATOMAR_MEMO}})
    assert created.status_code == 201, created.text
    assert created.json()["credit"] == {"id": ATOMAR_MEMO, "identifier": "CM-1004"}
    invoice, memo = client.invoice(ATOMAR_10040), client.invoice(ATOMAR_MEMO)
    assert (invoice["credits"], invoice["balance"]) == (Decimal("10.00"), Decimal("110.00"))
    assert invoice["status"]["name"] == "Partially Paid"
    assert (memo["credits"], memo["balance"], memo["status"]["name"]) == (
        Decimal("-10.00"), Decimal("0.00"), "Paid")
    again = client.post(ATOMAR_10040, {"amount": Decimal("1.00"), "credit": {"id": ATOMAR_MEMO}})
    assert again.status_code == 400 and "remaining credit" in again.json()["message"]


def test_delete_gives_the_amount_back(emulator) -> None:
    client, _book, _plan = emulator
    [payment] = exact(client.get(f"{SEED_000}/payments"))
    gone = client.http.delete(f"{client.root}/{SEED_000}/payments/{payment['id']}")
    assert gone.status_code == 204
    invoice = client.invoice(SEED_000)
    assert (invoice["payments"], invoice["balance"], invoice["status"]["name"]) == (
        Decimal("0.00"), Decimal("50.00"), "Sent")
    assert exact(client.get(f"{SEED_000}/payments")) == []
    again = client.http.delete(f"{client.root}/{SEED_000}/payments/{payment['id']}")
    assert again.status_code == 404 and again.json()["code"] == "NotFound"


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"amount": 0}, "amount", "greater than zero"),
    ({"amount": Decimal("-5.00")}, "amount", "greater than zero"),
    ({"amount": "10.00"}, "amount", "must be a number"),
    ({}, "amount", "must be a number"),
    ({"amount": Decimal("1.005")}, "amount", "two decimals"),
    ({"amount": Decimal("3717.01")}, "amount", "exceeds the invoice balance"),
    ({"amount": 5, "invoice": {"id": SEED_000}}, "invoice/id", "invoice of the URL"),
    ({"amount": 5, "paymentDate": "yesterday"}, "paymentDate", "date-time"),
    ({"amount": 5, "credit": {"id": SEED_000}}, "credit/id", "credit memo"),
])
def test_bad_posts_are_refused_in_connectwise_envelope(emulator, body, field, words) -> None:
    client, book, _plan = emulator
    before = dict(book.connectwise["invoices"][SEED_004])
    answer = client.post(SEED_004, body)
    assert answer.status_code == 400
    error = answer.json()
    assert error["code"] == "InvalidObject" and words in error["message"]
    assert error["errors"][0]["field"] == field
    assert book.connectwise["invoices"][SEED_004] == before
    assert exact(client.get(f"{SEED_004}/payments")) == []


def test_unknown_invoice_bad_json_and_no_credentials(emulator) -> None:
    client, _book, _plan = emulator
    missing = client.get("999999/payments")
    assert missing.status_code == 404
    assert missing.json() == {"code": "NotFound", "message": "Invoice with id 999999 not found",
                              "errors": []}
    assert client.post(999999, {"amount": 5}).status_code == 404
    garbage = client.http.post(f"{client.root}/{SEED_004}/payments", content=b"{nope",
                               headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and garbage.json()["code"] == "InvalidObject"
    anonymous = httpx.get(f"{client.root}/{SEED_000}/payments", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "Unauthorized"


def test_drop_after_write_applies_the_payment_and_loses_the_answer(emulator) -> None:
    client, _book, plan = emulator
    client.invoice(SEED_004)  # a read first: the fault counts writes only
    plan.add(FaultRule("drop_after_write", "connectwise"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(SEED_004, {"amount": Decimal("17.00")})
    [landed] = exact(client.get(f"{SEED_004}/payments"))
    assert landed["amount"] == Decimal("17.00")
    assert client.invoice(SEED_004)["balance"] == Decimal("3700.00")
    # The next write is answered again.
    assert client.post(SEED_004, {"amount": Decimal("1.00")}).status_code == 201
    assert plan.requests_seen("connectwise", "write") == 2


def test_drop_after_write_spec() -> None:
    plan = parse_faults("drop_after_write@connectwise:2,drop_after_write@qbo")
    assert [(r.fault, r.system, r.start) for r in plan.rules] == [
        ("drop_after_write", "connectwise", 2), ("drop_after_write", "qbo", 1)]
    assert plan.next_fault("connectwise", frozenset({"write"})) is None
    assert plan.next_fault("connectwise") is None  # a read does not count
    assert plan.next_fault("connectwise", frozenset({"write"})) == "drop_after_write"
    with pytest.raises(FaultSpecError, match="token"):
        parse_faults("drop_after_write@token")
