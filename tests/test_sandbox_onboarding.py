"""The emulator's onboarding flows over real sockets: Intuit's authorization-code
flow and code grant, QBO CompanyInfo, ConnectWise ``login/companyinfo``, Autotask
``zoneInformation`` and a zone move, and the doctor's standing faults (skew,
forbidden, expired). The real connectors run where they apply."""

from __future__ import annotations

import base64
import json
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from recon_tui.backend import SANDBOX_REALM, connect, sandbox_configs
from recon_tui.config import AutotaskConfig, ConnectWiseConfig, QboLedgerConfig, Secret
from recon_tui.connectors.autotask import AutotaskConnector
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.connectors.qbo import QboConnector
from recon_tui.connectors.tokens import TokenStore
from recon_tui.sandbox import autotask as at_sandbox
from recon_tui.sandbox.faults import FaultRule, FaultSpecError, parse_faults
from recon_tui.sandbox.onboarding import (
    ACCOUNTING_SCOPE,
    DEMO_COMPANY_NAME,
    banner,
    state_of,
)
from recon_tui.sandbox.qbo import CLIENT_ID, CLIENT_SECRET
from recon_tui.sandbox.server import SandboxServer
from tests.emulator import running_emulator

REFERENCE = Path(__file__).parent / "reference_payloads" / "qbo" / "companyinfo_read.json"
CALLBACK = "http://localhost:53682/callback"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
AT_HEADERS = {"ApiIntegrationCode": at_sandbox.INTEGRATION_CODE,
              "UserName": at_sandbox.USERNAME, "Secret": at_sandbox.SECRET}
EVERYTHING = {"filter": [{"op": "gte", "field": "id", "value": 0}]}


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxServer, Any, Any]]:
    with running_emulator() as running:
        yield running


def request_fields(**changes: str) -> dict[str, str]:
    fields = {"client_id": CLIENT_ID, "response_type": "code", "scope": ACCOUNTING_SCOPE,
              "redirect_uri": CALLBACK, "state": "st-123"}
    fields.update(changes)
    return fields


def consent(url: str, decision: str = "connect", **changes: str) -> httpx.Response:
    return httpx.post(url + "/connect/oauth2/consent",
                      data={**request_fields(**changes), "decision": decision})


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    return dict(httpx.URL(response.headers["location"]).params)


def exchange(url: str, code: str, redirect_uri: str = CALLBACK,
             authorization: str = BASIC) -> httpx.Response:
    return httpx.post(url + "/oauth2/v1/tokens/bearer",
                      data={"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect_uri},
                      headers={"Authorization": authorization, "Accept": "application/json"})


def refresh(url: str, token: str) -> httpx.Response:
    return httpx.post(url + "/oauth2/v1/tokens/bearer",
                      data={"grant_type": "refresh_token", "refresh_token": token},
                      headers={"Authorization": BASIC})


def authorized_code(url: str, redirect_uri: str = CALLBACK) -> str:
    return redirect_params(consent(url, redirect_uri=redirect_uri))["code"]


# --------------------------------------------------------------------------- consent
def test_consent_page_names_app_and_company_and_its_form_approves(sandbox) -> None:
    server, _, _ = sandbox
    page = httpx.get(server.url + "/connect/oauth2", params=request_fields())
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert CLIENT_ID in page.text and SANDBOX_REALM in page.text
    assert DEMO_COMPANY_NAME in page.text
    # Post back exactly what the form holds, as a browser would.
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    assert hidden == request_fields()
    answer = httpx.post(server.url + action, data={**hidden, "decision": "connect"})
    params = redirect_params(answer)
    assert answer.headers["location"].startswith(CALLBACK + "?")
    assert params["state"] == "st-123" and params["realmId"] == SANDBOX_REALM
    assert params["code"]


def test_cancel_redirects_access_denied_with_state(sandbox) -> None:
    server, _, _ = sandbox
    params = redirect_params(consent(server.url, "cancel"))
    assert params == {"error": "access_denied", "state": "st-123"}


@pytest.mark.parametrize("changes", [
    {"client_id": "someone-else"},
    {"redirect_uri": "https://evil.example/callback"},
    {"redirect_uri": "https://localhost:53682/callback"},  # loopback is plain http only
    {"redirect_uri": ""},
])
def test_unknown_client_or_unregistered_redirect_is_an_error_page_not_a_redirect(
        sandbox, changes: dict[str, str]) -> None:
    server, _, _ = sandbox
    for answer in (httpx.get(server.url + "/connect/oauth2", params=request_fields(**changes)),
                   consent(server.url, **changes)):
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "invalid" in answer.text


def test_any_loopback_port_and_a_registered_uri_are_accepted(sandbox) -> None:
    server, book, _ = sandbox
    for uri in ("http://127.0.0.1:9/cb", "http://localhost:65000/x?keep=1"):
        params = redirect_params(consent(server.url, redirect_uri=uri))
        assert params["code"]
    assert redirect_params(consent(server.url, redirect_uri="http://localhost:1/x?keep=1"))[
        "keep"] == "1"
    registered = "https://recon.example/oauth/callback"
    assert consent(server.url, redirect_uri=registered).status_code == 400
    state_of(book).register_redirect_uri(registered)
    assert redirect_params(consent(server.url, redirect_uri=registered))["code"]


@pytest.mark.parametrize(("changes", "error"), [
    ({"scope": "openid email"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_bad_request_goes_back_to_the_app_with_the_error(sandbox, changes, error) -> None:
    server, _, _ = sandbox
    params = redirect_params(httpx.get(server.url + "/connect/oauth2",
                                       params=request_fields(**changes)))
    assert params == {"error": error, "state": "st-123"}
    assert "code" not in redirect_params(consent(server.url, **changes))


# --------------------------------------------------------------------------- code grant
def test_code_exchange_answers_intuits_token_fields_and_the_tokens_work(sandbox) -> None:
    server, _, _ = sandbox
    answer = exchange(server.url, authorized_code(server.url))
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token_type", "access_token", "expires_in", "refresh_token",
                         "x_refresh_token_expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8_726_400
    info = httpx.get(f"{server.url}/v3/company/{SANDBOX_REALM}/companyinfo/{SANDBOX_REALM}",
                     headers={"Authorization": "Bearer " + body["access_token"]})
    assert info.status_code == 200
    assert info.json()["CompanyInfo"]["CompanyName"] == DEMO_COMPANY_NAME
    # The new refresh token is the current one: it refreshes (and rotates).
    again = refresh(server.url, body["refresh_token"])
    assert again.status_code == 200
    assert again.json()["refresh_token"] != body["refresh_token"]


def test_a_code_is_single_use(sandbox) -> None:
    server, _, _ = sandbox
    code = authorized_code(server.url)
    assert exchange(server.url, code).status_code == 200
    reused = exchange(server.url, code)
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}


def test_an_expired_code_is_invalid_grant(sandbox) -> None:
    server, book, _ = sandbox
    code = authorized_code(server.url)
    state_of(book).expire_codes()
    assert exchange(server.url, code).json() == {"error": "invalid_grant"}
    state_of(book).code_seconds = 0
    assert exchange(server.url, authorized_code(server.url)).json() == {
        "error": "invalid_grant"}


def test_redirect_uri_must_match_the_one_the_code_was_issued_for(sandbox) -> None:
    server, _, _ = sandbox
    code = authorized_code(server.url)
    assert exchange(server.url, code, "http://localhost:53682/other").status_code == 400
    # Presenting it spent it, as any presentation does.
    assert exchange(server.url, code).json() == {"error": "invalid_grant"}


def test_code_exchange_needs_the_apps_basic_auth(sandbox) -> None:
    server, book, _ = sandbox
    code = authorized_code(server.url)
    wrong = "Basic " + base64.b64encode(f"{CLIENT_ID}:nope".encode()).decode()
    assert exchange(server.url, code, authorization=wrong).status_code == 401
    other = "Basic " + base64.b64encode(b"other-app:other-secret").decode()
    state_of(book).register_app("other-app", "other-secret")
    # A code issued to the sandbox app is not the other app's to spend.
    assert exchange(server.url, authorized_code(server.url), authorization=other).json() == {
        "error": "invalid_grant"}


def test_refresh_token_lifetime_is_settable(sandbox) -> None:
    server, book, _ = sandbox
    book.qbo_state.auth.refresh_token_seconds = 20 * 86400
    body = exchange(server.url, authorized_code(server.url)).json()
    assert body["x_refresh_token_expires_in"] == 1_728_000
    assert refresh(server.url, body["refresh_token"]).json()[
        "x_refresh_token_expires_in"] == 1_728_000


def test_qbo_connector_reads_with_the_refresh_token_a_code_gave(sandbox) -> None:
    server, _, _ = sandbox
    refresh_token = exchange(server.url, authorized_code(server.url)).json()["refresh_token"]
    ledger, _ = sandbox_configs(server.url)
    config = QboLedgerConfig(realm_id=ledger.realm_id, client_id=CLIENT_ID,
                          client_secret=Secret(CLIENT_SECRET),
                          refresh_token=Secret(refresh_token), base_url=server.url,
                          token_url=ledger.token_url)
    with tempfile.TemporaryDirectory() as tokens:
        connector = QboConnector(config, token_store=TokenStore(Path(tokens) / "t.json"))
        try:
            assert connector.count("Customer") > 0
        finally:
            connector.close()


# --------------------------------------------------------------------------- CompanyInfo
def test_companyinfo_has_the_reference_samples_fields() -> None:
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert set(reference) == {"CompanyInfo", "time"}
    with running_emulator() as (server, _, _):
        token = exchange(server.url, authorized_code(server.url)).json()["access_token"]
        answer = httpx.get(f"{server.url}/v3/company/{SANDBOX_REALM}/companyinfo/"
                           f"{SANDBOX_REALM}", params={"minorversion": "75"},
                           headers={"Authorization": "Bearer " + token})
    body = answer.json()
    assert set(body) == set(reference)
    assert set(body["CompanyInfo"]) == set(reference["CompanyInfo"])
    for key in ("CompanyAddr", "LegalAddr", "CustomerCommunicationAddr"):
        assert set(body["CompanyInfo"][key]) == set(reference["CompanyInfo"][key])
    assert body["CompanyInfo"]["Country"] == "US"


def test_companyinfo_is_authorised_like_every_v3_route(sandbox) -> None:
    server, _, _ = sandbox
    path = f"{server.url}/v3/company/{SANDBOX_REALM}/companyinfo/{SANDBOX_REALM}"
    refused = httpx.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401
    assert refused.json()["fault"]["error"][0]["code"] == "3200"
    token = exchange(server.url, authorized_code(server.url)).json()["access_token"]
    other = httpx.get(f"{server.url}/v3/company/{SANDBOX_REALM}/companyinfo/123",
                      headers={"Authorization": "Bearer " + token})
    assert other.status_code == 400
    assert other.json()["Fault"]["Error"][0]["code"] == "610"


# --------------------------------------------------------------------------- ConnectWise
def test_connectwise_companyinfo_is_unauthenticated_and_its_codebase_reaches_the_api(
        sandbox) -> None:
    server, _, _ = sandbox
    info = httpx.get(server.url + "/login/companyinfo/SANDBOX")
    assert info.status_code == 200
    body = info.json()
    assert set(body) == {"CompanyName", "Codebase", "VersionCode", "VersionNumber",
                         "CompanyID", "IsCloud", "SiteUrl"}
    assert body["Codebase"] == "v4_6_release/" and body["IsCloud"] == "False"
    _, psa = sandbox_configs(server.url)
    base_url = f"http://{body['SiteUrl']}/{body['Codebase']}apis/3.0"
    connector = ConnectWiseConnector(ConnectWiseConfig(
        base_url=base_url, company_id=body["CompanyID"],
        public_key=psa.public_key, private_key=psa.private_key, client_id=psa.client_id))
    try:
        assert sum(1 for _ in connector.companies()) > 0
    finally:
        connector.close()


def test_connectwise_companyinfo_unknown_company_is_404(sandbox) -> None:
    server, _, _ = sandbox
    answer = httpx.get(server.url + "/login/companyinfo/nobody")
    assert answer.status_code == 404
    assert set(answer.json()) == {"code", "message", "errors"}


# --------------------------------------------------------------------------- Autotask
def zone_of(url: str, user: str = at_sandbox.USERNAME) -> httpx.Response:
    return httpx.get(url + "/atservicesrest/v1.0/zoneInformation", params={"user": user})


def autotask_connector(api_url: str) -> AutotaskConnector:
    return AutotaskConnector(AutotaskConfig(
        base_url=api_url.rstrip("/") + "/v1.0",
        username=at_sandbox.USERNAME, secret=Secret(at_sandbox.SECRET),
        integration_code=Secret(at_sandbox.INTEGRATION_CODE)))


def test_zone_information_points_back_at_this_emulator(sandbox) -> None:
    server, _, _ = sandbox
    answer = zone_of(server.url, at_sandbox.USERNAME.upper())
    assert answer.status_code == 200
    zone = answer.json()
    assert set(zone) == {"zoneName", "url", "webUrl", "ci"}
    assert zone["url"] == server.url + "/atservicesrest/"
    assert isinstance(zone["ci"], int)
    connector = autotask_connector(zone["url"])
    try:
        assert sum(1 for _ in connector.companies()) > 0
    finally:
        connector.close()


def test_zone_information_unknown_user_is_404_without_a_url(sandbox) -> None:
    server, _, _ = sandbox
    answer = zone_of(server.url, "nobody@example.com")
    assert answer.status_code == 404
    assert "url" not in answer.json() and answer.json()["errors"]


def test_zone_move_old_root_401_lookup_names_the_new_zone_which_serves_it() -> None:
    plan = parse_faults("zone_moved@autotask:2")
    plan.retry_after_seconds = 0
    with running_emulator(faults=plan) as (server, _, _):
        old = server.url + "/atservicesrest/v1.0/Companies/query"
        assert httpx.post(server.url + "/zone2/atservicesrest/v1.0/Companies/query",
                          json=EVERYTHING, headers=AT_HEADERS).status_code == 401
        assert httpx.post(old, json=EVERYTHING, headers=AT_HEADERS).status_code == 401
        moved = httpx.post(old, json=EVERYTHING, headers=AT_HEADERS)
        assert moved.status_code == 401
        assert moved.json() == {"errors": ["User name or secret is not valid for this zone."]}
        zone = zone_of(server.url).json()
        assert zone["url"] == server.url + "/zone2/atservicesrest/"
        page = httpx.post(zone["url"] + "v1.0/Companies/query",
                          json={**EVERYTHING, "MaxRecords": 2}, headers=AT_HEADERS)
        assert page.status_code == 200
        assert page.json()["pageDetails"]["nextPageUrl"].startswith(zone["url"])
        connector = autotask_connector(zone["url"])
        try:
            assert sum(1 for _ in connector.companies()) > 0
        finally:
            connector.close()
        # A connector still on the old root gets the 401, asks the zone once and
        # follows the tenant (the zone-aware client in connectors/autotask_zone.py).
        stale = autotask_connector(server.url + "/atservicesrest/")
        try:
            assert sum(1 for _ in stale.companies()) > 0
        finally:
            stale.close()


# --------------------------------------------------------------------------- faults
def test_every_answer_has_one_true_date_and_skew_moves_only_its_system() -> None:
    plan = parse_faults("skew=15@qbo,skew=-90@connectwise:2")
    with running_emulator(faults=plan) as (server, _, _):
        def date_of(response: httpx.Response) -> datetime:
            values = response.headers.get_list("date")
            assert len(values) == 1
            return parsedate_to_datetime(values[0])

        now = datetime.now(UTC)
        assert abs(date_of(httpx.get(server.url + "/")) - now) < timedelta(minutes=1)
        qbo = httpx.get(f"{server.url}/v3/company/{SANDBOX_REALM}/query?query=x")
        assert qbo.status_code == 401  # the fault moves the clock, not the answer
        assert abs(date_of(qbo) - now - timedelta(minutes=15)) < timedelta(minutes=1)
        cw = server.url + "/login/companyinfo/sandbox"
        assert abs(date_of(httpx.get(cw)) - now) < timedelta(minutes=1)  # N=2: not yet
        for _ in range(2):  # from the 2nd on, for good
            assert abs(date_of(httpx.get(cw)) - now + timedelta(minutes=90)) < timedelta(
                minutes=1)


CW_HEADERS = {"Authorization": "Basic " + base64.b64encode(
    b"sandbox+sandbox-public:sandbox-private").decode(),
    "clientId": "00000000-0000-0000-0000-000000000000"}


@pytest.mark.parametrize(("system", "check"), [
    ("qbo", lambda body: body["fault"]["error"][0]["code"] == "3100"),
    ("connectwise", lambda body: set(body) == {"code", "message", "errors"}),
    ("autotask", lambda body: isinstance(body["errors"], list)),
])
def test_forbidden_is_a_403_in_the_systems_envelope(system: str, check) -> None:
    with running_emulator() as (server, _, plan):
        token = exchange(server.url, authorized_code(server.url)).json()["access_token"]
        url, headers = {
            "qbo": (f"{server.url}/v3/company/{SANDBOX_REALM}/query",
                    {"Authorization": "Bearer " + token}),
            "connectwise": (f"{server.url}/v4_6_release/apis/3.0/company/companies",
                            CW_HEADERS),
            "autotask": (f"{server.url}/atservicesrest/v1.0/Companies/query", AT_HEADERS),
        }[system]
        params = {"query": "SELECT COUNT(*) FROM Customer", "search": json.dumps(EVERYTHING)}
        assert httpx.get(url, params=params, headers=headers).status_code == 200
        plan.add(FaultRule("forbidden", system, 1, 10**9))
        for _ in range(2):  # standing: every request from then on
            answer = httpx.get(url, params=params, headers=headers)
            assert answer.status_code == 403
            assert check(answer.json())
        # A caller the server does not know still gets its 401, not a 403.
        assert httpx.get(url, params=params).status_code == 401
        if system == "connectwise":  # the unauthenticated look-up is not refused
            assert httpx.get(server.url + "/login/companyinfo/sandbox").status_code == 200


def test_qbo_connector_fails_cleanly_on_forbidden() -> None:
    with running_emulator() as (server, _, plan):
        ledger_config, psa_config = sandbox_configs(server.url)
        with tempfile.TemporaryDirectory() as tokens:
            psa, ledger = connect(ledger_config, psa_config,
                                  token_path=Path(tokens) / "t.json")
            try:
                assert ledger.count("Customer") > 0
                plan.add(FaultRule("forbidden", "qbo", 1, 10**9))
                with pytest.raises(ConnectorError):
                    ledger.count("Customer")
            finally:
                psa.close()
                ledger.close()


def test_expired_refuses_refresh_but_not_a_new_authorization() -> None:
    plan = parse_faults("expired@token")
    with running_emulator(faults=plan) as (server, _, _):
        for _ in range(2):
            answer = refresh(server.url, "sandbox-refresh-token")
            assert answer.status_code == 400 and answer.json() == {"error": "invalid_grant"}
        fresh = exchange(server.url, authorized_code(server.url))
        assert fresh.status_code == 200
        assert refresh(server.url, fresh.json()["refresh_token"]).json() == {
            "error": "invalid_grant"}


@pytest.mark.parametrize(("spec", "words"), [
    ("expired@qbo", "expired@token"),
    ("zone_moved@connectwise", "zone_moved@autotask"),
    ("forbidden@token", "invalid_grant"),
    ("skew@qbo", "skew=15@qbo"),
    ("skew=soon@qbo", "skew=15@qbo"),
    ("forbidden=1@qbo", "only skew"),
])
def test_fault_spec_errors_say_what_to_write(spec: str, words: str) -> None:
    with pytest.raises(FaultSpecError, match=re.escape(words)):
        parse_faults(spec)


def test_standing_faults_last_unless_a_count_is_given() -> None:
    plan = parse_faults("skew=5@qbo:3,forbidden@autotask:1+2")
    assert [(r.fault, r.start, r.count) for r in plan.rules] == [
        ("skew=5", 3, 10**9), ("forbidden", 1, 2)]


def test_sandbox_banner_gives_a_consent_url_that_works(sandbox) -> None:
    server, _, _ = sandbox
    text = banner(server.url)
    assert CLIENT_ID in text and CLIENT_SECRET in text and SANDBOX_REALM in text
    url = re.search(r"Consent page: (\S+)", text).group(1)
    page = httpx.get(url)
    assert page.status_code == 200 and DEMO_COMPANY_NAME in page.text
    fields = dict(re.findall(r"-d (\w+)=(\S+)", text))
    answer = httpx.post(re.search(r"(\S+)$", text).group(1), data=fields)
    assert redirect_params(answer)["code"]
