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
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from recon_tui.config import QboLedgerConfig
from recon_tui.connectors.base import BadData, error_class_for
from recon_tui.connectors.http import (
    ApiClient,
    RateLimiter,
    RetryPolicy,
    decode_json,
)
from recon_tui.connectors.paging import counted_read
from recon_tui.connectors.qbo_errors import is_qbo_fault, qbo_error_parser
from recon_tui.connectors.qbo_oauth import QboOAuth
from recon_tui.connectors.qbo_query import (
    CDC_WINDOW,
    CONCURRENT_REQUESTS,
    NOT_FOUND_CODE,
    PAGE_SIZE,
    SYSTEM,
    as_utc,
    cdc_deleted,
    checked_body,
    qbo_quote,
    qbo_time,
    query_row_id,
    rows_of,
    shared_rate_limiter,
)
from recon_tui.connectors.qbo_records import (
    credit_from_credit_memo,
    credit_from_payment,
    credit_memo_from_qbo,
    customer_from_qbo,
    invoice_from_qbo,
    payment_from_qbo,
)
from recon_tui.connectors.qbo_wire import decode_invoice_page, read_invoice, read_invoice_row
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

class QboConnector(QboWrites):
    """The ledger: one QuickBooks Online company (realm)."""

    kind = "qbo"

    def __init__(
        self,
        config: QboLedgerConfig,
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
        return checked_body(body, operation)

    def _post(
        self, path: str, payload: Any, operation: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        body, _ = self.api.post_json(
            path, payload, operation=operation, params=self._params(params)
        )
        return checked_body(body, operation)

    def _query_page(self, query: str, entity: str, operation: str,
                    typed: Callable[[bytes], list[Any] | None] | None = None) -> list[Any]:
        """One page's rows: with ``typed``, the structs it decodes the body into
        when it can (:mod:`qbo_wire`), else the generic dicts."""
        if typed is None:
            return rows_of(self._get("query", operation, {"query": query}), entity,
                                 operation)
        answer = self.api.request("GET", "query", operation=operation,
                                  params=self._params({"query": query}))
        rows = typed(answer.content)
        if rows is not None:
            return rows
        return rows_of(checked_body(decode_json(answer, SYSTEM, operation), operation),
                             entity, operation)

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
            key=query_row_id)

    def count(self, entity: str, where: str = "") -> int:
        """``SELECT COUNT(*)``: QBO answers ``{"QueryResponse": {"totalCount": N}}``."""
        clause = f" WHERE {where}" if where else ""
        operation = f"count {entity}"
        body = self._get("query", operation, {"query": f"SELECT COUNT(*) FROM {entity}{clause}"})
        response = body.get("QueryResponse")
        total = response.get("totalCount") if isinstance(response, dict) else None
        if isinstance(total, bool) or not isinstance(total, int | Decimal) or total < 0:
            raise BadData(SYSTEM, f"{operation}: the answer holds no totalCount")
        return int(total)

    @staticmethod
    def _since_clause(since: datetime | None) -> str:
        return "" if since is None else f"MetaData.LastUpdatedTime >= '{qbo_time(since)}'"

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

    def invoice_rows(self, since: datetime | None = None) -> Iterator[Any]:
        """:meth:`invoices`, each as its flat row where the fast path reads it
        (``models.flat``), else as its record: what a sync stages."""
        return map(read_invoice_row, self._query_all("Invoice", self._since_clause(since),
                                                     typed=decode_invoice_page))

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
            raise error_class_for(response.status_code)(
                SYSTEM,
                f"{operation}: HTTP {response.status_code}{code_text}: {message}{hint}",
                status=response.status_code,
                code=code,
            )
        body = checked_body(decode_json(response, SYSTEM, operation), operation)
        record = body.get(entity)
        if not isinstance(record, dict):
            raise BadData(SYSTEM, f"{operation}: the answer has no {entity}")
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
        since = as_utc(since)
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
            "cdc", operation, {"entities": ",".join(entities), "changedSince": qbo_time(since)}
        )
        return cdc_deleted(body, entities, operation)
