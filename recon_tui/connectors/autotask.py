"""Autotask PSA (REST API v1.0) as a :class:`PsaConnector`.

Reads Companies, Contacts (with their ClientPortalUsers rows) and Invoices through
the shared HTTP layer and parses them with :mod:`autotask_records`.

Facts this module relies on, from Autotask's REST documentation and public clients:

* Authentication is three headers, ``ApiIntegrationCode``, ``UserName`` and
  ``Secret``; the secret and the integration code are revealed per request only.
* Queries are ``POST {Entity}/query`` with ``{"filter": [...], "MaxRecords": N}``
  (500 at most). Autotask needs at least one filter, so "everything" is
  ``id gte 0``. Grouping is ``{"op": "or", "items": [...]}``.
* A response is ``{"items": [...], "pageDetails": {"count", "requestCount",
  "prevPageUrl", "nextPageUrl"}}``. ``nextPageUrl`` is an absolute
  ``.../{Entity}/query/next?paging=...`` cursor. After a POST query it must be
  POSTed again with the same body (a GET answers 405 and silently truncating
  there is the classic bug), and it is followed until it is null.
* Changes since a moment (Autotask's "best practices" page lists the fields):
  Companies have ``lastActivityDate`` (modified or any activity: a superset of
  changes, never a miss); Contacts ``lastModifiedDate``; Invoices have no
  modified field at all, so an invoice changed since T is one created
  (``createDateTime``), paid (``paidDate``, stored as a date only, so compared
  from T's midnight), voided (``voidedDate``) or picked up by an integration
  (``webServiceDate``) since T, asked as one ``or`` group.
* ClientPortalUsers carries the portal ``securityLevel``; it has no modified
  field and rows are deactivated, never deleted, so the connector reads it whole
  and, on a delta sync, also re-reads the portal contacts the delta did not
  return, so a level change is never missed.
* Times are UTC, written ``yyyy-mm-ddThh:mm:ss.ms`` without a zone.
* 10,000 requests per rolling hour per database: a limiter keeps us near 160 a
  minute and three at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from recon_tui.config import AutotaskConfig, PsaSection
from recon_tui.connectors.autotask_paging import ALL, query_count, query_items
from recon_tui.connectors.autotask_records import (
    DEFAULT_PORTAL_LEVELS,
    RecordError,
    company_from_at,
    contact_from_at,
    invoice_from_at,
    portal_levels_from_picklist,
)
from recon_tui.connectors.autotask_zone import Zone, ZoneAwareClient
from recon_tui.connectors.base import BadData, ConnectorError, require_psa_settings
from recon_tui.connectors.http import RateLimiter, RetryPolicy, decode_json
from recon_tui.jsonio import JsonError, decode
from recon_tui.models import Contact, PsaCompany, PsaInvoice
from recon_tui.transactions import InvoiceTxn

__all__ = [
    "ALL",
    "IN_BATCH",
    "MAX_RECORDS",
    "AutotaskConnector",
    "at_datetime",
    "parse_at_error",
]

SYSTEM = "autotask"
MAX_RECORDS = 500
"""Autotask's maximum page size."""
IN_BATCH = 200
"""Ids per ``in`` filter when re-reading portal contacts (keeps bodies modest)."""

T = TypeVar("T")


def at_datetime(moment: datetime, *, date_only: bool = False) -> str:
    """A filter value in Autotask's documented form, UTC without a zone; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if date_only:
        return moment.strftime("%Y-%m-%dT00:00:00.000")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def parse_at_error(response: httpx.Response) -> tuple[str, str | None]:
    """``{"errors": ["..."]}`` (or an ASP.NET ``{"Message": ...}``) -> (message, None)."""
    try:
        body = decode(response.content)
    except JsonError:
        return response.reason_phrase or "error", None
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors), None
        for key in ("message", "Message"):
            if body.get(key):
                return str(body[key]), None
    return response.reason_phrase or "error", None


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class AutotaskConnector:
    """Autotask PSA over its REST API; blocking, one instance per sync."""

    kind = "autotask"
    #: Its reads page one request at a time, and a 401 re-looks up the zone and
    #: switches the client: a sync reads its steps one after another (the
    #: limiter below still caps any other use at Autotask's 3 threads).
    max_concurrency = 1

    def __init__(
        self,
        config: PsaSection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        portal_levels: Mapping[int, int] | None = None,
        page_size: int = MAX_RECORDS,
        rate_limiter: RateLimiter | None = None,
        zone_lookup_url: str | None = None,
        on_zone_move: Callable[[Zone], None] | None = None,
    ) -> None:
        settings = require_psa_settings(config, AutotaskConfig, SYSTEM)
        if not 1 <= page_size <= MAX_RECORDS:
            raise ValueError(f"page_size must be 1..{MAX_RECORDS}")
        self._config = settings
        self.book = f"autotask:{settings.username.strip().casefold()}"
        self.page_size = page_size
        self._levels: Mapping[int, int] | None = portal_levels
        # A 401 asks the zone once more: a tenant moved to another zone is refused
        # on the old one (see autotask_zone); the client then follows it.
        self.api = ZoneAwareClient(
            SYSTEM,
            settings.base_url,
            username=settings.username,
            lookup_url=zone_lookup_url,
            on_move=on_zone_move,
            headers=self._headers,
            error_parser=parse_at_error,
            retry=retry,
            # Not the injected sleep: the limiter must really wait (a test's
            # recording sleep would spin it), and it only waits past 160/minute.
            rate_limiter=rate_limiter or RateLimiter(per_minute=160, concurrent=3),
            timeout=timeout,
            sleep=sleep,
            transport=transport,
        )

    # -- plumbing
    def _headers(self) -> dict[str, str]:
        """Built per request so the secrets live in memory only while sending."""
        config = self._config
        return {
            "ApiIntegrationCode": config.integration_code.reveal(),
            "UserName": config.username,
            "Secret": config.secret.reveal(),
        }

    @property
    def requests_sent(self) -> int:
        return self.api.requests_sent

    def _query(
        self, entity: str, filters: list[dict[str, Any]], operation: str,
        *, include: Sequence[str] = (), verify: bool = True,
    ) -> Iterator[Mapping[str, Any]]:
        """Every item of ``POST {entity}/query``, followed through each
        ``nextPageUrl`` and, with ``verify``, proved by the count
        (:func:`autotask_paging.query_items`)."""
        return query_items(self.api, entity, filters, operation, page_size=self.page_size,
                           include=include, verify=verify)

    def count(self, entity: str, filters: list[dict[str, Any]], operation: str) -> int:
        """``POST {entity}/query/count`` answers ``{"queryCount": N}``."""
        return query_count(self.api, entity, filters, operation)

    @staticmethod
    def _parse(operation: str, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except RecordError as exc:
            raise BadData(SYSTEM, f"{operation}: {exc}") from exc

    def portal_levels(self) -> Mapping[int, int]:
        """The tenant's ``securityLevel`` picklist mapped onto our scale (cached).

        Falls back to :data:`DEFAULT_PORTAL_LEVELS` only when the metadata endpoint
        does not exist (404); any other failure is reported.
        """
        if self._levels is not None:
            return self._levels
        operation = "read client portal security levels"
        response = self.api.request(
            "GET",
            "ClientPortalUsers/entityInformation/fields",
            operation=operation,
            ok_statuses=frozenset({404}),
        )
        levels: Mapping[int, int] = DEFAULT_PORTAL_LEVELS
        if response.status_code != 404:
            data = decode_json(response, SYSTEM, operation)
            fields = data.get("fields") if isinstance(data, Mapping) else None
            for field in fields if isinstance(fields, list) else []:
                if (
                    isinstance(field, Mapping)
                    and str(field.get("name", "")).lower() == "securitylevel"
                    and isinstance(field.get("picklistValues"), list)
                ):
                    picked = portal_levels_from_picklist(
                        v for v in field["picklistValues"] if isinstance(v, Mapping)
                    )
                    levels = {**DEFAULT_PORTAL_LEVELS, **picked}
        self._levels = levels
        return levels

    # -- PsaConnector
    def companies(self, since: datetime | None = None) -> Iterator[PsaCompany]:
        operation = "list companies"
        filters = (
            [{"op": "gte", "field": "lastActivityDate", "value": at_datetime(since)}]
            if since is not None
            else []
        )
        for raw in self._query("Companies", filters, operation):
            yield self._parse(operation, lambda raw=raw: company_from_at(raw))

    def contacts(self, since: datetime | None = None) -> Iterator[Contact]:
        """Contacts changed since ``since``, plus every portal user's contact (a portal
        level change leaves no trace on the contact)."""
        operation = "list contacts"
        levels = self.portal_levels()
        portal: dict[str, Mapping[str, Any]] = {}
        for row in self._query("ClientPortalUsers", [], "list client portal users"):
            contact_id = row.get("contactID")
            if contact_id is not None:
                portal[str(contact_id)] = row
        filters = (
            [{"op": "gte", "field": "lastModifiedDate", "value": at_datetime(since)}]
            if since is not None
            else []
        )
        done: set[str] = set()

        def parsed(raw: Mapping[str, Any]) -> Contact:
            return self._parse(
                operation,
                lambda: contact_from_at(raw, portal.get(str(raw.get("id"))), levels=levels),
            )

        for raw in self._query("Contacts", filters, operation):
            contact = parsed(raw)
            done.add(contact.id)
            yield contact
        if since is None:
            return
        rest = sorted(int(i) for i in portal if i not in done and i.lstrip("-").isdigit())
        for batch in _chunks(rest, IN_BATCH):
            for raw in self._query(
                "Contacts", [{"op": "in", "field": "id", "value": batch}], operation
            ):
                contact = parsed(raw)
                if contact.id not in done:
                    done.add(contact.id)
                    yield contact

    def invoices(self, since: datetime | None = None) -> Iterator[PsaInvoice]:
        operation = "list invoices"
        filters: list[dict[str, Any]] = []
        if since is not None:
            moment = at_datetime(since)
            filters = [
                {
                    "op": "or",
                    "items": [
                        {"op": "gte", "field": "createDateTime", "value": moment},
                        {
                            "op": "gte",
                            "field": "paidDate",
                            "value": at_datetime(since, date_only=True),
                        },
                        {"op": "gte", "field": "voidedDate", "value": moment},
                        {"op": "gte", "field": "webServiceDate", "value": moment},
                    ],
                }
            ]
        numbering = self._config.invoice_numbering
        for raw in self._query("Invoices", filters, operation):
            yield self._parse(operation,
                              lambda raw=raw: invoice_from_at(raw, numbering=numbering))

    def unexported_invoice_numbers(self) -> set[str] | None:
        """None: each Autotask invoice says itself whether an integration took it
        (``webServiceDate``), and a change to it is read with the invoice."""
        return None

    def missing_invoice_ids(self, expected: AbstractSet[str]) -> set[str]:
        """Which of ``expected`` Autotask no longer has: nothing when its invoice
        count equals ``len(expected)``, else a complete id list (proved by the
        count) is compared."""
        operation = "list invoice ids (deletion check)"
        if self.count("Invoices", [], operation) == len(expected):
            return set()
        present = {str(item.get("id"))
                   for item in self._query("Invoices", [], operation, include=("id",))}
        return {invoice_id for invoice_id in expected if invoice_id not in present}

    #: Autotask's REST API has no payment entity: an invoice records only that it
    #: was paid (``paidDate``), so the diagnosis works from the balances alone and
    #: a payment is recorded in Autotask by hand.
    lists_payments = False

    def invoice_payments(self, invoice_id: str) -> list[InvoiceTxn]:
        """Nothing: Autotask's API exposes no payments (see ``lists_payments``)."""
        return []

    def record_payment(self, invoice_id: str, amount: Decimal, payment_date: date) -> InvoiceTxn:
        """Autotask's API has no payment to create: always a clear refusal."""
        raise ConnectorError(SYSTEM, "Autotask's API cannot record payments; record this "
                             f"one of {amount} on invoice {invoice_id} by hand")

    def invoice_by_number(self, number: str) -> PsaInvoice | None:
        """The invoice Autotask shows as ``number``: its invoiceNumber, or its id when
        the number is blank (what Autotask prints then). None when there is none."""
        number = number.strip()
        if not number:
            return None
        operation = f"find invoice {number}"
        by_number = {"op": "eq", "field": "invoiceNumber", "value": number}
        if number.isdigit():
            filters = [
                {
                    "op": "or",
                    "items": [by_number, {"op": "eq", "field": "id", "value": int(number)}],
                }
            ]
        else:
            filters = [by_number]
        numbering = self._config.invoice_numbering
        found = [
            self._parse(operation, lambda raw=raw: invoice_from_at(raw, numbering=numbering))
            for raw in self._query("Invoices", filters, operation, verify=False)
        ]
        return next((invoice for invoice in found if invoice.number == number), None)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> AutotaskConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
