"""ConnectWise PSA (Manage REST v4_6, API 3.0) as a :class:`PsaConnector`.

Reads companies, contacts and invoices through the shared HTTP layer
(:mod:`recon_tui.connectors.http`: retries, Retry-After, Decimal JSON, errors that
never carry a key) and parses them with :mod:`connectwise_records`.

Why it looks the way it does:

* Authentication is HTTP Basic over ``{companyId}+{publicKey}:{privateKey}`` plus
  the integration's ``clientId`` header, which ConnectWise requires on every call.
  The private key is revealed only inside the header callable, per request.
* Large lists use ``pagination-type: forward-only`` with ``pageSize=1000`` (the
  maximum) and follow the ``Link`` header's ``rel="next"`` URL exactly as sent: that
  is ConnectWise's keyset paging, which neither skips nor repeats records when the
  data changes mid-pull the way ``page=N`` numbering can. The last page carries an
  empty ``Link`` (or none): no ``rel="next"`` means done, so a short page is never
  needed to detect the end and nothing is silently truncated at a default size.
* ``since`` is ``conditions=lastUpdated >= [2026-01-01T00:00:00Z]``: ConnectWise
  filters on the record's ``_info.lastUpdated`` under the name ``lastUpdated``,
  datetimes go in square brackets, strings in double quotes.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from recon_tui.config import PsaConfig
from recon_tui.connectors.base import ConnectorError, require_psa_settings
from recon_tui.connectors.connectwise_records import (
    RecordError,
    company_from_cw,
    contact_from_cw,
    invoice_from_cw,
)
from recon_tui.connectors.http import ApiClient, RetryPolicy, decode_json
from recon_tui.models import Contact, PsaCompany, PsaInvoice

__all__ = [
    "ACCEPT",
    "PAGE_SIZE",
    "ConnectWiseConnector",
    "cw_datetime",
    "cw_string",
    "next_link",
    "parse_cw_error",
]

SYSTEM = "connectwise"
PAGE_SIZE = 1000
"""ConnectWise's maximum page size."""

ACCEPT = "application/vnd.connectwise.com+json; version=2022.1"
"""Pin the API version so a server upgrade cannot change the record shapes under us."""

T = TypeVar("T")

_LINK_PART = re.compile(r"<(?P<url>[^>]*)>(?P<params>[^<]*)")
_REL = re.compile(r"""rel\s*=\s*"?(?P<rel>[^";,]+)"?""", re.IGNORECASE)


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header, or None (also for an empty header)."""
    if not header:
        return None
    for match in _LINK_PART.finditer(header):
        for rel in _REL.finditer(match.group("params")):
            if "next" in rel.group("rel").lower().split():
                url = match.group("url").strip()
                return url or None
    return None


def cw_datetime(moment: datetime) -> str:
    """A condition datetime literal: ``[2026-01-01T00:00:00Z]`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return "[" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"


def cw_string(text: str) -> str:
    """A condition string literal in double quotes, quotes and backslashes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_cw_error(response: httpx.Response) -> tuple[str, str | None]:
    """``{"code", "message", "errors": [{"message", "field"}...]}`` -> (message, code).

    The body is the server's words about our request, never something we sent, so
    quoting it cannot leak a key.
    """
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or "error", None
    if not isinstance(body, Mapping):
        return response.reason_phrase or "error", None
    message = str(body.get("message") or response.reason_phrase or "error")
    details = []
    for item in body.get("errors") or []:
        if isinstance(item, Mapping):
            text = item.get("message")
            field = item.get("field")
            if text:
                details.append(f"{field}: {text}" if field else str(text))
        elif item:
            details.append(str(item))
    if details:
        message = f"{message} ({'; '.join(details)})"
    code = body.get("code")
    return message, str(code) if code not in (None, "") else None


class ConnectWiseConnector:
    """ConnectWise PSA over its REST API; blocking, one instance per sync."""

    kind = "connectwise"

    def __init__(
        self,
        config: PsaConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        require_psa_settings(
            config, "connectwise", ("company_id", "public_key", "private_key", "client_id"),
            SYSTEM)
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{PAGE_SIZE}")
        self._config = config
        self.page_size = page_size
        self.api = ApiClient(
            SYSTEM,
            config.base_url,
            headers=self._headers,
            error_parser=parse_cw_error,
            retry=retry,
            timeout=timeout,
            sleep=sleep,
            transport=transport,
        )

    # -- plumbing
    def _headers(self) -> dict[str, str]:
        """Built per request so the private key lives in memory only while sending."""
        config = self._config
        assert config.private_key is not None
        user = f"{config.company_id}+{config.public_key}:{config.private_key.reveal()}"
        token = base64.b64encode(user.encode("utf-8")).decode("ascii")
        return {
            "Authorization": f"Basic {token}",
            "clientId": str(config.client_id),
            "Accept": ACCEPT,
        }

    @property
    def requests_sent(self) -> int:
        return self.api.requests_sent

    def _pages(
        self, path: str, operation: str, conditions: str | None, page_size: int | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """Every record of a list endpoint, following forward-only ``Link`` pages."""
        first: dict[str, Any] = {"pageSize": page_size or self.page_size, "orderBy": "id asc"}
        if conditions:
            first["conditions"] = conditions
        params: dict[str, Any] | None = first
        url = path
        seen: set[str] = set()
        while True:
            response = self.api.request(
                "GET",
                url,
                operation=operation,
                params=params,
                headers={"pagination-type": "forward-only"},
            )
            body = decode_json(response, SYSTEM, operation)
            if not isinstance(body, list):
                raise ConnectorError(
                    SYSTEM,
                    f"{operation}: expected a JSON array of records, "
                    f"got {type(body).__name__} (HTTP {response.status_code})",
                    status=response.status_code,
                )
            for record in body:
                if not isinstance(record, Mapping):
                    raise ConnectorError(SYSTEM, f"{operation}: a record is not a JSON object")
                yield record
            following = next_link(response.headers.get("Link"))
            if following is None:
                return
            if following in seen:
                raise ConnectorError(
                    SYSTEM, f"{operation}: the server sent the same next-page link twice"
                )
            seen.add(following)
            url, params = following, None  # the link carries every parameter

    def _parsed(
        self,
        path: str,
        operation: str,
        conditions: str | None,
        parse: Callable[[Mapping[str, Any]], T],
        page_size: int | None = None,
    ) -> Iterator[T]:
        for raw in self._pages(path, operation, conditions, page_size):
            try:
                yield parse(raw)
            except RecordError as exc:
                raise ConnectorError(SYSTEM, f"{operation}: {exc}") from exc

    @staticmethod
    def _since(since: datetime | None) -> str | None:
        return None if since is None else f"lastUpdated >= {cw_datetime(since)}"

    # -- PsaConnector
    def companies(self, since: datetime | None = None) -> Iterator[PsaCompany]:
        """Companies changed since ``since`` (recycle-bin ones included: their invoices count)."""
        return self._parsed(
            "company/companies", "list companies", self._since(since), company_from_cw
        )

    def contacts(self, since: datetime | None = None) -> Iterator[Contact]:
        return self._parsed(
            "company/contacts", "list contacts", self._since(since), contact_from_cw
        )

    def invoices(self, since: datetime | None = None) -> Iterator[PsaInvoice]:
        return self._parsed(
            "finance/invoices", "list invoices", self._since(since), invoice_from_cw
        )

    def invoice_by_number(self, number: str) -> PsaInvoice | None:
        """One invoice by its number; None when ConnectWise has none by that number."""
        number = number.strip()
        if not number:
            return None
        operation = f"find invoice {number}"
        found = list(
            self._parsed(
                "finance/invoices",
                operation,
                f"invoiceNumber = {cw_string(number)}",
                invoice_from_cw,
                page_size=25,
            )
        )
        exact = [invoice for invoice in found if invoice.number == number]
        return (exact or found or [None])[0]

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> ConnectWiseConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
