"""``cache.fixes``: a payment fix's row and audit trail, on their own (no
connector, no workflow)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from recon_tui.cache import Cache
from recon_tui.cache.fixes import PaymentFixes
from recon_tui.fixes import FixKind, FixMethod, FixState, PaymentFix


def planned(fixes: PaymentFixes, number: str = "110273") -> PaymentFix:
    return fixes.create_fix(
        kind=FixKind.RECORD_IN_LEDGER, target="ledger", cause="payment missing",
        number=number, psa_invoice_id=f"p{number}", ledger_invoice_id=f"l{number}",
        ledger_customer_id="58", amount=Decimal("10.50"), txn_date=date(2026, 3, 2),
        reference="ACH 1", note="", message="planned")


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.fixes, PaymentFixes)
    assert cache.fixes.conn is cache.conn
    assert not hasattr(cache, "create_fix")


def test_a_new_fix_reads_back_exactly_with_its_first_audit_line(cache: Cache) -> None:
    fix = planned(cache.fixes)
    assert cache.fixes.fix(fix.id) == fix
    assert (fix.state, fix.amount, fix.txn_date) == (
        FixState.PLANNED, Decimal("10.50"), date(2026, 3, 2))
    [event] = cache.fixes.fix_events(fix.id)
    assert (event.step, event.outcome, event.state, event.message) == (
        1, "info", FixState.PLANNED, "planned")


def test_an_update_writes_the_fields_and_the_trail_together(cache: Cache) -> None:
    fix = planned(cache.fixes)
    sent = cache.fixes.update_fix(fix.id, step=2, outcome="ok", message="sending",
                                  state=FixState.SENDING, method=FixMethod.API,
                                  request_id="r-1", known_before={"b", "a"})
    assert (sent.state, sent.method, sent.request_id, sent.known_before) == (
        FixState.SENDING, FixMethod.API, "r-1", ("a", "b"))
    assert [e.state for e in cache.fixes.fix_events(fix.id)] == [
        FixState.PLANNED, FixState.SENDING]


def test_a_bad_update_writes_nothing(cache: Cache) -> None:
    fix = planned(cache.fixes)
    with pytest.raises(ValueError, match="unknown fix fields"):
        cache.fixes.update_fix(fix.id, step=2, outcome="ok", message="x", colour="red")
    with pytest.raises(KeyError):
        cache.fixes.update_fix(999, step=2, outcome="ok", message="x", note="n")
    assert cache.fixes.fix(fix.id) == fix
    assert len(cache.fixes.fix_events(fix.id)) == 1
    assert cache.conn.execute("SELECT count(*) FROM payment_fix_event").fetchone()[0] == 1


def test_only_an_unfinished_fix_is_resumed(cache: Cache) -> None:
    first = planned(cache.fixes)
    assert cache.fixes.open_fix_for("110273") == first
    cache.fixes.update_fix(first.id, step=5, outcome="info", message="cancelled",
                           state=FixState.CANCELLED)
    assert cache.fixes.open_fix_for("110273") is None
    second = planned(cache.fixes)
    assert cache.fixes.open_fix_for("110273") == second
    assert [f.id for f in cache.fixes.recent()] == [second.id, first.id]
    assert [f.id for f in cache.fixes.recent(limit=1)] == [second.id]


def test_a_fix_written_inside_the_cores_transaction_rolls_back_with_it(cache: Cache) -> None:
    """The part never commits on its own: its write is a savepoint of the open one."""
    with pytest.raises(RuntimeError), cache.transaction():
        planned(cache.fixes)
        raise RuntimeError("the caller's step failed")
    assert cache.fixes.recent() == []
