"""Every record write of a sync: the upserts of each kind of record (through the
change-tracking upsert of ``cache/upsert.py``), the deletions the systems
reported and the id sets the deletion checks compare (half of ``cache.records``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from recon_tui.cache.apply_staged import apply_staged
from recon_tui.cache.part import CachePart
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
    company_row,
    contact_row,
    credit_key,
    credit_row,
    customer_row,
    display_value,
    ledger_invoice_row,
    psa_invoice_row,
)
from recon_tui.cache.upsert import apply_rows
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


class RecordWrites(CachePart):
    """The writes of PSA and ledger records, and what the cache holds of them."""

    def _apply(self, spec: TableSpec, rows: Iterable[Row], *, track_created: bool) -> ApplyResult:
        """The change-tracking upsert (``cache/upsert.py``) in one transaction."""
        with self.transaction():
            return apply_rows(self.conn, spec, rows, track_created=track_created)

    def upsert_staged(self, spec: TableSpec, stage: str, staged: int, *,
                      touch: bool = True) -> ApplyResult:
        """A table step's staged rows (``stage``, a temp table of this connection)
        into ``spec``'s table by SQL (``cache/apply_staged.py``); credit memos
        among ledger invoices replace the credit-memo table's copies of them, as
        :meth:`upsert_ledger_invoices` has it (the credit-memo step is not staged
        as rows: it writes credits too)."""
        assert spec is not LEDGER_CREDIT_MEMO
        with self.transaction():
            result = apply_staged(self.conn, spec, stage, staged=staged, touch=touch,
                                  track_created=self._has_rows(spec.table))
            if spec is LEDGER_INVOICE:
                memo_ids = [r[0] for r in self.conn.execute(
                    f"SELECT id FROM {stage} WHERE kind = ?", (DocKind.CREDIT_MEMO.value,))]
                result.merge(self._drop_other_copies(LEDGER_CREDIT_MEMO, memo_ids))
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
        return self._upsert_ledger_documents(LEDGER_INVOICE, LEDGER_CREDIT_MEMO, items,
                                             memos_only=False)

    def upsert_ledger_credit_memos(self, items: Iterable[LedgerInvoice]) -> ApplyResult:
        """Every QBO credit memo, used-up ones included: a PSA credit memo applied on
        both sides must still find its ledger copy."""
        return self._upsert_ledger_documents(LEDGER_CREDIT_MEMO, LEDGER_INVOICE, items,
                                             memos_only=True)

    def _upsert_ledger_documents(self, spec: TableSpec, other: TableSpec,
                                 items: Iterable[LedgerInvoice], *,
                                 memos_only: bool) -> ApplyResult:
        """Write ``items`` into ``spec``'s table, then drop the copies of the credit
        memos among them that ``other``'s table held, in one transaction."""
        memo_ids: list[str] = []

        def rows() -> Iterator[Row]:
            for item in items:
                if item.kind is DocKind.CREDIT_MEMO:
                    memo_ids.append(item.id)
                elif memos_only:
                    continue
                yield ledger_invoice_row(item)

        with self.transaction():
            result = self._apply(spec, rows(), track_created=self._has_rows(spec.table))
            result.merge(self._drop_other_copies(other, memo_ids))
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
