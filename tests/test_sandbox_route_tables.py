"""The emulator's router tables (QBO and ConnectWise payments): every route in a
table is bound to its handler behind its guard, and each path reaches the handler
its row names (over the shared emulator fixture's real socket)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from recon_tui.sandbox import connectwise as cw
from recon_tui.sandbox import cw_payments, qbo
from recon_tui.sandbox.qbo_auth import CLIENT_ID, CLIENT_SECRET, SEED_REFRESH_TOKEN
from tests.emulator import running_emulator

COMPANY = "/v3/company/123"
CW_HEADERS = {"Authorization": f"Basic {cw._EXPECTED_AUTH}", "clientId": cw.CLIENT_ID}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with running_emulator() as (server, _, _), httpx.Client(base_url=server.url,
                                                             timeout=10) as http:
        yield http


def bearer(client: httpx.Client) -> dict[str, str]:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    answer = client.post("/oauth2/v1/tokens/bearer", headers={"Authorization": f"Basic {basic}"},
                         data={"grant_type": "refresh_token", "refresh_token": SEED_REFRESH_TOKEN})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def qbo_path(path: str) -> str:
    return f"{COMPANY}/" + path.replace("{entity:str}/{entity_id:str}", "invoice/1")


def test_the_qbo_table_lists_each_company_route_once() -> None:
    rows = [(path, method) for path, method, _ in qbo.COMPANY_ROUTES]
    assert rows == [("query", "GET"), ("cdc", "GET"), ("payment", "POST"), ("invoice", "POST"),
                    ("creditmemo", "POST"), ("{entity:str}/{entity_id:str}", "GET")]


@pytest.mark.parametrize(("path", "method"),
                         [(path, method) for path, method, _ in qbo.COMPANY_ROUTES])
def test_every_qbo_company_route_is_behind_the_bearer_guard(
    client: httpx.Client, path: str, method: str,
) -> None:
    answer = client.request(method, qbo_path(path), headers={"Authorization": "Bearer stale"})
    assert answer.status_code == 401
    assert "AuthenticationFailed" in answer.json()["fault"]["error"][0]["message"]


def test_each_qbo_row_reaches_its_handler(client: httpx.Client) -> None:
    headers = bearer(client)
    query = client.get(f"{COMPANY}/query", headers=headers,
                       params={"query": "SELECT COUNT(*) FROM Invoice"})
    assert set(query.json()["QueryResponse"]) == {"totalCount"}
    cdc = client.get(f"{COMPANY}/cdc", headers=headers)  # cdc's own refusal: no entities
    assert cdc.json()["Fault"]["Error"][0]["Detail"] == "entities and changedSince are required"
    for entity in ("invoice", "creditmemo"):  # only ?operation=delete is served
        answer = client.post(f"{COMPANY}/{entity}", headers=headers, json={})
        assert "supports only operation=delete" in answer.json()["Fault"]["Error"][0]["Detail"]
    payment = client.post(f"{COMPANY}/payment", headers=headers, json={"TotalAmt": 1})
    assert payment.json()["Fault"]["Error"][0]["Detail"].startswith(
        "Invalid Reference Id : Customer")
    read = client.get(f"{COMPANY}/widget/1", headers=headers)
    assert read.json()["Fault"]["Error"][0]["Detail"] == (
        "Operation read is not supported for widget")
    bad_minor = client.get(f"{COMPANY}/query", headers=headers, params={"minorversion": "x"})
    assert bad_minor.json()["Fault"]["Error"][0]["Message"] == "Invalid minorversion"


@pytest.mark.parametrize(("path", "method"),
                         [(path, method) for path, method, _ in cw_payments.PAYMENT_ROUTES])
def test_every_cw_payment_route_checks_auth_then_the_invoice(
    client: httpx.Client, path: str, method: str,
) -> None:
    url = f"{cw.API_ROOT}/finance/invoices/99999999/payments" + path.replace(
        "{payment_id:int}", "1")
    assert client.request(method, url).status_code == 401
    missing = client.request(method, url, headers=CW_HEADERS)
    assert missing.status_code == 404
    assert missing.json()["message"] == "Invoice with id 99999999 not found"
