"""The bundled demo book as connectors: the offline path for the demo and the tests.

Reads ``sample_data/`` (the same JSON shapes the live APIs send) through the same
parsers the live connectors use, so the demo exercises the real parsing path.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from recon_tui.connectors.connectwise_records import (
    company_from_cw,
    contact_from_cw,
    invoice_from_cw,
)
from recon_tui.connectors.qbo_records import (
    credit_from_credit_memo,
    credit_from_payment,
    customer_from_qbo,
    invoice_from_qbo,
)
from recon_tui.models import (
    Contact,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)

__all__ = [
    "SampleLedgerConnector",
    "SamplePsaConnector",
    "load_json_array",
    "sample_data_dir",
]

T = TypeVar("T")


def sample_data_dir() -> Path:
    """The repo's ``sample_data/`` in a checkout, else the copy installed under sys.prefix."""
    candidates = [
        Path(__file__).resolve().parents[2] / "sample_data",
        Path(sys.prefix) / "share" / "recon-tui" / "sample_data",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"sample data not found (looked in {tried}); run sample_data/generate.py "
        "in a checkout or reinstall recon-tui"
    )


def load_json_array(path: Path) -> list[dict[str, Any]]:
    """One sample file: a JSON array, amounts read as exact Decimals."""
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f, parse_float=Decimal)
    except FileNotFoundError:
        raise FileNotFoundError(f"sample data file missing: {path}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"sample data file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError(f"sample data file {path} must hold a JSON array")
    return data


def _as_utc(since: datetime | None) -> datetime | None:
    """A naive ``since`` means UTC, like every time the APIs send."""
    if since is None or since.tzinfo is not None:
        return since
    return since.replace(tzinfo=UTC)


def _changed(
    records: list[dict[str, Any]],
    parse: Callable[[dict[str, Any]], T],
    since: datetime | None,
) -> Iterator[T]:
    """Parse and keep records updated at or after ``since`` (undated ones always pass)."""
    since = _as_utc(since)
    for raw in records:
        record = parse(raw)
        updated = getattr(record, "updated_at", None)
        if since is None or updated is None or updated >= since:
            yield record


class _Book:
    """Lazily loaded files of one system, cached for the connector's lifetime."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, list[dict[str, Any]]] = {}

    def get(self, name: str) -> list[dict[str, Any]]:
        if name not in self._files:
            self._files[name] = load_json_array(self.root / name)
        return self._files[name]


class SamplePsaConnector:
    """ConnectWise as recorded in ``sample_data/connectwise``."""

    kind = "connectwise"

    def __init__(self, data_dir: Path | str | None = None) -> None:
        base = Path(data_dir) if data_dir is not None else sample_data_dir()
        self.data_dir = base
        self._book = _Book(base / "connectwise")

    def companies(self, since: datetime | None = None) -> Iterator[PsaCompany]:
        return _changed(self._book.get("companies.json"), company_from_cw, since)

    def contacts(self, since: datetime | None = None) -> Iterator[Contact]:
        return _changed(self._book.get("contacts.json"), contact_from_cw, since)

    def invoices(self, since: datetime | None = None) -> Iterator[PsaInvoice]:
        return _changed(self._book.get("invoices.json"), invoice_from_cw, since)

    def invoice_by_number(self, number: str) -> PsaInvoice | None:
        for raw in self._book.get("invoices.json"):
            if str(raw.get("invoiceNumber", "")) == number:
                return invoice_from_cw(raw)
        return None

    def close(self) -> None:
        """Nothing to release; kept for the protocol."""


class SampleLedgerConnector:
    """QuickBooks Online as recorded in ``sample_data/qbo``."""

    kind = "qbo"

    def __init__(self, data_dir: Path | str | None = None) -> None:
        base = Path(data_dir) if data_dir is not None else sample_data_dir()
        self.data_dir = base
        self._book = _Book(base / "qbo")

    def customers(self, since: datetime | None = None) -> Iterator[LedgerCustomer]:
        return _changed(self._book.get("Customer.json"), customer_from_qbo, since)

    def invoices(self, since: datetime | None = None) -> Iterator[LedgerInvoice]:
        return _changed(self._book.get("Invoice.json"), invoice_from_qbo, since)

    def credits(self, since: datetime | None = None) -> Iterator[OrganizationalCredit]:
        """Every credit memo and every payment, used-up ones included (amount 0)."""
        yield from _changed(self._book.get("CreditMemo.json"), credit_from_credit_memo, since)
        yield from _changed(self._book.get("Payment.json"), credit_from_payment, since)

    def deleted_invoice_ids(self, known_ids: set[str], since: datetime | None = None) -> set[str]:
        """The sample book has no deletion log: compare ids."""
        present = {str(raw["Id"]) for raw in self._book.get("Invoice.json")}
        return known_ids - present

    def customer_credits(self, customer_id: str) -> Iterator[OrganizationalCredit]:
        return (c for c in self.credits() if c.customer_id == customer_id)

    def invoice_by_id(self, invoice_id: str) -> LedgerInvoice | None:
        for raw in self._book.get("Invoice.json"):
            if str(raw.get("Id")) == invoice_id:
                return invoice_from_qbo(raw)
        return None

    def invoice_by_doc_number(self, doc_number: str) -> LedgerInvoice | None:
        for raw in self._book.get("Invoice.json"):
            if str(raw.get("DocNumber", "")) == doc_number:
                return invoice_from_qbo(raw)
        return None

    def close(self) -> None:
        """Nothing to release; kept for the protocol."""
