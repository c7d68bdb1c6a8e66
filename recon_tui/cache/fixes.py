"""Guided payment fixes and their audit trail: every step's state is written
before the next one starts, so a crash resumes where it stopped."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from recon_tui.cache.part import CachePart
from recon_tui.cache.records import iso_text, parse_date, parse_datetime
from recon_tui.fixes import FixEvent, FixKind, FixMethod, FixState, PaymentFix
from recon_tui.money import from_cents, to_cents

_FIELDS = {"state", "method", "request_id", "known_before", "posted_id", "finding",
           "closed_at", "amount", "txn_date", "reference", "note"}


def fix_from(row: sqlite3.Row) -> PaymentFix:
    known = row["known_before"]
    return PaymentFix(
        id=row["id"], state=FixState(row["state"]), kind=FixKind(row["kind"]),
        target=row["target"], cause=row["cause"], number=row["number"],
        psa_invoice_id=row["psa_invoice_id"], ledger_invoice_id=row["ledger_invoice_id"],
        ledger_customer_id=row["ledger_customer_id"],
        amount=from_cents(row["amount_cents"]) if row["amount_cents"] is not None else None,
        txn_date=parse_date(row["txn_date"]), reference=row["reference"], note=row["note"],
        created_at=parse_datetime(row["created_at"]),  # type: ignore[arg-type]
        updated_at=parse_datetime(row["updated_at"]),  # type: ignore[arg-type]
        request_id=row["request_id"],
        known_before=tuple(json.loads(known)) if known is not None else None,
        posted_id=row["posted_id"],
        method=FixMethod(row["method"]) if row["method"] else None,
        finding=row["finding"], closed_at=parse_datetime(row["closed_at"]))


class PaymentFixes(CachePart):
    """Reads and writes of ``payment_fix`` and ``payment_fix_event``
    (``cache.fixes``): each write is the fix's new state and its audit line in
    one transaction of the core."""

    def create_fix(self, *, kind: FixKind, target: str, cause: str, number: str,
                   psa_invoice_id: str | None, ledger_invoice_id: str | None,
                   ledger_customer_id: str | None, amount: Any, txn_date: Any,
                   reference: str, note: str, message: str) -> PaymentFix:
        now = iso_text(datetime.now(UTC))
        with self.transaction():
            cursor = self.conn.execute(
                "INSERT INTO payment_fix(state, kind, target, cause, number, psa_invoice_id, "
                "ledger_invoice_id, ledger_customer_id, amount_cents, txn_date, reference, "
                "note, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (FixState.PLANNED.value, kind.value, target, cause, number, psa_invoice_id,
                 ledger_invoice_id, ledger_customer_id,
                 to_cents(amount) if amount is not None else None,
                 txn_date.isoformat() if txn_date else None, reference, note, now, now))
            fix_id = int(cursor.lastrowid or 0)
            self._fix_event(fix_id, 1, "info", FixState.PLANNED, message)
        fix = self.fix(fix_id)
        assert fix is not None
        return fix

    def update_fix(self, fix_id: int, *, step: int, outcome: str, message: str,
                   **fields: Any) -> PaymentFix:
        """Change some fields and record the step in the trail, in one transaction."""
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ValueError(f"unknown fix fields: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "amount":
                values["amount_cents"] = to_cents(value) if value is not None else None
            elif name == "known_before":
                values[name] = json.dumps(sorted(value)) if value is not None else None
            elif name in ("txn_date", "closed_at"):
                values[name] = iso_text(value)
            elif hasattr(value, "value"):
                values[name] = value.value
            else:
                values[name] = value
        values["updated_at"] = iso_text(datetime.now(UTC))
        with self.transaction():
            held = self.fix(fix_id)
            if held is None:
                raise KeyError(f"no fix #{fix_id}")
            assignments = ", ".join(f"{name}=?" for name in values)
            self.conn.execute(f"UPDATE payment_fix SET {assignments} WHERE id=?",
                              (*values.values(), fix_id))
            state = FixState(values.get("state", held.state.value))
            self._fix_event(fix_id, step, outcome, state, message)
        fix = self.fix(fix_id)
        assert fix is not None
        return fix

    def _fix_event(self, fix_id: int, step: int, outcome: str, state: FixState,
                   message: str) -> None:
        self.conn.execute(
            "INSERT INTO payment_fix_event(fix_id, at, step, outcome, state, message) "
            "VALUES (?,?,?,?,?,?)",
            (fix_id, iso_text(datetime.now(UTC)), step, outcome, state.value, message))

    def fix(self, fix_id: int) -> PaymentFix | None:
        row = self.conn.execute("SELECT * FROM payment_fix WHERE id=?", (fix_id,)).fetchone()
        return fix_from(row) if row else None

    def open_fix_for(self, number: str) -> PaymentFix | None:
        """The unfinished fix of this invoice number, to resume it."""
        states = tuple(s.value for s in FixState if s.is_open)
        marks = ", ".join("?" for _ in states)
        row = self.conn.execute(
            f"SELECT * FROM payment_fix WHERE number=? AND state IN ({marks}) "
            "ORDER BY id DESC LIMIT 1", (number, *states)).fetchone()
        return fix_from(row) if row else None

    def recent(self, limit: int = 200) -> list[PaymentFix]:
        """The latest fixes, newest first."""
        return [fix_from(r) for r in self.conn.execute(
            "SELECT * FROM payment_fix ORDER BY id DESC LIMIT ?", (limit,))]

    def fix_events(self, fix_id: int) -> list[FixEvent]:
        return [FixEvent(r["id"], r["fix_id"], parse_datetime(r["at"]),  # type: ignore[arg-type]
                         r["step"], r["outcome"], FixState(r["state"]), r["message"])
                for r in self.conn.execute(
                    "SELECT * FROM payment_fix_event WHERE fix_id=? ORDER BY id", (fix_id,))]
