"""The local SQLite cache: the one place SQL lives.

Money is stored as integer cents, dates as ISO text, timestamps as ISO UTC text.
Connections run in autocommit mode and every write goes through
:meth:`Cache.transaction` (``BEGIN IMMEDIATE`` ... ``COMMIT``), so a write is
either wholly there or not at all. WAL mode lets the TUI read while a sync
writes from a worker thread on its own connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from recon_tui.models import (
    ApplyMethod,
    ChecklistEvent,
    ChecklistState,
    ClientSummary,
    CompanyMapping,
    Contact,
    CreditChecklist,
    CreditKind,
    InvoicePair,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    ReconStatus,
    SyncRun,
    SyncStatus,
    SyncStep,
)
from recon_tui.money import from_cents, money_str, to_cents

SCHEMA_VERSION = 2
CHUNK = 500
MAX_CHANGES_PER_RUN = 20_000


class CacheError(RuntimeError):
    """The cache file cannot be used (corrupt, newer schema, locked)."""


# --------------------------------------------------------------------------- schema
_MIGRATIONS: list[Sequence[str]] = [
    # 1: the first schema
    (
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE psa_company (
            id TEXT PRIMARY KEY, identifier TEXT NOT NULL, name TEXT NOT NULL,
            status TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, updated_at TEXT)""",
        """CREATE TABLE psa_contact (
            id TEXT PRIMARY KEY, company_id TEXT NOT NULL, first_name TEXT NOT NULL,
            last_name TEXT NOT NULL, email TEXT, portal_security_level INTEGER,
            inactive INTEGER NOT NULL DEFAULT 0, updated_at TEXT)""",
        "CREATE INDEX idx_contact_company ON psa_contact(company_id)",
        """CREATE TABLE psa_invoice (
            id TEXT PRIMARY KEY, number TEXT NOT NULL, company_id TEXT NOT NULL,
            date TEXT NOT NULL, due_date TEXT, total_cents INTEGER NOT NULL,
            owing_cents INTEGER NOT NULL, status TEXT NOT NULL, ledger_invoice_id TEXT,
            exported INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL, updated_at TEXT)""",
        "CREATE INDEX idx_psa_invoice_number ON psa_invoice(number)",
        "CREATE INDEX idx_psa_invoice_company ON psa_invoice(company_id)",
        """CREATE TABLE ledger_customer (
            id TEXT PRIMARY KEY, display_name TEXT NOT NULL, company_name TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1, balance_cents INTEGER NOT NULL, updated_at TEXT)""",
        """CREATE TABLE ledger_invoice (
            id TEXT PRIMARY KEY, doc_number TEXT NOT NULL, customer_id TEXT NOT NULL,
            date TEXT NOT NULL, due_date TEXT, total_cents INTEGER NOT NULL,
            balance_cents INTEGER NOT NULL, voided INTEGER NOT NULL DEFAULT 0,
            currency TEXT NOT NULL, updated_at TEXT)""",
        "CREATE INDEX idx_ledger_invoice_doc ON ledger_invoice(doc_number)",
        "CREATE INDEX idx_ledger_invoice_customer ON ledger_invoice(customer_id)",
        """CREATE TABLE ledger_credit (
            id TEXT PRIMARY KEY, source_id TEXT NOT NULL, kind TEXT NOT NULL,
            customer_id TEXT NOT NULL, date TEXT NOT NULL, amount_cents INTEGER NOT NULL,
            total_cents INTEGER NOT NULL, doc_number TEXT NOT NULL, updated_at TEXT)""",
        "CREATE INDEX idx_credit_customer ON ledger_credit(customer_id, amount_cents)",
        """CREATE TABLE company_mapping (
            ledger_customer_id TEXT PRIMARY KEY
                REFERENCES ledger_customer(id) ON DELETE CASCADE,
            psa_company_id TEXT NOT NULL REFERENCES psa_company(id),
            method TEXT NOT NULL, created_at TEXT NOT NULL)""",
        "CREATE INDEX idx_mapping_company ON company_mapping(psa_company_id)",
        """CREATE TABLE invoice_pair (
            id INTEGER PRIMARY KEY, client_key TEXT NOT NULL, status TEXT NOT NULL,
            invoice_date TEXT NOT NULL, psa_invoice_id TEXT UNIQUE, ledger_invoice_id TEXT,
            psa_company_id TEXT, ledger_customer_id TEXT, psa_number TEXT, ledger_number TEXT,
            psa_status TEXT, psa_total_cents INTEGER, psa_owing_cents INTEGER,
            ledger_total_cents INTEGER, ledger_owing_cents INTEGER, ledger_voided INTEGER,
            diff_total_cents INTEGER NOT NULL, diff_owing_cents INTEGER NOT NULL,
            discrepant INTEGER NOT NULL)""",
        "CREATE INDEX idx_pair_client ON invoice_pair(client_key, discrepant)",
        "CREATE INDEX idx_pair_ledger ON invoice_pair(ledger_invoice_id)",
        "CREATE INDEX idx_pair_customer ON invoice_pair(ledger_customer_id)",
        "CREATE INDEX idx_pair_psa_number ON invoice_pair(psa_number)",
        "CREATE INDEX idx_pair_ledger_number ON invoice_pair(ledger_number)",
        """CREATE TABLE client_summary (
            client_key TEXT PRIMARY KEY, name TEXT NOT NULL, name_sort TEXT NOT NULL,
            psa_company_id TEXT, ledger_customer_ids TEXT NOT NULL, ledger_name TEXT NOT NULL,
            psa_owing_cents INTEGER NOT NULL, ledger_balance_cents INTEGER NOT NULL,
            difference_cents INTEGER NOT NULL, abs_difference_cents INTEGER NOT NULL,
            unapplied_credit_cents INTEGER NOT NULL, discrepant_count INTEGER NOT NULL,
            invoice_count INTEGER NOT NULL, mapped INTEGER NOT NULL,
            max_portal_level INTEGER, search TEXT NOT NULL)""",
        """CREATE INDEX idx_summary_worst ON client_summary(
            abs_difference_cents DESC, discrepant_count DESC, name_sort)""",
        """CREATE TABLE sync_run (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, since TEXT,
            target TEXT, started_at TEXT, finished_at TEXT, error TEXT)""",
        """CREATE TABLE sync_step (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES sync_run(id) ON DELETE CASCADE,
            position INTEGER NOT NULL, name TEXT NOT NULL, system TEXT NOT NULL,
            status TEXT NOT NULL, created INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0, error TEXT)""",
        "CREATE INDEX idx_step_run ON sync_step(run_id, position)",
        """CREATE TABLE sync_change (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES sync_run(id) ON DELETE CASCADE,
            step TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL,
            label TEXT NOT NULL, action TEXT NOT NULL, field TEXT, old TEXT, new TEXT)""",
        "CREATE INDEX idx_change_run ON sync_change(run_id)",
        """CREATE TABLE sync_state (
            system TEXT PRIMARY KEY, kind TEXT NOT NULL, last_synced_at TEXT NOT NULL)""",
    ),
    # 2: credit-application checklists (seed 001) and their audit trail. No foreign key
    # to ledger_invoice: a sync may delete an invoice, and the audit trail must stay.
    (
        """CREATE TABLE checklist (
            id INTEGER PRIMARY KEY, state TEXT NOT NULL,
            customer_id TEXT NOT NULL REFERENCES ledger_customer(id),
            customer_name TEXT NOT NULL, credit_kind TEXT NOT NULL, credit_id TEXT NOT NULL,
            credit_doc_number TEXT NOT NULL, credit_date TEXT NOT NULL,
            credit_cents INTEGER NOT NULL, invoice_id TEXT, invoice_number TEXT,
            invoice_total_cents INTEGER, invoice_balance_cents INTEGER, amount_cents INTEGER,
            method TEXT, request_id TEXT UNIQUE, applied_at TEXT, needs_full_sync INTEGER,
            sync_since TEXT, failed_step INTEGER, finding TEXT, note TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, closed_at TEXT,
            CHECK (amount_cents IS NULL OR amount_cents > 0))""",
        "CREATE INDEX idx_checklist_state ON checklist(state, updated_at)",
        "CREATE INDEX idx_checklist_customer ON checklist(customer_id, id)",
        "CREATE INDEX idx_checklist_credit ON checklist(credit_kind, credit_id, state)",
        """CREATE TABLE checklist_event (
            id INTEGER PRIMARY KEY,
            checklist_id INTEGER NOT NULL REFERENCES checklist(id) ON DELETE CASCADE,
            at TEXT NOT NULL, step INTEGER NOT NULL, outcome TEXT NOT NULL,
            state TEXT NOT NULL, message TEXT NOT NULL)""",
        "CREATE INDEX idx_checklist_event ON checklist_event(checklist_id, id)",
    ),
]


# --------------------------------------------------------------------------- row specs
def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return value.isoformat()


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _datetime(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class _Spec:
    """How one kind of record maps onto one table."""

    table: str
    record_type: str
    columns: tuple[str, ...]
    label_column: str


_COMPANY = _Spec(
    "psa_company", "company",
    ("id", "identifier", "name", "status", "deleted", "updated_at"), "name",
)
_CONTACT = _Spec(
    "psa_contact", "contact",
    ("id", "company_id", "first_name", "last_name", "email", "portal_security_level",
     "inactive", "updated_at"), "last_name",
)
_PSA_INVOICE = _Spec(
    "psa_invoice", "psa invoice",
    ("id", "number", "company_id", "date", "due_date", "total_cents", "owing_cents", "status",
     "ledger_invoice_id", "exported", "currency", "updated_at"), "number",
)
_CUSTOMER = _Spec(
    "ledger_customer", "customer",
    ("id", "display_name", "company_name", "active", "balance_cents", "updated_at"),
    "display_name",
)
_LEDGER_INVOICE = _Spec(
    "ledger_invoice", "ledger invoice",
    ("id", "doc_number", "customer_id", "date", "due_date", "total_cents", "balance_cents",
     "voided", "currency", "updated_at"), "doc_number",
)
_CREDIT = _Spec(
    "ledger_credit", "credit",
    ("id", "source_id", "kind", "customer_id", "date", "amount_cents", "total_cents",
     "doc_number", "updated_at"), "id",
)


def _company_row(c: PsaCompany) -> dict:
    return {"id": c.id, "identifier": c.identifier, "name": c.name, "status": c.status,
            "deleted": int(c.deleted), "updated_at": _iso(c.updated_at)}


def _contact_row(c: Contact) -> dict:
    return {"id": c.id, "company_id": c.company_id, "first_name": c.first_name,
            "last_name": c.last_name, "email": c.email,
            "portal_security_level": c.portal_security_level, "inactive": int(c.inactive),
            "updated_at": _iso(c.updated_at)}


def _psa_invoice_row(i: PsaInvoice) -> dict:
    return {"id": i.id, "number": i.number, "company_id": i.company_id, "date": _iso(i.date),
            "due_date": _iso(i.due_date), "total_cents": to_cents(i.total),
            "owing_cents": to_cents(i.owing), "status": i.status,
            "ledger_invoice_id": i.ledger_invoice_id, "exported": int(i.exported),
            "currency": i.currency, "updated_at": _iso(i.updated_at)}


def _customer_row(c: LedgerCustomer) -> dict:
    return {"id": c.id, "display_name": c.display_name, "company_name": c.company_name,
            "active": int(c.active), "balance_cents": to_cents(c.balance),
            "updated_at": _iso(c.updated_at)}


def _ledger_invoice_row(i: LedgerInvoice) -> dict:
    return {"id": i.id, "doc_number": i.doc_number, "customer_id": i.customer_id,
            "date": _iso(i.date), "due_date": _iso(i.due_date),
            "total_cents": to_cents(i.total), "balance_cents": to_cents(i.balance),
            "voided": int(i.voided), "currency": i.currency, "updated_at": _iso(i.updated_at)}


def credit_key(kind: CreditKind | str, source_id: str) -> str:
    """Credit memos and payments have separate id spaces in the ledger."""
    return f"{CreditKind(kind).value}:{source_id}"


def _credit_row(c: OrganizationalCredit) -> dict:
    return {"id": credit_key(c.kind, c.id), "source_id": c.id, "kind": c.kind.value,
            "customer_id": c.customer_id, "date": _iso(c.date),
            "amount_cents": to_cents(c.amount), "total_cents": to_cents(c.total),
            "doc_number": c.doc_number, "updated_at": _iso(c.updated_at)}


def _company_from(row: sqlite3.Row) -> PsaCompany:
    return PsaCompany(id=row["id"], identifier=row["identifier"], name=row["name"],
                      status=row["status"], deleted=bool(row["deleted"]),
                      updated_at=_datetime(row["updated_at"]))


def _contact_from(row: sqlite3.Row) -> Contact:
    return Contact(id=row["id"], company_id=row["company_id"], first_name=row["first_name"],
                   last_name=row["last_name"], email=row["email"],
                   portal_security_level=row["portal_security_level"],
                   inactive=bool(row["inactive"]), updated_at=_datetime(row["updated_at"]))


def _psa_invoice_from(row: sqlite3.Row) -> PsaInvoice:
    return PsaInvoice(id=row["id"], number=row["number"], company_id=row["company_id"],
                      date=date.fromisoformat(row["date"]), due_date=_date(row["due_date"]),
                      total=from_cents(row["total_cents"]), owing=from_cents(row["owing_cents"]),
                      status=row["status"], ledger_invoice_id=row["ledger_invoice_id"],
                      exported=bool(row["exported"]), currency=row["currency"],
                      updated_at=_datetime(row["updated_at"]))


def _customer_from(row: sqlite3.Row) -> LedgerCustomer:
    return LedgerCustomer(id=row["id"], display_name=row["display_name"],
                          company_name=row["company_name"], active=bool(row["active"]),
                          balance=from_cents(row["balance_cents"]),
                          updated_at=_datetime(row["updated_at"]))


def _ledger_invoice_from(row: sqlite3.Row) -> LedgerInvoice:
    return LedgerInvoice(id=row["id"], doc_number=row["doc_number"],
                         customer_id=row["customer_id"], date=date.fromisoformat(row["date"]),
                         due_date=_date(row["due_date"]), total=from_cents(row["total_cents"]),
                         balance=from_cents(row["balance_cents"]), voided=bool(row["voided"]),
                         currency=row["currency"], updated_at=_datetime(row["updated_at"]))


def _credit_from(row: sqlite3.Row) -> OrganizationalCredit:
    return OrganizationalCredit(id=row["source_id"], kind=CreditKind(row["kind"]),
                                customer_id=row["customer_id"],
                                date=date.fromisoformat(row["date"]),
                                amount=from_cents(row["amount_cents"]),
                                total=from_cents(row["total_cents"]),
                                doc_number=row["doc_number"],
                                updated_at=_datetime(row["updated_at"]))


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class Change:
    """One changed field of one record, as the sync history shows it."""

    record_type: str
    record_id: str
    label: str
    action: str  # created | updated | deleted
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
        owner = _owner(row)
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


@dataclass(frozen=True, slots=True)
class SystemSyncState:
    system: str  # "psa" | "ledger"
    kind: str
    last_synced_at: datetime


def _money_or_none(cents: int | None) -> Decimal | None:
    return None if cents is None else from_cents(cents)


def _summary_from(row: sqlite3.Row) -> ClientSummary:
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


def _pair_row_from(row: sqlite3.Row) -> PairRow:
    return PairRow(
        pair_id=row["id"], client_key=row["client_key"], status=ReconStatus(row["status"]),
        invoice_date=date.fromisoformat(row["invoice_date"]),
        psa_invoice_id=row["psa_invoice_id"], ledger_invoice_id=row["ledger_invoice_id"],
        psa_company_id=row["psa_company_id"], ledger_customer_id=row["ledger_customer_id"],
        psa_number=row["psa_number"], ledger_number=row["ledger_number"],
        psa_status=row["psa_status"], psa_total=_money_or_none(row["psa_total_cents"]),
        psa_owing=_money_or_none(row["psa_owing_cents"]),
        ledger_total=_money_or_none(row["ledger_total_cents"]),
        ledger_owing=_money_or_none(row["ledger_owing_cents"]),
        ledger_voided=bool(row["ledger_voided"]),
        difference_total=from_cents(row["diff_total_cents"]),
        difference_owing=from_cents(row["diff_owing_cents"]),
        discrepant=bool(row["discrepant"]),
    )


def _display(column: str, value: object) -> str | None:
    if value is None:
        return None
    if column.endswith("_cents"):
        return money_str(from_cents(int(value)))  # type: ignore[arg-type]
    return str(value)


def _owner(row: Mapping[str, object] | sqlite3.Row) -> str | None:
    """The company or customer a record belongs to (None for companies/customers)."""
    keys = row.keys()
    for column in ("customer_id", "company_id"):
        if column in keys:
            return str(row[column])
    return None


def _field_name(column: str) -> str:
    return column.removesuffix("_cents")


# --------------------------------------------------------------------------- the cache
class Cache:
    """One connection to one cache file. Open one per thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path}: not a usable cache file ({exc})") from exc
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._migrate()

    # -- lifecycle
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: BEGIN IMMEDIATE takes the write lock up front so two
        writers never interleave."""
        with self._lock:
            if self.conn.in_transaction:
                # Nested use becomes a savepoint so an inner failure rolls back alone.
                name = f"sp_{id(object())}"
                self.conn.execute(f"SAVEPOINT {name}")
                try:
                    yield
                except BaseException:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                    raise
                self.conn.execute(f"RELEASE {name}")
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        if "meta" not in self.db.table_names():
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        try:
            current = self.schema_version
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path}: not a usable cache file ({exc})") from exc
        if current > SCHEMA_VERSION:
            raise CacheError(
                f"{self.path}: cache schema {current} is newer than this recon-tui "
                f"understands ({SCHEMA_VERSION}); upgrade recon-tui or use another --db"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in _MIGRATIONS[version - 1]:
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(version),)
                )

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # -- generic upsert with change tracking
    def _apply(self, spec: _Spec, rows: Iterable[dict], *, track_created: bool) -> ApplyResult:
        result = ApplyResult()
        cols = spec.columns
        placeholders = ", ".join("?" for _ in cols)
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols if c != "id")
        upsert = (f"INSERT INTO {spec.table} ({', '.join(cols)}) VALUES ({placeholders}) "
                  f"ON CONFLICT(id) DO UPDATE SET {updates}")
        compared = [c for c in cols if c not in ("id", "updated_at")]
        batch: list[dict] = []

        def flush() -> None:
            ids = [r["id"] for r in batch]
            marks = ", ".join("?" for _ in ids)
            existing = {
                row["id"]: row
                for row in self.conn.execute(
                    f"SELECT * FROM {spec.table} WHERE id IN ({marks})", ids)
            }
            to_write = []
            for row in batch:
                old = existing.get(row["id"])
                if old is None:
                    result.created += 1
                    result.touch(row)
                    to_write.append(row)
                    if track_created:
                        result.changes.append(Change(spec.record_type, row["id"],
                                                     str(row[spec.label_column]), "created"))
                    continue
                diffs = [c for c in compared if old[c] != row[c]]
                if not diffs:
                    result.unchanged += 1
                    if old["updated_at"] != row["updated_at"]:
                        to_write.append(row)
                    continue
                result.updated += 1
                result.touch(row)
                result.touch(old)  # a record that moved leaves its old owner too
                to_write.append(row)
                for c in diffs:
                    result.changes.append(Change(
                        spec.record_type, row["id"], str(row[spec.label_column]), "updated",
                        _field_name(c), _display(c, old[c]), _display(c, row[c])))
            if to_write:
                self.conn.executemany(upsert, [tuple(r[c] for c in cols) for r in to_write])
            batch.clear()

        with self.transaction():
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    flush()
            if batch:
                flush()
        return result

    def _delete(self, spec: _Spec, ids: Iterable[str]) -> ApplyResult:
        result = ApplyResult()
        with self.transaction():
            for record_id in ids:
                row = self.conn.execute(f"SELECT * FROM {spec.table} WHERE id=?",
                                        (record_id,)).fetchone()
                if row is None:
                    continue
                self.conn.execute(f"DELETE FROM {spec.table} WHERE id=?", (record_id,))
                result.deleted += 1
                result.touch(row)
                result.changes.append(Change(spec.record_type, record_id,
                                             str(row[spec.label_column]), "deleted"))
        return result

    def _has_rows(self, table: str) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None

    def upsert_companies(self, items: Iterable[PsaCompany]) -> ApplyResult:
        return self._apply(_COMPANY, map(_company_row, items),
                           track_created=self._has_rows(_COMPANY.table))

    def upsert_contacts(self, items: Iterable[Contact]) -> ApplyResult:
        return self._apply(_CONTACT, map(_contact_row, items),
                           track_created=self._has_rows(_CONTACT.table))

    def upsert_psa_invoices(self, items: Iterable[PsaInvoice]) -> ApplyResult:
        return self._apply(_PSA_INVOICE, map(_psa_invoice_row, items),
                           track_created=self._has_rows(_PSA_INVOICE.table))

    def upsert_customers(self, items: Iterable[LedgerCustomer]) -> ApplyResult:
        return self._apply(_CUSTOMER, map(_customer_row, items),
                           track_created=self._has_rows(_CUSTOMER.table))

    def upsert_ledger_invoices(self, items: Iterable[LedgerInvoice]) -> ApplyResult:
        return self._apply(_LEDGER_INVOICE, map(_ledger_invoice_row, items),
                           track_created=self._has_rows(_LEDGER_INVOICE.table))

    def upsert_credits(self, items: Iterable[OrganizationalCredit]) -> ApplyResult:
        """Credits with something left are kept; used-up ones are removed, so the
        credits panel only ever shows money still on account."""
        items = list(items)
        live = [c for c in items if c.amount != 0]
        used_up = [credit_key(c.kind, c.id) for c in items if c.amount == 0]
        with self.transaction():
            result = self._apply(_CREDIT, map(_credit_row, live),
                                 track_created=self._has_rows(_CREDIT.table))
            gone = self._delete(_CREDIT, used_up)
        result.merge(gone)
        return result

    def delete_ledger_invoices(self, ids: Iterable[str]) -> ApplyResult:
        return self._delete(_LEDGER_INVOICE, ids)

    def ledger_invoice_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM ledger_invoice")}

    # -- reads of source records
    def companies(self) -> dict[str, PsaCompany]:
        return {r["id"]: _company_from(r) for r in self.conn.execute("SELECT * FROM psa_company")}

    def company(self, company_id: str) -> PsaCompany | None:
        row = self.conn.execute("SELECT * FROM psa_company WHERE id=?", (company_id,)).fetchone()
        return _company_from(row) if row else None

    def customers(self) -> dict[str, LedgerCustomer]:
        return {r["id"]: _customer_from(r)
                for r in self.conn.execute("SELECT * FROM ledger_customer")}

    def customer(self, customer_id: str) -> LedgerCustomer | None:
        row = self.conn.execute("SELECT * FROM ledger_customer WHERE id=?",
                                (customer_id,)).fetchone()
        return _customer_from(row) if row else None

    def iter_psa_invoices(self) -> Iterator[PsaInvoice]:
        for row in self.conn.execute("SELECT * FROM psa_invoice"):
            yield _psa_invoice_from(row)

    def iter_ledger_invoices(self) -> Iterator[LedgerInvoice]:
        for row in self.conn.execute("SELECT * FROM ledger_invoice"):
            yield _ledger_invoice_from(row)

    def psa_invoice(self, invoice_id: str) -> PsaInvoice | None:
        row = self.conn.execute("SELECT * FROM psa_invoice WHERE id=?", (invoice_id,)).fetchone()
        return _psa_invoice_from(row) if row else None

    def ledger_invoice(self, invoice_id: str) -> LedgerInvoice | None:
        row = self.conn.execute("SELECT * FROM ledger_invoice WHERE id=?",
                                (invoice_id,)).fetchone()
        return _ledger_invoice_from(row) if row else None

    def credits(self) -> list[OrganizationalCredit]:
        return [_credit_from(r) for r in self.conn.execute(
            "SELECT * FROM ledger_credit WHERE amount_cents != 0")]

    def counts(self) -> dict[str, int]:
        """Row counts per source table, for status lines and tests."""
        tables = ("psa_company", "psa_contact", "psa_invoice", "ledger_customer",
                  "ledger_invoice", "ledger_credit", "company_mapping", "invoice_pair",
                  "client_summary")
        return {t: self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    # -- mapping
    def mapping(self) -> dict[str, str]:
        """ledger_customer_id -> psa_company_id."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping")}

    def mappings(self) -> list[CompanyMapping]:
        return [CompanyMapping(r["ledger_customer_id"], r["psa_company_id"],
                               MappingMethod(r["method"]), _datetime(r["created_at"]))
                for r in self.conn.execute("SELECT * FROM company_mapping")]

    def add_mappings(self, mappings: Iterable[CompanyMapping]) -> int:
        rows = [(m.ledger_customer_id, m.psa_company_id, m.method.value,
                 _iso(m.created_at or datetime.now(UTC))) for m in mappings]
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO company_mapping(ledger_customer_id, psa_company_id, method, "
                "created_at) VALUES (?, ?, ?, ?) ON CONFLICT(ledger_customer_id) DO UPDATE SET "
                "psa_company_id=excluded.psa_company_id, method=excluded.method, "
                "created_at=excluded.created_at", rows)
        return len(rows)

    def remove_mapping(self, ledger_customer_id: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM company_mapping WHERE ledger_customer_id=?",
                              (ledger_customer_id,))

    def unmapped_customer_count(self) -> int:
        return self.conn.execute(
            "SELECT count(*) FROM ledger_customer c WHERE NOT EXISTS "
            "(SELECT 1 FROM company_mapping m WHERE m.ledger_customer_id = c.id)").fetchone()[0]

    # -- materialised reconciliation
    def replace_reconciliation(
        self,
        pairs: Iterable[tuple[str, InvoicePair]],
        summaries: Iterable[ClientSummary],
        contact_levels: dict[str, int | None] | None = None,
    ) -> None:
        """Swap in a freshly computed reconciliation in one transaction, so a
        reader never sees pairs and summaries from different computations."""
        levels = contact_levels if contact_levels is not None else self.max_portal_levels()
        with self.transaction():
            self.conn.execute("DELETE FROM invoice_pair")
            self.conn.execute("DELETE FROM client_summary")
            self._insert_pairs(pairs)
            self._insert_summaries(summaries, levels)

    # -- incremental refresh (one invoice, one mapping) without touching the rest
    def _in(self, sql: str, values: Sequence[str]) -> list[sqlite3.Row]:
        """Run ``sql`` (containing ``{marks}``) over ``values`` in chunks."""
        rows: list[sqlite3.Row] = []
        values = list(values)
        for start in range(0, len(values), CHUNK):
            chunk = values[start:start + CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows.extend(self.conn.execute(sql.format(marks=marks), chunk))
        return rows

    def psa_invoices_related(self, *, ids: Sequence[str] = (), numbers: Sequence[str] = (),
                             ledger_ids: Sequence[str] = ()) -> list[PsaInvoice]:
        """PSA invoices by id, by number, or linked to given ledger invoice ids."""
        found: dict[str, PsaInvoice] = {}
        for sql, values in (("SELECT * FROM psa_invoice WHERE id IN ({marks})", ids),
                            ("SELECT * FROM psa_invoice WHERE number IN ({marks})", numbers),
                            ("SELECT * FROM psa_invoice WHERE ledger_invoice_id IN ({marks})",
                             ledger_ids)):
            for row in self._in(sql, values):
                found[row["id"]] = _psa_invoice_from(row)
        return list(found.values())

    def ledger_invoices_related(self, *, ids: Sequence[str] = (),
                                numbers: Sequence[str] = ()) -> list[LedgerInvoice]:
        """Ledger invoices by id or by doc number."""
        found: dict[str, LedgerInvoice] = {}
        for sql, values in (("SELECT * FROM ledger_invoice WHERE id IN ({marks})", ids),
                            ("SELECT * FROM ledger_invoice WHERE doc_number IN ({marks})",
                             numbers)):
            for row in self._in(sql, values):
                found[row["id"]] = _ledger_invoice_from(row)
        return list(found.values())

    def pair_client_keys(self, *, psa_ids: Sequence[str] = (),
                         ledger_ids: Sequence[str] = ()) -> set[str]:
        """Clients whose rows involve these invoices (before a re-pair)."""
        rows = self._in("SELECT client_key FROM invoice_pair WHERE psa_invoice_id IN ({marks})",
                        psa_ids)
        rows += self._in(
            "SELECT client_key FROM invoice_pair WHERE ledger_invoice_id IN ({marks})",
            ledger_ids)
        return {r[0] for r in rows}

    def replace_pairs_for(self, psa_ids: Sequence[str], ledger_ids: Sequence[str],
                          pairs: Iterable[tuple[str, InvoicePair]]) -> None:
        """Drop every row touching these invoices and insert their fresh pairs."""
        with self.transaction():
            self._in("DELETE FROM invoice_pair WHERE psa_invoice_id IN ({marks})", psa_ids)
            self._in("DELETE FROM invoice_pair WHERE ledger_invoice_id IN ({marks})",
                     ledger_ids)
            self._insert_pairs(pairs)

    def move_ledger_only_pairs(self, ledger_customer_id: str, client_key: str) -> None:
        """After a mapping change, the customer's ledger-only rows follow it."""
        with self.transaction():
            self.conn.execute(
                "UPDATE invoice_pair SET client_key=? WHERE ledger_customer_id=? "
                "AND psa_invoice_id IS NULL", (client_key, ledger_customer_id))

    def client_invoice_pairs(self, client_key: str) -> list[InvoicePair]:
        """A client's rows as domain pairs, for re-computing its roll-up."""
        rows = self.conn.execute(
            "SELECT status, psa_invoice_id, ledger_invoice_id FROM invoice_pair "
            "WHERE client_key=?", (client_key,)).fetchall()
        psa = {i.id: i for i in self.psa_invoices_related(
            ids=[r["psa_invoice_id"] for r in rows if r["psa_invoice_id"]])}
        ledger = {i.id: i for i in self.ledger_invoices_related(
            ids=[r["ledger_invoice_id"] for r in rows if r["ledger_invoice_id"]])}
        pairs = []
        for r in rows:
            status = ReconStatus(r["status"])
            ledger_side = None if status is ReconStatus.EXPECTED_NOT_FOUND else ledger.get(
                r["ledger_invoice_id"])
            pairs.append(InvoicePair(status, psa.get(r["psa_invoice_id"]), ledger_side))
        return pairs

    def replace_client_summaries(self, client_keys: Sequence[str],
                                 summaries: Iterable[ClientSummary]) -> None:
        with self.transaction():
            self._in("DELETE FROM client_summary WHERE client_key IN ({marks})", client_keys)
            self._insert_summaries(summaries, self.max_portal_levels())

    def companies_by_id(self, ids: Sequence[str]) -> dict[str, PsaCompany]:
        return {r["id"]: _company_from(r)
                for r in self._in("SELECT * FROM psa_company WHERE id IN ({marks})", ids)}

    def customers_by_id(self, ids: Sequence[str]) -> dict[str, LedgerCustomer]:
        return {r["id"]: _customer_from(r)
                for r in self._in("SELECT * FROM ledger_customer WHERE id IN ({marks})", ids)}

    def mapping_for_companies(self, company_ids: Sequence[str]) -> dict[str, str]:
        """ledger_customer_id -> psa_company_id for the given companies."""
        return {r[0]: r[1] for r in self._in(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping "
            "WHERE psa_company_id IN ({marks})", company_ids)}

    def mapping_for_customers(self, customer_ids: Sequence[str]) -> dict[str, str]:
        return {r[0]: r[1] for r in self._in(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping "
            "WHERE ledger_customer_id IN ({marks})", customer_ids)}

    def _insert_pairs(self, pairs: Iterable[tuple[str, InvoicePair]]) -> None:
        sql = ("INSERT INTO invoice_pair (client_key, status, invoice_date, psa_invoice_id, "
               "ledger_invoice_id, psa_company_id, ledger_customer_id, psa_number, "
               "ledger_number, psa_status, psa_total_cents, psa_owing_cents, "
               "ledger_total_cents, ledger_owing_cents, ledger_voided, diff_total_cents, "
               "diff_owing_cents, discrepant) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

        def rows() -> Iterator[tuple]:
            for key, p in pairs:
                psa, led = p.psa, p.ledger
                expected_ledger_id = led.id if led else (psa.ledger_invoice_id if psa else None)
                yield (
                    key, p.status.value, p.invoice_date.isoformat(),
                    psa.id if psa else None, expected_ledger_id,
                    psa.company_id if psa else None, led.customer_id if led else None,
                    psa.number if psa else None, led.doc_number if led else None,
                    psa.status if psa else None,
                    to_cents(psa.total) if psa else None, to_cents(psa.owing) if psa else None,
                    to_cents(led.total) if led else None,
                    to_cents(led.balance) if led else None,
                    int(led.voided) if led else 0,
                    to_cents(p.difference_total), to_cents(p.difference_owing),
                    int(p.discrepant),
                )

        self.conn.executemany(sql, rows())

    def _insert_summaries(self, summaries: Iterable[ClientSummary],
                          levels: dict[str, int | None]) -> None:
        sql = ("INSERT INTO client_summary (client_key, name, name_sort, psa_company_id, "
               "ledger_customer_ids, ledger_name, psa_owing_cents, ledger_balance_cents, "
               "difference_cents, abs_difference_cents, unapplied_credit_cents, "
               "discrepant_count, invoice_count, mapped, max_portal_level, search) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

        def rows() -> Iterator[tuple]:
            for s in summaries:
                diff = to_cents(s.difference)
                yield (
                    s.client_key, s.name, s.name.casefold(), s.psa_company_id,
                    "\x1f".join(s.ledger_customer_ids), s.ledger_name,
                    to_cents(s.psa_owing), to_cents(s.ledger_balance), diff, abs(diff),
                    to_cents(s.unapplied_credits), s.discrepant_count, s.invoice_count,
                    int(s.mapped),
                    levels.get(s.psa_company_id) if s.psa_company_id else None,
                    f"{s.name}\x1f{s.ledger_name}".casefold(),
                )

        self.conn.executemany(sql, rows())

    def max_portal_levels(self) -> dict[str, int | None]:
        """Highest portal security level among each company's active contacts."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT company_id, max(portal_security_level) FROM psa_contact "
            "WHERE inactive = 0 GROUP BY company_id")}

    # -- the clients screen
    @staticmethod
    def _client_filter(text: str, discrepant_only: bool, unmapped_only: bool,
                       portal_below: int | None) -> tuple[str, list]:
        clauses, params = [], []
        for word in text.casefold().split():
            clauses.append("instr(search, ?) > 0")
            params.append(word)
        if discrepant_only:
            clauses.append("(discrepant_count > 0 OR abs_difference_cents > 0)")
        if unmapped_only:
            clauses.append("mapped = 0")
        if portal_below is not None:
            clauses.append("psa_company_id IS NOT NULL AND "
                           "(max_portal_level IS NULL OR max_portal_level < ?)")
            params.append(portal_below)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return where, params

    def count_clients(self, text: str = "", *, discrepant_only: bool = False,
                      unmapped_only: bool = False, portal_below: int | None = None) -> int:
        where, params = self._client_filter(text, discrepant_only, unmapped_only, portal_below)
        return self.conn.execute(f"SELECT count(*) FROM client_summary {where}",
                                 params).fetchone()[0]

    def client_page(self, text: str = "", offset: int = 0, limit: int = 100, *,
                    discrepant_only: bool = False, unmapped_only: bool = False,
                    portal_below: int | None = None) -> list[ClientSummary]:
        """Worst difference first, then most discrepant invoices, then name."""
        where, params = self._client_filter(text, discrepant_only, unmapped_only, portal_below)
        rows = self.conn.execute(
            f"SELECT * FROM client_summary {where} ORDER BY abs_difference_cents DESC, "
            f"discrepant_count DESC, name_sort LIMIT ? OFFSET ?", [*params, limit, offset])
        return [_summary_from(r) for r in rows]

    def client(self, client_key: str) -> ClientSummary | None:
        row = self.conn.execute("SELECT * FROM client_summary WHERE client_key=?",
                                (client_key,)).fetchone()
        return _summary_from(row) if row else None

    def book_totals(self) -> BookTotals:
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(psa_owing_cents), 0), "
            "coalesce(sum(ledger_balance_cents), 0), coalesce(sum(unapplied_credit_cents), 0), "
            "coalesce(sum(discrepant_count > 0 OR abs_difference_cents > 0), 0) "
            "FROM client_summary").fetchone()
        return BookTotals(clients=row[0], psa_owing=from_cents(row[1]),
                          ledger_balance=from_cents(row[2]),
                          unapplied_credits=from_cents(row[3]), discrepant_clients=row[4],
                          unmapped_customers=self.unmapped_customer_count())

    # -- the client detail screen
    def count_client_pairs(self, client_key: str) -> int:
        return self.conn.execute("SELECT count(*) FROM invoice_pair WHERE client_key=?",
                                 (client_key,)).fetchone()[0]

    def client_pairs(self, client_key: str, offset: int = 0, limit: int = 100) -> list[PairRow]:
        """Discrepant rows first (largest owing gap first), then newest first."""
        rows = self.conn.execute(
            "SELECT * FROM invoice_pair WHERE client_key=? ORDER BY discrepant DESC, "
            "abs(diff_owing_cents) DESC, abs(diff_total_cents) DESC, invoice_date DESC, id "
            "LIMIT ? OFFSET ?", (client_key, limit, offset))
        return [_pair_row_from(r) for r in rows]

    def count_pairs(self) -> int:
        return self.conn.execute("SELECT count(*) FROM invoice_pair").fetchone()[0]

    def pair_row(self, pair_id: int) -> PairRow | None:
        row = self.conn.execute("SELECT * FROM invoice_pair WHERE id=?", (pair_id,)).fetchone()
        return _pair_row_from(row) if row else None

    def pairs_for_number(self, number: str) -> list[PairRow]:
        """Rows whose PSA number or ledger doc number is ``number``."""
        rows = self.conn.execute(
            "SELECT * FROM invoice_pair WHERE psa_number=? UNION "
            "SELECT * FROM invoice_pair WHERE ledger_number=?", (number, number))
        return [_pair_row_from(r) for r in rows]

    def client_credits(self, customer_ids: Sequence[str]) -> list[OrganizationalCredit]:
        if not customer_ids:
            return []
        marks = ", ".join("?" for _ in customer_ids)
        rows = self.conn.execute(
            f"SELECT * FROM ledger_credit WHERE customer_id IN ({marks}) AND amount_cents != 0 "
            f"ORDER BY date, id", list(customer_ids))
        return [_credit_from(r) for r in rows]

    def company_contacts(self, company_id: str) -> list[Contact]:
        rows = self.conn.execute(
            "SELECT * FROM psa_contact WHERE company_id=? ORDER BY inactive, "
            "coalesce(portal_security_level, 0) DESC, last_name, first_name", (company_id,))
        return [_contact_from(r) for r in rows]

    def contacts(self) -> list[Contact]:
        return [_contact_from(r) for r in self.conn.execute("SELECT * FROM psa_contact")]

    # -- sync history
    def start_sync_run(self, run: SyncRun) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO sync_run(kind, status, since, target, started_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (run.kind, run.status.value, _iso(run.since), run.target,
                 _iso(run.started_at or datetime.now(UTC))))
            run_id = int(cur.lastrowid)  # type: ignore[arg-type]
            self.conn.executemany(
                "INSERT INTO sync_step(run_id, position, name, system, status) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, i, s.name, s.system, s.status.value) for i, s in enumerate(run.steps)])
        run.id = run_id
        return run_id

    def save_sync_progress(self, run: SyncRun) -> None:
        """Persist the run's status and step counters (its own small transaction)."""
        assert run.id is not None
        with self.transaction():
            self._write_run(run)

    def _write_run(self, run: SyncRun) -> None:
        self.conn.execute(
            "UPDATE sync_run SET status=?, finished_at=?, error=? WHERE id=?",
            (run.status.value, _iso(run.finished_at), run.error, run.id))
        for i, s in enumerate(run.steps):
            self.conn.execute(
                "UPDATE sync_step SET status=?, created=?, updated=?, unchanged=?, deleted=?, "
                "error=? WHERE run_id=? AND position=?",
                (s.status.value, s.created, s.updated, s.unchanged, s.deleted, s.error,
                 run.id, i))

    def record_changes(self, run_id: int, step: str, changes: Sequence[Change]) -> None:
        """Store changed records for the history, bounded per run."""
        stored = self.conn.execute("SELECT count(*) FROM sync_change WHERE run_id=?",
                                   (run_id,)).fetchone()[0]
        room = max(0, MAX_CHANGES_PER_RUN - stored)
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO sync_change(run_id, step, record_type, record_id, label, action, "
                "field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, step, c.record_type, c.record_id, c.label, c.action, c.field, c.old,
                  c.new) for c in changes[:room]])

    def mark_synced(self, system: str, kind: str, when: datetime) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO sync_state(system, kind, last_synced_at) VALUES (?, ?, ?) "
                "ON CONFLICT(system) DO UPDATE SET kind=excluded.kind, "
                "last_synced_at=excluded.last_synced_at", (system, kind, _iso(when)))

    def sync_states(self) -> dict[str, SystemSyncState]:
        return {r["system"]: SystemSyncState(r["system"], r["kind"],
                                             datetime.fromisoformat(r["last_synced_at"]))
                for r in self.conn.execute("SELECT * FROM sync_state")}

    def sync_runs(self, limit: int = 200) -> list[SyncRun]:
        runs = []
        for r in self.conn.execute("SELECT * FROM sync_run ORDER BY id DESC LIMIT ?", (limit,)):
            runs.append(self._run_from(r))
        return runs

    def sync_run(self, run_id: int) -> SyncRun | None:
        row = self.conn.execute("SELECT * FROM sync_run WHERE id=?", (run_id,)).fetchone()
        return self._run_from(row) if row else None

    def last_successful_run(self, kind: str = "full") -> SyncRun | None:
        row = self.conn.execute(
            "SELECT * FROM sync_run WHERE kind=? AND status=? ORDER BY id DESC LIMIT 1",
            (kind, SyncStatus.SUCCEEDED.value)).fetchone()
        return self._run_from(row) if row else None

    def _run_from(self, r: sqlite3.Row) -> SyncRun:
        steps = [SyncStep(name=s["name"], system=s["system"], status=SyncStatus(s["status"]),
                          created=s["created"], updated=s["updated"], unchanged=s["unchanged"],
                          deleted=s["deleted"], error=s["error"])
                 for s in self.conn.execute(
                     "SELECT * FROM sync_step WHERE run_id=? ORDER BY position", (r["id"],))]
        return SyncRun(kind=r["kind"], status=SyncStatus(r["status"]), id=r["id"],
                       since=_date(r["since"]), target=r["target"],
                       started_at=_datetime(r["started_at"]),
                       finished_at=_datetime(r["finished_at"]), error=r["error"], steps=steps)

    def sync_changes(self, run_id: int) -> list[Change]:
        return [Change(r["record_type"], r["record_id"], r["label"], r["action"], r["field"],
                       r["old"], r["new"])
                for r in self.conn.execute(
                    "SELECT * FROM sync_change WHERE run_id=? ORDER BY id", (run_id,))]

    def fail_interrupted_runs(self, message: str) -> int:
        """Runs left 'running' by a killed process are marked failed at next open."""
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE sync_run SET status=?, error=?, finished_at=? WHERE status IN (?, ?)",
                (SyncStatus.FAILED.value, message, _iso(datetime.now(UTC)),
                 SyncStatus.RUNNING.value, SyncStatus.PENDING.value))
        return cur.rowcount

    # -- company mapper
    def unmapped_customer_queue(self) -> list[tuple[LedgerCustomer, int, Decimal]]:
        """Every unmapped ledger customer with its invoice count and open balance,
        biggest balance first, then most invoices: the mapper works the money first."""
        rows = self.conn.execute(
            "SELECT c.*, count(i.id) AS invoice_count, "
            "coalesce(sum(i.balance_cents), 0) AS open_cents "
            "FROM ledger_customer c LEFT JOIN ledger_invoice i ON i.customer_id = c.id "
            "WHERE NOT EXISTS (SELECT 1 FROM company_mapping m "
            "WHERE m.ledger_customer_id = c.id) "
            "GROUP BY c.id ORDER BY abs(open_cents) DESC, invoice_count DESC, "
            "c.display_name COLLATE NOCASE, c.id")
        return [(_customer_from(r), r["invoice_count"], from_cents(r["open_cents"]))
                for r in rows]

    def company_mapping(self, ledger_customer_id: str) -> CompanyMapping | None:
        """One customer's mapping with its method and time, so an undo restores it exactly."""
        row = self.conn.execute("SELECT * FROM company_mapping WHERE ledger_customer_id=?",
                                (ledger_customer_id,)).fetchone()
        if row is None:
            return None
        return CompanyMapping(row["ledger_customer_id"], row["psa_company_id"],
                              MappingMethod(row["method"]), _datetime(row["created_at"]))

    def deleted_company_ids(self, company_ids: Sequence[str]) -> set[str]:
        """Which of these PSA companies sit in the PSA's recycle bin (one query per page)."""
        return {r[0] for r in self._in(
            "SELECT id FROM psa_company WHERE deleted = 1 AND id IN ({marks})", company_ids)}


    # -- credit checklists
    # Seed 001's workflow state (recon_tui.workflows.credit_checklist) and its audit
    # trail. Every transition is a compare-and-set on the state plus its event, in one
    # transaction, so two screens or two processes can never both make the same move.
    _CHECKLIST_COLUMNS: dict[str, str] = {
        "state": "state", "invoice_id": "invoice_id", "invoice_number": "invoice_number",
        "invoice_total": "invoice_total_cents", "invoice_balance": "invoice_balance_cents",
        "amount": "amount_cents", "credit_amount": "credit_cents", "method": "method",
        "request_id": "request_id", "applied_at": "applied_at",
        "needs_full_sync": "needs_full_sync", "sync_since": "sync_since",
        "failed_step": "failed_step", "finding": "finding", "note": "note",
        "closed_at": "closed_at",
    }

    @staticmethod
    def _checklist_value(value: object) -> object:
        if isinstance(value, Decimal):
            return to_cents(value)
        if isinstance(value, (date, datetime)):
            return _iso(value)
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (ChecklistState, ApplyMethod)):
            return value.value
        return value

    @staticmethod
    def _checklist_from(r: sqlite3.Row) -> CreditChecklist:
        def cents(column: str) -> Decimal | None:
            return _money_or_none(r[column])

        return CreditChecklist(
            id=r["id"], state=ChecklistState(r["state"]), customer_id=r["customer_id"],
            customer_name=r["customer_name"], credit_kind=CreditKind(r["credit_kind"]),
            credit_id=r["credit_id"], credit_doc_number=r["credit_doc_number"],
            credit_date=date.fromisoformat(r["credit_date"]),
            credit_amount=from_cents(r["credit_cents"]),
            created_at=datetime.fromisoformat(r["created_at"]),
            updated_at=datetime.fromisoformat(r["updated_at"]),
            invoice_id=r["invoice_id"], invoice_number=r["invoice_number"],
            invoice_total=cents("invoice_total_cents"),
            invoice_balance=cents("invoice_balance_cents"), amount=cents("amount_cents"),
            method=ApplyMethod(r["method"]) if r["method"] else None,
            request_id=r["request_id"], applied_at=_datetime(r["applied_at"]),
            needs_full_sync=None if r["needs_full_sync"] is None else bool(r["needs_full_sync"]),
            sync_since=_date(r["sync_since"]), failed_step=r["failed_step"],
            finding=r["finding"], note=r["note"], closed_at=_datetime(r["closed_at"]),
        )

    def _insert_checklist_event(self, checklist_id: int, state: ChecklistState, step: int,
                                outcome: str, message: str, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO checklist_event(checklist_id, at, step, outcome, state, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (checklist_id, _iso(at), step, outcome, state.value, message))

    def create_checklist(self, credit: OrganizationalCredit, customer_name: str, *,
                         message: str, at: datetime) -> int:
        """A new checklist for ``credit``, with its first audit line."""
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO checklist(state, customer_id, customer_name, credit_kind, "
                "credit_id, credit_doc_number, credit_date, credit_cents, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ChecklistState.CHOOSE_INVOICE.value, credit.customer_id, customer_name,
                 credit.kind.value, credit.id, credit.doc_number, _iso(credit.date),
                 to_cents(credit.amount), _iso(at), _iso(at)))
            checklist_id = int(cur.lastrowid)  # type: ignore[arg-type]
            self._insert_checklist_event(checklist_id, ChecklistState.CHOOSE_INVOICE, 1, "ok",
                                         message, at)
        return checklist_id

    def checklist(self, checklist_id: int) -> CreditChecklist | None:
        row = self.conn.execute("SELECT * FROM checklist WHERE id=?",
                                (checklist_id,)).fetchone()
        return self._checklist_from(row) if row else None

    def open_checklists(self) -> list[CreditChecklist]:
        """Not done and not cancelled, most recently touched first."""
        rows = self.conn.execute(
            "SELECT * FROM checklist WHERE state NOT IN (?, ?) ORDER BY updated_at DESC, id DESC",
            (ChecklistState.DONE.value, ChecklistState.CANCELLED.value))
        return [self._checklist_from(r) for r in rows]

    def customer_checklists(self, customer_ids: Sequence[str]) -> list[CreditChecklist]:
        """Every checklist of these ledger customers, newest first."""
        rows = self._in("SELECT * FROM checklist WHERE customer_id IN ({marks})", customer_ids)
        return sorted((self._checklist_from(r) for r in rows), key=lambda c: -c.id)

    def open_checklist_for_credit(self, kind: CreditKind | str,
                                  credit_id: str) -> CreditChecklist | None:
        row = self.conn.execute(
            "SELECT * FROM checklist WHERE credit_kind=? AND credit_id=? AND state NOT IN (?, ?) "
            "ORDER BY id DESC LIMIT 1",
            (CreditKind(kind).value, credit_id, ChecklistState.DONE.value,
             ChecklistState.CANCELLED.value)).fetchone()
        return self._checklist_from(row) if row else None

    def update_checklist(self, checklist_id: int, *, from_states: Sequence[ChecklistState],
                         changes: dict[str, object], step: int, outcome: str, message: str,
                         at: datetime) -> bool:
        """Move a checklist on, only if it is still in one of ``from_states``; False
        (and nothing written) when someone else moved it first."""
        unknown = set(changes) - set(self._CHECKLIST_COLUMNS)
        if unknown:
            raise ValueError(f"not checklist fields: {sorted(unknown)}")
        columns = [self._CHECKLIST_COLUMNS[name] for name in changes]
        values = [self._checklist_value(v) for v in changes.values()]
        assignments = ", ".join(f"{c}=?" for c in [*columns, "updated_at"])
        marks = ", ".join("?" for _ in from_states)
        with self.transaction():
            cur = self.conn.execute(
                f"UPDATE checklist SET {assignments} WHERE id=? AND state IN ({marks})",
                [*values, _iso(at), checklist_id, *(s.value for s in from_states)])
            if cur.rowcount != 1:
                return False
            state = self.conn.execute("SELECT state FROM checklist WHERE id=?",
                                      (checklist_id,)).fetchone()[0]
            self._insert_checklist_event(checklist_id, ChecklistState(state), step, outcome,
                                         message, at)
        return True

    def add_checklist_event(self, checklist_id: int, *, step: int, outcome: str, message: str,
                            at: datetime) -> None:
        """An audit line that does not move the checklist (a failed attempt, progress)."""
        with self.transaction():
            row = self.conn.execute("SELECT state FROM checklist WHERE id=?",
                                    (checklist_id,)).fetchone()
            if row is None:
                return
            self._insert_checklist_event(checklist_id, ChecklistState(row[0]), step, outcome,
                                         message, at)
            self.conn.execute("UPDATE checklist SET updated_at=? WHERE id=?",
                              (_iso(at), checklist_id))

    def checklist_events(self, checklist_ids: Sequence[int]) -> list[ChecklistEvent]:
        """Audit lines of these checklists, oldest first."""
        rows = self._in("SELECT * FROM checklist_event WHERE checklist_id IN ({marks})",
                        [str(i) for i in checklist_ids])
        events = [ChecklistEvent(id=r["id"], checklist_id=r["checklist_id"],
                                 at=datetime.fromisoformat(r["at"]), step=r["step"],
                                 outcome=r["outcome"], state=ChecklistState(r["state"]),
                                 message=r["message"]) for r in rows]
        return sorted(events, key=lambda e: e.id)

    def open_ledger_invoices(self, customer_id: str) -> list[LedgerInvoice]:
        """A customer's invoices with a balance left, oldest first: the order the
        ledger's Receive Payment applies a credit in."""
        rows = self.conn.execute(
            "SELECT * FROM ledger_invoice WHERE customer_id=? AND balance_cents > 0 "
            "AND voided = 0 ORDER BY date, due_date, doc_number, id", (customer_id,))
        return [_ledger_invoice_from(r) for r in rows]

    def ledger_credit(self, kind: CreditKind | str, source_id: str) -> OrganizationalCredit | None:
        """One credit as the cache has it now (None once used up or never seen)."""
        row = self.conn.execute("SELECT * FROM ledger_credit WHERE id=?",
                                (credit_key(kind, source_id),)).fetchone()
        return _credit_from(row) if row else None

    # -- report
    @contextmanager
    def report_view(self) -> Iterator[None]:
        """One consistent view of the cache for a whole report: a deferred read
        transaction, so every query sees the database as of the first one (WAL),
        whatever a sync commits meanwhile. Nested use joins the open transaction."""
        with self._lock:
            if self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN DEFERRED")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    def _report_where(self, start: date, end: date,
                      client_key: str | None) -> tuple[str, list[str]]:
        where, params = "p.invoice_date BETWEEN ? AND ?", [start.isoformat(), end.isoformat()]
        if client_key is not None:
            where += " AND p.client_key = ?"
            params.append(client_key)
        return where, params

    def report_pair_count(self, start: date, end: date, client_key: str | None = None) -> int:
        """Rows of the snapshot report: materialised pairs dated in [start, end]."""
        where, params = self._report_where(start, end, client_key)
        return self.conn.execute(f"SELECT count(*) FROM invoice_pair p WHERE {where}",
                                 params).fetchone()[0]

    def iter_report_pairs(self, start: date, end: date, client_key: str | None = None
                          ) -> Iterator[tuple[InvoicePair, str, str | None, str | None]]:
        """The materialised pairs dated in [start, end] (optionally one client's) as
        domain pairs, each with its client key, its PSA company name and its ledger
        customer name. A side missing from the row stays None; the names fall back to
        the client's mapped counterpart (a PSA-only row of a mapped company gets the
        mapped ledger customers' names, a mapped customer's ledger-only row its
        company's name). Names and currencies come from small lookups rather than
        joins, so 200,000 rows stream in a few seconds."""
        where, params = self._report_where(start, end, client_key)
        companies = dict(self.conn.execute("SELECT id, name FROM psa_company").fetchall())
        customers = dict(self.conn.execute(
            "SELECT id, display_name FROM ledger_customer").fetchall())
        clients = {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT client_key, name, ledger_name FROM client_summary")}
        # Most books use one currency: only the invoices in another are looked up.
        counts: dict[str, int] = {}
        for table in ("psa_invoice", "ledger_invoice"):
            for currency, n in self.conn.execute(
                    f"SELECT currency, count(*) FROM {table} GROUP BY currency"):
                counts[currency] = counts.get(currency, 0) + n
        main = max(counts, key=lambda c: (counts[c], c)) if counts else "USD"
        psa_currency = dict(self.conn.execute(
            "SELECT id, currency FROM psa_invoice WHERE currency != ?", (main,)).fetchall())
        ledger_currency = dict(self.conn.execute(
            "SELECT id, currency FROM ledger_invoice WHERE currency != ?", (main,)).fetchall())
        days: dict[str, date] = {}
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: this loop is the hot path
        cursor.execute(
            "SELECT status, client_key, invoice_date, psa_invoice_id, ledger_invoice_id, "
            "psa_company_id, ledger_customer_id, psa_number, ledger_number, psa_status, "
            "psa_total_cents, psa_owing_cents, ledger_total_cents, ledger_owing_cents, "
            f"ledger_voided FROM invoice_pair p WHERE {where}", params)
        expected_not_found = ReconStatus.EXPECTED_NOT_FOUND
        for (status_text, client, day_text, psa_id, ledger_id, company_id, customer_id,
             psa_number, ledger_number, psa_status, psa_total, psa_owing, ledger_total,
             ledger_owing, voided) in cursor:
            status = ReconStatus(status_text)
            day = days.get(day_text)
            if day is None:
                day = days[day_text] = date.fromisoformat(day_text)
            psa = None
            if psa_id is not None:
                psa = PsaInvoice(
                    id=psa_id, number=psa_number or "", company_id=company_id or "", date=day,
                    total=from_cents(psa_total), owing=from_cents(psa_owing),
                    status=psa_status or "",
                    ledger_invoice_id=ledger_id if status is expected_not_found else None,
                    exported=status is expected_not_found,
                    currency=psa_currency.get(psa_id, main))
            ledger = None
            if ledger_total is not None:
                ledger = LedgerInvoice(
                    id=ledger_id or "", doc_number=ledger_number or "",
                    customer_id=customer_id or "", date=day, total=from_cents(ledger_total),
                    balance=from_cents(ledger_owing), voided=bool(voided),
                    currency=ledger_currency.get(ledger_id, main))
            client_name, client_ledger_name = clients.get(client, (None, None))
            company = companies.get(company_id) or (
                client_name if client.startswith("psa:") else None)
            customer = customers.get(customer_id) or client_ledger_name or None
            yield InvoicePair(status, psa, ledger), client, company, customer
