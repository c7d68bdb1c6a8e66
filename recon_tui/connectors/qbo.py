"""QuickBooks Online (Accounting API v3) as a LedgerConnector.

What it takes care of, because each is a trap users hit:

* OAuth2 with rotating refresh tokens (:mod:`qbo_oauth`): the newest refresh
  token is saved (atomically, 0600) before the access token it came with is
  used; the access token is refreshed before it expires and once on a 401;
* paging: ``COUNT(*)`` first, then every page (``STARTPOSITION`` 1, 1001, ...,
  each asking for ``MAXRESULTS 1000`` explicitly: the default of 100 silently
  truncates) fetched up to ``max_concurrency`` at once and checked against the
  count (a short, repeated or stretched page fails the read);
* inactive customers: queried with ``Active IN (true, false)`` so their invoices
  still count;
* deletions: taken from change data capture (30 days back) or by comparing full
  id lists, never inferred from a failed read;
* writes carry ``requestid`` so a retried write is applied once;
* errors name the operation and QBO's fault code, never a token or secret.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from recon_tui.config import LedgerConfig
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import (
    ApiClient,
    RateLimiter,
    RetryPolicy,
    decode_json,
)
from recon_tui.connectors.paging import counted_read
from recon_tui.connectors.qbo_errors import fault_parts, is_qbo_fault, qbo_error_parser
from recon_tui.connectors.qbo_oauth import QboOAuth
from recon_tui.connectors.qbo_records import (
    credit_from_credit_memo,
    credit_from_payment,
    credit_memo_from_qbo,
    customer_from_qbo,
    invoice_from_qbo,
    payment_from_qbo,
)
from recon_tui.connectors.qbo_wire import decode_invoice_page, read_invoice, row_id
from recon_tui.connectors.qbo_writes import QboWrites
from recon_tui.connectors.tokens import TokenStore
from recon_tui.models import (
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
)
from recon_tui.transactions import LedgerPayment

__all__ = ["PAGE_SIZE", "QboConnector", "qbo_error_parser", "qbo_quote", "shared_rate_limiter"]

log = logging.getLogger(__name__)

SYSTEM = "qbo"
#: QBO's largest page; asked for explicitly on every query.
PAGE_SIZE = 1000
#: CDC looks back 30 days at most; stay clear of the edge.
CDC_WINDOW = timedelta(days=30) - timedelta(minutes=10)
#: CDC answers at most 1000 objects, with no paging: at that size it may be cut short.
CDC_LIMIT = 1000
#: QBO's throttle: 500 requests per minute and 10 concurrent, per company (realm and
#: app): https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
#: and https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon
REQUESTS_PER_MINUTE = 500
CONCURRENT_REQUESTS = 10
NOT_FOUND_CODE = "610"
STALE_OBJECT_CODE = "5010"

_LIMITERS: dict[tuple[str, str], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_rate_limiter(base_url: str, realm_id: str) -> RateLimiter:
    """One limiter per company (per API host), shared by every connector in the process,
    because QBO counts the budget per realm, not per client."""
    key = (base_url.rstrip("/").lower(), realm_id)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(REQUESTS_PER_MINUTE, CONCURRENT_REQUESTS)
        return limiter


def qbo_quote(value: str) -> str:
    """A string literal for a QBO query: single-quoted, ``'`` and ``\\`` backslash-escaped
    (the escaping Intuit's own SDKs use)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _iso(moment: datetime) -> str:
    """UTC, second precision, ``Z``: the form QBO queries and CDC accept."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row_id(row: object) -> str:
    """A row's Id, to spot one read twice ("" for a row without one: always kept)."""
    typed = row_id(row)
    if typed is not None:
        return typed
    return str(row.get("Id")) if isinstance(row, Mapping) else ""


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class QboConnector(QboWrites):
    """The ledger: one QuickBooks Online company (realm)."""

    kind = "qbo"

    def __init__(
        self,
        config: LedgerConfig,
        *,
        token_store: TokenStore,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        rate_limiter: RateLimiter | None = None,
        max_concurrency: int = CONCURRENT_REQUESTS,
    ) -> None:
        if not 1 <= max_concurrency <= CONCURRENT_REQUESTS:
            raise ValueError(f"max_concurrency must be 1..{CONCURRENT_REQUESTS}")
        #: Pages of one read requested at once; the shared limiter still caps the
        #: whole company at QBO's 10 concurrent and 500 a minute.
        self.max_concurrency = max_concurrency
        self.config = config
        self.book = f"qbo:{config.realm_id}"
        self.token_store = token_store
        self.auth = QboOAuth(config, token_store, transport=transport, sleep=sleep,
                             retry=retry, timeout=timeout)
        limiter = rate_limiter or shared_rate_limiter(config.base_url, config.realm_id)
        realm = urllib.parse.quote(config.realm_id, safe="")
        self.api = ApiClient(
            SYSTEM,
            f"{config.base_url.rstrip('/')}/v3/company/{realm}/",
            auth=self.auth,
            error_parser=qbo_error_parser,
            retry=retry,
            rate_limiter=limiter,
            timeout=timeout,
            sleep=sleep,
            transport=transport,
        )

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self.api.close()
        self.auth.close()

    def __enter__(self) -> QboConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def requests_sent(self) -> int:
        """API requests (not token refreshes) sent so far, retries included."""
        return self.api.requests_sent

    # ------------------------------------------------------------------ transport
    def _params(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        params = {"minorversion": str(self.config.minor_version)}
        if extra:
            params.update(extra)
        return params

    def _get(
        self, path: str, operation: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        body, _ = self.api.get_json(path, operation=operation, params=self._params(params))
        return self._checked(body, operation)

    def _post(
        self, path: str, payload: Any, operation: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        body, _ = self.api.post_json(
            path, payload, operation=operation, params=self._params(params)
        )
        return self._checked(body, operation)

    @staticmethod
    def _checked(body: Any, operation: str) -> dict[str, Any]:
        """A 200 can still carry a Fault; and anything but an object is a broken answer."""
        if not isinstance(body, dict):
            raise ConnectorError(
                SYSTEM, f"{operation}: expected a JSON object, got {type(body).__name__}"
            )
        parts = fault_parts(body)
        if parts is not None:
            message, code = parts
            code_text = f" [code {code}]" if code else ""
            raise ConnectorError(SYSTEM, f"{operation}{code_text}: {message}", code=code)
        return body

    def _query_page(self, query: str, entity: str, operation: str,
                    typed: Callable[[bytes], list[Any] | None] | None = None) -> list[Any]:
        """One page's rows: with ``typed``, the structs it decodes the body into
        when it can (:mod:`qbo_wire`), else the generic dicts."""
        if typed is None:
            return self._rows_of(self._get("query", operation, {"query": query}), entity,
                                 operation)
        answer = self.api.request("GET", "query", operation=operation,
                                  params=self._params({"query": query}))
        rows = typed(answer.content)
        if rows is not None:
            return rows
        return self._rows_of(self._checked(decode_json(answer, SYSTEM, operation), operation),
                             entity, operation)

    @staticmethod
    def _rows_of(body: dict[str, Any], entity: str, operation: str) -> list[dict[str, Any]]:
        response = body.get("QueryResponse")
        if not isinstance(response, dict):
            raise ConnectorError(SYSTEM, f"{operation}: the answer has no QueryResponse")
        rows = response.get(entity, [])  # an empty page has no entity key at all
        if not isinstance(rows, list):
            raise ConnectorError(SYSTEM, f"{operation}: QueryResponse.{entity} is not a list")
        return rows

    def _query_all(
        self, entity: str, where: str = "", *, select: str = "*",
        typed: Callable[[bytes], list[Any] | None] | None = None,
    ) -> Iterator[Any]:
        """Every row in Id order, proved complete by ``COUNT(*)`` asked first.

        The count says how many pages there are (STARTPOSITION 1, 1001, ...), so
        they are fetched up to ``max_concurrency`` at once (:mod:`paging`) and
        handed over in order: one count and ceil(N/1000) pages, the fewest
        requests. Ordering by Id keeps pages stable while records are edited; new
        records get higher ids. Every page but the last must be full and the last
        must hold exactly the rest, else the read fails (and with it the sync,
        which then writes nothing): QBO also answers ``{"QueryResponse": {}}`` for
        a page that should have held rows, and a record deleted or added after the
        count shifts or stretches the pages. A row seen twice is yielded once; a
        page of rows already seen (a server ignoring STARTPOSITION) fails at once.
        """
        clause = f" WHERE {where}" if where else ""
        expected = self.count(entity, where)

        def fetch(index: int) -> tuple[str, list[dict[str, Any]]]:
            start = 1 + index * PAGE_SIZE
            query = (
                f"SELECT {select} FROM {entity}{clause} ORDERBY Id "
                f"STARTPOSITION {start} MAXRESULTS {PAGE_SIZE}"
            )
            operation = f"query {entity} (rows {start}-{start + PAGE_SIZE - 1})"
            return operation, self._query_page(query, entity, operation, typed)

        yield from counted_read(
            fetch, expected, PAGE_SIZE, self.max_concurrency, system=SYSTEM,
            read=f"query {entity}", counted_by="QuickBooks",
            repeated="the server sent rows already read (it ignores STARTPOSITION); the "
                     "read cannot complete",
            key=_row_id)

    def count(self, entity: str, where: str = "") -> int:
        """``SELECT COUNT(*)``: QBO answers ``{"QueryResponse": {"totalCount": N}}``."""
        clause = f" WHERE {where}" if where else ""
        operation = f"count {entity}"
        body = self._get("query", operation, {"query": f"SELECT COUNT(*) FROM {entity}{clause}"})
        response = body.get("QueryResponse")
        total = response.get("totalCount") if isinstance(response, dict) else None
        if isinstance(total, bool) or not isinstance(total, int | Decimal) or total < 0:
            raise ConnectorError(SYSTEM, f"{operation}: the answer holds no totalCount")
        return int(total)

    @staticmethod
    def _since_clause(since: datetime | None) -> str:
        return "" if since is None else f"MetaData.LastUpdatedTime >= '{_iso(since)}'"

    # ------------------------------------------------------------------ reads
    def customers(self, since: datetime | None = None) -> Iterator[LedgerCustomer]:
        """Active and inactive customers: an inactive customer's invoices still count."""
        conditions = ["Active IN (true, false)"]
        if since is not None:
            conditions.append(self._since_clause(since))
        for row in self._query_all("Customer", " AND ".join(conditions)):
            yield customer_from_qbo(row)

    def invoices(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        for row in self._query_all("Invoice", self._since_clause(since),
                                   typed=decode_invoice_page):
            yield read_invoice(row)

    def credit_memos(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        """Every CreditMemo as a document (RemainingCredit as its balance), used-up
        ones too: they pair with the PSA's credit memos."""
        for row in self._query_all("CreditMemo", self._since_clause(since)):
            yield credit_memo_from_qbo(row)

    def payment_credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        """Payments with their UnappliedAmt, zero ones included so the cache can
        drop a credit that has been used up."""
        for row in self._query_all("Payment", self._since_clause(since)):
            yield credit_from_payment(row)

    def payments(self, since: datetime | None = None) -> Iterator[LedgerPayment]:
        """Payments with their unapplied amount and their applications to invoices
        (the same pages ``payment_credits`` reads: no extra request)."""
        for row in self._query_all("Payment", self._since_clause(since)):
            yield payment_from_qbo(row)

    def customer_payments(self, customer_id: str) -> Iterator[LedgerPayment]:
        """One customer's payments with their applications, for a per-invoice resync."""
        for row in self._query_all("Payment", f"CustomerRef = {qbo_quote(customer_id)}"):
            yield payment_from_qbo(row)

    def customer_memo_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        """One customer's credit memos as credits (used-up ones included)."""
        for row in self._query_all("CreditMemo", f"CustomerRef = {qbo_quote(customer_id)}"):
            yield credit_from_credit_memo(row)

    def credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        """Credit memos (RemainingCredit) and payments (UnappliedAmt) as credits."""
        for memo in self.credit_memos(since):
            yield OrganizationalCredit.from_credit_memo(memo)
        yield from self.payment_credits(since)

    def customer_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        """One customer's credit memos and payments, used-up ones included, for a
        per-invoice resync (two small queries instead of the whole book)."""
        where = f"CustomerRef = {qbo_quote(customer_id)}"
        for row in self._query_all("CreditMemo", where):
            yield credit_from_credit_memo(row)
        for row in self._query_all("Payment", where):
            yield credit_from_payment(row)

    def _read(
        self, entity_path: str, entity: str, entity_id: str, operation: str
    ) -> dict[str, Any] | None:
        """One entity by id; None only when QBO says it does not exist."""
        response = self.api.request(
            "GET",
            f"{entity_path}/{urllib.parse.quote(entity_id, safe='')}",
            operation=operation,
            params=self._params(),
            ok_statuses=frozenset({400, 404}),
        )
        if response.status_code in (400, 404):
            message, code = qbo_error_parser(response)
            if code == NOT_FOUND_CODE or (response.status_code == 404 and is_qbo_fault(response)):
                return None
            # Any other failure is a failed read, never a deletion.
            code_text = f" [code {code}]" if code else ""
            hint = " (check [ledger] base_url and realm_id)" if response.status_code == 404 else ""
            raise ConnectorError(
                SYSTEM,
                f"{operation}: HTTP {response.status_code}{code_text}: {message}{hint}",
                status=response.status_code,
                code=code,
            )
        body = self._checked(decode_json(response, SYSTEM, operation), operation)
        record = body.get(entity)
        if not isinstance(record, dict):
            raise ConnectorError(SYSTEM, f"{operation}: the answer has no {entity}")
        return record

    def invoice_by_id(self, invoice_id: str) -> LedgerInvoice | None:
        raw = self._read("invoice", "Invoice", invoice_id, f"read invoice {invoice_id}")
        return None if raw is None else invoice_from_qbo(raw)

    def credit_memo_by_id(self, memo_id: str) -> LedgerInvoice | None:
        raw = self._read("creditmemo", "CreditMemo", memo_id, f"read credit memo {memo_id}")
        return None if raw is None else credit_memo_from_qbo(raw)

    def _by_doc_number(self, entity: str, doc_number: str) -> dict[str, Any] | None:
        query = (
            f"SELECT * FROM {entity} WHERE DocNumber = {qbo_quote(doc_number)} "
            f"ORDERBY Id STARTPOSITION 1 MAXRESULTS {PAGE_SIZE}"
        )
        rows = self._query_page(query, entity, f"find {entity} number {doc_number}")
        if not rows:
            return None
        if len(rows) > 1:
            log.warning(
                "qbo: %d %s records carry number %s; using the newest (id %s)",
                len(rows),
                entity,
                doc_number,
                rows[-1].get("Id"),
            )
        return rows[-1]

    def invoice_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        row = self._by_doc_number("Invoice", doc_number)
        return None if row is None else invoice_from_qbo(row)

    def credit_memo_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        row = self._by_doc_number("CreditMemo", doc_number)
        return None if row is None else credit_memo_from_qbo(row)

    def deleted_ids(
        self, expected: Mapping[str, AbstractSet[str]], since: datetime | None
    ) -> dict[str, set[str]]:
        """Which of ``expected`` (entity -> ids) QBO deleted: from change data capture
        when ``since`` is inside its 30-day window (QBO hard-deletes Payments and
        CreditMemos and CDC reports them with ``status: "Deleted"``), else, or for
        an entity whose CDC answer hit its cap, by comparing that entity's
        complete id list (proved by its count).

        CDC is asked for every entity in one request; "server responses can
        handle a maximum of 1,000 objects"
        (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture),
        counted over all of them, so when that answer is full each entity is asked
        on its own (a day of 500 invoices paid changes 500 invoices and 500
        payments: together at the cap, apart well under it), and only an entity
        with 1,000 changes of its own is compared in full."""
        wanted = {entity: ids for entity, ids in expected.items() if ids}
        if not wanted:
            return {}
        since = _as_utc(since)
        out: dict[str, set[str]] = {}
        if since is not None and datetime.now(UTC) - since < CDC_WINDOW:
            entities = sorted(wanted)
            deleted = self._cdc_deleted(entities, since)
            if deleted is not None:
                return {entity: deleted.get(entity, set()) & ids for entity, ids in wanted.items()}
            for entity in entities if len(entities) > 1 else ():
                alone = self._cdc_deleted([entity], since)
                if alone is not None:
                    out[entity] = alone.get(entity, set()) & wanted[entity]
        for entity, ids in wanted.items():
            if entity in out:
                continue
            present = {str(row.get("Id")) for row in self._query_all(entity, select="Id")}
            out[entity] = {record_id for record_id in ids if record_id not in present}
        return out

    def deleted_invoice_ids(self, known_ids: set[str], since: datetime | None) -> set[str]:
        """Which of ``known_ids`` (ledger invoices) QBO deleted."""
        return self.deleted_ids({"Invoice": known_ids}, since).get("Invoice", set())

    def _cdc_deleted(self, entities: list[str], since: datetime) -> dict[str, set[str]] | None:
        """Ids CDC reports deleted, per entity; None when CDC hit its 1000-object
        cap and may have left some out (the caller then compares ids)."""
        operation = "list deletions (change data capture)"
        body = self._get(
            "cdc", operation, {"entities": ",".join(entities), "changedSince": _iso(since)}
        )
        responses = body.get("CDCResponse")
        if not isinstance(responses, list):
            raise ConnectorError(SYSTEM, f"{operation}: the answer has no CDCResponse")
        deleted: dict[str, set[str]] = {entity: set() for entity in entities}
        objects = 0
        for cdc in responses:
            query_responses = cdc.get("QueryResponse", []) if isinstance(cdc, Mapping) else []
            for response in query_responses if isinstance(query_responses, list) else []:
                if not isinstance(response, Mapping):
                    continue
                for entity in entities:
                    rows = response.get(entity, [])
                    for row in rows if isinstance(rows, list) else []:
                        objects += 1
                        if isinstance(row, Mapping) and row.get("status") == "Deleted":
                            deleted[entity].add(str(row.get("Id")))
        if objects >= CDC_LIMIT:
            log.info(
                "qbo: CDC returned %d objects (its cap); comparing ids instead", objects
            )
            return None
        return deleted
