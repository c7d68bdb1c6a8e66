"""The QuickBooks Online connector against the emulator, over real sockets.

Every test runs the real connector (httpx, retries, OAuth, paging) against the
sandbox's QBO routes on 127.0.0.1, with faults injected by the emulator's
FaultPlan. Sleeps are recorded instead of slept, so retries cost no wall time
and the delay the connector *asked for* can be asserted.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recon_tui.config import QboLedgerConfig, Secret
from recon_tui.connectors.base import (
    AuthError,
    BadData,
    ConnectorError,
    LedgerConnector,
    ServerError,
    Throttled,
)
from recon_tui.connectors.http import RetryPolicy
from recon_tui.connectors.qbo import QboConnector, qbo_quote, shared_rate_limiter
from recon_tui.connectors.records import parse_utc_datetime
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.connectors.tokens import (
    TokenState,
    TokenStore,
    default_token_path,
    token_fingerprint,
)
from recon_tui.models import CreditKind
from recon_tui.sandbox import qbo as qbo_sandbox
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.faults import FaultPlan, FaultRule
from recon_tui.sandbox.qbo import (
    SEED_REFRESH_TOKEN,
    QueryError,
    make_big_ledger,
    parse_query,
    run_query,
)
from tests.emulator import Emulator

REALM = "9130355377270856"
FAST = RetryPolicy(max_attempts=5, base_delay_seconds=0.001, max_delay_seconds=0.01)


# =========================================================================== fixtures
class Sandbox(Emulator):
    """The shared emulator fixture plus what a test needs to build QBO connectors."""

    def __init__(self, book: SandboxBook, tmp_path: Path) -> None:
        super().__init__(book, FaultPlan(retry_after_seconds=2, slow_ms=400))
        self.tmp_path = tmp_path
        self.sleeps: list[float] = []
        self.store = TokenStore(tmp_path / "tokens" / f"qbo-{REALM}.json")
        self._connectors: list[QboConnector] = []

    @property
    def state(self) -> Any:
        return self.book.qbo_state  # type: ignore[attr-defined]

    def config(
        self,
        *,
        refresh: str = SEED_REFRESH_TOKEN,
        secret: str = "sandbox-secret",
        url: str | None = None,
    ) -> QboLedgerConfig:
        url = url or self.server.url
        return QboLedgerConfig(
            realm_id=REALM,
            client_id="sandbox-client",
            client_secret=Secret(secret),
            refresh_token=Secret(refresh),
            base_url=url,
            token_url=f"{url}/oauth2/v1/tokens/bearer",
        )

    def connector(
        self,
        config: QboLedgerConfig | None = None,
        *,
        store: TokenStore | None = None,
        retry: RetryPolicy = FAST,
        timeout: float | None = None,
    ) -> QboConnector:
        connector = QboConnector(
            config or self.config(),
            token_store=store or self.store,
            sleep=self.sleeps.append,
            retry=retry,
            timeout=timeout,
        )
        self._connectors.append(connector)
        return connector

    def close(self) -> None:
        for connector in self._connectors:
            connector.close()
        self.stop()


@pytest.fixture
def sample_book() -> SandboxBook:
    return SandboxBook.from_dir(sample_data_dir())


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[[SandboxBook], Sandbox]]:
    running: list[Sandbox] = []

    def start(book: SandboxBook) -> Sandbox:
        sandbox = Sandbox(book, tmp_path)
        running.append(sandbox)
        return sandbox

    yield start
    for sandbox in running:
        sandbox.close()


@pytest.fixture
def sandbox(make_sandbox: Callable[[SandboxBook], Sandbox], sample_book: SandboxBook) -> Sandbox:
    return make_sandbox(sample_book)


def _moment(stamp: str) -> datetime:
    return parse_utc_datetime(stamp)


def _no_floats(record: object) -> None:
    names = getattr(record, "__struct_fields__", None) or [
        f.name for f in dataclasses.fields(record)]  # type: ignore[arg-type]
    for name in names:
        value = getattr(record, name)
        assert not isinstance(value, float), f"{type(record).__name__}.{name} is a float"


# =========================================================================== reading
def test_reads_the_whole_sample_book_exactly_once(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    assert isinstance(c, LedgerConnector)
    invoices = list(c.invoices())
    assert len(invoices) == len(sandbox.book.qbo["Invoice"]) == 1036
    assert len({i.id for i in invoices}) == 1036
    # 1036 invoices: the count first (it says how many pages there are), then a full
    # page and a short one, fetched together, each asking for 1000 explicitly.
    count, *pages = [q for q in sandbox.state.queries() if "FROM Invoice" in q]
    assert count == "SELECT COUNT(*) FROM Invoice"
    assert sorted(pages) == [
        "SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
        "SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000",
    ]
    assert all(r.params.get("minorversion") == "75" for r in sandbox.state.requests)


@pytest.mark.parametrize(("n_invoices", "pages"), [(2600, 3), (2000, 2), (999, 1), (0, 0)])
def test_paging_a_big_ledger_uses_the_fewest_requests(
    make_sandbox: Callable[[SandboxBook], Sandbox], n_invoices: int, pages: int
) -> None:
    book = SandboxBook()
    expected = make_big_ledger(book, n_invoices, 40)
    sandbox = make_sandbox(book)
    c = sandbox.connector()
    ids = [invoice.id for invoice in c.invoices()]
    assert sorted(ids, key=int) == expected  # every invoice, in Id order
    assert len(set(ids)) == n_invoices  # exactly once each
    # The count first, then ceil(n/1000) pages: the count says where the book ends,
    # so 2000 invoices need no empty third page and an empty book no page at all.
    assert sandbox.plan.requests_seen("qbo") == pages + 1
    assert c.requests_sent == pages + 1
    count, *listing = sandbox.state.queries()
    starts = sorted((q.split("STARTPOSITION ")[1] for q in listing),
                    key=lambda start: int(start.split()[0]))
    assert starts == [f"{1 + 1000 * n} MAXRESULTS 1000" for n in range(pages)]
    assert count == "SELECT COUNT(*) FROM Invoice"


def test_an_empty_page_the_count_contradicts_fails_the_read(
    make_sandbox: Callable[[SandboxBook], Sandbox],
) -> None:
    """QBO (or a proxy) answering {"QueryResponse": {}} where rows should be: a short
    page is not proof of the end, the count is."""
    book = SandboxBook()
    make_big_ledger(book, 1500, 10)
    sandbox = make_sandbox(book)
    original = qbo_sandbox.run_query

    def empty_second_page(book_: SandboxBook, text: str) -> dict:
        if "STARTPOSITION 1001" in text:
            return {}
        return original(book_, text)

    qbo_sandbox.run_query = empty_second_page  # type: ignore[assignment]
    try:
        with pytest.raises(ConnectorError, match=r"query Invoice: read 1,000 of the 1,500 "
                           r"records QuickBooks counts; the answer was incomplete \(query "
                           r"Invoice \(rows 1001-2000\) held 0 where 500 were due"):
            list(sandbox.connector().invoices())
    finally:
        qbo_sandbox.run_query = original  # type: ignore[assignment]


def test_a_server_ignoring_startposition_stops_the_read(
    make_sandbox: Callable[[SandboxBook], Sandbox],
) -> None:
    book = SandboxBook()
    make_big_ledger(book, 2500, 10)
    sandbox = make_sandbox(book)
    original = qbo_sandbox.run_query

    def first_page_always(book_: SandboxBook, text: str) -> dict:
        return original(book_, text.replace("STARTPOSITION 1001", "STARTPOSITION 1"))

    qbo_sandbox.run_query = first_page_always  # type: ignore[assignment]
    try:
        with pytest.raises(ConnectorError, match="ignores STARTPOSITION"):
            list(sandbox.connector().invoices())
    finally:
        qbo_sandbox.run_query = original  # type: ignore[assignment]


def test_the_emulator_default_page_would_truncate(sample_book: SandboxBook) -> None:
    """The trap the connector avoids: no MAXRESULTS means 100 rows, silently."""
    page = run_query(sample_book, "SELECT * FROM Invoice")
    assert page["maxResults"] == 100 and len(page["Invoice"]) == 100


def test_inactive_customers_are_included(sandbox: Sandbox) -> None:
    customers = {c.id: c for c in sandbox.connector().customers()}
    assert len(customers) == 47
    assert customers["102"].active is False  # Initech LLC, inactive, still has invoices
    # QBO itself would have hidden it without the Active clause:
    assert run_query(sandbox.book, "SELECT COUNT(*) FROM Customer") == {"totalCount": 46}


def test_since_filters_on_last_updated_time(sandbox: Sandbox) -> None:
    since = datetime(2026, 11, 1)  # naive means UTC
    got = {i.id for i in sandbox.connector().invoices(since)}
    expected = {
        key
        for key, raw in sandbox.book.qbo["Invoice"].items()
        if _moment(raw["MetaData"]["LastUpdatedTime"]) >= since.replace(tzinfo=UTC)
    }
    assert got == expected and 0 < len(got) < 1035
    assert (
        "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '2026-11-01T00:00:00Z' "
        "ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000"
    ) in sandbox.state.queries()


def test_credits_keep_used_up_ones_and_money_is_decimal(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    credits = {(cr.kind, cr.id): cr for cr in c.credits()}
    assert len(credits) == 4 + 980  # 4 credit memos, 980 payments
    assert credits[(CreditKind.CREDIT_MEMO, "11261")].amount == Decimal("10.00")
    assert credits[(CreditKind.CREDIT_MEMO, "10858")].amount == Decimal("0.00")  # used up
    assert credits[(CreditKind.UNAPPLIED_PAYMENT, "10985")].amount == Decimal("400.00")
    records = [*credits.values(), *c.invoices(), *c.customers()]
    for record in records:
        _no_floats(record)
    for cr in credits.values():
        assert type(cr.amount) is Decimal and type(cr.total) is Decimal
    invoice = c.invoice_by_id("9002")
    assert invoice is not None and invoice.balance == Decimal("420.00")
    assert type(invoice.total) is Decimal and str(invoice.total) == "1049.00"


def test_invoice_lookups(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    found = c.invoice_by_doc_number("10040")
    assert found is not None and found.id == "9065" and found.total == Decimal("120.00")
    assert c.invoice_by_doc_number("no-such-number") is None
    assert c.invoice_by_id("424242") is None  # QBO's 610 Object Not Found
    # A quote in the number is escaped, not a broken (or injected) query.
    odd = copy.deepcopy(sandbox.book.qbo["Invoice"]["9065"])
    odd.update(Id="99001", DocNumber="O'Brien-7")
    with sandbox.book.lock:
        sandbox.book.qbo["Invoice"]["99001"] = odd
    hit = c.invoice_by_doc_number("O'Brien-7")
    assert hit is not None and hit.id == "99001"
    assert qbo_quote("O'Brien-7") == "'O\\'Brien-7'"
    assert c.invoice_by_doc_number("x' OR DocNumber = '10040") is None


# =========================================================================== faults
def test_429_waits_at_least_retry_after(sandbox: Sandbox) -> None:
    sandbox.plan.rules.append(FaultRule("429", "qbo", 1, 1))
    assert len(list(sandbox.connector().customers())) == 47
    assert len(sandbox.sleeps) == 1
    assert sandbox.sleeps[0] >= sandbox.plan.retry_after_seconds == 2
    assert sandbox.plan.requests_seen("qbo") == 3  # the 429, the page, the count


@pytest.mark.parametrize("fault", ["500", "503"])
def test_server_errors_are_retried(sandbox: Sandbox, fault: str) -> None:
    sandbox.plan.rules.append(FaultRule(fault, "qbo", 1, 2))
    assert len(list(sandbox.connector().invoices())) == 1036
    assert len(sandbox.sleeps) == 2
    assert sandbox.plan.requests_seen("qbo") == 5  # two failures, two pages, the count


def test_persistent_server_error_names_the_operation(sandbox: Sandbox) -> None:
    sandbox.plan.rules.append(FaultRule("500", "qbo", 2, 50))  # the page after the count
    with pytest.raises(ConnectorError) as caught:
        list(sandbox.connector().customers())
    message = str(caught.value)
    assert message.startswith("qbo: query Customer (rows 1-1000): HTTP 500 [code 10000]")
    assert "persisted after 5 attempts" in message
    assert caught.value.status == 500
    assert len(sandbox.sleeps) == 4


def test_401_refreshes_once_then_succeeds(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    list(c.customers())
    tokens_before = sandbox.plan.requests_seen("token")
    stored_before = sandbox.store.load()
    sandbox.plan.add(FaultRule("401", "qbo"))
    assert c.invoice_by_id("9065") is not None
    assert sandbox.plan.requests_seen("token") == tokens_before + 1
    stored_after = sandbox.store.load()
    assert stored_before is not None and stored_after is not None
    assert stored_after.refresh_token != stored_before.refresh_token
    assert stored_after.refresh_token == sandbox.state.auth.current_refresh


def test_401_that_persists_after_a_refresh_is_reported(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    list(c.customers())
    tokens_before = sandbox.plan.requests_seen("token")
    sandbox.plan.add(FaultRule("401", "qbo", 1, 5))
    with pytest.raises(ConnectorError, match=r"read invoice 9065: HTTP 401 \[code 3200\]"):
        c.invoice_by_id("9065")
    assert sandbox.plan.requests_seen("token") == tokens_before + 1  # one refresh only


def test_expired_access_token_is_refreshed_before_use(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    list(c.customers())
    state = sandbox.store.load()
    assert state is not None
    # An access token about to expire is refreshed proactively: no 401 round trip.
    sandbox.store.save(
        dataclasses.replace(state, access_expires_at=datetime.now(UTC) + timedelta(seconds=5))
    )
    c2 = sandbox.connector()
    seen = sandbox.plan.requests_seen("qbo")
    assert c2.invoice_by_id("9065") is not None
    assert sandbox.plan.requests_seen("qbo") == seen + 1


def test_slow_answer_beyond_the_timeout_is_retried(sandbox: Sandbox) -> None:
    sandbox.plan.rules.append(FaultRule("slow", "qbo", 1, 1))
    c = sandbox.connector(timeout=0.15)
    assert c.invoice_by_id("9065") is not None
    assert len(sandbox.sleeps) == 1


def test_slow_answer_every_time_is_reported(sandbox: Sandbox) -> None:
    sandbox.plan.rules.append(FaultRule("slow", "qbo", 1, 2))
    c = sandbox.connector(timeout=0.15, retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.001))
    with pytest.raises(ConnectorError, match=r"qbo: read invoice 9065: timed out after 2 "):
        c.invoice_by_id("9065")


def test_garbage_json_is_a_clear_error(sandbox: Sandbox) -> None:
    sandbox.plan.rules.append(FaultRule("garbage", "qbo", 1, 1))
    with pytest.raises(ConnectorError, match=r"^qbo: count Customer: the server returned "
                       r"invalid JSON \(HTTP 200, body starts '\{\"QueryResponse"):
        list(sandbox.connector().customers())
    sandbox.plan.rules.append(FaultRule("garbage", "qbo", 3, 1))  # the page after a count
    with pytest.raises(ConnectorError, match=r"^qbo: query Customer \(rows 1-1000\): the "
                       r"server returned invalid JSON"):
        list(sandbox.connector().customers())


def test_token_endpoint_faults(sandbox: Sandbox) -> None:
    sandbox.plan.rules.append(FaultRule("503", "token", 1, 1))
    assert sandbox.connector().invoice_by_id("9065") is not None
    sandbox.store.clear()
    sandbox.plan.add(FaultRule("garbage", "token"))
    with pytest.raises(ConnectorError) as caught:
        sandbox.connector().invoice_by_id("9065")
    assert str(caught.value) == (
        "qbo: refresh access token: the token endpoint returned invalid JSON (HTTP 200)"
    )


def test_qbo_fault_envelope_becomes_the_error(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    with pytest.raises(ConnectorError) as caught:
        c.api.get_json(
            "query",
            operation="query with OR",
            params={
                "query": "SELECT * FROM Invoice WHERE Id = '1' OR Id = '2'",
                "minorversion": "75",
            },
        )
    assert caught.value.code == "4000" and caught.value.status == 400
    assert "qbo: query with OR: HTTP 400 [code 4000]: Error parsing query" in str(caught.value)


# =========================================================================== OAuth
def test_refresh_token_is_rotated_and_persisted_before_use(sandbox: Sandbox) -> None:
    plan = sandbox.plan

    class WatchedStore(TokenStore):
        api_requests_at_save: list[int] = []

        def save(self, state: TokenState) -> None:
            self.api_requests_at_save.append(plan.requests_seen("qbo"))
            super().save(state)

    store = WatchedStore(sandbox.store.path)
    c = sandbox.connector(store=store)
    assert c.invoice_by_id("9065") is not None
    assert store.api_requests_at_save == [0]  # saved before the first API request
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    # No temp file left: only the tokens and the lock file refreshes take.
    assert sorted(p.name for p in store.path.parent.iterdir()) == [
        store.path.name, store.lock_path.name]
    saved = json.loads(store.path.read_text())
    assert saved["refresh_token"] == sandbox.state.auth.current_refresh != SEED_REFRESH_TOKEN
    assert saved["seeded_from"] == token_fingerprint(SEED_REFRESH_TOKEN)
    assert saved["access_token"] and saved["access_expires_at"]
    assert sandbox.state.auth.grants == ["seed"]

    # A second connector on the same store starts from the rotated token.
    sandbox.state.auth.expire_access_tokens()
    c2 = sandbox.connector(store=TokenStore(store.path))
    assert c2.invoice_by_id("9065") is not None
    assert sandbox.state.auth.grants == ["seed", "latest"]
    assert json.loads(store.path.read_text())["refresh_token"] == sandbox.state.auth.current_refresh


def test_seed_token_still_works_after_an_emulator_restart(sandbox: Sandbox) -> None:
    assert sandbox.connector().invoice_by_id("9065") is not None
    rotated = sandbox.store.load()
    sandbox.restart()  # the new emulator never issued the stored token
    c = sandbox.connector(sandbox.config(url=sandbox.server.url))
    assert c.invoice_by_id("9065") is not None
    # The stored token was refused, the config's seed was the fallback, and the
    # newly rotated token is what the store holds now.
    assert sandbox.state.auth.grants == ["rejected", "seed"]
    now = sandbox.store.load()
    assert rotated is not None and now is not None
    assert now.refresh_token == sandbox.state.auth.current_refresh != rotated.refresh_token
    # A fresh store with the seed token works on a fresh emulator too.
    sandbox.restart()
    fresh = TokenStore(sandbox.tmp_path / "other" / "tokens.json")
    assert (
        sandbox.connector(sandbox.config(url=sandbox.server.url), store=fresh).invoice_by_id("9065")
        is not None
    )
    assert sandbox.state.auth.grants == ["seed"]


def test_token_store_prefers_rotated_token_unless_the_user_reauthorised(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "t.json")
    assert store.resolve("config-a").refresh_token == "config-a"
    store.save(TokenState(refresh_token="rotated-a2", seeded_from=token_fingerprint("config-a")))
    assert store.resolve("config-a").refresh_token == "rotated-a2"  # newer than the config
    fresh = store.resolve("config-b")  # the user pasted a new token: it wins
    assert fresh.refresh_token == "config-b"
    assert fresh.seeded_from == token_fingerprint("config-b")
    assert "rotated" not in repr(store.load()) and "config" not in repr(fresh)


def test_damaged_token_file_falls_back_to_the_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"refresh_token": "half-a-secr')
    store = TokenStore(path)
    with caplog.at_level(logging.WARNING):
        assert store.resolve("config-a").refresh_token == "config-a"
    assert "damaged" in caplog.text and "half-a-secr" not in caplog.text


def test_default_token_path_is_per_realm_under_user_data(tmp_path: Path) -> None:
    path = default_token_path(REALM)
    assert path == tmp_path / "xdg-data" / "recon-tui" / "tokens" / f"qbo-{REALM}.json"
    with pytest.raises(ValueError):
        default_token_path("../../etc")


def test_invalid_grant_asks_to_reauthorise(sandbox: Sandbox) -> None:
    bad = "definitely-not-a-valid-refresh-token"
    with pytest.raises(ConnectorError) as caught:
        sandbox.connector(sandbox.config(refresh=bad)).invoice_by_id("9065")
    message = str(caught.value)
    assert "invalid_grant" in message and "recon-tui connect qbo" in message
    assert bad not in message
    assert caught.value.code == "invalid_grant"
    assert sandbox.plan.requests_seen("qbo") == 0


def test_wrong_client_secret_is_named_without_its_value(sandbox: Sandbox) -> None:
    with pytest.raises(ConnectorError) as caught:
        sandbox.connector(sandbox.config(secret="wrong-secret")).invoice_by_id("9065")
    assert "client_secret" in str(caught.value) and "wrong-secret" not in str(caught.value)


def test_no_token_or_secret_in_errors_or_logs(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    c = sandbox.connector()
    list(c.customers())
    sandbox.plan.add(FaultRule("401", "qbo"))  # refresh on 401
    c.invoice_by_id("9065")
    sandbox.plan.add(FaultRule("401", "qbo", 1, 3))  # 401 that persists
    sandbox.plan.add(FaultRule("500", "qbo", 3, 10))
    for action in (lambda: c.invoice_by_id("9065"), lambda: c.invoice_by_id("9065")):
        with pytest.raises(ConnectorError) as caught:
            action()
        messages.append(str(caught.value))
    sandbox.plan.reset()
    sandbox.restart()
    for config in (
        sandbox.config(url=sandbox.server.url, refresh="stale-token-123"),
        sandbox.config(url=sandbox.server.url, secret="wrong-secret"),
    ):
        with pytest.raises(ConnectorError) as caught:
            sandbox.connector(config, store=TokenStore(sandbox.tmp_path / "x.json")).invoice_by_id(
                "9065"
            )
        messages.append(str(caught.value))
    secrets = [
        SEED_REFRESH_TOKEN,
        "sandbox-secret",
        "stale-token-123",
        "wrong-secret",
        *sandbox.state.auth.issued,
    ]
    text = "\n".join(messages) + caplog.text
    assert "refreshed the access token" in caplog.text  # the logs did say something
    for secret in secrets:
        assert secret not in text


# =========================================================================== deletions
def _delete_invoice(c: QboConnector, book: SandboxBook, invoice_id: str) -> None:
    sync_token = book.qbo["Invoice"][invoice_id]["SyncToken"]
    body, _ = c.api.post_json(
        "invoice",
        {"Id": invoice_id, "SyncToken": sync_token},
        operation="delete invoice",
        params={"operation": "delete", "minorversion": "75", "requestid": f"delete-{invoice_id}"},
    )
    assert body["Invoice"]["status"] == "Deleted"


def test_deleted_invoice_found_by_cdc_in_one_request(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    _delete_invoice(c, sandbox.book, "9065")
    before = sandbox.plan.requests_seen("qbo")
    known = {"9065", "9001", "9002"}
    assert c.deleted_invoice_ids(known, datetime.now(UTC) - timedelta(days=2)) == {"9065"}
    assert sandbox.plan.requests_seen("qbo") == before + 1
    last = sandbox.state.requests[-1]
    assert last.path.endswith("/cdc") and last.params["entities"] == "Invoice"
    # Deletions of invoices the cache never knew are not reported.
    assert c.deleted_invoice_ids({"9001"}, datetime.now(UTC) - timedelta(days=2)) == set()


@pytest.mark.parametrize("since", [None, datetime.now(UTC) - timedelta(days=60)])
def test_deleted_invoice_found_by_comparing_ids(sandbox: Sandbox, since: datetime | None) -> None:
    c = sandbox.connector()
    _delete_invoice(c, sandbox.book, "9065")
    before = sandbox.plan.requests_seen("qbo")
    assert c.deleted_invoice_ids({"9065", "9001", "11999"}, since) == {"9065", "11999"}
    count, *pages = sandbox.state.queries()[-3:]
    assert count == "SELECT COUNT(*) FROM Invoice"
    assert sorted(pages) == [
        "SELECT Id FROM Invoice ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
        "SELECT Id FROM Invoice ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000",
    ]
    assert sandbox.plan.requests_seen("qbo") == before + 3


def test_deleted_payments_and_credit_memos_found_by_one_cdc_request(sandbox: Sandbox) -> None:
    """QBO hard-deletes Payments and CreditMemos; CDC over all three entities reports
    every deletion in one request."""
    c = sandbox.connector()
    memo = sandbox.book.qbo["CreditMemo"]["10731"]  # CM-1001, not yet applied
    payment = sandbox.book.qbo["Payment"]["9024"]
    for path, record in (("creditmemo", memo), ("payment", payment)):
        c.api.post_json(path, {"Id": record["Id"], "SyncToken": record["SyncToken"]},
                        operation="delete", params={"operation": "delete", "minorversion": "75"})
    assert "10731" not in sandbox.book.qbo["CreditMemo"]
    before = sandbox.plan.requests_seen("qbo")
    expected = {"Invoice": {"9001"}, "CreditMemo": {"10731", "10537"},
                "Payment": {"9024", "9025"}}
    deleted = c.deleted_ids(expected, datetime.now(UTC) - timedelta(days=1))
    assert deleted == {"Invoice": set(), "CreditMemo": {"10731"}, "Payment": {"9024"}}
    assert sandbox.plan.requests_seen("qbo") == before + 1
    assert sandbox.state.requests[-1].params["entities"] == "CreditMemo,Invoice,Payment"
    # Beyond CDC's 30 days: complete id lists, each proved by its count.
    assert c.deleted_ids(expected, None) == deleted


def test_cdc_refuses_more_than_30_days(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    with pytest.raises(ConnectorError, match=r"HTTP 400 \[code 4001\]"):
        c.api.get_json(
            "cdc",
            operation="cdc",
            params={"entities": "Invoice", "changedSince": "2020-01-01T00:00:00Z"},
        )


def test_a_failed_read_is_never_a_deletion(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    assert c.invoice_by_id("9065") is not None
    sandbox.plan.add(FaultRule("500", "qbo", 1, 10))
    with pytest.raises(ConnectorError, match="read invoice 9065: HTTP 500"):
        c.invoice_by_id("9065")
    sandbox.plan.add(FaultRule("500", "qbo", 1, 10))
    with pytest.raises(ConnectorError, match="count Invoice: HTTP 500"):
        c.deleted_invoice_ids({"9065"}, None)  # a failed id listing deletes nothing
    sandbox.plan.add(FaultRule("500", "qbo", 1, 10))
    with pytest.raises(ConnectorError, match="change data capture"):
        c.deleted_invoice_ids({"9065"}, datetime.now(UTC) - timedelta(days=1))


# =========================================================================== writes
def test_apply_credit_memo_seed_001(sandbox: Sandbox) -> None:
    """The support article's scenario: CM-1004 ($10) onto invoice 10040 ($120)."""
    scenario = json.loads((sample_data_dir() / "scenarios.json").read_text())
    seed = scenario["seed_001_unapplied_credit"]
    invoice_id = seed["invoice"]["qbo_invoice_id"]
    credit_id = seed["credit_memo"]["credit_memo_id"]
    c = sandbox.connector()
    payments_before = set(sandbox.book.qbo["Payment"])
    invoice = c.apply_credit(
        seed["qbo_customer_id"],
        invoice_id,
        CreditKind.CREDIT_MEMO,
        credit_id,
        Decimal(seed["credit_memo"]["total"]),
        "seed-001",
    )
    assert invoice.id == invoice_id and invoice.balance == Decimal("110.00")
    assert invoice.total == Decimal("120.00")
    memo = {cr.id: cr for cr in c.credits() if cr.kind is CreditKind.CREDIT_MEMO}[credit_id]
    assert memo.amount == Decimal("0.00")
    (new_id,) = set(sandbox.book.qbo["Payment"]) - payments_before
    payment = sandbox.book.qbo["Payment"][new_id]
    assert payment["TotalAmt"] == 0 and payment["UnappliedAmt"] == 0
    assert [line["LinkedTxn"][0]["TxnType"] for line in payment["Line"]] == [
        "Invoice",
        "CreditMemo",
    ]
    assert {"TxnId": new_id, "TxnType": "Payment"} in (
        sandbox.book.qbo["Invoice"][invoice_id]["LinkedTxn"]
    )
    post = next(r for r in sandbox.state.requests if r.method == "POST")
    assert post.params["requestid"] == "seed-001" and post.params["minorversion"] == "75"


def test_retried_write_with_the_same_requestid_applies_once(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    payments_before = len(sandbox.book.qbo["Payment"])
    sandbox.state.fail_after_commit = 1  # the first answer is lost after the commit
    invoice = c.apply_credit("97", "9065", "CreditMemo", "11261", Decimal("5"), "req-once")
    assert invoice.balance == Decimal("115.00")  # not 110: applied once
    assert len(sandbox.sleeps) == 1  # the connector did retry the POST
    # The workflow repeating the whole step after a crash is safe too.
    again = c.apply_credit("97", "9065", "CreditMemo", "11261", Decimal("5"), "req-once")
    assert again.balance == Decimal("115.00")
    assert sandbox.book.qbo["CreditMemo"]["11261"]["RemainingCredit"] == Decimal("5.00")
    assert len(sandbox.book.qbo["Payment"]) == payments_before + 1
    posts = [r for r in sandbox.state.requests if r.method == "POST"]
    assert [p.params["requestid"] for p in posts] == ["req-once"] * 3


def test_applying_more_than_the_credit_is_refused(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    with pytest.raises(ConnectorError) as caught:
        c.apply_credit("97", "9065", "CreditMemo", "11261", Decimal("20"), "too-much")
    assert caught.value.code == "6000"
    assert "apply credit memo 11261 to invoice 9065" in str(caught.value)
    assert sandbox.book.qbo["Invoice"]["9065"]["Balance"] == Decimal("120.0")
    assert sandbox.book.qbo["CreditMemo"]["11261"]["RemainingCredit"] == Decimal("10.0")


def _open_invoice_of(book: SandboxBook, customer_id: str) -> str:
    return next(
        key
        for key, raw in book.qbo["Invoice"].items()
        if raw["CustomerRef"]["value"] == customer_id and raw["Balance"] >= 100
    )


def test_apply_unapplied_payment_by_sparse_update(sandbox: Sandbox) -> None:
    book = sandbox.book
    invoice_id = _open_invoice_of(book, "60")
    balance = Decimal(book.qbo["Invoice"][invoice_id]["Balance"])
    c = sandbox.connector()
    invoice = c.apply_credit(
        "60", invoice_id, CreditKind.UNAPPLIED_PAYMENT, "10985", Decimal("100.00"), "pay-1"
    )
    assert invoice.balance == balance - Decimal("100.00")
    payment = book.qbo["Payment"]["10985"]
    assert payment["UnappliedAmt"] == Decimal("300.00") and payment["SyncToken"] == "1"
    assert payment["Line"] == [
        {"Amount": Decimal("100.00"), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
    ]
    post = next(r for r in sandbox.state.requests if r.method == "POST")
    assert post.path.endswith("/payment") and post.params["requestid"] == "pay-1"
    credit = {
        cr.id: cr
        for cr in c.credits(datetime.now(UTC) - timedelta(minutes=5))
        if cr.kind is CreditKind.UNAPPLIED_PAYMENT
    }["10985"]
    assert credit.amount == Decimal("300.00")


def test_stale_sync_token_is_retried_with_a_fresh_read(sandbox: Sandbox) -> None:
    book = sandbox.book
    invoice_id = _open_invoice_of(book, "60")
    c = sandbox.connector()
    original_read = c._read
    edits: list[str] = []

    def read_then_someone_edits(*args: Any, **kwargs: Any) -> Any:
        record = original_read(*args, **kwargs)
        if not edits:  # another user saves the payment between our read and write
            with book.lock:
                book.qbo["Payment"]["10985"]["SyncToken"] = "7"
            edits.append("edited")
        return record

    c._read = read_then_someone_edits  # type: ignore[method-assign]
    invoice = c.apply_credit("60", invoice_id, "Payment", "10985", Decimal("50"), "pay-stale")
    assert invoice.balance == Decimal(book.qbo["Invoice"][invoice_id]["Balance"])
    assert book.qbo["Payment"]["10985"]["UnappliedAmt"] == Decimal("350.00")
    assert book.qbo["Payment"]["10985"]["SyncToken"] == "8"


def test_unapplied_payment_of_another_customer_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ConnectorError, match="belongs to customer 60, not 97"):
        sandbox.connector().apply_credit("97", "9065", "Payment", "10985", Decimal("5"), "x")


# =========================================================================== plumbing
def test_one_rate_limiter_per_company() -> None:
    a = shared_rate_limiter("http://127.0.0.1:1", "1")
    assert a is shared_rate_limiter("http://127.0.0.1:1/", "1")
    assert a is not shared_rate_limiter("http://127.0.0.1:1", "2")
    assert a.per_minute == 500


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Invoice WHERE Id = '1' OR Id = '2'",
        "SELECT * FROM Invoice MAXRESULTS 1001",
        "SELECT * FROM Invoice WHERE",
        "SELECT * FROM Invoice WHERE Balance != '0'",
        "SELECT * FROM Invoice STARTPOSITION 0",
        "DELETE FROM Invoice",
    ],
)
def test_query_parser_refuses_what_qbo_refuses(text: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.code in ("4000", "4001")


def test_query_parser_subset(sample_book: SandboxBook) -> None:
    q = parse_query(
        "select Id, DocNumber from Invoice where Metadata.LastUpdatedTime >= "
        "'2026-11-01' and CustomerRef IN ('97', '59') orderby TxnDate desc, Id "
        "startposition 2 maxresults 5"
    )
    assert q.entity == "Invoice" and q.select == ("Id", "DocNumber")
    assert [c.op for c in q.where] == [">=", "IN"]
    assert q.order_by == (("TxnDate", True), ("Id", False)) and (q.start, q.max_results) == (2, 5)
    rows = run_query(
        sample_book,
        "SELECT * FROM Invoice WHERE CustomerRef = '97' ORDERBY TxnDate DESC MAXRESULTS 1000",
    )["Invoice"]
    assert rows and all(r["CustomerRef"]["value"] == "97" for r in rows)
    assert [r["TxnDate"] for r in rows] == sorted((r["TxnDate"] for r in rows), reverse=True)
    like = run_query(sample_book, "SELECT * FROM Customer WHERE DisplayName LIKE '%tackle%'")
    assert [r["Id"] for r in like["Customer"]] == ["97"]
    both = run_query(
        sample_book, "SELECT * FROM Customer WHERE DisplayName = 'Atomar''s Best Tackle'"
    )
    escaped = run_query(
        sample_book, "SELECT * FROM Customer WHERE DisplayName = 'Atomar\\'s Best Tackle'"
    )
    assert [r["Id"] for r in both["Customer"]] == [r["Id"] for r in escaped["Customer"]] == ["97"]
    assert run_query(sample_book, "SELECT * FROM Invoice WHERE Id = '0'") == {}
    assert run_query(sample_book, "SELECT COUNT(*) FROM Invoice WHERE Balance > '0'")[
        "totalCount"
    ] == sum(1 for r in sample_book.qbo["Invoice"].values() if r["Balance"] > 0)
    inactive = run_query(sample_book, "SELECT * FROM Customer WHERE Active = false")
    assert [r["Id"] for r in inactive["Customer"]] == ["102"]


def test_a_refresh_token_is_not_spent_when_its_successor_cannot_be_saved(
    sandbox: Sandbox,
) -> None:
    blocker = sandbox.tmp_path / "not-a-directory"
    blocker.write_text("")
    c = sandbox.connector(store=TokenStore(blocker / "qbo.json"))
    with pytest.raises(ConnectorError, match="cannot save the rotated refresh token") as caught:
        c.invoice_by_id("9065")
    assert "no refresh was attempted" in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
    # Checked before the token endpoint was called: the refresh token is unspent.
    assert sandbox.plan.requests_seen("token") == 0 and sandbox.plan.requests_seen("qbo") == 0
    assert sandbox.state.auth.grants == []


def test_a_rotated_token_that_cannot_be_saved_is_never_used(sandbox: Sandbox) -> None:
    class FullDisk(TokenStore):
        def save(self, state: TokenState) -> None:  # the folder was writable a moment ago
            raise OSError(28, "No space left on device")

    c = sandbox.connector(store=FullDisk(sandbox.tmp_path / "full" / "qbo.json"))
    with pytest.raises(ConnectorError, match="cannot save the rotated refresh token") as caught:
        c.invoice_by_id("9065")
    assert sandbox.plan.requests_seen("qbo") == 0
    assert sandbox.state.auth.current_refresh not in str(caught.value)


class StaleOnce(TokenStore):
    """A store whose first read returns what the file held before another process
    (one that does not take the lock) refreshed: the race the re-read covers."""

    def __init__(self, path: Path, stale: TokenState) -> None:
        super().__init__(path)
        self._stale: TokenState | None = stale

    def load(self) -> TokenState | None:
        stale, self._stale = self._stale, None
        return stale if stale is not None else super().load()


def _rotated_elsewhere(sandbox: Sandbox, *, keep_access: bool) -> TokenState:
    """Refresh twice through the store; return the state of the first refresh
    (its refresh token now spent), with the file holding the second's."""
    sandbox.state.auth.seed_reusable = False  # strict, like Intuit
    assert sandbox.connector().invoice_by_id("9065") is not None
    first = sandbox.store.load()
    assert first is not None
    sandbox.store.save(dataclasses.replace(first, access_token=None, access_expires_at=None))
    assert sandbox.connector(store=TokenStore(sandbox.store.path)).invoice_by_id("9065")
    second = sandbox.store.load()
    assert second is not None and second.refresh_token != first.refresh_token
    if not keep_access:
        sandbox.store.save(dataclasses.replace(second, access_token=None,
                                               access_expires_at=None))
    return dataclasses.replace(first, access_token=None, access_expires_at=None)


def test_a_refused_token_is_retried_with_the_files_newest(sandbox: Sandbox) -> None:
    stale = _rotated_elsewhere(sandbox, keep_access=False)
    c = sandbox.connector(store=StaleOnce(sandbox.store.path, stale))
    assert c.invoice_by_id("9065") is not None
    assert sandbox.state.auth.grants == ["seed", "latest", "rejected", "latest"]
    stored = sandbox.store.load()
    assert stored is not None and stored.refresh_token == sandbox.state.auth.current_refresh


def test_a_refused_token_adopts_the_access_token_another_process_saved(
    sandbox: Sandbox,
) -> None:
    stale = _rotated_elsewhere(sandbox, keep_access=True)
    c = sandbox.connector(store=StaleOnce(sandbox.store.path, stale))
    assert c.invoice_by_id("9065") is not None
    assert sandbox.state.auth.grants == ["seed", "latest", "rejected"]  # no second spend


def test_a_refresh_waits_for_another_process_holding_the_lock(sandbox: Sandbox) -> None:
    """The lock file is a real OS lock: while it is held elsewhere, no refresh
    starts, and one that waits too long says so in one line."""
    import filelock

    class Impatient(TokenStore):
        def process_lock(self, timeout: float = 0.05) -> Any:
            return super().process_lock(timeout)

    store = Impatient(sandbox.store.path)
    store.path.parent.mkdir(parents=True, exist_ok=True)
    held = filelock.FileLock(store.lock_path, thread_local=False)  # "another process"
    with held, pytest.raises(ConnectorError, match="another recon-tui process has been "
                             "refreshing the token") as caught:
        sandbox.connector(store=store).invoice_by_id("9065")
    assert len(str(caught.value).splitlines()) == 1
    assert sandbox.plan.requests_seen("token") == 0
    assert sandbox.connector(store=store).invoice_by_id("9065") is not None  # free again


def test_customer_credits_for_a_per_invoice_resync(sandbox: Sandbox) -> None:
    c = sandbox.connector()
    credits = list(c.customer_credits("97"))
    assert credits and {cr.customer_id for cr in credits} == {"97"}
    assert ("11261", CreditKind.CREDIT_MEMO) in {(cr.id, cr.kind) for cr in credits}
    expected = sum(
        1
        for entity in ("CreditMemo", "Payment")
        for raw in sandbox.book.qbo[entity].values()
        if raw["CustomerRef"]["value"] == "97"
    )
    assert len(credits) == expected
    assert all("WHERE CustomerRef = '97'" in q for q in sandbox.state.queries())


def test_record_payment_retried_with_its_requestid_is_applied_once(sandbox: Sandbox) -> None:
    """A payment whose first answer is lost after QBO committed it: the connector
    retries with the same requestid and QBO answers from the first write."""
    from datetime import date as day

    invoice_id = _open_invoice_of(sandbox.book, "60")
    balance = Decimal(sandbox.book.qbo["Invoice"][invoice_id]["Balance"])
    c = sandbox.connector()
    payments_before = len(sandbox.book.qbo["Payment"])
    sandbox.state.fail_after_commit = 1
    invoice = c.record_payment("60", invoice_id, Decimal("40.00"), day(2026, 6, 12),
                               "ConnectWise 77", "recon-tui: portal payment", "fix-1-pay")
    assert invoice.balance == balance - Decimal("40.00")
    again = c.record_payment("60", invoice_id, Decimal("40.00"), day(2026, 6, 12),
                             "ConnectWise 77", "recon-tui: portal payment", "fix-1-pay")
    assert again.balance == invoice.balance  # the same step run again: still once
    assert len(sandbox.book.qbo["Payment"]) == payments_before + 1
    (new,) = [p for p in sandbox.book.qbo["Payment"].values()
              if p.get("PaymentRefNum") == "ConnectWise 77"]
    assert new["TotalAmt"] == Decimal("40.00") and new["TxnDate"] == "2026-06-12"
    assert new["Line"][0]["LinkedTxn"] == [{"TxnId": invoice_id, "TxnType": "Invoice"}]


# =========================================================================== error kinds
@pytest.mark.parametrize(("fault", "kind", "status"), [
    ("401", AuthError, 401), ("429", Throttled, 429), ("500", ServerError, 500),
    ("garbage", BadData, 200), ("short", BadData, None)])
def test_each_failure_is_raised_as_its_kind(sandbox: Sandbox, fault: str,
                                            kind: type[ConnectorError],
                                            status: int | None) -> None:
    """Callers tell a refused key from a busy server from a broken answer by the
    class of the error (all ConnectorErrors), not by parsing its text."""
    sandbox.plan.add(FaultRule(fault, "qbo", 1, 50))
    with pytest.raises(kind) as caught:
        list(sandbox.connector().invoices())
    assert caught.value.system == "qbo" and caught.value.status == status
    others = {AuthError, Throttled, ServerError, BadData} - {kind}
    assert not isinstance(caught.value, tuple(others))

