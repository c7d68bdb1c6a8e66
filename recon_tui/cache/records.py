"""Records <-> rows: how each kind of record maps onto its table, and the
result types the cache hands back."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from recon_tui.cache.row_values import (
    company_from,
    contact_from,
    credit_from,
    customer_from,
    ledger_invoice_from,
    positions,
    psa_invoice_from,
)
from recon_tui.models import (
    ClientSummary,
    Contact,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    ReconStatus,
)
from recon_tui.money import from_cents, money_str, to_cents


# --------------------------------------------------------------------------- row specs
def iso_text(value: date | datetime | None) -> str | None:
    """A date as YYYY-MM-DD, a moment as UTC to the millisecond (naive = UTC)."""
    if value is None:
        return None
    kind = type(value)
    if kind is date:  # the hot cases first: every row has a date and a moment
        return value.isoformat()
    if kind is datetime and value.tzinfo is UTC:  # type: ignore[union-attr]
        return value.isoformat(timespec="milliseconds")  # type: ignore[call-arg]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return value.isoformat()


def cents(amount: Decimal) -> int:
    """Exact integer cents, as :func:`recon_tui.money.to_cents` gives them: the
    hot path of every row a sync writes (two amounts a record). An amount of at
    most two places (every amount read from a system: quantised on the way in)
    is its exact ratio scaled, without a quantize; anything else (more places,
    not finite, not a Decimal) takes ``to_cents``, which rounds or refuses."""
    if type(amount) is Decimal:
        try:
            numerator, denominator = amount.as_integer_ratio()
        except (ValueError, OverflowError):  # NaN, infinity: to_cents says so
            return to_cents(amount)
        if denominator == 1:
            return numerator * 100
        if 100 % denominator == 0:
            return numerator * (100 // denominator)
    return to_cents(amount)


def parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def parse_datetime(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class TableSpec:
    """How one kind of record maps onto one table."""

    table: str
    record_type: str
    columns: tuple[str, ...]
    label_column: str


COMPANY = TableSpec(
    "psa_company", "company",
    ("id", "identifier", "name", "status", "deleted", "portal_active", "updated_at"), "name",
)
CONTACT = TableSpec(
    "psa_contact", "contact",
    ("id", "company_id", "first_name", "last_name", "email", "portal_security_level",
     "inactive", "portal_login_disabled", "updated_at"), "last_name",
)
PSA_INVOICE = TableSpec(
    "psa_invoice", "psa invoice",
    ("id", "number", "company_id", "date", "due_date", "total_cents", "owing_cents", "status",
     "ledger_invoice_id", "exported", "currency", "kind", "updated_at"), "number",
)
CUSTOMER = TableSpec(
    "ledger_customer", "customer",
    ("id", "display_name", "company_name", "active", "balance_cents", "updated_at"),
    "display_name",
)
LEDGER_INVOICE = TableSpec(
    "ledger_invoice", "ledger invoice",
    ("id", "doc_number", "customer_id", "date", "due_date", "total_cents", "balance_cents",
     "voided", "currency", "kind", "updated_at"), "doc_number",
)
LEDGER_CREDIT_MEMO = TableSpec(
    "ledger_credit_memo", "ledger credit memo", LEDGER_INVOICE.columns, "doc_number",
)


def ledger_spec(kind: DocKind) -> TableSpec:
    """QBO numbers Invoices and CreditMemos separately, so each has its own table."""
    return LEDGER_CREDIT_MEMO if kind is DocKind.CREDIT_MEMO else LEDGER_INVOICE


#: A PSA invoice row with its effective link: the integration's custom field when
#: it holds one, else the link the cache remembers from an earlier pairing.
PSA_INVOICE_SELECT = (
    "SELECT p.*, coalesce(p.ledger_invoice_id, l.ledger_id) AS link FROM psa_invoice p "
    "LEFT JOIN invoice_link l ON l.psa_invoice_id = p.id"
)
#: The same rows, found from the remembered links' side (a filter on ``l`` through the
#: LEFT JOIN above would scan every PSA invoice).
PSA_INVOICE_BY_LINK_SELECT = (
    "SELECT p.*, coalesce(p.ledger_invoice_id, l.ledger_id) AS link FROM invoice_link l "
    "JOIN psa_invoice p ON p.id = l.psa_invoice_id"
)
CREDIT = TableSpec(
    "ledger_credit", "credit",
    ("id", "source_id", "kind", "customer_id", "date", "amount_cents", "total_cents",
     "doc_number", "updated_at"), "id",
)


#: A record as the row its table's columns take, in ``TableSpec.columns`` order
#: (tuples, not dicts: a sync builds one per record and hands them straight to
#: ``executemany``).
Row = tuple


def company_row(c: PsaCompany) -> Row:
    return (c.id, c.identifier, c.name, c.status, int(c.deleted), int(c.portal_active),
            iso_text(c.updated_at))


def contact_row(c: Contact) -> Row:
    return (c.id, c.company_id, c.first_name, c.last_name, c.email, c.portal_security_level,
            int(c.inactive), int(c.portal_login_disabled), iso_text(c.updated_at))


def _day(value: date | None) -> str | None:
    """``iso_text`` of a document's date (the hot case, a ``date``, inline)."""
    return value.isoformat() if type(value) is date else iso_text(value)  # type: ignore[union-attr]


def psa_invoice_row(i: PsaInvoice) -> Row:
    """The hot path of a full sync (one per invoice): the enum's value is read
    as its attribute (``.value`` is a property through the enum machinery)."""
    return (i.id, i.number, i.company_id, _day(i.date), _day(i.due_date),
            cents(i.total), cents(i.owing), i.status, i.ledger_invoice_id,
            int(i.exported), i.currency, i.kind._value_, iso_text(i.updated_at))


def customer_row(c: LedgerCustomer) -> Row:
    return (c.id, c.display_name, c.company_name, int(c.active), cents(c.balance),
            iso_text(c.updated_at))


def ledger_invoice_row(i: LedgerInvoice) -> Row:
    return (i.id, i.doc_number, i.customer_id, _day(i.date), _day(i.due_date),
            cents(i.total), cents(i.balance), int(i.voided), i.currency, i.kind._value_,
            iso_text(i.updated_at))


def credit_key(kind: CreditKind | str, source_id: str) -> str:
    """Credit memos and payments have separate id spaces in the ledger."""
    return f"{CreditKind(kind).value}:{source_id}"


def credit_row(c: OrganizationalCredit) -> Row:
    return (credit_key(c.kind, c.id), c.id, c.kind.value, c.customer_id, iso_text(c.date),
            cents(c.amount), cents(c.total), c.doc_number, iso_text(c.updated_at))


#: Read by position (``recon_tui.cache.row_values``), importable from here as before.
__all__ = ["company_from", "contact_from", "credit_from", "customer_from", "ledger_invoice_from",
           "positions", "psa_invoice_from"]


# --------------------------------------------------------------------------- results
#: A credit whose remaining amount reached 0 (applied to an invoice, or refunded):
#: the cache stops listing it, but the ledger still has it, so the history must not
#: call it deleted (that is for a credit memo or payment deleted in QuickBooks).
USED_UP = "used up"


@dataclass(frozen=True, slots=True)
class Change:
    """One changed field of one record, as the sync history shows it."""

    record_type: str
    record_id: str
    label: str
    action: str  # created | updated | deleted | used up (USED_UP)
    field: str | None = None
    old: str | None = None
    new: str | None = None


@dataclass(slots=True)
class ApplyResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    changes: list[Change] = field(default_factory=list)
    #: ids of every created, updated or deleted record, and the companies or
    #: customers they belong(ed) to, so a sync can refresh only what it touched.
    touched: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)

    def touch(self, row: Mapping[str, object] | sqlite3.Row) -> None:
        self.touched.add(str(row["id"]))
        owner = owner_of(row)
        if owner is not None:
            self.owners.add(owner)

    def merge(self, other: ApplyResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.changes.extend(other.changes)
        self.touched |= other.touched
        self.owners |= other.owners


@dataclass(frozen=True, slots=True)
class BookTotals:
    """The clients screen's header line."""

    clients: int
    psa_owing: Decimal
    ledger_balance: Decimal
    unapplied_credits: Decimal
    discrepant_clients: int
    unmapped_customers: int

    @property
    def difference(self) -> Decimal:
        return self.ledger_balance - self.psa_owing


@dataclass(frozen=True, slots=True)
class PairRow:
    """One invoice row of a client's screen, straight from the materialised pairs."""

    pair_id: int
    client_key: str
    status: ReconStatus
    invoice_date: date
    psa_invoice_id: str | None
    ledger_invoice_id: str | None
    psa_company_id: str | None
    ledger_customer_id: str | None
    psa_number: str | None
    ledger_number: str | None
    psa_status: str | None
    psa_total: Decimal | None
    psa_owing: Decimal | None
    ledger_total: Decimal | None
    ledger_owing: Decimal | None
    ledger_voided: bool
    difference_total: Decimal
    difference_owing: Decimal
    discrepant: bool
    kind: DocKind = DocKind.INVOICE
    #: The diagnosis's cause (a ``recon_tui.diagnosis.Cause`` value) of a
    #: discrepant row; None for a row that agrees or one not diagnosed yet.
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class SystemSyncState:
    system: str  # "psa" | "ledger"
    kind: str
    last_synced_at: datetime


def money_or_none(cents: int | None) -> Decimal | None:
    return None if cents is None else from_cents(cents)


def summary_from(row: sqlite3.Row) -> ClientSummary:
    ids = tuple(i for i in row["ledger_customer_ids"].split("\x1f") if i)
    return ClientSummary(
        client_key=row["client_key"], name=row["name"], psa_company_id=row["psa_company_id"],
        ledger_customer_ids=ids, ledger_name=row["ledger_name"],
        psa_owing=from_cents(row["psa_owing_cents"]),
        ledger_balance=from_cents(row["ledger_balance_cents"]),
        unapplied_credits=from_cents(row["unapplied_credit_cents"]),
        discrepant_count=row["discrepant_count"], invoice_count=row["invoice_count"],
        mapped=bool(row["mapped"]),
    )


#: A stored row's columns in the order :func:`pair_row_from_values` takes them.
PAIR_ROW_COLUMNS = (
    "id, client_key, status, invoice_date, psa_invoice_id, ledger_invoice_id, psa_company_id, "
    "ledger_customer_id, psa_number, ledger_number, psa_status, psa_total_cents, "
    "psa_owing_cents, ledger_total_cents, ledger_owing_cents, ledger_voided, "
    "diff_total_cents, diff_owing_cents, discrepant, kind, cause")
_STATUSES = {s.value: s for s in ReconStatus}
_KINDS = {k.value: k for k in DocKind}


def pair_row_from_values(values: Sequence[object]) -> PairRow:
    """A row read as ``SELECT PAIR_ROW_COLUMNS``: by position, with the enums
    looked up in a dict (a full recompute's diagnosis reads every discrepant
    row; by name, each column was a walk along the row's column names)."""
    (pair_id, client_key, status, day, psa_id, ledger_id, company_id, customer_id,
     psa_number, ledger_number, psa_status, psa_total, psa_owing, ledger_total, ledger_owing,
     voided, diff_total, diff_owing, discrepant, kind, cause) = values
    return PairRow(
        pair_id, client_key, _STATUSES.get(status) or ReconStatus(status),  # type: ignore[arg-type]
        date.fromisoformat(day), psa_id, ledger_id, company_id,  # type: ignore[arg-type]
        customer_id, psa_number, ledger_number, psa_status,  # type: ignore[arg-type]
        money_or_none(psa_total), money_or_none(psa_owing),  # type: ignore[arg-type]
        money_or_none(ledger_total), money_or_none(ledger_owing),  # type: ignore[arg-type]
        bool(voided), from_cents(diff_total), from_cents(diff_owing),  # type: ignore[arg-type]
        bool(discrepant), _KINDS.get(kind) or DocKind(kind), cause)  # type: ignore[arg-type]


def pair_row_from(row: sqlite3.Row) -> PairRow:
    return PairRow(
        pair_id=row["id"], client_key=row["client_key"], status=ReconStatus(row["status"]),
        invoice_date=date.fromisoformat(row["invoice_date"]),
        psa_invoice_id=row["psa_invoice_id"], ledger_invoice_id=row["ledger_invoice_id"],
        psa_company_id=row["psa_company_id"], ledger_customer_id=row["ledger_customer_id"],
        psa_number=row["psa_number"], ledger_number=row["ledger_number"],
        psa_status=row["psa_status"], psa_total=money_or_none(row["psa_total_cents"]),
        psa_owing=money_or_none(row["psa_owing_cents"]),
        ledger_total=money_or_none(row["ledger_total_cents"]),
        ledger_owing=money_or_none(row["ledger_owing_cents"]),
        ledger_voided=bool(row["ledger_voided"]),
        difference_total=from_cents(row["diff_total_cents"]),
        difference_owing=from_cents(row["diff_owing_cents"]),
        discrepant=bool(row["discrepant"]),
        kind=DocKind(row["kind"]),
        cause=row["cause"],
    )


def display_value(column: str, value: object) -> str | None:
    if value is None:
        return None
    if column.endswith("_cents"):
        return money_str(from_cents(int(value)))  # type: ignore[arg-type]
    return str(value)


def owner_of(row: Mapping[str, object] | sqlite3.Row) -> str | None:
    """The company or customer a record belongs to (None for companies/customers)."""
    keys = row.keys()
    for column in ("customer_id", "company_id"):
        if column in keys:
            return str(row[column])
    return None


def column_field(column: str) -> str:
    return column.removesuffix("_cents")
