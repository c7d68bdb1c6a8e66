"""QuickBooks Online JSON entities -> domain records.

Pure functions, no I/O: the live connector, the sample book and the sandbox all
hand these the entity dicts found inside ``QueryResponse`` (parsed with
``parse_float=Decimal``). A malformed entity raises ``RecordError`` naming the
entity, its Id and the field, so a sync failure points at the exact record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from recon_tui.models import (
    CreditKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
)
from recon_tui.money import ZERO, MoneyError, to_money

__all__ = [
    "EntityReader",
    "RecordError",
    "credit_from_credit_memo",
    "credit_from_payment",
    "customer_from_qbo",
    "invoice_from_qbo",
    "parse_qbo_datetime",
]

_MISSING = object()


class RecordError(ValueError):
    """An API entity that cannot be read: says which system, entity, id and field."""

    def __init__(self, system: str, entity: str, entity_id: object, field: str, problem: str):
        label = entity_id if entity_id not in (None, "") else "<no id>"
        super().__init__(f"{system} {entity} {label}: {problem} {field!r}")
        self.system = system
        self.entity = entity
        self.entity_id = None if entity_id in (None, "") else str(entity_id)
        self.field = field


class EntityReader:
    """Field access on one entity that turns every failure into a RecordError."""

    def __init__(self, system: str, entity: str, data: object, id_key: str) -> None:
        self.system = system
        self.entity = entity
        if not isinstance(data, Mapping):
            raise RecordError(system, entity, None, entity, f"expected an object, got {data!r} for")
        self.data = data
        raw_id = data.get(id_key)
        self.id = "" if raw_id is None else str(raw_id)

    def error(self, field: str, problem: str) -> RecordError:
        return RecordError(self.system, self.entity, self.id, field, problem)

    def get(self, path: str, default: Any = _MISSING) -> Any:
        """Dotted lookup (``CustomerRef.value``); missing or null -> default or error."""
        node: Any = self.data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
            if node is None:
                if default is _MISSING:
                    raise self.error(path, "missing required field")
                return default
        return node

    def text(self, path: str, default: Any = _MISSING) -> Any:
        value = self.get(path, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(path, f"bad value {value!r} for")
        return str(value)

    def required_text(self, path: str) -> str:
        value = self.text(path)
        if not value.strip():
            raise self.error(path, "empty required field")
        return value

    def money(self, path: str, default: Any = _MISSING) -> Decimal:
        value = self.get(path, default)
        try:
            return to_money(value)
        except MoneyError as exc:
            raise self.error(path, f"bad amount {value!r} ({exc}) for") from exc

    def day(self, path: str, default: Any = _MISSING) -> date | None:
        value = self.get(path, default)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError as exc:
            raise self.error(path, f"bad date {value!r} for") from exc

    def moment(self, path: str, parse: Any) -> datetime | None:
        value = self.get(path, None)
        if value is None:
            return None
        try:
            return parse(value)
        except (TypeError, ValueError) as exc:
            raise self.error(path, f"bad datetime {value!r} for") from exc

    def flag(self, path: str, default: bool) -> bool:
        value = self.get(path, default)
        if not isinstance(value, bool):
            raise self.error(path, f"bad boolean {value!r} for")
        return value


def parse_qbo_datetime(text: str) -> datetime:
    """QBO MetaData times carry an offset ("2026-03-02T10:15:00-08:00"); return aware UTC.

    A value without an offset is taken as UTC, which is what QBO means by 'Z'.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a datetime string: {text!r}")
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _reader(entity: str, data: object) -> EntityReader:
    return EntityReader("QBO", entity, data, "Id")


def customer_from_qbo(d: Mapping[str, Any]) -> LedgerCustomer:
    """A QBO Customer. Inactive customers are still read: their invoices still count."""
    r = _reader("Customer", d)
    return LedgerCustomer(
        id=r.required_text("Id"),
        display_name=r.required_text("DisplayName"),
        company_name=r.text("CompanyName", ""),
        active=r.flag("Active", True),
        balance=r.money("Balance", ZERO),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_qbo_datetime),
    )


def invoice_from_qbo(d: Mapping[str, Any]) -> LedgerInvoice:
    """A QBO Invoice. Voiding in QBO zeroes the amounts and notes "Voided"; both must hold."""
    r = _reader("Invoice", d)
    total = r.money("TotalAmt")
    note = r.text("PrivateNote", "")
    return LedgerInvoice(
        id=r.required_text("Id"),
        doc_number=r.text("DocNumber", ""),
        customer_id=r.required_text("CustomerRef.value"),
        date=r.day("TxnDate"),
        total=total,
        balance=r.money("Balance"),
        due_date=r.day("DueDate", None),
        voided=total == ZERO and note.lstrip().startswith("Voided"),
        currency=r.text("CurrencyRef.value", "USD"),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_qbo_datetime),
    )


def credit_from_credit_memo(d: Mapping[str, Any]) -> OrganizationalCredit:
    """A CreditMemo as an organizational credit: what remains is RemainingCredit."""
    r = _reader("CreditMemo", d)
    remaining = r.get("RemainingCredit", None)
    amount = r.money("RemainingCredit") if remaining is not None else r.money("Balance")
    return OrganizationalCredit(
        id=r.required_text("Id"),
        kind=CreditKind.CREDIT_MEMO,
        customer_id=r.required_text("CustomerRef.value"),
        date=r.day("TxnDate"),
        amount=amount,
        total=r.money("TotalAmt"),
        doc_number=r.text("DocNumber", ""),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_qbo_datetime),
    )


def credit_from_payment(d: Mapping[str, Any]) -> OrganizationalCredit:
    """A Payment as an organizational credit: what remains is UnappliedAmt (absent = 0)."""
    r = _reader("Payment", d)
    return OrganizationalCredit(
        id=r.required_text("Id"),
        kind=CreditKind.UNAPPLIED_PAYMENT,
        customer_id=r.required_text("CustomerRef.value"),
        date=r.day("TxnDate"),
        amount=r.money("UnappliedAmt", ZERO),
        total=r.money("TotalAmt"),
        doc_number=r.text("PaymentRefNum", ""),
        updated_at=r.moment("MetaData.LastUpdatedTime", parse_qbo_datetime),
    )
