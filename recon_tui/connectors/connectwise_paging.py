"""ConnectWise list endpoints read whole: forward-only ``Link`` pages, or numbered
pages fetched concurrently, each read proved by ConnectWise's own ``/count``.

Apart from the connector (:mod:`connectwise`) so that it reads as the records it
asks for. Complete reads ask ``/count`` first, then fetch the numbered pages
(``page=N&pageSize=1000&orderBy=id asc``) ``max_concurrency`` at a time, each
checked against the count. With ``max_concurrency = 1``, and for look-ups, lists
use ``pagination-type: forward-only`` with ``pageSize=1000`` (the maximum) and
follow the ``Link`` header's ``rel="next"`` URL exactly as sent: ConnectWise's
keyset paging, which neither skips nor repeats records when the data changes
mid-pull the way ``page=N`` numbering can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import httpx

from recon_tui.connectors.base import BadData
from recon_tui.connectors.connectwise_invoice_wire import record_id
from recon_tui.connectors.connectwise_wire import next_link
from recon_tui.connectors.http import ApiClient, decode_json
from recon_tui.connectors.paging import counted_read, unseen_records

__all__ = ["CwLists", "TypedPage"]

SYSTEM = "connectwise"

#: Decodes a page's bytes into typed records, or None to decode it generically.
TypedPage = Callable[[bytes], list[Any] | None]


class CwLists:
    """Whole reads of ConnectWise lists through one API client."""

    def __init__(self, api: ApiClient, page_size: int, max_concurrency: int) -> None:
        self.api = api
        self.page_size = page_size
        #: Numbered pages of one read fetched at once; 1 keeps forward-only paging.
        self.max_concurrency = max_concurrency

    def pages(
        self,
        path: str,
        operation: str,
        conditions: str | None,
        *,
        page_size: int | None = None,
        fields: str | None = None,
        forward_only: bool = True,
    ) -> Iterator[Mapping[str, Any]]:
        """Every record of a list endpoint: forward-only ``Link`` pages (or numbered
        pages where forward-only is not offered), each record once. A page of
        records already seen (a proxy or server repeating itself) stops the read
        instead of looping."""
        size = page_size or self.page_size
        first: dict[str, Any] = {"pageSize": size}
        if forward_only:
            first["orderBy"] = "id asc"
        if conditions:
            first["conditions"] = conditions
        if fields:
            first["fields"] = fields
        params: dict[str, Any] | None = first
        url = path
        links: set[str] = set()
        seen: set[str] = set()
        page = 1
        while True:
            if not forward_only:
                params = {**first, "page": page}
            response = self.api.request(
                "GET",
                url,
                operation=operation,
                params=params,
                headers={"pagination-type": "forward-only"} if forward_only else None,
            )
            body = _array(response, operation)
            fresh = yield from unseen_records(body, seen, system=SYSTEM, operation=operation)
            if body and fresh == 0:
                raise BadData(
                    SYSTEM, f"{operation}: the server sent a page of records already read; "
                    "the read cannot complete")
            if not forward_only:
                if len(body) < size:
                    return
                page += 1
                continue
            following = _next_url(response, links, operation)
            if following is None:
                return
            url, params = following, None  # the link carries every parameter

    def count(self, path: str, operation: str, conditions: str | None = None) -> int:
        """``GET {path}/count`` (``{"count": N}``) with the same conditions as a list."""
        params = {"conditions": conditions} if conditions else None
        body, _ = self.api.get_json(f"{path}/count", operation=f"count: {operation}",
                                    params=params)
        value = body.get("count") if isinstance(body, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
            raise BadData(SYSTEM, f"count: {operation}: the answer holds no count")
        return int(value)

    def complete(
        self, path: str, operation: str, conditions: str | None, fields: str,
        *, forward_only: bool = True, typed: TypedPage | None = None,
    ) -> Iterator[Any]:
        """Every record, proved by ConnectWise's own count for the same conditions:
        else the read fails and nothing is taken.

        With ``max_concurrency`` above 1 the count comes first and says how many
        numbered pages (``page=N``, ``orderBy=id asc``) there are; they are fetched
        that many at once and checked page by page (:func:`paging.counted_read`):
        one count and ceil(N/pageSize) pages, as few requests as forward-only
        paging needs. A record added or deleted mid-read shifts numbered pages; the
        page checks catch that and fail the read rather than skip a record. With 1,
        forward-only ``Link`` pages are followed and counted at the end."""
        if self.max_concurrency > 1:
            yield from self._numbered(path, operation, conditions, fields, typed)
            return
        read = 0
        for record in self.pages(path, operation, conditions, fields=fields,
                                  forward_only=forward_only):
            read += 1
            yield record
        expected = self.count(path, operation, conditions)
        if expected != read:
            raise BadData(
                SYSTEM,
                f"{operation}: read {read:,} of the {expected:,} records ConnectWise counts; "
                "the answer was incomplete, so nothing was taken from it",
            )

    def _numbered(
        self, path: str, operation: str, conditions: str | None, fields: str,
        typed: TypedPage | None = None,
    ) -> Iterator[Any]:
        expected = self.count(path, operation, conditions)
        size = self.page_size
        params: dict[str, Any] = {"pageSize": size, "orderBy": "id asc", "fields": fields}
        if conditions:
            params["conditions"] = conditions

        def fetch(index: int) -> tuple[str, list[Any]]:
            where = f"{operation} (page {index + 1})"
            return where, self._records(path, where, {**params, "page": index + 1}, typed)

        yield from counted_read(
            fetch, expected, size, self.max_concurrency, system=SYSTEM, read=operation,
            counted_by="ConnectWise",
            repeated="the server sent a page of records already read; the read cannot "
                     "complete",
            key=record_id)

    def _records(self, path: str, operation: str, params: Mapping[str, Any],
                 typed: TypedPage | None = None) -> list[Any]:
        """One page: a JSON array of objects, or a clear error. With ``typed``,
        the structs it decodes the page into when it can, else the generic dicts."""
        response = self.api.request("GET", path, operation=operation, params=params)
        if typed is not None:
            rows = typed(response.content)
            if rows is not None:
                return rows
        body = decode_json(response, SYSTEM, operation)
        if not isinstance(body, list):
            raise BadData(
                SYSTEM, f"{operation}: expected a JSON array of records, got "
                f"{type(body).__name__} (HTTP {response.status_code})",
                status=response.status_code)
        if not all(isinstance(record, Mapping) for record in body):
            raise BadData(SYSTEM, f"{operation}: a record is not a JSON object")
        return body


def _array(response: httpx.Response, operation: str) -> list[Any]:
    """A list page's body: a JSON array, or a clear error."""
    body = decode_json(response, SYSTEM, operation)
    if not isinstance(body, list):
        raise BadData(
            SYSTEM,
            f"{operation}: expected a JSON array of records, "
            f"got {type(body).__name__} (HTTP {response.status_code})",
            status=response.status_code,
        )
    return body



def _next_url(response: httpx.Response, links: set[str], operation: str) -> str | None:
    """The ``Link`` header's next page, None at the end; a link seen before (a
    server going round in circles) fails the read."""
    following = next_link(response.headers.get("Link"))
    if following is None:
        return None
    if following in links:
        raise BadData(
            SYSTEM, f"{operation}: the server sent the same next-page link twice"
        )
    links.add(following)
    return following
