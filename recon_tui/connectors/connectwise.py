"""ConnectWise PSA (Manage REST v4_6, API 3.0) as a :class:`PsaConnector`.

Reads companies, contacts and invoices through the shared HTTP layer
(:mod:`recon_tui.connectors.http`: retries, Retry-After, Decimal JSON, errors that
never carry a key) and parses them with :mod:`connectwise_records`.

Why it looks the way it does:

* Authentication is HTTP Basic over ``{companyId}+{publicKey}:{privateKey}`` plus
  the integration's ``clientId`` header, which ConnectWise requires on every call.
  The private key is revealed only inside the header callable, per request.
* Complete reads ask ``/count`` first, then fetch the numbered pages
  (``page=N&pageSize=1000&orderBy=id asc``) ``max_concurrency`` at a time, each
  checked against the count (:mod:`connectwise_paging`). With ``max_concurrency = 1``,
  and for look-ups, lists use ``pagination-type: forward-only`` with
  ``pageSize=1000`` (the
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
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from recon_tui.config import ConnectWiseConfig, PsaSection
from recon_tui.connectors.base import BadData, require_psa_settings
from recon_tui.connectors.connectwise_invoice_wire import (
    decode_invoice_page,
    invoice_number,
    read_invoice,
    read_invoice_row,
)
from recon_tui.connectors.connectwise_paging import CwLists
from recon_tui.connectors.connectwise_payments import (
    parse_payments,
    payment_body,
    payments_path,
)
from recon_tui.connectors.connectwise_records import (
    RecordError,
    company_from_cw,
    contact_from_cw,
)
from recon_tui.connectors.connectwise_wire import (
    cw_datetime,
    cw_string,
    next_link,
    parse_cw_error,
)
from recon_tui.connectors.http import ApiClient, RetryPolicy
from recon_tui.connectors.paging import Beside
from recon_tui.models import Contact, PsaCompany, PsaInvoice
from recon_tui.transactions import InvoiceTxn

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

#: Pages of one read fetched at once. ConnectWise publishes no concurrency figure
#: (it throttles with 429 and Retry-After, which the HTTP layer honours), so the
#: default is polite and the ceiling that of the strictest API here (QBO's 10).
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 10

ACCEPT = "application/vnd.connectwise.com+json; version=2022.1"
"""Pin the API version so a server upgrade cannot change the record shapes under us.
Nothing read depends on ``glBatch`` (absent from the 2022 schemas): whether an
invoice went to the ledger comes from the accounting interface's unposted list."""

INVOICES = "finance/invoices"
UNPOSTED = "finance/accounting/unpostedinvoices"

# Only the fields recon-tui reads, so 1,000-row pages stay small on big sites.
COMPANY_FIELDS = "id,identifier,name,status/name,deletedFlag,_info/lastUpdated"
CONTACT_FIELDS = ("id,firstName,lastName,company/id,portalSecurityLevel,inactiveFlag,"
                  "disablePortalLoginFlag,communicationItems,_info/lastUpdated")
INVOICE_FIELDS = ("id,invoiceNumber,type,status/name,company/id,date,dueDate,total,balance,"
                  "currency/currencyCode,_info/lastUpdated")

T = TypeVar("T")

class ConnectWiseConnector:
    """ConnectWise PSA over its REST API; blocking, one instance per sync."""

    kind = "connectwise"

    def __init__(
        self,
        config: PsaSection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        page_size: int = PAGE_SIZE,
        max_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"max_concurrency must be 1..{MAX_CONCURRENCY}")
        #: Numbered pages of one read fetched at once; 1 keeps forward-only paging.
        self.max_concurrency = max_concurrency
        settings = require_psa_settings(config, ConnectWiseConfig, SYSTEM)
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{PAGE_SIZE}")
        self._config = settings
        self.book = f"connectwise:{settings.company_id.strip().casefold()}"
        self.page_size = page_size
        self._unexported_read: set[str] | None = None
        self.api = ApiClient(
            SYSTEM,
            settings.base_url,
            headers=self._headers,
            error_parser=parse_cw_error,
            retry=retry,
            timeout=timeout,
            sleep=sleep,
            transport=transport,
        )
        self.lists = CwLists(self.api, page_size, max_concurrency)

    # -- plumbing
    def _headers(self) -> dict[str, str]:
        """Built per request so the private key lives in memory only while sending."""
        config = self._config
        user = f"{config.company_id}+{config.public_key}:{config.private_key.reveal()}"
        token = base64.b64encode(user.encode("utf-8")).decode("ascii")
        return {
            "Authorization": f"Basic {token}",
            "clientId": config.client_id,
            "Accept": ACCEPT,
        }

    @property
    def requests_sent(self) -> int:
        return self.api.requests_sent

    def _parsed(
        self,
        records: Iterable[Mapping[str, Any]],
        operation: str,
        parse: Callable[[Mapping[str, Any]], T],
    ) -> Iterator[T]:
        for raw in records:
            try:
                yield parse(raw)
            except RecordError as exc:
                raise BadData(SYSTEM, f"{operation}: {exc}") from exc

    @staticmethod
    def _since(since: datetime | None) -> str | None:
        return None if since is None else f"lastUpdated >= {cw_datetime(since)}"

    @property
    def _invoice_fields(self) -> str:
        link = self._config.ledger_link_field
        return INVOICE_FIELDS + (",customFields" if link else "")

    def _invoice_parser(self, unexported: set[str], *, flat: bool = False
                        ) -> Callable[[Mapping[str, Any]], Any]:
        """Each invoice read as its record, or (``flat``) as its flat row where
        the fast path reads it (``read_invoice_row``)."""
        link = self._config.ledger_link_field or None
        read = read_invoice_row if flat else read_invoice

        def parse(raw: Any) -> Any:
            return read(raw, invoice_number(raw) not in unexported, link)

        return parse

    # -- PsaConnector
    def companies(self, since: datetime | None = None) -> Iterator[PsaCompany]:
        """Companies changed since ``since`` (recycle-bin ones included: their invoices count)."""
        operation = "list companies"
        records = self.lists.complete("company/companies", operation, self._since(since),
                                       COMPANY_FIELDS)
        return self._parsed(records, operation, company_from_cw)

    def contacts(self, since: datetime | None = None) -> Iterator[Contact]:
        operation = "list contacts"
        records = self.lists.complete("company/contacts", operation, self._since(since),
                                       CONTACT_FIELDS)
        return self._parsed(records, operation, contact_from_cw)

    def invoices(self, since: datetime | None = None) -> Iterator[PsaInvoice]:
        """Invoices and credit memos (``type`` CreditMemo), exported unless the
        accounting interface still lists them as unposted."""
        return self._invoices(since, flat=False)

    def invoice_rows(self, since: datetime | None = None) -> Iterator[Any]:
        """The same read as :meth:`invoices`, each invoice as its flat row
        (``models.flat``) where the fast path reads it, else as its record: what
        a sync stages (``connectors.base.invoice_rows``)."""
        return self._invoices(since, flat=True)

    def _invoices(self, since: datetime | None, *, flat: bool) -> Iterator[Any]:
        operation = "list invoices"
        # In a sync the unposted list is read beside the invoices' count and
        # pages (each record needs it only once its page is in).
        unexported = Beside(self._read_unexported, name="connectwise-unposted")
        if unexported.done():  # read here and now (outside a sync)
            self._unexported_read = unexported.result()
        records = self.lists.complete(INVOICES, operation, self._since(since),
                                       self._invoice_fields, typed=decode_invoice_page)
        return self._read_invoices(records, operation, unexported, flat)

    def _read_invoices(self, records: Iterable[Any], operation: str,
                       unexported: Beside[set[str]], flat: bool) -> Iterator[Any]:
        """The invoices parsed with the unposted list, taken when the first
        record needs it (or at the end of an empty read). A read that fails
        before then fails with the unposted list's own error when that failed
        too: it is the read a sequential sync would have met first."""
        parse: Callable[[Mapping[str, Any]], Any] | None = None
        try:
            for raw in records:
                if parse is None:
                    parse = self._invoice_parser(self._take_unexported(unexported), flat=flat)
                try:
                    yield parse(raw)
                except RecordError as exc:
                    raise BadData(SYSTEM, f"{operation}: {exc}") from exc
        except GeneratorExit:
            if parse is None:
                with contextlib.suppress(Exception):  # closed early: no thread left behind
                    unexported.result()
            raise
        except Exception:
            if parse is None:
                unexported.result()
            raise
        if parse is None:
            self._take_unexported(unexported)

    def _take_unexported(self, unexported: Beside[set[str]]) -> set[str]:
        numbers = unexported.result()
        self._unexported_read = numbers  # the sync's export-status step takes it next
        return numbers

    def unexported_invoice_numbers(self) -> set[str]:
        """Numbers of the invoices ConnectWise's accounting interface has not yet
        exported (``finance/accounting/unpostedinvoices``): every other invoice
        went to the ledger. A sync reads invoices and then asks this: the list the
        invoice read just took is handed over once instead of read again."""
        if self._unexported_read is not None:
            numbers, self._unexported_read = self._unexported_read, None
            return numbers
        return self._read_unexported()

    def _read_unexported(self) -> set[str]:
        """The unposted list, read in numbered pages (forward-only is not documented
        for this endpoint) and proved by its count."""
        operation = "list unposted invoices"
        numbers: set[str] = set()
        for record in self.lists.complete(UNPOSTED, operation, None,
                                          "id,billingLogId,invoiceNumber", forward_only=False):
            number = record.get("invoiceNumber")
            if isinstance(number, str | int) and not isinstance(number, bool):
                numbers.add(str(number).strip())
        return numbers

    def missing_invoice_ids(self, expected: AbstractSet[str]) -> set[str]:
        """Which of ``expected`` ConnectWise no longer has: nothing when its invoice
        count equals ``len(expected)``; else a complete id list (``fields=id``,
        proved by the count) is compared."""
        operation = "list invoice ids (deletion check)"
        if self.lists.count(INVOICES, operation) == len(expected):
            return set()
        listed = self.lists.complete(INVOICES, operation, None, "id")
        present = {str(r.get("id")) for r in listed}
        return {invoice_id for invoice_id in expected if invoice_id not in present}

    def invoice_by_number(self, number: str) -> PsaInvoice | None:
        """One invoice by its number; None when ConnectWise has none by that number."""
        number = number.strip()
        if not number:
            return None
        operation = f"find invoice {number}"
        records = self.lists.pages(INVOICES, operation, f"invoiceNumber = {cw_string(number)}",
                                    page_size=25, fields=self._invoice_fields)
        found = list(self._parsed(records, operation,
                                  self._invoice_parser(self._read_unexported())))
        exact = [invoice for invoice in found if invoice.number == number]
        return (exact or found or [None])[0]

    #: ConnectWise lists each invoice's payments (the diagnosis can name them).
    lists_payments = True

    def invoice_payments(self, invoice_id: str) -> list[InvoiceTxn]:
        """Every payment and credit ConnectWise applied to one invoice."""
        operation = f"list payments of invoice {invoice_id}"
        records = self.lists.pages(payments_path(invoice_id), operation, None,
                                    forward_only=False)
        try:
            return parse_payments(records, invoice_id)
        except RecordError as exc:
            raise BadData(SYSTEM, f"{operation}: {exc}") from exc

    def record_payment(self, invoice_id: str, amount: Decimal, payment_date: date) -> InvoiceTxn:
        """POST one payment on the invoice. Sent once: ConnectWise has no request id,
        so a lost answer is never blindly re-sent (see connectwise_payments)."""
        operation = f"record a payment of {amount} on invoice {invoice_id}"
        body, _ = self.api.post_json(payments_path(invoice_id),
                                     payment_body(invoice_id, amount, payment_date),
                                     operation=operation, idempotent=False)
        if not isinstance(body, Mapping):
            raise BadData(SYSTEM, f"{operation}: the answer is not a payment")
        try:
            return parse_payments([body], invoice_id)[0]
        except RecordError as exc:
            raise BadData(SYSTEM, f"{operation}: {exc}") from exc

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> ConnectWiseConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
