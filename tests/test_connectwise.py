"""The ConnectWise connector against the emulator over real sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import math
import traceback
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from recon_tui.config import AutotaskConfig, ConnectWiseConfig, Secret
from recon_tui.connectors.base import ConnectorError, PsaConnector
from recon_tui.connectors.connectwise import (
    ConnectWiseConnector,
    cw_datetime,
    cw_string,
    next_link,
)
from recon_tui.connectors.connectwise_records import (
    company_from_cw,
    contact_from_cw,
    invoice_from_cw,
)
from recon_tui.connectors.http import RetryPolicy
from recon_tui.connectors.sample import load_json_array, sample_data_dir
from recon_tui.sandbox import connectwise as sandbox_cw
from recon_tui.sandbox.faults import FaultRule
from tests.emulator import Emulator, Recorder, clear_faults_of, serve

ROOT = "/v4_6_release/apis/3.0"
FAST = RetryPolicy(
    max_attempts=4, base_delay_seconds=0.001, max_delay_seconds=0.01, jitter_ratio=0.0
)
PRIVATE = "sandbox-private"


class Sandbox(Emulator):
    """The shared emulator fixture, with this module's connector and headers."""

    def __init__(self, grow_to: int | None = None) -> None:
        super().__init__(grow=(lambda book: sandbox_cw.grow_book(book, grow_to)) if grow_to
                         else None)

    def config(self, **changes: object) -> ConnectWiseConfig:
        config = ConnectWiseConfig(
            base_url=self.server.url + ROOT,
            company_id="sandbox",
            public_key="sandbox-public",
            private_key=Secret(PRIVATE),
            client_id="00000000-0000-0000-0000-000000000000",
        )
        return replace(config, **changes)  # type: ignore[arg-type]

    def connector(self, **kw: object) -> ConnectWiseConnector:
        config_changes = kw.pop("config", {})
        kw.setdefault("retry", FAST)
        return ConnectWiseConnector(self.config(**config_changes), **kw)  # type: ignore[arg-type]

    def seen(self) -> int:  # type: ignore[override]
        return super().seen("connectwise")

    def headers(self) -> dict[str, str]:
        token = base64.b64encode(b"sandbox+sandbox-public:sandbox-private").decode()
        return {"Authorization": f"Basic {token}", "clientId": "x"}


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


def raw(collection: str) -> list[dict]:
    return sorted(
        load_json_array(sample_data_dir() / "connectwise" / f"{collection}.json"),
        key=lambda r: r["id"],
    )


def unposted_numbers() -> set[str]:
    return {r["invoiceNumber"] for r in raw("unpostedinvoices")}


def parsed_invoice(record: dict) -> object:
    """What the connector makes of a raw record: exported unless still unposted."""
    return invoice_from_cw(record, exported=record["invoiceNumber"] not in unposted_numbers())


#: Requests a complete read adds to its pages: the count that proves it.
COUNT = 1
#: ...and what an invoice read adds: the unposted list (one page) and its count.
UNPOSTED = 2
DOCUMENTS = 1044  # 1,039 invoices and 5 credit memos


# --------------------------------------------------------------------------- paging
@pytest.mark.parametrize("collection", ["companies", "contacts", "invoices"])
def test_forward_only_paging_past_2500_reads_each_record_once_in_minimum_requests(
    big: Sandbox, collection: str
) -> None:
    recorder = Recorder()
    connector = big.connector(transport=recorder, max_concurrency=1)
    before = big.seen()
    records = list(getattr(connector, collection)())
    expected = len(big.book.connectwise[collection])
    assert expected >= 2600
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)) == expected
    assert set(ids) == {str(i) for i in big.book.connectwise[collection]}
    pages = math.ceil(expected / 1000)
    extra = COUNT + (UNPOSTED if collection == "invoices" else 0)
    assert connector.requests_sent == pages + extra == big.seen() - before
    listing = [r for r in recorder.sent if not r.url.path.endswith("/count")
               and "unposted" not in r.url.path]
    first, *rest = listing
    query = parse_qs(urlsplit(str(first.url)).query)
    assert query["pageSize"] == ["1000"] and query["orderBy"] == ["id asc"]
    assert "fields" in query  # only what recon-tui reads
    for request in listing:
        assert request.headers["pagination-type"] == "forward-only"
    for request in recorder.sent:
        assert request.headers["clientId"] == "00000000-0000-0000-0000-000000000000"
    assert all("pageId=" in str(r.url) for r in rest)


def test_demo_invoices_page_past_1000_in_two_requests(demo: Sandbox) -> None:
    connector = demo.connector()
    invoices = list(connector.invoices())
    assert len(invoices) == DOCUMENTS
    assert connector.requests_sent == 2 + COUNT + UNPOSTED


def test_a_page_size_that_divides_the_book_needs_no_empty_last_page(demo: Sandbox) -> None:
    connector = demo.connector(page_size=46)  # 46 companies exactly
    assert len(list(connector.companies())) == 46
    assert connector.requests_sent == 1 + COUNT


class DropsOneRecord(httpx.HTTPTransport):
    """A proxy that loses a record from a list page on the way back."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/count"):
            return response
        body = json.loads(response.read())
        return httpx.Response(response.status_code, headers=response.headers,
                              content=json.dumps(body[:-1]).encode())


def test_a_complete_read_that_is_short_of_the_count_fails(demo: Sandbox) -> None:
    """A page that lost records is caught by ConnectWise's own count, so a sync
    never takes a partial list for the whole book (nor deletes what it missed)."""
    connector = demo.connector(transport=DropsOneRecord())
    with pytest.raises(ConnectorError, match=r"list companies: read 45 of the 46 records "
                       "ConnectWise counts; the answer was incomplete"):
        list(connector.companies())


def test_a_server_repeating_its_first_page_stops_the_read(demo: Sandbox) -> None:
    """A Link to a new URL that serves the same rows again: stop, do not loop."""
    connector = demo.connector(page_size=10, max_concurrency=1)

    def repeat(request: httpx.Request) -> httpx.Response:
        rows = [{"id": n, "identifier": f"C{n}", "name": f"C{n}"} for n in range(10)]
        link = f'<{request.url.copy_with(params={"pageId": str(len(request.url.query))})}>'
        return httpx.Response(200, json=rows, headers={"Link": f'{link}; rel="next"'})

    connector.api._client._transport = httpx.MockTransport(repeat)  # type: ignore[attr-defined]
    with pytest.raises(ConnectorError, match="a page of records already read"):
        list(connector.companies())


def test_headers_carry_basic_auth_client_id_and_version(demo: Sandbox) -> None:
    recorder = Recorder()
    list(demo.connector(transport=recorder).companies())
    request = recorder.sent[0]
    scheme, token = request.headers["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == "sandbox+sandbox-public:sandbox-private"
    assert request.headers["Accept"].startswith("application/vnd.connectwise.com+json")


# --------------------------------------------------------------------------- filters
def test_since_asks_for_last_updated_and_gets_exactly_the_changed(demo: Sandbox) -> None:
    recorder = Recorder()
    since = datetime(2026, 6, 1, tzinfo=UTC)
    invoices = list(demo.connector(transport=recorder).invoices(since))
    [listing] = [r for r in recorder.sent if r.url.path.endswith("finance/invoices")]
    conditions = parse_qs(urlsplit(str(listing.url)).query)["conditions"]
    assert conditions == ["lastUpdated >= [2026-06-01T00:00:00Z]"]
    expected = {str(r["id"]) for r in raw("invoices") if r["_info"]["lastUpdated"] >= "2026-06-01"}
    assert {i.id for i in invoices} == expected
    assert 0 < len(expected) < DOCUMENTS
    assert all(i.updated_at is not None and i.updated_at >= since for i in invoices)


def test_a_naive_since_means_utc(demo: Sandbox) -> None:
    naive = datetime(2026, 6, 1)
    aware = datetime(2026, 6, 1, tzinfo=UTC)
    connector = demo.connector()
    assert [c.id for c in connector.contacts(naive)] == [c.id for c in connector.contacts(aware)]
    assert cw_datetime(naive) == "[2026-06-01T00:00:00Z]"


def test_invoice_by_number(demo: Sandbox) -> None:
    recorder = Recorder()
    connector = demo.connector(transport=recorder)
    invoice = connector.invoice_by_number("10040")
    assert invoice is not None and invoice.number == "10040"
    source = next(r for r in raw("invoices") if r["invoiceNumber"] == "10040")
    assert invoice == parsed_invoice(source)
    [lookup] = [r for r in recorder.sent if r.url.path.endswith("finance/invoices")]
    query = parse_qs(urlsplit(str(lookup.url)).query)
    assert query["conditions"] == ['invoiceNumber = "10040"']
    assert connector.invoice_by_number("99999") is None
    assert connector.invoice_by_number('10"40') is None  # escaped, parsed, not found
    assert connector.invoice_by_number("  ") is None


def test_condition_strings_escape_quotes_and_backslashes() -> None:
    assert cw_string('a"b\\c') == '"a\\"b\\\\c"'
    literal = cw_string('a"b')
    tree = sandbox_cw.parse_conditions(f"invoiceNumber = {literal}")
    assert tree.literal.value == 'a"b'


# --------------------------------------------------------------------------- parsing
def test_every_demo_record_parses_with_exact_decimals(demo: Sandbox) -> None:
    connector = demo.connector()
    invoices = list(connector.invoices())
    source = raw("invoices")
    assert invoices == [parsed_invoice(r) for r in source]
    for invoice, record in zip(invoices, source, strict=True):
        sign = -1 if record["type"] == "CreditMemo" else 1  # credit kept positive
        assert type(invoice.total) is Decimal and type(invoice.owing) is Decimal
        assert invoice.total == sign * Decimal(str(record["total"]))
        assert invoice.owing == sign * Decimal(str(record["balance"]))
        assert invoice.total.as_tuple().exponent == -2
    assert sum(1 for i in invoices if not i.exported) == len(raw("unpostedinvoices"))
    assert list(connector.companies()) == [company_from_cw(r) for r in raw("companies")]
    assert list(connector.contacts()) == [contact_from_cw(r) for r in raw("contacts")]


def test_it_is_a_psa_connector(demo: Sandbox) -> None:
    connector = demo.connector()
    assert isinstance(connector, PsaConnector)
    assert connector.kind == "connectwise"
    connector.close()


# --------------------------------------------------------------------------- faults
def test_429_waits_the_retry_after_the_server_asked_for(demo: Sandbox) -> None:
    sleeps: list[float] = []
    demo.plan.retry_after_seconds = 7
    demo.plan.add(FaultRule("429", "connectwise", 1, 1))
    connector = demo.connector(sleep=sleeps.append)
    assert len(list(connector.companies())) == 46
    assert sleeps == [7.0]
    assert connector.requests_sent == 2 + COUNT


def test_500_and_503_are_retried_and_recovered(demo: Sandbox) -> None:
    sleeps: list[float] = []
    demo.plan.add(FaultRule("500", "connectwise", 1, 1))
    demo.plan.add(FaultRule("503", "connectwise", 5, 1))  # the second page's first try
    connector = demo.connector(sleep=sleeps.append)
    assert len(list(connector.invoices())) == DOCUMENTS
    assert len(sleeps) == 2
    assert connector.requests_sent == 4 + COUNT + UNPOSTED


def test_a_persistent_500_is_reported_with_the_operation(demo: Sandbox) -> None:
    demo.plan.add(FaultRule("500", "connectwise", 1, 10))
    connector = demo.connector(
        sleep=lambda s: None, retry=RetryPolicy(max_attempts=3, base_delay_seconds=0.001)
    )
    with pytest.raises(ConnectorError) as caught:
        list(connector.companies())
    message = str(caught.value)
    assert message.startswith("connectwise: count: list companies: HTTP 500 "
                              "[code InternalServerError]")  # the count comes first
    assert "persisted after 3 attempts" in message
    assert caught.value.status == 500
    assert connector.requests_sent == 3


def _assert_no_secret(error: BaseException, *secrets: str) -> None:
    text = "".join(traceback.format_exception(error)) + repr(error.args)
    for secret in secrets:
        assert secret not in text


def test_wrong_keys_are_a_credential_problem_without_the_key(demo: Sandbox) -> None:
    wrong = "wrong-private-KEY-123"
    connector = demo.connector(config={"private_key": Secret(wrong)})
    with pytest.raises(ConnectorError) as caught:
        list(connector.companies())
    message = str(caught.value)
    assert message.startswith("connectwise: count: list companies: HTTP 401 [code Unauthorized]")
    assert "credentials rejected" in message
    token = base64.b64encode(f"sandbox+sandbox-public:{wrong}".encode()).decode()
    _assert_no_secret(caught.value, wrong, token, "sandbox-public:")
    assert caught.value.status == 401


def test_an_injected_401_is_reported_not_retried(demo: Sandbox) -> None:
    demo.plan.add(FaultRule("401", "connectwise", 1, 1))
    connector = demo.connector()
    with pytest.raises(ConnectorError, match=r"list contacts: HTTP 401 .*credentials rejected"):
        list(connector.contacts())
    assert connector.requests_sent == 1


def test_garbage_json_is_a_clear_error(demo: Sandbox) -> None:
    demo.plan.add(FaultRule("garbage", "connectwise", 1, 1))
    with pytest.raises(ConnectorError, match=r"list companies: the server returned invalid JSON"):
        list(demo.connector().companies())


def test_a_slow_answer_past_the_timeout_is_retried_then_reported(demo: Sandbox) -> None:
    demo.plan.slow_ms = 1000
    demo.plan.add(FaultRule("slow", "connectwise", 1, 1))
    sleeps: list[float] = []
    connector = demo.connector(timeout=0.25, sleep=sleeps.append)
    assert len(list(connector.companies())) == 46  # the retry is answered at once
    assert len(sleeps) == 1
    demo.plan.add(FaultRule("slow", "connectwise", 1, 2))
    connector = demo.connector(
        timeout=0.25,
        sleep=lambda s: None,
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.001),
    )
    with pytest.raises(ConnectorError, match=r"list companies: timed out after 2 attempts"):
        list(connector.companies())


def test_missing_keys_are_refused_before_any_request() -> None:
    # A ConnectWiseConfig cannot be built without its required keys (a TypeError);
    # left empty, the connector names them before any request.
    config = ConnectWiseConfig(
        base_url="http://127.0.0.1:9/v4_6_release/apis/3.0",
        company_id="x",
        public_key="y",
        private_key=Secret(""),
        client_id="",
    )
    with pytest.raises(ConnectorError, match="missing private_key, client_id"):
        ConnectWiseConnector(config)


def test_a_config_of_the_other_kind_is_refused() -> None:
    config = AutotaskConfig(base_url="http://127.0.0.1:9/atservicesrest/v1.0", username="u",
                            secret=Secret("s"), integration_code=Secret("c"))
    with pytest.raises(ConnectorError, match="cannot connect: config kind is 'autotask' in"):
        ConnectWiseConnector(config)


# --------------------------------------------------------------------------- the emulator
def test_link_header_parsing() -> None:
    header = (
        '<https://x/a?page=1>; rel="first", <https://x/a?page=3&b=1,2>; rel="next", '
        "<https://x/a?page=9>; rel=last"
    )
    assert next_link(header) == "https://x/a?page=3&b=1,2"
    assert next_link("") is None
    assert next_link(None) is None
    assert next_link('<https://x/a?page=1>; rel="prev"') is None


@pytest.mark.parametrize(
    "conditions",
    [
        "total >> 4000",
        "total > ",
        "and total > 1",
        'company/name = "unterminated',
        "lastUpdated > [not a date]",
        "nosuchfield = 1",
        "total > 1 or",
        "(total > 1",
        'total contains "1"',
        "company > 1",
        "total = 1 extra",
        "total ~ 1",
    ],
)
def test_the_emulator_rejects_garbage_conditions_with_a_400_envelope(
    demo: Sandbox, conditions: str
) -> None:
    response = httpx.get(
        demo.server.url + ROOT + "/finance/invoices",
        params={"conditions": conditions},
        headers=demo.headers(),
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == "InvalidObject" and body["message"]
    assert body["errors"][0]["field"] == "conditions"


def test_the_connector_reports_a_400_from_the_envelope(demo: Sandbox) -> None:
    connector = demo.connector()
    with pytest.raises(ConnectorError, match=r"HTTP 400 \[code InvalidObject\]: unknown field"):
        list(connector.lists.pages("finance/invoices", "list invoices", "bogus = 1"))


@pytest.mark.parametrize(
    ("conditions", "count"),
    [
        ('status/name = "Void"', 1),
        ("status/name = 'void'", 1),
        ('company/identifier = "BlueRidge" and balance > 0', None),
        ('type = "CreditMemo"', 5),
        ('not (type = "CreditMemo")', 1039),
        ('company/name like "*dental*" or company/name contains "Senior"', None),
        ("company/id in (254, 325)", None),
        ("_info/lastUpdated >= [2026-06-01T00:00:00Z]", None),
        ("invoiceNumber = 10040", 1),
        ("total >= 100.5 and total <= 200", None),
        ('status/name != "Paid" and (balance > 0 or status/name = "Void")', None),
    ],
)
def test_the_emulator_conditions_agree_with_python(
    demo: Sandbox, conditions: str, count: int | None
) -> None:
    response = httpx.get(
        demo.server.url + ROOT + "/finance/invoices/count",
        params={"conditions": conditions},
        headers=demo.headers(),
    )
    assert response.status_code == 200, response.text
    invoices = raw("invoices")

    def expected(r: dict) -> bool:
        status, company, kind = r["status"]["name"], r["company"], r["type"]
        return {
            'status/name = "Void"': status == "Void",
            "status/name = 'void'": status == "Void",
            'company/identifier = "BlueRidge" and balance > 0': company["identifier"] == "BlueRidge"
            and r["balance"] > 0,
            'type = "CreditMemo"': kind == "CreditMemo",
            'not (type = "CreditMemo")': kind != "CreditMemo",
            'company/name like "*dental*" or company/name contains "Senior"': "dental"
            in company["name"].lower()
            or "senior" in company["name"].lower(),
            "company/id in (254, 325)": company["id"] in (254, 325),
            "_info/lastUpdated >= [2026-06-01T00:00:00Z]": r["_info"]["lastUpdated"]
            >= "2026-06-01",
            "invoiceNumber = 10040": r["invoiceNumber"] == "10040",
            "total >= 100.5 and total <= 200": Decimal("100.5") <= r["total"] <= 200,
            'status/name != "Paid" and (balance > 0 or status/name = "Void")': status != "Paid"
            and (r["balance"] > 0 or status == "Void"),
        }[conditions]

    want = sum(1 for r in invoices if expected(r))
    assert response.json() == {"count": want}
    if count is not None:
        assert want == count


def test_numbered_pages_carry_first_prev_next_last_links(demo: Sandbox) -> None:
    url = demo.server.url + ROOT + "/company/contacts"
    first = httpx.get(url, params={"pageSize": 50}, headers=demo.headers())
    links = first.headers["Link"]
    assert 'rel="next"' in links and 'rel="last"' in links and 'rel="prev"' not in links
    assert next_link(links).startswith(demo.server.url)  # absolute
    second = httpx.get(next_link(links), headers=demo.headers())
    assert 'rel="prev"' in second.headers["Link"] and 'rel="first"' in second.headers["Link"]
    last = httpx.get(url, params={"pageSize": 50, "page": 3}, headers=demo.headers())
    assert len(last.json()) == 149 - 100 and next_link(last.headers["Link"]) is None
    ids = [c["id"] for page in (first, second, last) for c in page.json()]
    assert ids == sorted(ids) and len(set(ids)) == 149
    default = httpx.get(url, headers=demo.headers())
    assert len(default.json()) == 25  # the real API's default page size


def test_order_by_and_its_errors(demo: Sandbox) -> None:
    url = demo.server.url + ROOT + "/finance/invoices"
    response = httpx.get(
        url, params={"orderBy": "total desc, id asc", "pageSize": 5}, headers=demo.headers()
    )
    totals = [r["total"] for r in response.json()]
    assert totals == sorted(totals, reverse=True)
    bad = httpx.get(url, params={"orderBy": "total sideways"}, headers=demo.headers())
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "orderBy"
    forward = httpx.get(
        url,
        params={"orderBy": "total desc"},
        headers={**demo.headers(), "pagination-type": "forward-only"},
    )
    assert forward.status_code == 400


def test_forward_only_last_page_sends_an_empty_link(demo: Sandbox) -> None:
    response = httpx.get(
        demo.server.url + ROOT + "/company/companies",
        params={"pageSize": 1000},
        headers={**demo.headers(), "pagination-type": "forward-only"},
    )
    assert response.headers["Link"] == ""
    assert [c["id"] for c in response.json()] == sorted(c["id"] for c in raw("companies"))


def test_the_emulator_serves_exact_amounts_and_single_records(demo: Sandbox) -> None:
    response = httpx.get(demo.server.url + ROOT + "/finance/invoices/4501", headers=demo.headers())
    record = json.loads(response.content, parse_float=Decimal)
    assert record["total"] == Decimal("4126.47") and record["invoiceNumber"] == "10001"
    missing = httpx.get(demo.server.url + ROOT + "/finance/invoices/1", headers=demo.headers())
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"clientId": "x"},
        {
            "Authorization": "Basic " + base64.b64encode(b"sandbox+sandbox-public:nope").decode(),
            "clientId": "x",
        },
        {
            "Authorization": "Basic "
            + base64.b64encode(b"sandbox+sandbox-public:sandbox-private").decode()
        },
    ],
)
def test_the_emulator_checks_credentials_and_client_id(
    demo: Sandbox, headers: dict[str, str]
) -> None:
    response = httpx.get(demo.server.url + ROOT + "/company/companies", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"


def test_conditions_parser_precedence() -> None:
    tree = sandbox_cw.parse_conditions("a = 1 or b = 2 and c = 3")
    assert tree.op == "or" and tree.items[1].op == "and"
    tree = sandbox_cw.parse_conditions("(a = 1 or b = 2) and not c in (1, 2, null)")
    assert tree.op == "and" and tree.items[0].op == "or"
    with pytest.raises(sandbox_cw.ConditionError, match="position 5"):
        sandbox_cw.parse_conditions("a = ")
