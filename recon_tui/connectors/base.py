"""The connector interface every system implements.

Connectors are blocking (httpx.Client); the TUI runs them in thread workers and
the CLI calls them directly. Each fetch yields records changed since a moment
(``None`` means everything), so a sync pages through exactly what it needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from recon_tui.models import (
    Contact,
    CreditKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.scrub import scrub
from recon_tui.transactions import InvoiceTxn, LedgerPayment

if TYPE_CHECKING:
    from recon_tui.config import PsaSection

_Psa = TypeVar("_Psa")


class ConnectorError(RuntimeError):
    """A system answered with an error or could not be reached.

    Messages name the system and the operation and never carry a secret: the
    text is scrubbed here, at birth (known secret values and credential-shaped
    text masked), whatever a server echoed into it.
    """

    #: The message is written for the operator (system, step, fix): shown as it is.
    explains_itself = True

    def __init__(self, system: str, message: str, *, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(scrub(f"{system}: {message}"))
        self.system = system
        self.status = status
        self.code = scrub(code) if code is not None else None


class AuthError(ConnectorError):
    """The system refused our credentials (HTTP 401, a token it will not refresh):
    the fix is in the config or a new sign-in, never a retry."""


class AccessDenied(ConnectorError):
    """The credentials are good but lack the right (HTTP 403): the API member's
    security role, the app's scopes."""


class NotFound(ConnectorError):
    """What was asked for does not exist there (HTTP 404, QBO fault 610), or the
    base URL or company id points nowhere."""


class Throttled(ConnectorError):
    """Still refused for load after every retry (HTTP 429): try again later."""


class ServerError(ConnectorError):
    """The system failed (5xx after every retry), timed out or could not be reached."""


class BadData(ConnectorError):
    """An answer recon-tui cannot take as it is: not JSON, the wrong shape, a record
    it cannot read, or a read that cannot prove itself complete."""


def error_class_for(status: int | None) -> type[ConnectorError]:
    """The kind of failure an HTTP status says (the base class for any other)."""
    if status is None:
        return ConnectorError
    if status == 401:
        return AuthError
    if status == 403:
        return AccessDenied
    if status == 404:
        return NotFound
    if status == 429:
        return Throttled
    return ServerError if status >= 500 else ConnectorError


def require_psa_settings(config: PsaSection, expected: type[_Psa], system: str) -> _Psa:
    """A connector built from a config of the wrong kind, or with a required
    setting left empty, fails at once with the setting's name (never its value).
    Returns the config as the kind's class. Required settings are the class's
    fields without a default (the config model's rule)."""
    if not isinstance(config, expected):
        raise ConnectorError(system, f"cannot connect: config kind is {config.kind!r} in [psa]")
    missing = [f.name for f in dataclasses.fields(config)  # type: ignore[arg-type]
               if f.default is dataclasses.MISSING and not _is_set(getattr(config, f.name))]
    if missing:
        raise ConnectorError(system, f"cannot connect: missing {', '.join(missing)} in [psa]")
    return config


def _is_set(value: object) -> bool:
    """A setting with something in it (a Secret counts when it names a value)."""
    is_set = getattr(value, "is_set", None)
    if isinstance(is_set, bool):
        return is_set
    return value not in (None, "")


@runtime_checkable
class PsaConnector(Protocol):
    """ConnectWise PSA, Autotask, or the sample book."""

    kind: str
    #: Whose books these are (``connectwise:acme``): a cache holds one PSA's data.
    book: str
    #: Requests this connector may have in flight at once (``[sync]
    #: max_concurrency``, within the API's limit): a sync reading several steps
    #: of this system together keeps all of them within it.
    max_concurrency: int

    def companies(self, since: datetime | None = None) -> Iterator[PsaCompany]: ...

    def contacts(self, since: datetime | None = None) -> Iterator[Contact]: ...

    def invoices(self, since: datetime | None = None) -> Iterator[PsaInvoice]:
        """Invoices and credit memos. With ``since`` None the read is complete and
        proves it (the records counted match the system's own count), or raises."""
        ...

    def invoice_by_number(self, number: str) -> PsaInvoice | None: ...

    def unexported_invoice_numbers(self) -> set[str] | None:
        """Numbers of the invoices the PSA has not yet handed to the accounting
        system (ConnectWise's accounting interface lists them; numbers are unique
        there); None when each invoice record says so itself (Autotask
        ``webServiceDate``)."""
        ...

    def missing_invoice_ids(self, expected: AbstractSet[str]) -> set[str]:
        """Which of ``expected`` (every id the cache will hold) the PSA no longer
        has: nothing when its count equals ``len(expected)``, else from a complete
        id list that proves itself by the count. Raises rather than guess."""
        ...

    #: Whether ``invoice_payments`` can list anything (ConnectWise yes, Autotask no).
    lists_payments: bool

    def invoice_payments(self, invoice_id: str) -> list[InvoiceTxn]:
        """Every payment and credit the PSA applied to one invoice (one request)."""
        ...

    def record_payment(self, invoice_id: str, amount: Decimal, payment_date: date) -> InvoiceTxn:
        """Add one payment to the invoice (sent once: see connectwise_payments)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class LedgerConnector(Protocol):
    """QuickBooks Online, or the sample book."""

    kind: str
    #: Whose books these are (``qbo:<realm id>``): a cache holds one company's data.
    book: str
    #: Requests in flight at once (QBO: 10 per company), as for the PSA.
    max_concurrency: int

    def customers(self, since: datetime | None = None) -> Iterator[LedgerCustomer]: ...

    def invoices(self, since: datetime | None = None) -> Iterator[LedgerInvoice]: ...

    def credit_memos(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        """Every credit memo as a document of kind credit memo (balance = what is
        left of the credit), used-up ones included."""
        ...

    def payment_credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        """Payments with what they leave unapplied (possibly 0, so the cache can
        drop a credit that has been used up)."""
        ...

    def deleted_ids(self, expected: Mapping[str, AbstractSet[str]],
                    since: datetime | None) -> dict[str, set[str]]:
        """Which of ``expected`` (entity name -> ids the cache holds: ``Invoice``,
        ``CreditMemo``, ``Payment``) the ledger has deleted. Decided from the
        ledger's own record of deletions (QBO's change data capture, 30 days back
        at most) or from complete id lists that prove themselves by a count,
        never inferred from a failed read."""
        ...

    def payments(self, since: datetime | None = None) -> Iterator[LedgerPayment]:
        """Payments (as ``payment_credits``) with what each applies to each invoice."""
        ...

    def customer_payments(self, customer_id: str) -> Iterator[LedgerPayment]:
        """One customer's payments with their applications, for a resync."""
        ...

    def customer_memo_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        """One customer's credit memos as credits, for a resync."""
        ...

    def customer_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        """One customer's credit memos and payments (amount possibly 0), for a
        per-invoice resync."""
        ...

    def invoice_by_id(self, invoice_id: str) -> LedgerInvoice | None:
        """``None`` only when the ledger says the invoice does not exist; any other
        failure raises ConnectorError."""
        ...

    def invoice_by_doc_number(self, doc_number: str) -> LedgerInvoice | None: ...

    def credit_memo_by_id(self, memo_id: str) -> LedgerInvoice | None:
        """Like ``invoice_by_id``, for a credit memo."""
        ...

    def credit_memo_by_doc_number(self, doc_number: str) -> LedgerInvoice | None: ...

    def record_payment(self, customer_id: str, invoice_id: str, amount: Decimal,
                       txn_date: date, reference: str, note: str,
                       request_id: str) -> LedgerInvoice:
        """Receive a payment against one invoice; the same ``request_id`` applies once."""
        ...

    def apply_credit(self, customer_id: str, invoice_id: str, credit_kind: CreditKind | str,
                     credit_id: str, amount: Decimal, request_id: str) -> LedgerInvoice:
        """Apply an organizational credit to one invoice and return the invoice as the
        ledger now has it. The same ``request_id`` sent again is applied once."""
        ...

    def close(self) -> None: ...


def invoice_rows(connector: PsaConnector | LedgerConnector,
                 since: datetime | None = None) -> Iterator[Any]:
    """A connector's invoices as a sync stages them: its ``invoice_rows`` read
    where it has one (each invoice as its flat row, ``models.flat``, where its
    fast path reads it, else as its record), else its ``invoices``' records."""
    read = getattr(connector, "invoice_rows", None)
    return read(since) if read is not None else connector.invoices(since)  # type: ignore[no-any-return]
