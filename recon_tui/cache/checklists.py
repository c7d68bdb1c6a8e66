"""Credit-application checklists and their audit trail."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from recon_tui.cache.part import CachePart
from recon_tui.cache.records import (
    credit_from,
    credit_key,
    iso_text,
    ledger_invoice_from,
    money_or_none,
    parse_date,
    parse_datetime,
)
from recon_tui.models import (
    ApplyMethod,
    ChecklistEvent,
    ChecklistState,
    CreditChecklist,
    CreditKind,
    LedgerInvoice,
    OrganizationalCredit,
)
from recon_tui.money import from_cents, to_cents


class Checklists(CachePart):
    """Credit-application checklists and their audit trail (``cache.checklists``),
    with the two reads a checklist is worked from: the customer's open invoices
    and the credit as the cache holds it now."""

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
            return iso_text(value)
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (ChecklistState, ApplyMethod)):
            return value.value
        return value

    @staticmethod
    def _checklist_from(r: sqlite3.Row) -> CreditChecklist:
        def cents(column: str) -> Decimal | None:
            return money_or_none(r[column])

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
            request_id=r["request_id"], applied_at=parse_datetime(r["applied_at"]),
            needs_full_sync=None if r["needs_full_sync"] is None else bool(r["needs_full_sync"]),
            sync_since=parse_date(r["sync_since"]), failed_step=r["failed_step"],
            finding=r["finding"], note=r["note"], closed_at=parse_datetime(r["closed_at"]),
        )

    def _insert_checklist_event(self, checklist_id: int, state: ChecklistState, step: int,
                                outcome: str, message: str, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO checklist_event(checklist_id, at, step, outcome, state, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (checklist_id, iso_text(at), step, outcome, state.value, message))

    def create_checklist(self, credit: OrganizationalCredit, customer_name: str, *,
                         message: str, at: datetime) -> int:
        """A new checklist for ``credit``, with its first audit line."""
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO checklist(state, customer_id, customer_name, credit_kind, "
                "credit_id, credit_doc_number, credit_date, credit_cents, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ChecklistState.CHOOSE_INVOICE.value, credit.customer_id, customer_name,
                 credit.kind.value, credit.id, credit.doc_number, iso_text(credit.date),
                 to_cents(credit.amount), iso_text(at), iso_text(at)))
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

    def checklist_customer_ids(self, customer_ids: Sequence[str] | None = None) -> set[str]:
        """Ledger customers with a checklist (of those given, or all): their client
        row is kept while unmapped, since the audit trail is shown on it."""
        if customer_ids is None:
            return {r[0] for r in self.conn.execute(
                "SELECT DISTINCT customer_id FROM checklist")}
        return {r[0] for r in self._in(
            "SELECT DISTINCT customer_id FROM checklist WHERE customer_id IN ({marks})",
            customer_ids)}

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
                [*values, iso_text(at), checklist_id, *(s.value for s in from_states)])
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
                              (iso_text(at), checklist_id))

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
        return [ledger_invoice_from(r) for r in rows]

    def ledger_credit(self, kind: CreditKind | str, source_id: str) -> OrganizationalCredit | None:
        """One credit as the cache has it now (None once used up or never seen)."""
        row = self.conn.execute("SELECT * FROM ledger_credit WHERE id=?",
                                (credit_key(kind, source_id),)).fetchone()
        return credit_from(row) if row else None
