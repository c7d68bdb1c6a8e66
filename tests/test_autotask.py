"""The Autotask connector against the emulator over real sockets, and its parsers."""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from recon_tui.config import AutotaskConfig, Secret
from recon_tui.connectors.autotask import AutotaskConnector, at_datetime, parse_at_error
from recon_tui.connectors.autotask_records import (
    CUSTOM_PORTAL_LEVEL,
    DEFAULT_PORTAL_LEVELS,
    company_from_at,
    contact_from_at,
    invoice_from_at,
    portal_level,
    portal_levels_from_picklist,
)
from recon_tui.connectors.base import ConnectorError, PsaConnector
from recon_tui.connectors.http import RetryPolicy
from recon_tui.connectors.records import RecordError, parse_utc_datetime
from recon_tui.connectors.sample import load_json_array, sample_data_dir
from recon_tui.money import ZERO
from recon_tui.sandbox import autotask_records as sandbox_at
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.faults import FaultRule
from tests.emulator import Emulator, Recorder, clear_faults_of, serve

ROOT = "/atservicesrest/v1.0"
FAST = RetryPolicy(
    max_attempts=4, base_delay_seconds=0.001, max_delay_seconds=0.01, jitter_ratio=0.0
)
SECRET = "sandbox-secret"
CODE = "SANDBOXINTEGRATIONCODE00000"


class Sandbox(Emulator):
    """The shared emulator fixture, with this module's connector and headers."""

    def __init__(self, grow_to: int | None = None) -> None:
        super().__init__(grow=(lambda book: sandbox_at.grow_book(book, grow_to)) if grow_to
                         else None)

    @property
    def view(self) -> dict[str, dict[int, dict]]:
        return sandbox_at.autotask_view(self.book)

    def config(self, **changes: object) -> AutotaskConfig:
        config = AutotaskConfig(
            base_url=self.server.url + ROOT,
            username="sandbox-api@example.com",
            secret=Secret(SECRET),
            integration_code=Secret(CODE),
        )
        return replace(config, **changes)  # type: ignore[arg-type]

    def connector(self, **kw: object) -> AutotaskConnector:
        config_changes = kw.pop("config", {})
        kw.setdefault("retry", FAST)
        return AutotaskConnector(self.config(**config_changes), **kw)  # type: ignore[arg-type]

    def seen(self) -> int:  # type: ignore[override]
        return super().seen("autotask")

    def headers(self) -> dict[str, str]:
        return {"ApiIntegrationCode": CODE, "UserName": "sandbox-api@example.com", "Secret": SECRET}


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    yield from serve(Sandbox)


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    yield from serve(lambda: Sandbox(grow_to=2600))


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    clear_faults_of(request, "demo", "big")


def cw_invoices() -> list[dict]:
    """The ConnectWise invoices Autotask has twins of (it has no credit memos)."""
    return sorted(
        (r for r in load_json_array(sample_data_dir() / "connectwise" / "invoices.json")
         if r["type"] != "CreditMemo"),
        key=lambda r: r["id"],
    )


def bodies(recorder: Recorder) -> list[dict]:
    """The JSON bodies sent, ``{}`` for a GET."""
    return [json.loads(r.content) if r.content else {} for r in recorder.sent]


# --------------------------------------------------------------------------- paging
@pytest.mark.parametrize(
    ("method", "entity"), [("companies", "Companies"), ("invoices", "Invoices")]
)
def test_paging_past_2500_posts_the_same_body_to_each_next_page(
    big: Sandbox, method: str, entity: str
) -> None:
    recorder = Recorder()
    connector = big.connector(transport=recorder)
    before = big.seen()
    records = list(getattr(connector, method)())
    expected = big.view[entity]
    assert len(expected) >= 2600
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == {str(i) for i in expected}
    pages = math.ceil(len(expected) / 500)
    # the pages, then the count that proves the read whole
    assert connector.requests_sent == pages + 1 == big.seen() - before
    assert [r.method for r in recorder.sent] == ["POST"] * (pages + 1)
    *listing, count = recorder.sent
    assert str(listing[0].url).endswith(f"{ROOT}/{entity}/query")
    assert all(f"/{entity}/query/next?paging=" in str(r.url) for r in listing[1:])
    assert str(count.url).endswith(f"{ROOT}/{entity}/query/count")
    first, *rest, counted = bodies(recorder)
    assert first == {"filter": [{"op": "gte", "field": "id", "value": 0}], "MaxRecords": 500}
    assert all(body == first for body in rest)
    assert counted == {"filter": first["filter"]}


def test_contacts_and_portal_users_page_past_2500(big: Sandbox) -> None:
    recorder = Recorder()
    connector = big.connector(transport=recorder)
    contacts = list(connector.contacts())
    view = big.view
    assert len(view["ClientPortalUsers"]) >= 2600 and len(view["Contacts"]) >= 2600
    assert len({c.id for c in contacts}) == len(contacts) == len(view["Contacts"])
    portal_pages = math.ceil(len(view["ClientPortalUsers"]) / 500)
    contact_pages = math.ceil(len(view["Contacts"]) / 500)
    paths = [r.url.path for r in recorder.sent]
    assert paths[0] == f"{ROOT}/ClientPortalUsers/entityInformation/fields"
    assert sum("/ClientPortalUsers/query" in p for p in paths) == portal_pages + 1
    assert sum("/Contacts/query" in p for p in paths) == contact_pages + 1
    assert connector.requests_sent == 1 + portal_pages + contact_pages + 2  # + two counts
    # every portal level arrives and matches the ConnectWise book it was derived from
    cw_contacts = big.book.connectwise["contacts"]
    for contact in contacts:
        source = cw_contacts[int(contact.id)]
        level = source.get("portalSecurityLevel")
        if source.get("inactiveFlag") or source.get("disablePortalLoginFlag") or level is None:
            assert contact.portal_security_level is None  # no active portal login
        else:
            assert contact.portal_security_level == (1 if level == 2 else level)


def test_the_demo_book_pages_in_500s(demo: Sandbox) -> None:
    connector = demo.connector()
    assert len(list(connector.invoices())) == 1039  # its credit memos have no Autotask twin
    assert connector.requests_sent == 3 + 1


# --------------------------------------------------------------------------- filters
def test_companies_since_filter_on_last_activity_date(demo: Sandbox) -> None:
    recorder = Recorder()
    since = datetime(2026, 6, 1, tzinfo=UTC)
    companies = list(demo.connector(transport=recorder).companies(since))
    assert bodies(recorder)[0]["filter"] == [
        {"op": "gte", "field": "lastActivityDate", "value": "2026-06-01T00:00:00.000"}
    ]
    expected = {
        str(c["id"])
        for c in demo.view["Companies"].values()
        if parse_utc_datetime(c["lastActivityDate"]) >= since
    }
    assert {c.id for c in companies} == expected and 0 < len(expected) < 46


def test_invoices_since_is_one_or_group_over_the_dates_an_invoice_changes(demo: Sandbox) -> None:
    recorder = Recorder()
    since = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)
    invoices = list(demo.connector(transport=recorder).invoices(since))
    (group,) = bodies(recorder)[0]["filter"]
    assert group["op"] == "or"
    assert {(i["field"], i["value"]) for i in group["items"]} == {
        ("createDateTime", "2026-06-01T15:30:00.000"),
        ("paidDate", "2026-06-01T00:00:00.000"),  # stored as a date: from midnight
        ("voidedDate", "2026-06-01T15:30:00.000"),
        ("webServiceDate", "2026-06-01T15:30:00.000"),
    }

    def changed(raw: dict) -> bool:
        midnight = since.replace(hour=0, minute=0)
        return any(
            raw[f] is not None and parse_utc_datetime(raw[f]) >= limit
            for f, limit in (
                ("createDateTime", since),
                ("paidDate", midnight),
                ("voidedDate", since),
                ("webServiceDate", since),
            )
        )

    expected = {str(r["id"]) for r in demo.view["Invoices"].values() if changed(r)}
    assert {i.id for i in invoices} == expected and 0 < len(expected) < 1039
    assert all(
        i.updated_at is not None and i.updated_at >= since.replace(hour=0, minute=0)
        for i in invoices
    )


def test_contacts_since_also_rereads_portal_users(demo: Sandbox) -> None:
    view = demo.view
    user = next(
        u
        for u in view["ClientPortalUsers"].values()
        if u["isClientPortalActive"] and u["securityLevel"] == 1
    )
    recorder = Recorder()
    connector = demo.connector(transport=recorder)
    future = datetime(2030, 1, 1, tzinfo=UTC)  # no contact modified since
    old = user["securityLevel"]
    user["securityLevel"] = 5  # promoted to Taskfire Administrator; contact untouched
    try:
        contacts = {c.id: c for c in connector.contacts(future)}
    finally:
        user["securityLevel"] = old
    assert contacts[str(user["contactID"])].portal_security_level == 6
    portal_contacts = {str(u["contactID"]) for u in view["ClientPortalUsers"].values()}
    assert set(contacts) == portal_contacts
    sent = [b for r, b in zip(recorder.sent, bodies(recorder), strict=True)
            if not r.url.path.endswith("/count")]
    in_filters = [b["filter"][0] for b in sent if b and b["filter"][0]["op"] == "in"]
    assert in_filters and all(len(f["value"]) <= 200 for f in in_filters)
    assert sent[2]["filter"] == [
        {"op": "gte", "field": "lastModifiedDate", "value": "2030-01-01T00:00:00.000"}
    ]


def test_invoice_by_number(demo: Sandbox) -> None:
    recorder = Recorder()
    connector = demo.connector(transport=recorder)
    invoice = connector.invoice_by_number("10040")
    assert invoice is not None and invoice.number == "10040"
    assert invoice == invoice_from_at(demo.view["Invoices"][int(invoice.id)])
    assert bodies(recorder)[0]["filter"] == [
        {
            "op": "or",
            "items": [
                {"op": "eq", "field": "invoiceNumber", "value": "10040"},
                {"op": "eq", "field": "id", "value": 10040},
            ],
        }
    ]
    assert connector.invoice_by_number("4501") is None  # id 4501 prints as 10001
    assert connector.invoice_by_number("99999") is None
    assert connector.invoice_by_number("INV-1") is None
    assert bodies(recorder)[-1]["filter"] == [
        {"op": "eq", "field": "invoiceNumber", "value": "INV-1"}
    ]
    blank = demo.view["Invoices"][4502]
    number = blank["invoiceNumber"]
    blank["invoiceNumber"] = None  # Autotask then prints the id
    try:
        found = connector.invoice_by_number("4502")
    finally:
        blank["invoiceNumber"] = number
    assert found is not None and found.id == found.number == "4502"


# --------------------------------------------------------------------------- parsing
def test_every_demo_invoice_parses_with_the_exact_amounts(demo: Sandbox) -> None:
    invoices = {i.id: i for i in demo.connector().invoices()}
    assert len(invoices) == 1039
    for source in cw_invoices():
        invoice = invoices[str(source["id"])]
        assert type(invoice.total) is Decimal and type(invoice.owing) is Decimal
        assert invoice.number == source["invoiceNumber"]
        assert invoice.company_id == str(source["company"]["id"])
        assert invoice.date == date.fromisoformat(source["date"][:10])
        if source["status"]["name"] == "Void":
            assert (invoice.status, invoice.total, invoice.owing) == ("Voided", ZERO, ZERO)
            continue
        assert invoice.total == source["total"]
        paid = source["balance"] == 0 and source["total"] != 0
        assert invoice.owing == (ZERO if paid else source["total"])
        assert invoice.status == ("Paid" if paid else "Open")
        unposted = {u["invoiceNumber"] for u in demo.book.connectwise["unpostedinvoices"].values()}
        assert invoice.exported == (source["invoiceNumber"] not in unposted)
        assert invoice.ledger_invoice_id is None


def test_companies_and_contacts_parse(demo: Sandbox) -> None:
    connector = demo.connector()
    companies = {c.id: c for c in connector.companies()}
    assert len(companies) == 46
    inactive = [c for c in companies.values() if c.status == "Inactive"]
    assert len(inactive) == 2  # one inactive, one in ConnectWise's recycle bin
    assert not any(c.deleted for c in companies.values())
    contacts = list(connector.contacts())
    assert len(contacts) == 149
    assert sum(c.inactive for c in contacts) == 15
    assert all(c.email and "@" in c.email for c in contacts)


def test_portal_levels_come_from_the_tenant_picklist(demo: Sandbox) -> None:
    connector = demo.connector()
    assert connector.portal_levels() == {1: 1, 2: 3, 3: 5, 4: 4, 5: 6}
    sent = connector.requests_sent
    connector.portal_levels()
    assert connector.requests_sent == sent  # cached
    fixed = demo.connector(portal_levels={1: 6, 2: 6, 3: 6, 4: 6, 5: 6})
    assert fixed.portal_levels()[1] == 6 and fixed.requests_sent == 0


def test_it_is_a_psa_connector(demo: Sandbox) -> None:
    connector = demo.connector()
    assert isinstance(connector, PsaConnector) and connector.kind == "autotask"
    connector.close()


# --------------------------------------------------------------------------- faults
def test_429_waits_the_retry_after_the_server_asked_for(demo: Sandbox) -> None:
    sleeps: list[float] = []
    demo.plan.retry_after_seconds = 5
    demo.plan.add(FaultRule("429", "autotask", 1, 1))
    connector = demo.connector(sleep=sleeps.append)
    assert len(list(connector.companies())) == 46
    assert sleeps == [5.0]
    assert connector.requests_sent == 3  # the 429, the page, the count


def test_500_and_503_are_retried_and_recovered(demo: Sandbox) -> None:
    sleeps: list[float] = []
    demo.plan.add(FaultRule("503", "autotask", 1, 1))
    demo.plan.add(FaultRule("500", "autotask", 3, 1))  # the next page's first try
    connector = demo.connector(sleep=sleeps.append)
    assert len(list(connector.invoices())) == 1039
    assert len(sleeps) == 2 and connector.requests_sent == 6  # 2 faults, 3 pages, the count


def test_a_persistent_500_is_reported_with_the_operation(demo: Sandbox) -> None:
    demo.plan.add(FaultRule("500", "autotask", 1, 10))
    connector = demo.connector(
        sleep=lambda s: None, retry=RetryPolicy(max_attempts=3, base_delay_seconds=0.001)
    )
    with pytest.raises(ConnectorError) as caught:
        list(connector.companies())
    message = str(caught.value)
    assert message.startswith("autotask: list companies: HTTP 500: Internal server error")
    assert "persisted after 3 attempts" in message and caught.value.status == 500


def test_wrong_secret_is_a_credential_problem_without_any_secret(demo: Sandbox) -> None:
    wrong = "Wrong-Secret-789"
    connector = demo.connector(config={"secret": Secret(wrong)})
    with pytest.raises(ConnectorError) as caught:
        list(connector.invoices())
    message = str(caught.value)
    assert message.startswith("autotask: list invoices: HTTP 401")
    assert "credentials rejected" in message
    text = "".join(traceback.format_exception(caught.value)) + repr(caught.value.args)
    assert wrong not in text and CODE not in text


def test_garbage_json_is_a_clear_error(demo: Sandbox) -> None:
    demo.plan.add(FaultRule("garbage", "autotask", 1, 1))
    with pytest.raises(ConnectorError, match=r"list companies: the server returned invalid JSON"):
        list(demo.connector().companies())


def test_a_slow_answer_past_the_timeout_is_retried_then_reported(demo: Sandbox) -> None:
    demo.plan.slow_ms = 1000
    demo.plan.add(FaultRule("slow", "autotask", 1, 2))
    connector = demo.connector(
        timeout=0.25,
        sleep=lambda s: None,
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.001),
    )
    with pytest.raises(ConnectorError, match=r"list companies: timed out after 2 attempts"):
        list(connector.companies())
    demo.plan.add(FaultRule("slow", "autotask", 1, 1))
    recovered = demo.connector(timeout=0.25, sleep=lambda s: None)
    assert len(list(recovered.companies())) == 46


def test_missing_credentials_are_refused_before_any_request() -> None:
    # An AutotaskConfig cannot be built without its required keys (a TypeError);
    # left empty, the connector names them before any request.
    config = AutotaskConfig(
        base_url="http://127.0.0.1:9/atservicesrest/v1.0", username="u",
        secret=Secret(""), integration_code=Secret(""),
    )
    with pytest.raises(ConnectorError, match="missing secret, integration_code"):
        AutotaskConnector(config)


# --------------------------------------------------------------------------- the emulator
def query(demo: Sandbox, entity: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{demo.server.url}{ROOT}/{entity}/query",
        content=json.dumps(body),
        headers={**demo.headers(), **headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"filter": []}, "at least one expression"),
        (
            {"filter": [{"op": "gt", "field": "dueDate", "value": "2026-01-01"}]},
            "cannot be queried",
        ),
        ({"filter": [{"op": "eq", "field": "nope", "value": 1}]}, "Unable to find nope"),
        ({"filter": [{"op": "like", "field": "id", "value": 1}]}, "Unknown filter operator"),
        ({"filter": [{"op": "gt", "field": "createDateTime", "value": "soon"}]}, "not valid"),
        ({"filter": [{"op": "or", "items": []}]}, "non-empty 'items'"),
        ({"filter": [{"op": "in", "field": "id", "value": 4}]}, "non-empty list"),
        ({"filter": [{"op": "contains", "field": "id", "value": 4}]}, "only valid for text"),
        ({"filter": [{"op": "gte", "field": "id", "value": 0}], "MaxRecords": 501}, "MaxRecords"),
        ({"filter": [{"op": "eq", "field": "isVoided", "value": "maybe"}]}, "not valid"),
        ({"nofilter": 1}, "at least one expression"),
    ],
)
def test_the_emulator_rejects_bad_queries_in_the_errors_envelope(
    demo: Sandbox, body: dict, needle: str
) -> None:
    response = query(demo, "Invoices", body)
    assert response.status_code == 400
    (message,) = response.json()["errors"]
    assert needle in message


def test_the_connector_reports_a_query_error_from_the_envelope(demo: Sandbox) -> None:
    connector = demo.connector()
    with pytest.raises(ConnectorError, match=r"autotask: list invoices: HTTP 400: The field"):
        list(
            connector._query(
                "Invoices", [{"op": "gt", "field": "dueDate", "value": "x"}], "list invoices"
            )
        )


@pytest.mark.parametrize(
    ("filters", "predicate"),
    [
        ([{"op": "eq", "field": "isVoided", "value": True}], lambda r: r["isVoided"]),
        ([{"op": "exist", "field": "paidDate"}], lambda r: r["paidDate"] is not None),
        ([{"op": "notExist", "field": "webServiceDate"}], lambda r: r["webServiceDate"] is None),
        (
            [{"op": "beginsWith", "field": "invoiceNumber", "value": "100"}],
            lambda r: r["invoiceNumber"].startswith("100"),
        ),
        (
            [{"op": "endsWith", "field": "INVOICENUMBER", "value": "7"}],
            lambda r: r["invoiceNumber"].endswith("7"),
        ),
        (
            [{"op": "in", "field": "companyID", "value": [254, 325]}],
            lambda r: r["companyID"] in (254, 325),
        ),
        (
            [{"op": "notIn", "field": "companyID", "value": [254, 325]}],
            lambda r: r["companyID"] not in (254, 325),
        ),
        (
            [
                {"op": "gt", "field": "invoiceTotal", "value": 5000},
                {"op": "lte", "field": "invoiceTotal", "value": "6000.5"},
            ],
            lambda r: 5000 < r["invoiceTotal"] <= Decimal("6000.5"),
        ),
        (
            [
                {
                    "op": "and",
                    "items": [
                        {"op": "noteq", "field": "companyID", "value": 254},
                        {
                            "op": "or",
                            "items": [
                                {"op": "lt", "field": "invoiceTotal", "value": 200},
                                {
                                    "op": "gte",
                                    "field": "invoiceDateTime",
                                    "value": "2026-10-01T00:00:00Z",
                                },
                            ],
                        },
                    ],
                }
            ],
            lambda r: (
                r["companyID"] != 254
                and (r["invoiceTotal"] < 200 or r["invoiceDateTime"] >= "2026-10-01")
            ),
        ),
    ],
)
def test_the_emulator_filters_agree_with_python(
    demo: Sandbox, filters: list, predicate: object
) -> None:
    response = httpx.post(
        f"{demo.server.url}{ROOT}/Invoices/query/count",
        json={"filter": filters},
        headers=demo.headers(),
    )
    assert response.status_code == 200, response.text
    expected = sum(1 for r in demo.view["Invoices"].values() if predicate(r))  # type: ignore[operator]
    assert response.json() == {"queryCount": expected} and expected > 0


def test_page_details_and_cursors(demo: Sandbox) -> None:
    body = {"filter": [{"op": "gte", "field": "id", "value": 0}], "maxRecords": 40}
    first = query(demo, "Companies", body).json()
    details = first["pageDetails"]
    assert details["count"] == 40 and details["requestCount"] == 40
    assert details["prevPageUrl"] is None
    assert details["nextPageUrl"].startswith(demo.server.url + ROOT + "/Companies/query/next")
    as_get = httpx.get(details["nextPageUrl"], headers=demo.headers())
    assert as_get.status_code == 405 and "GET" in as_get.json()["errors"][0]
    second = httpx.post(details["nextPageUrl"], json=body, headers=demo.headers()).json()
    assert second["pageDetails"]["count"] == 6 and second["pageDetails"]["nextPageUrl"] is None
    assert second["pageDetails"]["prevPageUrl"] is not None
    back = httpx.post(
        second["pageDetails"]["prevPageUrl"], json=body, headers=demo.headers()
    ).json()
    assert back["items"] == first["items"]
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert ids == sorted(demo.view["Companies"])
    # a GET query pages with GET cursors carrying the search
    search = json.dumps({"filter": [{"op": "gte", "field": "id", "value": 0}], "MaxRecords": 40})
    got = httpx.get(
        f"{demo.server.url}{ROOT}/Companies/query",
        params={"search": search},
        headers=demo.headers(),
    ).json()
    following = httpx.get(got["pageDetails"]["nextPageUrl"], headers=demo.headers()).json()
    assert [c["id"] for c in got["items"] + following["items"]] == ids


def test_include_fields_single_items_and_metadata(demo: Sandbox) -> None:
    response = query(
        demo,
        "Invoices",
        {
            "filter": [{"op": "eq", "field": "invoiceNumber", "value": "10001"}],
            "IncludeFields": ["invoiceTotal"],
        },
    )
    (item,) = response.json()["items"]
    assert set(item) == {"id", "invoiceTotal", "userDefinedFields"}
    assert json.loads(response.content, parse_float=Decimal)["items"][0]["invoiceTotal"] == Decimal(
        "4126.47"
    )
    one = httpx.get(f"{demo.server.url}{ROOT}/Companies/254", headers=demo.headers()).json()
    assert one["item"]["companyName"] == "Blue Ridge Dental Group"
    none = httpx.get(f"{demo.server.url}{ROOT}/Companies/1", headers=demo.headers()).json()
    assert none == {"item": None}
    zone = httpx.get(
        f"{demo.server.url}{ROOT}/zoneInformation", params={"user": "sandbox-api@example.com"}
    ).json()
    assert zone["url"] == demo.server.url + "/atservicesrest/"
    unknown = query(demo, "Tickets", {"filter": [{"op": "gte", "field": "id", "value": 0}]})
    assert unknown.status_code == 404 and unknown.json()["errors"]


@pytest.mark.parametrize(
    "headers",
    [
        {"ApiIntegrationCode": ""},
        {"ApiIntegrationCode": "WRONG"},
        {"Secret": "nope"},
        {"UserName": "someone@example.com"},
    ],
)
def test_the_emulator_checks_the_three_credential_headers(
    demo: Sandbox, headers: dict[str, str]
) -> None:
    response = query(
        demo, "Companies", {"filter": [{"op": "gte", "field": "id", "value": 0}]}, **headers
    )
    assert response.status_code == 401 and response.json()["errors"]


def test_the_derived_view_is_cached_and_rebuilt_when_the_book_grows() -> None:
    book = SandboxBook.from_dir(sample_data_dir())
    view = sandbox_at.autotask_view(book)
    assert sandbox_at.autotask_view(book) is view
    sandbox_at.grow_book(book, 60)
    grown = sandbox_at.autotask_view(book)
    assert grown is not view and len(grown["Companies"]) == 60
    assert len(grown["Invoices"]) == 1039  # already past 60


# --------------------------------------------------------------------------- records
INVOICE = {
    "id": 29684001,
    "invoiceNumber": "A-1001",
    "companyID": 29683616,
    "invoiceDateTime": "2026-03-02T00:00:00",
    "dueDate": "2026-04-01T00:00:00",
    "createDateTime": "2026-03-02T18:05:00.563",
    "invoiceTotal": Decimal("1234.50"),
    "totalTaxValue": Decimal("84.50"),
    "paidDate": None,
    "isVoided": False,
    "voidedDate": None,
    "webServiceDate": None,
}


def test_invoice_open_paid_voided_exported() -> None:
    invoice = invoice_from_at(INVOICE)
    assert (invoice.id, invoice.number, invoice.company_id) == ("29684001", "A-1001", "29683616")
    assert (invoice.total, invoice.owing, invoice.status) == (
        Decimal("1234.50"),
        Decimal("1234.50"),
        "Open",
    )
    assert invoice.date == date(2026, 3, 2) and invoice.due_date == date(2026, 4, 1)
    assert not invoice.exported and invoice.ledger_invoice_id is None
    assert invoice.updated_at == datetime(2026, 3, 2, 18, 5, 0, 563000, tzinfo=UTC)
    paid = invoice_from_at(
        {**INVOICE, "paidDate": "2026-03-20T00:00:00", "webServiceDate": "2026-03-03T06:00:00Z"}
    )
    assert (paid.owing, paid.status, paid.exported) == (ZERO, "Paid", True)
    assert paid.updated_at == datetime(2026, 3, 20, tzinfo=UTC)
    voided = invoice_from_at({**INVOICE, "isVoided": True, "voidedDate": "2026-03-05T10:00:00"})
    assert (voided.total, voided.owing, voided.status) == (ZERO, ZERO, "Voided")
    blank = invoice_from_at({**INVOICE, "invoiceNumber": None})
    assert blank.number == "29684001"
    whole = invoice_from_at({**INVOICE, "invoiceTotal": 99})
    assert whole.total == Decimal("99.00")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"invoiceTotal": 12.5}, "bad amount 12.5"),
        ({"invoiceTotal": None}, "missing required field 'invoiceTotal'"),
        ({"companyID": None}, "missing required field 'companyID'"),
        ({"invoiceDateTime": "someday"}, "bad date 'someday'"),
        ({"isVoided": "no"}, "bad boolean"),
        ({"createDateTime": "later"}, "bad datetime"),
    ],
)
def test_invoice_errors_name_the_record_and_field(change: dict, needle: str) -> None:
    with pytest.raises(RecordError, match="Autotask invoice 29684001") as caught:
        invoice_from_at({**INVOICE, **change})
    assert needle in str(caught.value)


def test_company_parsing() -> None:
    company = company_from_at(
        {
            "id": 0,
            "companyName": "Sirius Cybernetics",
            "companyNumber": "",
            "isActive": True,
            "lastActivityDate": "2018-11-13T17:32:34",
            "lastTrackedModifiedDateTime": "2016-03-30T13:10:35.563",
        }
    )
    assert (company.id, company.identifier, company.status, company.deleted) == (
        "0",
        "",
        "Active",
        False,
    )
    assert company.updated_at == datetime(2018, 11, 13, 17, 32, 34, tzinfo=UTC)
    inactive = company_from_at({"id": 5, "companyName": "Gone", "isActive": False})
    assert inactive.status == "Inactive" and inactive.updated_at is None
    with pytest.raises(RecordError, match="missing required field 'companyName'"):
        company_from_at({"id": 5})
    with pytest.raises(RecordError, match="bad value 'yes'"):
        company_from_at({"id": 5, "companyName": "X", "isActive": "yes"})


CONTACT = {
    "id": 30,
    "companyID": 7,
    "firstName": " Ada ",
    "lastName": "North",
    "emailAddress": "ada@example.com",
    "isActive": 1,
    "lastModifiedDate": "2026-02-01T10:00:00",
    "lastActivityDate": "2026-05-01T10:00:00",
}


def test_contact_parsing_and_portal_levels() -> None:
    contact = contact_from_at(CONTACT)
    assert (contact.id, contact.company_id, contact.first_name, contact.email) == (
        "30",
        "7",
        "Ada",
        "ada@example.com",
    )
    assert not contact.inactive and contact.portal_security_level is None
    assert contact.updated_at == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert contact_from_at({**CONTACT, "isActive": 0}).inactive
    assert contact_from_at({**CONTACT, "isActive": False}).inactive
    assert contact_from_at({**CONTACT, "emailAddress": ""}).email is None
    with pytest.raises(RecordError, match="bad value 2 for 'isActive'"):
        contact_from_at({**CONTACT, "isActive": 2})
    user = {"id": 1, "contactID": 30, "securityLevel": 3, "isClientPortalActive": True}
    assert contact_from_at(CONTACT, user).portal_security_level == 5
    assert contact_from_at(CONTACT, user, levels={3: 2}).portal_security_level == 2


@pytest.mark.parametrize(
    ("user", "level"),
    [
        (None, None),
        ({"id": 1, "securityLevel": 1, "isClientPortalActive": True}, 1),
        ({"id": 1, "securityLevel": 2, "isClientPortalActive": True}, 3),
        ({"id": 1, "securityLevel": 3, "isClientPortalActive": True}, 5),
        ({"id": 1, "securityLevel": 4, "isClientPortalActive": True}, 4),
        ({"id": 1, "securityLevel": 5, "isClientPortalActive": True}, 6),
        ({"id": 1, "securityLevel": 29682777, "isClientPortalActive": True}, CUSTOM_PORTAL_LEVEL),
        ({"id": 1, "securityLevel": 5, "isClientPortalActive": False}, None),
        ({"id": 1, "securityLevel": None}, None),
    ],
)
def test_portal_level_mapping(user: dict | None, level: int | None) -> None:
    assert portal_level(user, DEFAULT_PORTAL_LEVELS) == level


def test_portal_level_rejects_garbage() -> None:
    with pytest.raises(RecordError, match="bad value '5' for 'securityLevel'"):
        portal_level({"id": 1, "securityLevel": "5"})


def test_picklist_labels_decide_the_mapping() -> None:
    picklist = [
        {"value": "1", "label": "Basic", "isSystem": True},
        {"value": "2", "label": "Advanced", "isSystem": True},
        {"value": "3", "label": "Client Portal Manager", "isSystem": True},
        {"value": "4", "label": "Taskfire Resource", "isSystem": True},
        {"value": "5", "label": "Taskfire Administrator", "isSystem": True},
        {"value": "29682777", "label": "Billing contact (custom)", "isSystem": False},
        {"value": "29682778", "label": "Site Admin", "isSystem": False},
        {"value": "6", "label": "Benutzer", "isSystem": True},
        {"value": "x", "label": "broken"},
    ]
    assert portal_levels_from_picklist(picklist) == {
        1: 1,
        2: 3,
        3: 5,
        4: 4,
        5: 6,
        29682777: CUSTOM_PORTAL_LEVEL,
        29682778: 6,
        6: 1,
    }


def test_datetimes_without_a_zone_are_utc() -> None:
    assert parse_utc_datetime("2016-03-30T13:10:35.5630000") == datetime(
        2016, 3, 30, 13, 10, 35, 563000, tzinfo=UTC
    )
    assert parse_utc_datetime("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_utc_datetime("2026-01-01T02:00:00+02:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert at_datetime(datetime(2026, 1, 1, 12, 30, 5, 250000)) == "2026-01-01T12:30:05.250"
    assert (
        at_datetime(datetime(2026, 1, 1, 12, 30, tzinfo=UTC), date_only=True)
        == "2026-01-01T00:00:00.000"
    )


def test_error_envelopes() -> None:
    response = httpx.Response(400, json={"errors": ["One.", "Two."]})
    assert parse_at_error(response) == ("One.; Two.", None)
    response = httpx.Response(401, json={"Message": "Authorization has been denied."})
    assert parse_at_error(response) == ("Authorization has been denied.", None)
    assert parse_at_error(httpx.Response(502, content=b"<html>")) == ("Bad Gateway", None)


# --------------------------------------------------------------------------- real books
def test_invoice_numbering_by_id_pairs_by_what_qbo_holds(demo: Sandbox) -> None:
    """Datto's Autotask-to-QBO integration can number QBO invoices with the Autotask
    invoice ID ("Use the Autotask Invoice ID"); then the id is what pairs."""
    by_number = {i.id: i for i in demo.connector().invoices()}
    by_id = list(demo.connector(config={"invoice_numbering": "id"}).invoices())
    assert by_id and all(i.number == i.id for i in by_id)
    assert any(by_number[i.id].number != i.id for i in by_id)
    one = by_id[0]
    found = demo.connector(config={"invoice_numbering": "id"}).invoice_by_number(one.id)
    assert found is not None and found.id == one.id


def test_a_company_with_its_client_portal_off(demo: Sandbox) -> None:
    company = next(iter(demo.view["Companies"].values()))
    company["isClientPortalActive"] = False
    try:
        parsed = {c.id: c for c in demo.connector().companies()}
    finally:
        company["isClientPortalActive"] = True
    assert parsed[str(company["id"])].portal_active is False
    assert sum(1 for c in parsed.values() if not c.portal_active) == 1


def test_missing_invoice_ids_counts_first(demo: Sandbox) -> None:
    connector = demo.connector()
    every = {i.id for i in connector.invoices()}
    sent = connector.requests_sent
    assert connector.missing_invoice_ids(every) == set()
    assert connector.requests_sent == sent + 1  # the count agreed: no id list
    assert connector.missing_invoice_ids(every | {"999999"}) == {"999999"}
