"""One connection to one cache file: lifecycle, transactions, migrations and
the change-tracking upsert every write goes through."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Self

from recon_tui.cache.files import (
    CacheDamaged,
    CacheError,
    open_connection,
    translate,
    way_out,
)
from recon_tui.cache.records import (
    COMPANY,
    CONTACT,
    CREDIT,
    CUSTOMER,
    LEDGER_CREDIT_MEMO,
    LEDGER_INVOICE,
    PSA_INVOICE,
    USED_UP,
    ApplyResult,
    Change,
    Row,
    TableSpec,
    column_field,
    company_row,
    contact_row,
    credit_key,
    credit_row,
    customer_row,
    display_value,
    ledger_invoice_row,
    psa_invoice_row,
)
from recon_tui.cache.schema import (
    CHUNK,
    MAX_CHANGES_PER_RUN,
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLES,
)
from recon_tui.models import (
    Contact,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)

if TYPE_CHECKING:
    import sqlite_utils


def _environmental(exc: BaseException) -> bool:
    """Failures of the file or the machine (locked, full, read-only, damaged), not
    of our own statements (a constraint, a bad parameter), which stay as raised."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


class CacheCore:
    """One connection to one cache file. Open one per thread."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """Open (creating a private file if need be) and migrate; ``read_only``
        creates nothing, writes nothing and needs a cache of the current schema."""
        self.path = Path(path)
        self.read_only = read_only
        conn = open_connection(self.path, read_only=read_only)
        try:
            conn.row_factory = sqlite3.Row
            if not read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # 32 MB of page cache (the default is 2 MB): rewriting the materialised
            # pairs of a 200,000-invoice book touches every index, and a small cache
            # makes each insert re-read index pages from disk.
            conn.execute("PRAGMA cache_size=-32000")
        except sqlite3.Error as exc:
            conn.close()
            raise translate(exc, self.path) from None
        self.conn = conn
        self._lock = threading.RLock()
        try:
            self._migrate()
            self._check_tables()
        except BaseException:
            conn.close()
            raise

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite_utils over the same connection, for tests and tools that inspect
        the schema; imported on first use, as it costs a launch a quarter second."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    # -- lifecycle
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: BEGIN IMMEDIATE takes the write lock up front so two
        writers never interleave. An SQLite failure anywhere inside (locked, disk
        full, damaged) rolls back and becomes a CacheError of one line."""
        with self._lock:
            if self.conn.in_transaction:
                # Nested use becomes a savepoint so an inner failure rolls back alone.
                name = f"sp_{id(object())}"
                self.conn.execute(f"SAVEPOINT {name}")
                try:
                    yield
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute(f"ROLLBACK TO {name}")
                        self.conn.execute(f"RELEASE {name}")
                    raise
                self.conn.execute(f"RELEASE {name}")
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from None
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                if _environmental(exc):
                    raise translate(exc, self.path) from None
                raise

    def check_integrity(self) -> None:
        """``PRAGMA quick_check`` before a sync writes: a damaged file is reported
        with the way out rather than written into."""
        try:
            rows = [row[0] for row in self.conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None
        if rows != ["ok"]:
            raise CacheDamaged(f"{self.path}: the cache is damaged (SQLite quick_check: "
                               f"{'; '.join(rows)[:200]}); " + way_out(self.path))

    def _check_tables(self) -> None:
        """Every table of the schema is there (a dropped table is damage, found at
        open rather than as 'no such table' halfway through a command)."""
        present = {row[0] for row in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        missing = sorted(set(TABLES) - present)
        if missing:
            raise CacheDamaged(f"{self.path}: the cache is damaged (table "
                               f"{', '.join(missing)} missing); " + way_out(self.path))

    @property
    def schema_version(self) -> int:
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' "
                             "AND name='meta'").fetchone() is None:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        try:
            current = self.schema_version
        except sqlite3.DatabaseError as exc:
            raise translate(exc, self.path) from None
        if current > SCHEMA_VERSION:
            raise CacheError(
                f"{self.path}: cache schema {current} is newer than this recon-tui "
                f"understands ({SCHEMA_VERSION}); upgrade recon-tui or use another --db"
            )
        if current < SCHEMA_VERSION and self.read_only:
            what = ("not a recon-tui cache (no schema)" if current == 0
                    else f"cache schema {current} needs upgrading to {SCHEMA_VERSION}")
            raise CacheError(f"{self.path}: {what}; run `recon-tui sync` once to "
                             "prepare it (this command only reads)")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[version - 1]:
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(version),)
                )

    def check_book(self, side: str, book: str, *, claim: bool = False) -> None:
        """One cache, one PSA's and one ledger company's books: refuse another's (the
        demo's emulator, a second QBO company) before anything is written, and with
        ``claim`` bind an unbound cache (done inside a successful sync's transaction,
        so a first sync against the wrong company binds nothing)."""
        key = f"book_{side}"
        held = self.get_meta(key)
        if held is None and claim:
            self.set_meta(key, book)
        elif held is not None and held != book:
            raise CacheError(
                f"{self.path}: this cache holds the {side} books of {held}, not {book}; "
                "nothing was written. Use another --db for a different company (the demo "
                "has its own cache when --db is not given)")

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # -- generic upsert with change tracking
    def _apply(self, spec: TableSpec, rows: Iterable[Row], *, track_created: bool) -> ApplyResult:
        """Upsert ``rows`` (tuples in ``spec.columns`` order), counting and listing
        what each changes against the row it replaces (read in chunks, as tuples
        in the same order, so an unchanged row is one tuple comparison)."""
        result = ApplyResult()
        cols = spec.columns
        at = {c: i for i, c in enumerate(cols)}
        id_at, label_at, stamp_at = at["id"], at[spec.label_column], at["updated_at"]
        owner_at = at.get("customer_id", at.get("company_id"))
        placeholders = ", ".join("?" for _ in cols)
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols if c != "id")
        upsert = (f"INSERT INTO {spec.table} ({', '.join(cols)}) VALUES ({placeholders}) "
                  f"ON CONFLICT(id) DO UPDATE SET {updates}")
        select = f"SELECT {', '.join(cols)} FROM {spec.table} WHERE id IN "
        compared = [(i, c) for i, c in enumerate(cols) if c not in ("id", "updated_at")]
        touched, owners, changes = result.touched, result.owners, result.changes
        batch: list[Row] = []

        def touch(row: Row) -> None:
            touched.add(str(row[id_at]))
            if owner_at is not None:
                owners.add(str(row[owner_at]))

        def flush() -> None:
            ids = [r[id_at] for r in batch]
            cursor = self.conn.cursor()
            cursor.row_factory = None  # plain tuples, in ``cols`` order
            existing = {row[id_at]: row for row in cursor.execute(
                select + f"({', '.join('?' for _ in ids)})", ids)}
            to_write = []
            for row in batch:
                old = existing.get(row[id_at])
                if old is not None and old == row:  # the common case of a later sync
                    result.unchanged += 1
                    continue
                # The history keeps at most this many changes of a run: a reload that
                # changes a whole book counts every row but lists only the first ones.
                listing = len(changes) < MAX_CHANGES_PER_RUN
                if old is None:
                    result.created += 1
                    touch(row)
                    to_write.append(row)
                    if track_created and listing:
                        changes.append(Change(spec.record_type, row[id_at],
                                              str(row[label_at]), "created"))
                    continue
                diffs = [(i, c) for i, c in compared if old[i] != row[i]]
                if not diffs:
                    result.unchanged += 1
                    if old[stamp_at] != row[stamp_at]:
                        to_write.append(row)
                    continue
                result.updated += 1
                touch(row)
                touch(old)  # a record that moved leaves its old owner too
                to_write.append(row)
                for i, c in diffs if listing else ():
                    changes.append(Change(
                        spec.record_type, row[id_at], str(row[label_at]), "updated",
                        column_field(c), display_value(c, old[i]), display_value(c, row[i])))
            if to_write:
                self.conn.executemany(upsert, to_write)
            batch.clear()

        with self.transaction():
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    flush()
            if batch:
                flush()
        return result

    def _delete(self, spec: TableSpec, ids: Iterable[str], *,
                used_up: bool = False) -> ApplyResult:
        """Remove these rows; ``used_up`` credits are changes of the credit (counted
        as updated, recorded as USED_UP with the amount that was left), not deletions."""
        result = ApplyResult()
        with self.transaction():
            for record_id in ids:
                row = self.conn.execute(f"SELECT * FROM {spec.table} WHERE id=?",
                                        (record_id,)).fetchone()
                if row is None:
                    continue
                self.conn.execute(f"DELETE FROM {spec.table} WHERE id=?", (record_id,))
                result.touch(row)
                if used_up:
                    result.updated += 1
                    result.changes.append(Change(
                        spec.record_type, record_id, str(row[spec.label_column]), USED_UP,
                        "amount", display_value("amount_cents", row["amount_cents"]), "0.00"))
                    continue
                result.deleted += 1
                result.changes.append(Change(spec.record_type, record_id,
                                             str(row[spec.label_column]), "deleted"))
        return result

    def _has_rows(self, table: str) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None

    def upsert_companies(self, items: Iterable[PsaCompany]) -> ApplyResult:
        return self._apply(COMPANY, map(company_row, items),
                           track_created=self._has_rows(COMPANY.table))

    def upsert_contacts(self, items: Iterable[Contact]) -> ApplyResult:
        return self._apply(CONTACT, map(contact_row, items),
                           track_created=self._has_rows(CONTACT.table))

    def upsert_psa_invoices(self, items: Iterable[PsaInvoice]) -> ApplyResult:
        return self._apply(PSA_INVOICE, map(psa_invoice_row, items),
                           track_created=self._has_rows(PSA_INVOICE.table))

    def upsert_customers(self, items: Iterable[LedgerCustomer]) -> ApplyResult:
        return self._apply(CUSTOMER, map(customer_row, items),
                           track_created=self._has_rows(CUSTOMER.table))

    def upsert_ledger_invoices(self, items: Iterable[LedgerInvoice]) -> ApplyResult:
        """Ledger invoices; a ledger that lists a credit memo among them replaces the
        copy of that memo the credit-memo table held (see ``_drop_other_copies``)."""
        memo_ids: list[str] = []

        def rows() -> Iterator[Row]:
            for item in items:
                if item.kind is DocKind.CREDIT_MEMO:
                    memo_ids.append(item.id)
                yield ledger_invoice_row(item)

        with self.transaction():
            result = self._apply(LEDGER_INVOICE, rows(),
                                 track_created=self._has_rows(LEDGER_INVOICE.table))
            result.merge(self._drop_other_copies(LEDGER_CREDIT_MEMO, memo_ids))
        return result

    def upsert_ledger_credit_memos(self, items: Iterable[LedgerInvoice]) -> ApplyResult:
        """Every QBO credit memo, used-up ones included: a PSA credit memo applied on
        both sides must still find its ledger copy."""
        memo_ids: list[str] = []

        def rows() -> Iterator[Row]:
            for item in items:
                if item.kind is DocKind.CREDIT_MEMO:
                    memo_ids.append(item.id)
                    yield ledger_invoice_row(item)

        with self.transaction():
            result = self._apply(LEDGER_CREDIT_MEMO, rows(),
                                 track_created=self._has_rows(LEDGER_CREDIT_MEMO.table))
            result.merge(self._drop_other_copies(LEDGER_INVOICE, memo_ids))
        return result

    def _drop_other_copies(self, spec: TableSpec, memo_ids: Sequence[str]) -> ApplyResult:
        """One ledger document per kind and id: the credit memo just written replaces
        a copy of it (the same id, of kind credit memo) the other ledger table held.

        Two rows claiming to be one credit memo cannot both be true, and pairing
        cannot tell them apart: a PSA memo matched to one copy by number was
        remembered as a link to the id, and the next recompute followed the link
        to the other copy (a full recompute was no fixed point, and the incremental
        refresh disagreed with it). The latest read is the truth."""
        if not memo_ids:
            return ApplyResult()
        kind = DocKind.CREDIT_MEMO.value
        held = [r[0] for r in self._in(
            f"SELECT id FROM {spec.table} WHERE kind = '{kind}' AND id IN ({{marks}})",
            memo_ids)]
        return self._delete(spec, held)

    def upsert_credits(self, items: Iterable[OrganizationalCredit]) -> ApplyResult:
        """Credits with something left are kept; used-up ones are removed, so the
        credits panel only ever shows money still on account."""
        used_up: list[str] = []

        def live() -> Iterator[Row]:  # streams: a sync's credits come page by page
            for credit in items:
                if credit.amount == 0:
                    used_up.append(credit_key(credit.kind, credit.id))
                else:
                    yield credit_row(credit)

        with self.transaction():
            result = self._apply(CREDIT, live(), track_created=self._has_rows(CREDIT.table))
            gone = self._delete(CREDIT, used_up, used_up=True)
        result.merge(gone)
        return result

    def mark_unexported(self, unexported: set[str]) -> ApplyResult:
        """Every PSA document's exported flag from the PSA's own list of the numbers
        it has not yet handed to the accounting system (ConnectWise's unposted
        invoices): listed means not exported, anything else was. Only the flags
        that flip are written, and each is a change in the history."""
        result = ApplyResult()
        with self.transaction():
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS unexported_number "
                              "(number TEXT PRIMARY KEY)")
            self.conn.execute("DELETE FROM unexported_number")
            self.conn.executemany("INSERT OR IGNORE INTO unexported_number(number) VALUES (?)",
                                  [(n,) for n in unexported])
            flips = self.conn.execute(
                "SELECT p.*, (u.number IS NULL) AS now_exported FROM psa_invoice p "
                "LEFT JOIN unexported_number u ON u.number = p.number "
                "WHERE p.exported != (u.number IS NULL)").fetchall()
            self.conn.executemany("UPDATE psa_invoice SET exported=? WHERE id=?",
                                  [(row["now_exported"], row["id"]) for row in flips])
            self.conn.execute("DELETE FROM unexported_number")
        for row in flips:
            result.updated += 1
            result.touch(row)
            result.changes.append(Change(PSA_INVOICE.record_type, row["id"], str(row["number"]),
                                         "updated", "exported", str(row["exported"]),
                                         str(row["now_exported"])))
        return result

    # -- deletions the systems reported (never inferred from a failed read)
    def delete_psa_invoices(self, ids: Iterable[str]) -> ApplyResult:
        """PSA invoices and credit memos the PSA no longer has (their remembered
        links go with them)."""
        return self._delete(PSA_INVOICE, ids)

    def delete_ledger_invoices(self, ids: Iterable[str]) -> ApplyResult:
        return self._delete(LEDGER_INVOICE, ids)

    def delete_ledger_credit_memos(self, ids: Iterable[str]) -> ApplyResult:
        """QBO credit memos deleted (hard-deleted in QBO), and the credit each carried."""
        ids = list(ids)
        with self.transaction():
            result = self._delete(LEDGER_CREDIT_MEMO, ids)
            result.merge(self._delete(CREDIT, [credit_key(CreditKind.CREDIT_MEMO, i)
                                               for i in ids]))
        return result

    def delete_payment_credits(self, ids: Iterable[str]) -> ApplyResult:
        """Unapplied amounts of QBO payments that were deleted."""
        return self._delete(CREDIT, [credit_key(CreditKind.UNAPPLIED_PAYMENT, i) for i in ids])

    # -- what the cache holds, for deletion checks
    def psa_invoice_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM psa_invoice")}

    def ledger_invoice_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM ledger_invoice")}

    def ledger_credit_memo_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM ledger_credit_memo")}

    def payment_credit_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute(
            "SELECT source_id FROM ledger_credit WHERE kind = ?",
            (CreditKind.UNAPPLIED_PAYMENT.value,))}

    def _in(self, sql: str, values: Sequence[str]) -> list[sqlite3.Row]:
        """Run ``sql`` (containing ``{marks}``) over ``values`` in chunks."""
        rows: list[sqlite3.Row] = []
        values = list(values)
        for start in range(0, len(values), CHUNK):
            chunk = values[start:start + CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows.extend(self.conn.execute(sql.format(marks=marks), chunk))
        return rows

