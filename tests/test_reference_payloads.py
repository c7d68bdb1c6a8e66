"""The vendors' documented payload shapes, parsed by the real connectors.

Every file under ``tests/reference_payloads/`` reproduces the structure of an example
(or schema) on a vendor's public API reference; the values are our own (see the
README there for the page each follows). QBO goes through :class:`QboConnector`,
ConnectWise and Autotask through their connectors, all over ``httpx.MockTransport``:
no sockets, no emulator, so these tests check our parsers against what the vendors
document rather than against what our own sandbox serves.

The mock servers answer the connectors' completeness counts with the documented
count shapes (QBO ``COUNT(*)``, ConnectWise ``/count``, Autotask ``query/count``)
holding the number of records they served, and the ConnectWise mock applies the
``fields`` projection a real server applies, so a field the parser needs but the
connector does not ask for is caught here.

A test marked ``xfail(strict=True)`` names a parser gap a fixture exposes; it starts
passing (and so fails, being strict) once the parser is fixed, and the mark goes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from recon_tui.config import AutotaskConfig, ConnectWiseConfig, QboLedgerConfig, Secret
from recon_tui.connectors.autotask import AutotaskConnector
from recon_tui.connectors.autotask_records import (
    DEFAULT_PORTAL_LEVELS,
    company_from_at,
    contact_from_at,
    invoice_from_at,
)
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.connectors.connectwise_records import (
    company_from_cw,
    contact_from_cw,
    invoice_from_cw,
)
from recon_tui.connectors.http import RetryPolicy, dumps_exact
from recon_tui.connectors.qbo import QboConnector
from recon_tui.connectors.qbo_records import (
    credit_from_credit_memo,
    credit_from_payment,
    customer_from_qbo,
    invoice_from_qbo,
)
from recon_tui.connectors.tokens import TokenStore
from recon_tui.models import CreditKind, DocKind

PAYLOADS = Path(__file__).parent / "reference_payloads"
FAST = RetryPolicy(max_attempts=2, base_delay_seconds=0.0, max_delay_seconds=0.0, jitter_ratio=0.0)
Handler = Callable[[httpx.Request], httpx.Response]


def raw(name: str) -> bytes:
    """A fixture's bytes exactly as stored: what a mock server sends."""
    return (PAYLOADS / name).read_bytes()


def load(name: str) -> Any:
    return json.loads(raw(name), parse_float=Decimal)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def json_response(body: bytes | str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})


# =========================================================================== fixtures
def test_every_fixture_has_a_readme_row_and_vendor_types() -> None:
    readme = (PAYLOADS / "README.md").read_text(encoding="utf-8")
    files = sorted(p.relative_to(PAYLOADS).as_posix() for p in PAYLOADS.rglob("*.json"))
    assert len(files) >= 15
    for name in files:
        assert f"`{name}`" in readme, f"{name} has no source row in the README"
        load(name)  # valid JSON
    # The vendors send amounts as JSON numbers; the fixtures must too.
    assert isinstance(load("qbo/invoice_read.json")["Invoice"]["TotalAmt"], Decimal)
    assert isinstance(load("qbo/creditmemo_read.json")["CreditMemo"]["RemainingCredit"], Decimal)
    assert isinstance(load("connectwise/invoice.json")["total"], Decimal)
    assert isinstance(load("autotask/invoices_query.json")["items"][0]["invoiceTotal"], Decimal)
    # ... ids as the vendor types them: QBO strings, ConnectWise/Autotask integers ...
    assert isinstance(load("qbo/invoice_read.json")["Invoice"]["Id"], str)
    assert isinstance(load("connectwise/invoice.json")["id"], int)
    assert isinstance(load("autotask/companies_query.json")["items"][0]["id"], int)
    # ... and counts as integers.
    assert isinstance(load("qbo/query_count.json")["QueryResponse"]["totalCount"], int)
    assert isinstance(load("connectwise/count.json")["count"], int)
    assert isinstance(load("autotask/query_count.json")["queryCount"], int)


# =========================================================================== QBO
REALM = "4620816365252187450"
QBO_BASE = "https://qbo.reference.test"
QBO_TOKEN_URL = "https://oauth.reference.test/oauth2/v1/tokens/bearer"
API_PREFIX = f"/v3/company/{REALM}/"
ACCESS_TOKEN = "reference-access-token"


def query_envelope(entity: str, *read_files: str) -> str:
    """The documented query envelope around entities taken from read examples."""
    rows = [load(name)[entity] for name in read_files]
    body = {
        "QueryResponse": {entity: rows, "startPosition": 1, "maxResults": len(rows)},
        "time": "2024-03-19T08:20:00.000-07:00",
    }
    return dumps_exact(body)


def count_envelope(total: int) -> str:
    """``qbo/query_count.json`` with another ``totalCount``."""
    body = load("qbo/query_count.json")
    body["QueryResponse"]["totalCount"] = total
    return dumps_exact(body)


def queried_entity(request: httpx.Request) -> str:
    match = re.search(r"\bFROM\s+(\w+)", request.url.params["query"])
    assert match, request.url
    return match.group(1)


def is_count(request: httpx.Request) -> bool:
    return request.url.params["query"].upper().startswith("SELECT COUNT(*)")


def qbo_queries(pages: dict[str, bytes | str]) -> Handler:
    """``SELECT *`` answers the entity's page (no page: the empty answer); ``COUNT(*)``
    answers the documented count shape with the rows that page holds."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"{API_PREFIX}query"
        entity = queried_entity(request)
        page = pages.get(entity, raw("qbo/query_empty.json"))
        if is_count(request):
            rows = json.loads(page, parse_float=Decimal)["QueryResponse"].get(entity, [])
            return json_response(count_envelope(len(rows)))
        return json_response(page)

    return answer


class QboStub:
    """A token endpoint plus the API answers a test gives; remembers API requests."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == QBO_TOKEN_URL:
            assert request.method == "POST"
            return json_response(json.dumps({
                "token_type": "bearer",
                "access_token": ACCESS_TOKEN,
                "refresh_token": "reference-refresh-token-2",
                "expires_in": 3600,
                "x_refresh_token_expires_in": 8726400,
            }))
        assert request.url.path.startswith(API_PREFIX), request.url
        assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
        assert request.url.params["minorversion"]
        self.sent.append(request)
        return self.answer(request)


QboFactory = Callable[[Handler], tuple[QboConnector, QboStub]]


@pytest.fixture
def qbo(tmp_path: Path) -> Iterator[QboFactory]:
    made: list[QboConnector] = []

    def make(answer: Handler) -> tuple[QboConnector, QboStub]:
        stub = QboStub(answer)
        config = QboLedgerConfig(
            realm_id=REALM,
            client_id="reference-client",
            client_secret=Secret("reference-secret"),
            refresh_token=Secret("reference-refresh-token-1"),
            base_url=QBO_BASE,
            token_url=QBO_TOKEN_URL,
        )
        connector = QboConnector(
            config,
            token_store=TokenStore(tmp_path / "tokens" / f"qbo-{REALM}.json"),
            transport=httpx.MockTransport(stub),
            sleep=lambda _seconds: None,
            retry=FAST,
        )
        made.append(connector)
        return connector, stub

    yield make
    for connector in made:
        connector.close()


def test_qbo_invoice_read_example(qbo: QboFactory) -> None:
    connector, stub = qbo(lambda request: json_response(raw("qbo/invoice_read.json")))
    invoice = connector.invoice_by_id("1187")
    assert [(r.method, r.url.path) for r in stub.sent] == [("GET", f"{API_PREFIX}invoice/1187")]
    assert invoice is not None
    assert invoice.id == "1187"
    assert invoice.doc_number == "1094"
    assert invoice.customer_id == "58"
    assert invoice.date == date(2024, 3, 4)
    assert invoice.due_date == date(2024, 4, 3)
    assert invoice.total == Decimal("1362.50")
    assert invoice.balance == Decimal("862.50")
    assert invoice.voided is False
    assert invoice.kind is DocKind.INVOICE
    assert invoice.currency == "USD"  # the read example carries no CurrencyRef
    # "2024-03-18T16:45:03-07:00" is 23:45:03 UTC.
    assert invoice.updated_at == utc(2024, 3, 18, 23, 45, 3)


def test_qbo_voided_invoice_example(qbo: QboFactory) -> None:
    connector, _ = qbo(lambda request: json_response(raw("qbo/invoice_voided.json")))
    invoice = connector.invoice_by_id("1190")
    assert invoice is not None
    assert invoice.voided is True
    assert (invoice.total, invoice.balance) == (Decimal("0.00"), Decimal("0.00"))
    assert (invoice.doc_number, invoice.customer_id) == ("1097", "58")
    assert invoice.updated_at == utc(2024, 3, 14, 18, 20, 56)


def test_qbo_invoice_query_envelope(qbo: QboFactory) -> None:
    connector, stub = qbo(qbo_queries({"Invoice": raw("qbo/query_invoice.json")}))
    invoices = list(connector.invoices())
    count, select = (r.url.params["query"] for r in stub.sent)
    assert count == "SELECT COUNT(*) FROM Invoice"  # the count first: it says one page
    assert select.startswith("SELECT * FROM Invoice") and "MAXRESULTS 1000" in select
    assert [i.id for i in invoices] == ["1203", "1204"]
    usd, cad = invoices
    assert (usd.doc_number, usd.customer_id, usd.currency) == ("1102", "61", "USD")
    assert (usd.total, usd.balance) == (Decimal("480.00"), Decimal("480.00"))
    assert usd.date == date(2024, 3, 11) and usd.due_date == date(2024, 4, 10)
    assert usd.updated_at == utc(2024, 3, 11, 20, 40, 9)
    # A foreign-currency invoice: amounts in its own currency, not HomeBalance/HomeTotalAmt.
    assert (cad.currency, cad.customer_id) == ("CAD", "72")
    assert (cad.total, cad.balance) == (Decimal("2045.30"), Decimal("1045.30"))
    assert cad.updated_at == utc(2024, 3, 16, 0, 30, 0)


def test_qbo_empty_query_response_yields_no_rows(qbo: QboFactory) -> None:
    connector, stub = qbo(qbo_queries({}))
    assert list(connector.invoices()) == []
    assert list(connector.customers()) == []
    assert list(connector.credit_memos()) == []
    assert list(connector.payment_credits()) == []
    assert connector.invoice_by_doc_number("1094") is None
    # A count of 0 needs no page at all; the look-up by number reads the empty envelope.
    counts = [queried_entity(r) for r in stub.sent if is_count(r)]
    assert counts == ["Invoice", "Customer", "CreditMemo", "Payment"]
    selects = [queried_entity(r) for r in stub.sent if not is_count(r)]
    assert selects == ["Invoice"]


def test_qbo_count_example(qbo: QboFactory) -> None:
    connector, stub = qbo(lambda request: json_response(raw("qbo/query_count.json")))
    assert connector.count("Invoice") == 37
    assert stub.sent[0].url.params["query"] == "SELECT COUNT(*) FROM Invoice"


def test_qbo_empty_page_that_the_count_contradicts_fails_the_read(qbo: QboFactory) -> None:
    """``{"QueryResponse": {}}`` where COUNT(*) says 37: not taken as "no invoices"."""

    def answer(request: httpx.Request) -> httpx.Response:
        name = "qbo/query_count.json" if is_count(request) else "qbo/query_empty.json"
        return json_response(raw(name))

    connector, _ = qbo(answer)
    with pytest.raises(ConnectorError, match="read 0 of the 37"):
        list(connector.invoices())


def test_qbo_customer_read_example_in_a_query(qbo: QboFactory) -> None:
    connector, stub = qbo(qbo_queries(
        {"Customer": query_envelope("Customer", "qbo/customer_read.json")}))
    [customer] = list(connector.customers())
    assert "Active IN (true, false)" in stub.sent[0].url.params["query"]
    assert customer.id == "58"
    assert customer.display_name == "Tidewater Dental Group"
    assert customer.company_name == "Tidewater Dental Group, PLLC"
    assert customer.active is True
    assert customer.balance == Decimal("862.50")
    assert customer.updated_at == utc(2024, 3, 18, 23, 45, 3)


CREDIT_PAGES = {
    "CreditMemo": query_envelope("CreditMemo", "qbo/creditmemo_read.json"),
    "Payment": query_envelope(
        "Payment", "qbo/payment_read.json", "qbo/payment_credit_memo_applied.json"
    ),
}


def test_qbo_credit_memo_example_as_a_document(qbo: QboFactory) -> None:
    connector, _ = qbo(qbo_queries(CREDIT_PAGES))
    [memo] = list(connector.credit_memos())
    assert memo.kind is DocKind.CREDIT_MEMO
    assert (memo.id, memo.doc_number, memo.customer_id) == ("1195", "CM-1031", "58")
    assert memo.date == date(2024, 3, 6)
    assert memo.total == Decimal("300.00")
    assert memo.balance == Decimal("125.75")  # RemainingCredit
    assert memo.currency == "USD"
    assert memo.updated_at == utc(2024, 3, 18, 23, 44, 59)


def test_qbo_credit_memo_and_payment_examples_as_credits(qbo: QboFactory) -> None:
    connector, _ = qbo(qbo_queries(CREDIT_PAGES))
    memo, payment, link = list(connector.credits())

    assert (memo.kind, memo.id, memo.customer_id) == (CreditKind.CREDIT_MEMO, "1195", "58")
    assert memo.amount == Decimal("125.75")  # RemainingCredit, not TotalAmt
    assert memo.total == Decimal("300.00")
    assert (memo.doc_number, memo.date) == ("CM-1031", date(2024, 3, 6))

    assert (payment.kind, payment.id, payment.customer_id) == (
        CreditKind.UNAPPLIED_PAYMENT, "1201", "58")
    assert payment.amount == Decimal("137.50")  # UnappliedAmt
    assert payment.total == Decimal("637.50")
    assert (payment.doc_number, payment.date) == ("", date(2024, 3, 15))
    assert payment.updated_at == utc(2024, 3, 15, 17, 22, 31)

    # The zero-total payment QBO records when a credit memo is applied to an invoice.
    assert (link.kind, link.id) == (CreditKind.UNAPPLIED_PAYMENT, "1209")
    assert (link.amount, link.total) == (Decimal("0.00"), Decimal("0.00"))
    assert link.doc_number == "CM-APPLY-0318"


def test_qbo_apply_credit_memo_sends_the_documented_payment_shape(qbo: QboFactory) -> None:
    """The Payment recon-tui posts has the shape of the documented one that links an
    Invoice and a CreditMemo (TotalAmt 0, one LinkedTxn per line)."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.url.path == f"{API_PREFIX}payment"
            return json_response(raw("qbo/payment_credit_memo_applied.json"))
        assert request.url.path == f"{API_PREFIX}invoice/1187"
        return json_response(raw("qbo/invoice_read.json"))

    connector, stub = qbo(answer)
    refreshed = connector.apply_credit(
        "58", "1187", CreditKind.CREDIT_MEMO, "1195", Decimal("174.25"), "recon-req-1"
    )
    post = stub.sent[0]
    assert post.url.params["requestid"] == "recon-req-1"
    sent = json.loads(post.content, parse_float=Decimal)
    documented = load("qbo/payment_credit_memo_applied.json")["Payment"]
    assert sent["CustomerRef"]["value"] == documented["CustomerRef"]["value"]
    assert Decimal(sent["TotalAmt"]) == Decimal(documented["TotalAmt"]) == 0

    def links(payment: dict) -> list[tuple[Decimal, list[tuple[str, str]]]]:
        return [
            (Decimal(line["Amount"]), [(t["TxnType"], t["TxnId"]) for t in line["LinkedTxn"]])
            for line in payment["Line"]
        ]

    assert links(sent) == links(documented)
    assert refreshed.id == "1187" and refreshed.balance == Decimal("862.50")


def test_qbo_cdc_example_with_deleted_objects(qbo: QboFactory) -> None:
    connector, stub = qbo(lambda request: json_response(raw("qbo/cdc_with_deleted.json")))
    since = datetime.now(UTC) - timedelta(days=1)
    # 1190 is also the Id of a *Customer* the CDC answer reports deleted: not an invoice.
    deleted = connector.deleted_ids(
        {"Invoice": {"1187", "1190", "1198", "1300"}, "CreditMemo": {"1195", "1196"}}, since
    )
    assert deleted == {"Invoice": {"1198"}, "CreditMemo": {"1196"}}
    [request] = stub.sent
    assert request.url.path == f"{API_PREFIX}cdc"
    assert request.url.params["entities"] == "CreditMemo,Invoice"
    assert connector.deleted_invoice_ids({"1187", "1190", "1198"}, since) == {"1198"}


def test_qbo_record_functions_on_the_read_examples() -> None:
    invoice = invoice_from_qbo(load("qbo/invoice_read.json")["Invoice"])
    assert (invoice.id, invoice.total) == ("1187", Decimal("1362.50"))
    memo = credit_from_credit_memo(load("qbo/creditmemo_read.json")["CreditMemo"])
    assert (memo.id, memo.amount) == ("1195", Decimal("125.75"))
    payment = credit_from_payment(load("qbo/payment_read.json")["Payment"])
    assert (payment.id, payment.amount, payment.total) == (
        "1201", Decimal("137.50"), Decimal("637.50"))
    customer = customer_from_qbo(load("qbo/customer_read.json")["Customer"])
    assert (customer.id, customer.balance) == ("58", Decimal("862.50"))


# =========================================================================== ConnectWise
CW_ROOT = "/v4_6_release/apis/3.0/"
CW_BASE = "https://cw.reference.test" + CW_ROOT.rstrip("/")
CW_CLIENT_ID = "00000000-0000-0000-0000-000000000001"


def project(record: dict[str, Any], fields: str) -> dict[str, Any]:
    """What ConnectWise sends for ``fields=a,b/c``: only those (nested) members."""
    out: dict[str, Any] = {}
    for path in fields.split(","):
        source: Any = record
        target = out
        parts = path.strip().split("/")
        for depth, part in enumerate(parts):
            if not isinstance(source, dict) or part not in source:
                break
            if depth == len(parts) - 1:
                target[part] = source[part]
            else:
                source = source[part]
                target = target.setdefault(part, {})
    return out


class CwStub:
    """List endpoints serve fixtures (projected by ``fields``), ``/count`` answers
    ``connectwise/count.json``'s shape with how many the list holds."""

    def __init__(self, lists: dict[str, list[str]]) -> None:
        self.lists = lists
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        assert request.method == "GET"
        assert request.headers["clientId"] == CW_CLIENT_ID
        assert request.headers["Authorization"].startswith("Basic ")
        endpoint = request.url.path.removeprefix(CW_ROOT)
        if endpoint.endswith("/count"):
            body = load("connectwise/count.json")
            body["count"] = len(self.lists.get(endpoint.removesuffix("/count"), []))
            return json_response(dumps_exact(body))
        records = [load(name) for name in self.lists.get(endpoint, [])]
        if int(request.url.params.get("page", "1")) > 1:
            records = []
        if "fields" in request.url.params:
            records = [project(r, request.url.params["fields"]) for r in records]
        return json_response(dumps_exact(records))

    def lists_read(self) -> list[str]:
        return [r.url.path.removeprefix(CW_ROOT) for r in self.sent]


def cw_connector(stub: CwStub, **config: Any) -> ConnectWiseConnector:
    settings = ConnectWiseConfig(
        base_url=CW_BASE,
        company_id="reference",
        public_key="reference-public",
        private_key=Secret("reference-private"),
        client_id=CW_CLIENT_ID,
        **config,
    )
    return ConnectWiseConnector(settings, transport=httpx.MockTransport(stub), retry=FAST)


INVOICE_LISTS = {
    "finance/invoices": ["connectwise/invoice.json", "connectwise/invoice_credit_memo.json"],
    "finance/accounting/unpostedinvoices": ["connectwise/unposted_invoice.json"],
}


def test_cw_invoice_and_credit_memo_examples_through_the_connector() -> None:
    stub = CwStub(INVOICE_LISTS)
    with cw_connector(stub, ledger_link_field="Ledger Invoice Id") as connector:
        invoice, memo = list(connector.invoices())
    assert stub.lists_read() == [  # each count first: it says how many numbered pages
        "finance/accounting/unpostedinvoices/count", "finance/accounting/unpostedinvoices",
        "finance/invoices/count", "finance/invoices",
    ]
    listing = stub.sent[3]
    assert listing.url.params["page"] == "1" and listing.url.params["orderBy"] == "id asc"
    assert listing.url.params["pageSize"] == "1000"

    assert invoice.kind is DocKind.INVOICE
    assert (invoice.id, invoice.number, invoice.company_id) == ("8812", "24-0311", "19302")
    assert invoice.date == date(2024, 3, 4)
    assert invoice.due_date == date(2024, 4, 3)
    assert invoice.total == Decimal("1362.50")
    assert invoice.owing == Decimal("862.50")
    assert invoice.status == "Sent"
    assert invoice.ledger_invoice_id == "1187"  # from the named custom field
    assert invoice.exported is True  # not among the unposted invoices
    assert invoice.currency == "USD"
    assert invoice.updated_at == utc(2024, 3, 18, 21, 2, 44)

    # type CreditMemo: ConnectWise's negative amounts become a positive credit.
    assert memo.kind is DocKind.CREDIT_MEMO
    assert (memo.id, memo.number, memo.company_id) == ("8830", "24-0318CM", "19302")
    assert memo.total == Decimal("300.00")
    assert memo.owing == Decimal("125.75")
    assert memo.ledger_invoice_id is None  # the custom field is there, without a value
    assert memo.exported is False  # listed among the unposted invoices
    assert memo.date == date(2024, 3, 6)
    assert memo.updated_at == utc(2024, 3, 18, 21, 2, 44)


def test_cw_invoice_without_a_link_field_pairs_by_number() -> None:
    with cw_connector(CwStub(INVOICE_LISTS)) as connector:
        invoice, _ = list(connector.invoices())
    assert invoice.ledger_invoice_id is None
    assert invoice_from_cw(load("connectwise/invoice.json")).ledger_invoice_id is None
    linked = invoice_from_cw(load("connectwise/invoice.json"), link_field="Ledger Invoice Id")
    assert linked.ledger_invoice_id == "1187"


def test_cw_company_example_through_the_connector() -> None:
    stub = CwStub({"company/companies": ["connectwise/company.json"]})
    with cw_connector(stub) as connector:
        [company] = list(connector.companies())
    assert stub.lists_read() == ["company/companies/count", "company/companies"]
    assert (company.id, company.identifier) == ("19302", "TidewaterDental")
    assert company.name == "Tidewater Dental Group"
    assert company.status == "Active"
    assert company.deleted is False
    assert company.updated_at == utc(2024, 2, 27, 14, 10, 55)
    assert company_from_cw(load("connectwise/company.json")) == company


def test_cw_contact_examples_through_the_connector() -> None:
    files = ["connectwise/contact.json", "connectwise/contact_portal_disabled.json"]
    with cw_connector(CwStub({"company/contacts": files})) as connector:
        dana, marcus = list(connector.contacts())
    assert (dana.id, dana.company_id) == ("40117", "19302")
    assert (dana.first_name, dana.last_name) == ("Dana", "Whitfield")
    assert dana.email == "dana.whitfield@tidewater-dental.example"  # the Email item
    assert dana.portal_security_level == 5
    assert dana.portal_login_disabled is False
    assert dana.inactive is False
    assert dana.updated_at == utc(2024, 1, 9, 16, 27, 40)

    assert (marcus.id, marcus.company_id, marcus.full_name) == ("40129", "19302", "Marcus Ellery")
    assert marcus.email == "m.ellery@tidewater-dental.example"
    assert marcus.portal_security_level == 6
    assert marcus.portal_login_disabled is True  # disablePortalLoginFlag
    assert marcus.inactive is False
    assert marcus.updated_at == utc(2024, 3, 1, 13, 55, 9)
    assert contact_from_cw(load("connectwise/contact_portal_disabled.json")) == marcus


# =========================================================================== Autotask
AT_ROOT = "/atservicesrest/v1.0/"
AT_BASE = "https://at.reference.test" + AT_ROOT.rstrip("/")
AT_CODE = "REFERENCEINTEGRATIONCODE0000"


class AtStub:
    """``{Entity}/query`` serves the entity's fixture; ``{Entity}/query/count`` answers
    ``autotask/query_count.json``'s shape with how many items it holds."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        assert request.method == "POST"
        assert request.headers["ApiIntegrationCode"] == AT_CODE
        assert request.headers["UserName"] == "reference-api@example.com"
        path = request.url.path.removeprefix(AT_ROOT)
        entity, _, rest = path.partition("/")
        page = load(self.pages[entity])
        if rest == "query/count":
            body = load("autotask/query_count.json")
            body["queryCount"] = len(page["items"])
            return json_response(dumps_exact(body))
        assert rest == "query", path
        return json_response(raw(self.pages[entity]))

    def calls(self) -> list[tuple[str, Any]]:
        return [(r.url.path.removeprefix(AT_ROOT), json.loads(r.content)) for r in self.sent]


def at_connector(stub: AtStub) -> AutotaskConnector:
    config = AutotaskConfig(
        base_url=AT_BASE,
        username="reference-api@example.com",
        secret=Secret("reference-secret"),
        integration_code=Secret(AT_CODE),
    )
    return AutotaskConnector(
        config, transport=httpx.MockTransport(stub), retry=FAST,
        portal_levels=DEFAULT_PORTAL_LEVELS,
    )


EVERYTHING = [{"op": "gte", "field": "id", "value": 0}]


def test_at_companies_query_example_through_the_connector() -> None:
    stub = AtStub({"Companies": "autotask/companies_query.json"})
    with at_connector(stub) as connector:
        active, inactive = list(connector.companies())
    assert stub.calls() == [
        ("Companies/query", {"filter": EVERYTHING, "MaxRecords": 500}),
        ("Companies/query/count", {"filter": EVERYTHING}),
    ]
    assert (active.id, active.identifier, active.name) == (
        "29684310", "TD-0042", "Tidewater Dental Group")
    assert active.status == "Active" and active.deleted is False
    assert active.portal_active is True
    # The later of lastActivityDate and lastTrackedModifiedDateTime; no zone means UTC.
    assert active.updated_at == utc(2024, 3, 18, 21, 2, 44, 120000)
    assert (inactive.id, inactive.identifier, inactive.status) == ("29684355", "", "Inactive")
    assert inactive.portal_active is False  # isClientPortalActive false
    assert inactive.updated_at == utc(2024, 1, 31, 18, 44, 12, 337000)
    assert company_from_at(load("autotask/companies_query.json")["items"][0]) == active


def test_at_contacts_query_example_through_the_connector() -> None:
    stub = AtStub({
        "Contacts": "autotask/contacts_query.json",
        "ClientPortalUsers": "autotask/clientportalusers_query.json",
    })
    with at_connector(stub) as connector:
        dana, marcus = list(connector.contacts())
    assert [path for path, _ in stub.calls()] == [
        "ClientPortalUsers/query", "ClientPortalUsers/query/count",
        "Contacts/query", "Contacts/query/count",
    ]
    assert (dana.id, dana.company_id, dana.full_name) == ("30683109", "29684310", "Dana Whitfield")
    assert dana.email == "dana.whitfield@tidewater-dental.example"
    assert dana.inactive is False  # isActive is the integer 1 on Contacts
    assert dana.portal_security_level == DEFAULT_PORTAL_LEVELS[3]  # Client Portal Manager
    assert dana.updated_at == utc(2024, 1, 9, 16, 27, 40, 217000)  # lastModifiedDate

    assert (marcus.id, marcus.full_name) == ("30683144", "Marcus Ellery")
    assert marcus.email is None  # "" in the payload
    assert marcus.inactive is True  # isActive 0
    assert marcus.portal_security_level is None  # no ClientPortalUsers row
    assert marcus.updated_at == utc(2024, 3, 1, 13, 55, 9, 480000)

    portal_row = load("autotask/clientportalusers_query.json")["items"][0]
    item = load("autotask/contacts_query.json")["items"][0]
    assert contact_from_at(item, portal_row) == dana


def test_at_invoices_query_example_through_the_connector() -> None:
    stub = AtStub({"Invoices": "autotask/invoices_query.json"})
    with at_connector(stub) as connector:
        open_, paid, voided = list(connector.invoices())
    assert [path for path, _ in stub.calls()] == ["Invoices/query", "Invoices/query/count"]

    assert (open_.id, open_.number, open_.company_id) == ("5410", "T20240304.0012", "29684310")
    assert open_.kind is DocKind.INVOICE
    assert open_.date == date(2024, 3, 4) and open_.due_date == date(2024, 4, 3)
    assert (open_.total, open_.owing, open_.status) == (
        Decimal("1362.50"), Decimal("1362.50"), "Open")
    assert open_.exported is True  # webServiceDate is set
    assert open_.ledger_invoice_id is None
    assert open_.updated_at == utc(2024, 3, 5, 6, 0, 12, 873000)  # webServiceDate, the latest

    assert (paid.id, paid.status) == ("5388", "Paid")
    assert (paid.total, paid.owing) == (Decimal("1418.25"), Decimal("0.00"))
    assert paid.exported is False
    assert paid.updated_at == utc(2024, 2, 28)  # paidDate

    assert (voided.id, voided.number, voided.company_id) == ("5402", "5402", "29684355")
    assert (voided.status, voided.total, voided.owing) == (
        "Voided", Decimal("0.00"), Decimal("0.00"))
    assert voided.updated_at == utc(2024, 2, 21, 8, 45, 30, 20000)  # voidedDate
    assert invoice_from_at(load("autotask/invoices_query.json")["items"][0]) == open_
    by_id = invoice_from_at(load("autotask/invoices_query.json")["items"][0], numbering="id")
    assert by_id.number == "5410"


# =========================================================================== payments
def test_qbo_payment_lines_become_applications_to_invoices() -> None:
    """The documented Payment: 500.00 of its 637.50 applied to invoice 1187 (the
    rest unapplied); the credit-memo application: invoice 1187 paid by memo 1195."""
    from recon_tui.connectors.qbo_records import payment_from_qbo
    from recon_tui.transactions import TxnKind

    read = payment_from_qbo(load("qbo/payment_read.json")["Payment"])
    assert read.credit.amount == Decimal("137.50")
    assert [(t.invoice_id, t.kind, t.amount) for t in read.applications] == [
        ("1187", TxnKind.PAYMENT, Decimal("500.00"))]
    memo = payment_from_qbo(load("qbo/payment_credit_memo_applied.json")["Payment"])
    assert [(t.invoice_id, t.kind, t.amount, t.credit_id, t.txn_id)
            for t in memo.applications] == [
        ("1187", TxnKind.CREDIT, Decimal("174.25"), "1195", "1209")]


def test_connectwise_invoice_payments_parse() -> None:
    from recon_tui.connectors.connectwise_payments import parse_payments
    from recon_tui.transactions import TxnKind

    txns = parse_payments(load("connectwise/invoice_payments.json"), "8812")
    assert [(t.txn_id, t.kind, t.amount, t.date.isoformat(), t.credit_id, t.reference)
            for t in txns] == [
        ("4410", TxnKind.PAYMENT, Decimal("250.00"), "2024-03-20", "", ""),
        ("4417", TxnKind.CREDIT, Decimal("42.50"), "2024-03-22", "8830", "CM-24-017")]
