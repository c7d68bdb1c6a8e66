"""``cache.checklists``: a credit checklist's row, its compare-and-set moves and
its audit trail, on their own (no connector, no workflow)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from recon_tui.cache import Cache
from recon_tui.cache.checklists import Checklists
from recon_tui.models import (
    ApplyMethod,
    ChecklistState,
    CreditKind,
    LedgerCustomer,
    OrganizationalCredit,
)
from tests.books import ledger_invoice

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CREDIT = OrganizationalCredit("11261", CreditKind.CREDIT_MEMO, "97", date(2026, 2, 1),
                              Decimal("10.00"), Decimal("25.00"), doc_number="CM-7")


@pytest.fixture
def cache(cache: Cache) -> Cache:
    """The shared fixture's cache, with the credit's customer (a checklist needs it)."""
    cache.records.upsert_customers([LedgerCustomer("97", "Atomar")])
    return cache


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.checklists, Checklists)
    assert cache.checklists.conn is cache.conn
    assert not hasattr(cache, "create_checklist")


def test_a_new_checklist_reads_back_with_its_first_audit_line(cache: Cache) -> None:
    checklist_id = cache.checklists.create_checklist(CREDIT, "Atomar", message="noted", at=AT)
    checklist = cache.checklists.checklist(checklist_id)
    assert checklist is not None
    assert (checklist.state, checklist.credit_id, checklist.credit_amount) == (
        ChecklistState.CHOOSE_INVOICE, "11261", Decimal("10.00"))
    assert cache.checklists.open_checklist_for_credit("CreditMemo", "11261") == checklist
    assert cache.checklists.open_checklists() == [checklist]
    assert cache.checklists.customer_checklists(["97", "98"]) == [checklist]
    assert cache.checklists.checklist_customer_ids() == {"97"}
    assert cache.checklists.checklist_customer_ids(["98"]) == set()
    [event] = cache.checklists.checklist_events([checklist_id])
    assert (event.step, event.outcome, event.state, event.message) == (
        1, "ok", ChecklistState.CHOOSE_INVOICE, "noted")


def test_a_move_happens_once_from_the_state_it_expects(cache: Cache) -> None:
    checklist_id = cache.checklists.create_checklist(CREDIT, "Atomar", message="noted", at=AT)
    moves = dict(from_states=[ChecklistState.CHOOSE_INVOICE], step=2, outcome="ok",
                 message="chose 10040", at=AT)
    changes = {"state": ChecklistState.READY_TO_APPLY, "invoice_id": "9065",
               "amount": Decimal("10.00"), "method": ApplyMethod.API, "needs_full_sync": True}
    assert cache.checklists.update_checklist(checklist_id, changes=changes, **moves)
    assert not cache.checklists.update_checklist(checklist_id, changes=changes, **moves)
    moved = cache.checklists.checklist(checklist_id)
    assert moved is not None
    assert (moved.state, moved.invoice_id, moved.amount, moved.method, moved.needs_full_sync) == (
        ChecklistState.READY_TO_APPLY, "9065", Decimal("10.00"), ApplyMethod.API, True)
    assert [e.state for e in cache.checklists.checklist_events([checklist_id])] == [
        ChecklistState.CHOOSE_INVOICE, ChecklistState.READY_TO_APPLY]  # the lost race: no line
    with pytest.raises(ValueError, match="not checklist fields"):
        cache.checklists.update_checklist(checklist_id, changes={"colour": "red"}, **moves)


def test_an_audit_line_leaves_the_state_alone(cache: Cache) -> None:
    checklist_id = cache.checklists.create_checklist(CREDIT, "Atomar", message="noted", at=AT)
    later = AT.replace(hour=10)
    cache.checklists.add_checklist_event(checklist_id, step=3, outcome="fail",
                                         message="the ledger said no", at=later)
    cache.checklists.add_checklist_event(999, step=3, outcome="fail", message="x", at=later)
    checklist = cache.checklists.checklist(checklist_id)
    assert checklist is not None
    assert (checklist.state, checklist.updated_at) == (ChecklistState.CHOOSE_INVOICE, later)
    assert [e.message for e in cache.checklists.checklist_events([checklist_id, 999])] == [
        "noted", "the ledger said no"]


def test_finished_checklists_are_not_open(cache: Cache) -> None:
    checklist_id = cache.checklists.create_checklist(CREDIT, "Atomar", message="noted", at=AT)
    assert cache.checklists.update_checklist(
        checklist_id, from_states=[ChecklistState.CHOOSE_INVOICE],
        changes={"state": ChecklistState.CANCELLED, "closed_at": AT}, step=5, outcome="info",
        message="cancelled", at=AT)
    assert cache.checklists.open_checklists() == []
    assert cache.checklists.open_checklist_for_credit(CreditKind.CREDIT_MEMO, "11261") is None
    assert [c.id for c in cache.checklists.customer_checklists(["97"])] == [checklist_id]


def test_the_customers_open_invoices_and_the_credit_as_cached(cache: Cache) -> None:
    cache.records.upsert_ledger_invoices([
        ledger_invoice("3", "97", "5.00", "5.00", day=date(2026, 3, 1)),
        ledger_invoice("1", "97", "5.00", "5.00", day=date(2026, 1, 1)),
        ledger_invoice("2", "97", "5.00", "0.00", day=date(2026, 2, 1)),  # paid
    ])
    cache.records.upsert_credits([CREDIT])
    assert [i.doc_number for i in cache.checklists.open_ledger_invoices("97")] == ["1", "3"]
    assert cache.checklists.ledger_credit(CreditKind.CREDIT_MEMO, "11261") == CREDIT
    assert cache.checklists.ledger_credit("Payment", "11261") is None
