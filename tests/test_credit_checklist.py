"""The credit-application checklist (seed 001) as a workflow, without the UI, against
the emulator over real sockets: Atomar's Best Tackle (QBO customer 97), credit memo
11261 ($10), invoice 10040 ($120, QBO id 9065), the older open invoice 10005.

The emulator's ConnectWise never hears of a ledger payment (nor does the real one):
after the ledger is verified the checklist waits in "ledger done, PSA lags" until
the credit is recorded in ConnectWise (here: written into the emulator's book, as
the tech would by hand) and a re-check finds both sides agreeing."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recon_tui.backend import Backend
from recon_tui.cache import SCHEMA_VERSION, Cache
from recon_tui.cache.schema import MIGRATIONS
from recon_tui.models import ChecklistState, CreditChecklist, CreditKind, SyncStatus
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sync import run_full_sync
from recon_tui.verifier import SystemsVerifier
from recon_tui.workflows import credit_checklist as wf
from recon_tui.workflows.credit_checklist import ChecklistError
from recon_tui.workflows.write_policy import READ_ONLY, WritePolicy
from tests.emulator import backend_for, running_emulator

CREDIT = "CreditMemo:11261"
INVOICE_ID = "9065"  # invoice 10040
OLDER_ID = "9005"  # invoice 10005, the oldest open one
WRITES = WritePolicy(ledger=True, psa=False)  # [ledger] allow_writes = true
LAGS = ChecklistState.LEDGER_DONE_PSA_LAGS
LEDGER_OK = "ledger: invoice 10040 110.00 of 120.00 ✓, credit memo 11261 used up ✓"
PSA_LAGS = ("PSA: ConnectWise still shows 120.00 owing on invoice 10040 ✗ — the PSA has "
            "not received the credit")
PSA_OK = "PSA: ConnectWise shows 110.00 owing on invoice 10040 ✓"


@dataclass
class World:
    book: SandboxBook
    backend: Backend
    cache: Cache
    path: Path

    def balance(self, invoice_id: str = INVOICE_ID) -> Decimal:
        return Decimal(self.book.qbo["Invoice"][invoice_id]["Balance"])

    def remaining(self) -> Decimal:
        return Decimal(self.book.qbo["CreditMemo"]["11261"]["RemainingCredit"])

    def payments(self) -> int:
        return len(self.book.qbo["Payment"])

    def psa_owing(self, number: str = "10040") -> Decimal:
        return Decimal(self._psa_invoice(number)["balance"])

    def record_in_connectwise(self, amount: str, number: str = "10040") -> None:
        """What the tech does by hand in ConnectWise (Finance > Invoices > the invoice
        > Payments): the invoice's balance drops by the payment."""
        from recon_tui.sandbox.cw_payments import apply_payment

        with self.book.lock:
            invoice_id = self._psa_invoice(number)["id"]
        apply_payment(self.book, invoice_id, {"amount": Decimal(amount)})

    def _psa_invoice(self, number: str) -> dict[str, Any]:
        return next(i for i in self.book.connectwise["invoices"].values()
                    if i["invoiceNumber"] == number)

    def reopen(self) -> Cache:
        """A new process over the same cache file."""
        self.cache.close()
        self.cache = Cache(self.path)
        return self.cache


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_emulator() as (server, book, _plan):
        path = tmp_path / "cache.db"
        cache = Cache(path)
        backend = backend_for(server)
        run = run_full_sync(cache, backend.psa, backend.ledger, since=None, kind="demo")
        assert run.status is SyncStatus.SUCCEEDED, run.error
        w = World(book, backend, cache, path)
        yield w
        w.cache.close()
        backend.close()


def advance(cache: Cache, psa: Any, ledger: Any, checklist_id: int,
            **options: Any) -> CreditChecklist:
    """``wf.advance``, verified by resyncing the same systems (as the session does)."""
    return wf.advance(cache, psa, ledger, checklist_id,
                      verifier=SystemsVerifier(cache, psa, ledger), **options)


class Killed(BaseException):
    """The process dying: nothing after this line of the workflow runs."""


class FlakyLedger:
    """The real QBO connector with one behaviour changed, to stage a crash or a stale
    read; everything else is passed through."""

    def __init__(self, real: Any, **overrides: Any) -> None:
        self._real = real
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        return getattr(self._real, name)


def _ready(w: World, invoice_id: str = INVOICE_ID, amount: str = "10.00") -> int:
    checklist = wf.start_checklist(w.cache, CREDIT)
    return wf.choose_target(w.cache, checklist.id, invoice_id, amount).id


def _events(w: World, checklist_id: int) -> list[str]:
    return [f"{e.step}:{e.outcome}:{e.message}"
            for e in w.cache.checklists.checklist_events([checklist_id])]


def _snapshot(state: ChecklistState) -> CreditChecklist:
    """A checklist as stored after step 2 (credit memo 11261, 10.00 to 10040 at 120.00)."""
    now = datetime.now(UTC)
    return CreditChecklist(id=1, state=state, customer_id="97", customer_name="x",
                           credit_kind=CreditKind.CREDIT_MEMO, credit_id="11261",
                           credit_doc_number="CM-1004", credit_date=date(2026, 1, 1),
                           credit_amount=Decimal("10.00"), created_at=now, updated_at=now,
                           invoice_id="9065", invoice_number="10040",
                           invoice_total=Decimal("120.00"), invoice_balance=Decimal("120.00"),
                           amount=Decimal("10.00"))


# --------------------------------------------------------------------------- the scenario
def test_step_1_notes_the_credit_and_preselects_the_oldest_open_invoice(world: World) -> None:
    checklist = wf.start_checklist(world.cache, CREDIT)
    assert checklist.state is ChecklistState.CHOOSE_INVOICE
    assert (checklist.customer_id, checklist.customer_name) == ("97", "Atomar's Best Tackle")
    assert (checklist.credit_id, checklist.credit_amount) == ("11261", Decimal("10.00"))
    invoices = world.cache.checklists.open_ledger_invoices("97")
    assert [i.doc_number for i in invoices] == ["10005", "10040", "11011"]
    default = wf.default_invoice(invoices)
    assert default is not None and default.id == OLDER_ID
    assert wf.default_amount(checklist.credit_amount, default.balance) == Decimal("10.00")
    [event] = world.cache.checklists.checklist_events([checklist.id])
    assert event.step == 1 and event.outcome == "ok"
    assert "credit memo 11261 (CM-1004) of 2026-10-28, 10.00 remaining" in event.message
    assert "3 open invoices, oldest 10005" in event.message
    # Pressing `a` again on the same credit resumes this checklist, never a second one.
    assert wf.start_checklist(world.cache, CREDIT).id == checklist.id
    assert [c.id for c in world.cache.checklists.open_checklists()] == [checklist.id]


def test_seed_001_applied_by_the_app_through_the_ledger_api(world: World) -> None:
    payments = world.payments()
    checklist_id = _ready(world)
    checklist = world.cache.checklists.checklist(checklist_id)
    assert checklist.state is ChecklistState.READY_TO_APPLY
    assert (checklist.invoice_number, checklist.amount) == ("10040", Decimal("10.00"))
    assert checklist.invoice_balance == Decimal("120.00")

    applied = wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id,
                               policy=WRITES)
    assert applied.state is ChecklistState.APPLIED and applied.request_id
    assert world.balance() == Decimal("110.00") and world.payments() == payments + 1

    seen: list[str] = []
    lagging = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id,
                      progress=seen.append)
    assert seen == ["resyncing invoice 10040 from both systems…"]
    # $110 of $120, and the credit is gone: in the ledger and in the cache.
    assert world.balance() == Decimal("110.00") and world.remaining() == Decimal("0.00")
    [pair] = world.cache.recon.pairs_for_number("10040")
    assert pair.ledger_owing == Decimal("110.00") and pair.ledger_total == Decimal("120.00")
    assert world.cache.checklists.ledger_credit(CreditKind.CREDIT_MEMO, "11261") is None
    assert all(c.id != "11261" for c in world.cache.recon.client_credits(["97"]))
    # ... but ConnectWise still bills 120.00: the ledger side is verified, the PSA
    # side is not, and the checklist says so instead of "both sides agree".
    assert pair.psa_owing == Decimal("120.00") == world.psa_owing()
    assert lagging.state is LAGS, lagging.finding
    assert (lagging.note, lagging.finding) == (LEDGER_OK, PSA_LAGS)
    assert lagging.closed_at is None and lagging.failed_step is None
    events = _events(world, checklist_id)
    assert events[-1] == (f"6:lag:{LEDGER_OK}; {PSA_LAGS}. Next: record the credit in "
                          "ConnectWise by hand, then re-check (v)")
    assert any(e.startswith("4:ok:invoice 10040 balance 120.00 -> 110.00 of 120.00")
               for e in events)
    assert any(e.startswith("3:ok:applied via qbo (request id ") for e in events)
    views = wf.step_views(lagging, world.cache.checklists.checklist_events([checklist_id]))
    assert [v.status for v in views] == ["done", "done", "done", "done", "skipped", "lagging"]
    assert views[5].detail.startswith(f"{LEDGER_OK}; {PSA_LAGS}")
    assert all(v.at is not None for v in views if v.status == "done")
    assert [c.id for c in world.cache.checklists.open_checklists()] == [checklist_id]  # still open
    assert world.cache.history.sync_runs()[0].kind == "resync"
    # Nothing moves it on by itself: advancing again leaves it waiting for the PSA.
    again = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert again.state is LAGS and len(_events(world, checklist_id)) == len(events)

    # The tech records the $10 in ConnectWise by hand, then re-checks: a resync reads
    # both sides again and only then is it done.
    steps = " ".join(wf.psa_steps(lagging, "connectwise"))
    assert "Finance > Invoices, search for invoice 10040 and open it" in steps
    assert "Payments tab and add a payment of 10.00" in steps
    assert "credit memo 11261 (CM-1004) as its reference" in steps
    world.record_in_connectwise("10.00")
    wf.recheck(world.cache.checklists, checklist_id)
    done = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert done.state is ChecklistState.DONE, done.finding
    assert done.note == f"{LEDGER_OK}\n{PSA_OK}" and done.finding is None
    assert done.closed_at is not None
    [pair] = world.cache.recon.pairs_for_number("10040")
    assert (pair.psa_owing, pair.ledger_owing) == (Decimal("110.00"), Decimal("110.00"))
    assert not pair.discrepant
    events = _events(world, checklist_id)
    assert ("4:info:re-check of the PSA requested: resync and verify both sides again"
            in events)
    assert events[-1] == f"6:ok:{LEDGER_OK}; {PSA_OK}"
    views = wf.step_views(done, world.cache.checklists.checklist_events([checklist_id]))
    assert [v.status for v in views] == ["done", "done", "done", "done", "skipped", "done"]
    assert world.cache.checklists.open_checklists() == []
    assert world.payments() == payments + 1  # the re-check wrote nothing to the ledger


def test_seed_001_applied_by_hand_then_confirmed(world: World) -> None:
    checklist_id = _ready(world)
    checklist = world.cache.checklists.checklist(checklist_id)
    steps = wf.manual_steps(checklist, default_number="10005")
    text = " ".join(steps)
    for part in ("Create (+ New) > Receive Payment", "Select the customer Atomar's Best Tackle",
                 "Select invoice 10040 and clear the other invoices (QuickBooks may tick the "
                 "oldest open invoice for you; at the last sync that was 10005)",
                 "credit memo 11261 (CM-1004)",
                 "Set the amount to 10.00", "Record and Close"):
        assert part in text
    # The operator does it in QuickBooks (here: through the emulator's API).
    world.backend.ledger.apply_credit("97", INVOICE_ID, CreditKind.CREDIT_MEMO, "11261",
                                      Decimal("10.00"), str(uuid.uuid4()))
    confirmed = wf.confirm_manual(world.cache.checklists, checklist_id)
    assert confirmed.state is ChecklistState.APPLIED and confirmed.request_id is None
    done = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert done.state is LAGS and done.finding == PSA_LAGS
    assert world.balance() == Decimal("110.00")
    assert world.cache.checklists.ledger_credit(CreditKind.CREDIT_MEMO, "11261") is None
    assert "3:ok:the operator applied 10.00 of credit memo 11261 to invoice 10040 by hand" in (
        "\n".join(_events(world, checklist_id)))


def test_confirming_an_application_that_never_happened_fails_verification(world: World) -> None:
    checklist_id = _ready(world)
    wf.confirm_manual(world.cache.checklists, checklist_id)  # ... but nobody touched QuickBooks
    failed = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert failed.state is ChecklistState.FAILED_VERIFICATION
    assert failed.finding == "invoice 10040 balance is 120.00, expected 110.00"
    assert failed.failed_step == 4
    views = wf.step_views(failed, world.cache.checklists.checklist_events([checklist_id]))
    assert [v.status for v in views] == ["done", "done", "done", "failed", "pending", "pending"]
    assert views[3].detail == "invoice 10040 balance is 120.00, expected 110.00"
    assert [c.id for c in world.cache.checklists.open_checklists()] == [checklist_id]  # still open
    # The operator now really applies it and asks for a re-check.
    world.backend.ledger.apply_credit("97", INVOICE_ID, "CreditMemo", "11261", Decimal("10"),
                                      str(uuid.uuid4()))
    wf.recheck(world.cache.checklists, checklist_id)
    done = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert done.state is LAGS and done.note == LEDGER_OK


# --------------------------------------------------------------------------- resuming
def test_killed_after_the_apply_was_recorded_resumes_at_the_resync(world: World) -> None:
    payments = world.payments()
    checklist_id = _ready(world)
    wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id, policy=WRITES)
    cache = world.reopen()  # the app is killed here; a new one opens the same file
    resumed = cache.checklists.checklist(checklist_id)
    assert resumed.state is ChecklistState.APPLIED
    assert wf.current_step(resumed) == 4
    with pytest.raises(ChecklistError, match="nothing to apply"):
        wf.apply_via_api(cache.checklists, world.backend.ledger, checklist_id, policy=WRITES)
    done = advance(cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert done.state is LAGS and done.note == LEDGER_OK
    assert world.balance() == Decimal("110.00")  # not 100.00
    assert world.payments() == payments + 1


def test_killed_after_qbo_applied_it_but_before_the_app_recorded_it(world: World) -> None:
    """The request id was stored before the call: the resumed checklist sees the
    credit already applied and does not send it again."""
    payments = world.payments()
    checklist_id = _ready(world)
    real = world.backend.ledger

    def apply_then_die(*args: Any) -> Any:
        real.apply_credit(*args)
        raise Killed()

    with pytest.raises(Killed):
        wf.apply_via_api(world.cache.checklists, FlakyLedger(real, apply_credit=apply_then_die),
                         checklist_id, policy=WRITES)
    cache = world.reopen()
    stuck = cache.checklists.checklist(checklist_id)
    assert stuck.state is ChecklistState.APPLYING and stuck.request_id
    assert world.balance() == Decimal("110.00")
    sent: list[tuple] = []
    watching = FlakyLedger(real, apply_credit=lambda *a: sent.append(a) or real.apply_credit(*a))
    done = advance(cache, world.backend.psa, watching, checklist_id, policy=WRITES)
    assert done.state is LAGS and done.note == LEDGER_OK, done.finding
    assert sent == []  # never sent twice
    assert world.balance() == Decimal("110.00") and world.payments() == payments + 1
    assert any("had already applied it; not sent again" in e for e in _events(world, checklist_id))


def test_killed_before_the_call_left_resends_the_stored_request_id(world: World) -> None:
    payments = world.payments()
    checklist_id = _ready(world)
    real = world.backend.ledger

    def die(*_args: Any) -> Any:
        raise Killed()

    with pytest.raises(Killed):
        wf.apply_via_api(world.cache.checklists, FlakyLedger(real, apply_credit=die), checklist_id,
                         policy=WRITES)
    cache = world.reopen()
    stored = cache.checklists.checklist(checklist_id).request_id
    assert stored and world.balance() == Decimal("120.00")
    sent: list[tuple] = []
    watching = FlakyLedger(real, apply_credit=lambda *a: sent.append(a) or real.apply_credit(*a))
    done = advance(cache, world.backend.psa, watching, checklist_id, policy=WRITES)
    assert done.state is LAGS and done.note == LEDGER_OK, done.finding
    assert [a[-1] for a in sent] == [stored]  # the id generated before the crash
    # Sending it once more (a retry whose answer was lost) changes nothing: QBO
    # applies a request id once.
    real.apply_credit("97", INVOICE_ID, "CreditMemo", "11261", Decimal("10.00"), stored)
    assert world.balance() == Decimal("110.00") and world.payments() == payments + 1


def test_a_refused_application_goes_back_to_the_choice(world: World) -> None:
    checklist_id = _ready(world)
    # Someone used half the credit in QuickBooks since the last sync.
    world.book.qbo["CreditMemo"]["11261"]["RemainingCredit"] = Decimal("5.00")
    back = wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id,
                            policy=WRITES)
    assert back.state is ChecklistState.READY_TO_APPLY and back.request_id is None
    assert world.balance() == Decimal("120.00")
    assert any(e.startswith("3:fail:the ledger refused it: qbo:") for e in
               _events(world, checklist_id))


# --------------------------------------------------------------------------- step 5
def test_a_credit_still_showing_after_the_resync_gets_a_full_sync(world: World) -> None:
    """A ledger that is slow to show the credit used (the resync's credit read is
    stale): the full sync from the day before the application settles it."""
    real = world.backend.ledger
    stale = FlakyLedger(real, customer_credits=lambda _customer_id: iter(()),
                        customer_memo_credits=lambda _customer_id: iter(()))
    checklist_id = _ready(world)
    applied = wf.apply_via_api(world.cache.checklists, real, checklist_id, policy=WRITES)
    seen: list[str] = []
    done = advance(world.cache, world.backend.psa, stale, checklist_id, progress=seen.append)
    assert done.state is LAGS and done.note == LEDGER_OK, done.finding
    since = (applied.applied_at - timedelta(days=1)).date()
    assert done.sync_since == since
    run = world.cache.history.sync_runs()[0]
    assert (run.kind, run.since, run.status) == ("full", since, SyncStatus.SUCCEEDED)
    assert any(s.startswith(f"full sync since {since.isoformat()}: reading psa companies")
               for s in seen)
    events = _events(world, checklist_id)
    assert any("credit memo 11261 still shows 10.00: a full sync is next" in e for e in events)
    assert any(e.startswith(f"5:ok:full sync #{run.id} since {since.isoformat()} succeeded")
               for e in events)
    assert world.cache.checklists.ledger_credit(CreditKind.CREDIT_MEMO, "11261") is None
    views = wf.step_views(done, world.cache.checklists.checklist_events([checklist_id]))
    assert [v.status for v in views] == ["done"] * 5 + ["lagging"]


def test_a_credit_still_showing_after_the_full_sync_fails_verification(world: World) -> None:
    real = world.backend.ledger
    memo = next(c for c in real.customer_credits("97") if c.id == "11261")
    document = real.credit_memo_by_id("11261")

    def frozen(*_args: Any) -> Iterator[Any]:
        yield memo  # the ledger keeps reporting the credit untouched

    def frozen_document(*_args: Any) -> Iterator[Any]:
        yield document

    stale = FlakyLedger(real, customer_credits=frozen, customer_memo_credits=frozen,
                        credits=frozen, credit_memos=frozen_document)
    checklist_id = _ready(world)
    wf.apply_via_api(world.cache.checklists, real, checklist_id, policy=WRITES)
    failed = advance(world.cache, world.backend.psa, stale, checklist_id)
    assert failed.state is ChecklistState.FAILED_VERIFICATION
    assert failed.finding == ("credit memo 11261 still shows 10.00 remaining after a full "
                              "sync, expected 0.00")
    assert failed.failed_step == 6


def test_a_failed_resync_leaves_the_checklist_ready_to_continue(world: World) -> None:
    from recon_tui.connectors.base import ConnectorError

    def down(*_args: Any) -> Any:
        raise ConnectorError("connectwise", "unreachable")

    checklist_id = _ready(world)
    wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id, policy=WRITES)
    broken_psa = FlakyLedger(world.backend.psa, invoice_by_number=down)
    with pytest.raises(ChecklistError, match="resync of invoice 10040 failed"):
        advance(world.cache, broken_psa, world.backend.ledger, checklist_id)
    assert world.cache.checklists.checklist(checklist_id).state is ChecklistState.APPLIED
    done = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert done.state is LAGS


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(("text", "message"), [
    ("", "enter the amount to apply"),
    ("ten", "'ten' is not an amount"),
    ("NaN", "'NaN' is not an amount"),
    ("0", "must be more than 0.00, got 0.00"),
    ("-5", "must be more than 0.00, got -5.00"),
    ("10.001", "10.001 has more than two decimal places"),
    ("10.50", "10.50 is more than the credit's 10.00 remaining"),
    ("1e3", "1000.00 is more than the credit's 10.00 remaining"),
])
def test_bad_amounts_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ChecklistError, match=re.escape(message)):
        wf.parse_amount(text, credit_remaining=Decimal("10.00"),
                        invoice_balance=Decimal("120.00"))


def test_good_amounts_are_exact_two_place_decimals() -> None:
    kw = {"credit_remaining": Decimal("10.00"), "invoice_balance": Decimal("7.50")}
    assert str(wf.parse_amount(" $7.5 ", **kw)) == "7.50"
    assert str(wf.parse_amount("0.01", **kw)) == "0.01"
    too_much = re.escape("7.51 is more than invoice 1's balance of 7.50")
    with pytest.raises(ChecklistError, match=too_much):
        wf.parse_amount("7.51", invoice_number="1", **kw)


def test_choosing_a_bad_target_changes_nothing(world: World) -> None:
    checklist = wf.start_checklist(world.cache, CREDIT)
    with pytest.raises(ChecklistError, match=re.escape("more than the credit's 10.00 remaining")):
        wf.choose_target(world.cache, checklist.id, INVOICE_ID, "20")
    other = next(i for i in world.cache.records.iter_ledger_invoices() if i.customer_id != "97")
    with pytest.raises(ChecklistError, match="is not an invoice of Atomar's Best Tackle"):
        wf.choose_target(world.cache, checklist.id, other.id, "10")
    paid = next(i for i in world.cache.records.iter_ledger_invoices()
                if i.customer_id == "97" and i.balance == 0)
    with pytest.raises(ChecklistError, match=f"invoice {paid.doc_number} has nothing left"):
        wf.choose_target(world.cache, checklist.id, paid.id, "10")
    assert world.cache.checklists.checklist(checklist.id).state is ChecklistState.CHOOSE_INVOICE
    assert len(world.cache.checklists.checklist_events([checklist.id])) == 1
    with pytest.raises(ChecklistError, match="choose the invoice and amount first"):
        wf.confirm_manual(world.cache.checklists, checklist.id)
    with pytest.raises(ChecklistError, match="not a credit"):
        wf.start_checklist(world.cache, "Invoice:9065")
    with pytest.raises(ChecklistError, match="no credit left"):
        wf.start_checklist(world.cache, "CreditMemo:999999")


def test_cancel_closes_and_a_new_checklist_can_start(world: World) -> None:
    first = _ready(world)
    cancelled = wf.cancel(world.cache.checklists, first)
    assert cancelled.state is ChecklistState.CANCELLED and cancelled.closed_at
    views = wf.step_views(cancelled, world.cache.checklists.checklist_events([first]))
    assert [v.status for v in views] == ["done", "done", "cancelled", "pending", "pending",
                                         "pending"]
    with pytest.raises(ChecklistError, match="already cancelled"):
        wf.cancel(world.cache.checklists, first)
    assert wf.start_checklist(world.cache, CREDIT).id != first


def test_a_stale_transition_is_refused(world: World) -> None:
    """Two screens on one checklist: the second move of the same step loses."""
    checklist_id = _ready(world)
    other = Cache(world.path)
    try:
        wf.confirm_manual(other.checklists, checklist_id)
    finally:
        other.close()
    stale = world.cache.checklists.checklist(checklist_id)
    assert stale.state is ChecklistState.APPLIED
    assert not world.cache.checklists.update_checklist(
        checklist_id, from_states=(ChecklistState.READY_TO_APPLY,),
        changes={"state": ChecklistState.APPLYING}, step=3, outcome="info", message="x",
        at=stale.updated_at)


# --------------------------------------------------------------------------- writes off
def test_with_ledger_writes_off_the_workflow_refuses_the_api_and_keeps_by_hand(
        world: World) -> None:
    payments = world.payments()
    checklist_id = _ready(world)
    before = _events(world, checklist_id)
    off = WritePolicy(ledger=False, psa=False, config_path=Path("/etc/recon.toml"))
    line = ("writes to QuickBooks are off: set [ledger] allow_writes = true in "
            "/etc/recon.toml, or do it by hand")
    with pytest.raises(ChecklistError) as refused:
        wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id, policy=off)
    assert str(refused.value) == line
    stored = world.cache.checklists.checklist(checklist_id)
    assert stored.state is ChecklistState.READY_TO_APPLY and stored.request_id is None
    assert stored.method is None and _events(world, checklist_id) == before
    assert world.balance() == Decimal("120.00") and world.payments() == payments
    # The by-hand path stays, all the way to the verification.
    world.backend.ledger.apply_credit("97", INVOICE_ID, CreditKind.CREDIT_MEMO, "11261",
                                      Decimal("10.00"), str(uuid.uuid4()))
    wf.confirm_manual(world.cache.checklists, checklist_id)
    done = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id,
                   policy=off)
    assert done.state is LAGS and done.note == LEDGER_OK


def test_a_stored_request_is_not_resent_once_writes_are_off(world: World) -> None:
    real = world.backend.ledger

    def die(*_args: Any) -> Any:
        raise Killed()

    checklist_id = _ready(world)
    with pytest.raises(Killed):  # the id was stored, the call never left
        wf.apply_via_api(world.cache.checklists, FlakyLedger(real, apply_credit=die), checklist_id,
                         policy=WRITES)
    sent: list[tuple] = []
    watching = FlakyLedger(real, apply_credit=lambda *a: sent.append(a))
    with pytest.raises(ChecklistError, match=r"writes to QuickBooks are off.*was not sent "
                                             r"again \(x cancels\)"):
        advance(world.cache, world.backend.psa, watching, checklist_id)  # READ_ONLY
    assert sent == [] and world.balance() == Decimal("120.00")
    assert world.cache.checklists.checklist(checklist_id).state is ChecklistState.APPLYING
    # Had it landed, the read-only check would have seen it and moved on.
    real.apply_credit("97", INVOICE_ID, CreditKind.CREDIT_MEMO, "11261", Decimal("10.00"),
                      world.cache.checklists.checklist(checklist_id).request_id)
    done = advance(world.cache, world.backend.psa, watching, checklist_id, policy=READ_ONLY)
    assert done.state is LAGS and sent == []
    assert any("had already applied it; not sent again" in e for e in _events(world, checklist_id))


# --------------------------------------------------------------------------- the PSA side
def test_a_psa_that_shows_something_else_again_is_named_not_agreed(world: World) -> None:
    checklist_id = _ready(world)
    wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id, policy=WRITES)
    world.record_in_connectwise("20.00")  # someone recorded twice the credit there
    done = advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    assert done.state is LAGS
    assert done.finding == ("PSA: ConnectWise shows 100.00 owing on invoice 10040, the ledger "
                            "110.00 ✗ — they differ by 10.00")


def test_a_ledger_invoice_with_no_psa_copy_has_nothing_to_compare() -> None:
    from recon_tui.workflows.credit_verification import PsaVerdict, check_psa

    class NoPairs:
        def pairs_for_number(self, _number: str) -> list:
            return []

    c = _snapshot(ChecklistState.FULL_SYNCED)
    verdict = check_psa(NoPairs(), c, "ConnectWise")  # type: ignore[arg-type]
    assert verdict.verdict is PsaVerdict.NOT_PAIRED and verdict.ok
    assert verdict.text == ("PSA: no ConnectWise invoice is paired with invoice 10040, "
                            "nothing to compare")


def test_cancelling_while_the_psa_lags_says_what_is_left(world: World) -> None:
    checklist_id = _ready(world)
    wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id, policy=WRITES)
    advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    cancelled = wf.cancel(world.cache.checklists, checklist_id)
    assert cancelled.state is ChecklistState.CANCELLED
    assert _events(world, checklist_id)[-1] == (
        "6:info:cancelled by the operator; the ledger shows the credit applied and the PSA "
        "did not: record it in the PSA by hand")
    with pytest.raises(ChecklistError, match="nothing to re-check"):
        wf.recheck(world.cache.checklists, checklist_id)


def test_autotask_steps_say_its_api_cannot_and_what_can_be_done() -> None:
    c = _snapshot(LAGS)
    part = " ".join(wf.psa_steps(c, "autotask", ledger_balance=Decimal("110.00")))
    assert "Autotask's API cannot record a payment" in part
    assert "Nothing can be recorded in Autotask for a part-payment" in part
    paid = " ".join(wf.psa_steps(c, "autotask", ledger_balance=Decimal("0.00")))
    assert "find invoice 10040 in Invoice History and mark it paid" in paid
    assert wf.psa_kind_of("autotask:api@example.com") == "autotask"
    assert wf.psa_kind_of(None) == ""


# --------------------------------------------------------------------------- history, rows
def test_the_history_records_the_credit_used_up_and_a_deletion_as_deleted(
        world: World) -> None:
    from recon_tui.describe import change_line

    checklist_id = _ready(world)
    wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id, policy=WRITES)
    advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    run = next(r for r in world.cache.history.sync_runs() if r.kind == "resync")
    [change] = [c for c in world.cache.history.sync_changes(run.id) if c.record_type == "credit"]
    assert change_line(change) == "credit CreditMemo:11261: used up (applied): amount 10.00 -> 0.00"
    step = next(s for s in run.steps if s.name == "credits")
    assert (step.updated, step.deleted) == (1, 0)
    # A credit memo really deleted in QuickBooks is still a deletion.
    other = next(c for c in world.cache.records.credits() if c.kind is CreditKind.CREDIT_MEMO)
    gone = world.cache.records.delete_ledger_credit_memos([other.id])
    assert [(c.record_type, c.action) for c in gone.changes if c.record_type == "credit"] == [
        ("credit", "deleted")]


def test_the_client_row_stays_when_its_only_credit_is_used_up(world: World) -> None:
    from recon_tui.refresh import refresh_reconciliation

    row = world.cache.recon.client("ledger:97")
    assert row is not None and row.unapplied_credits == Decimal("10.00")
    assert row.invoice_count == 0  # its invoices pair under the PSA company, by number
    checklist_id = _ready(world)
    wf.apply_via_api(world.cache.checklists, world.backend.ledger, checklist_id, policy=WRITES)
    advance(world.cache, world.backend.psa, world.backend.ledger, checklist_id)
    incremental = world.cache.recon.client("ledger:97")
    assert incremental is not None, "the row vanished with the credit"
    assert (incremental.name, incremental.unapplied_credits) == ("Atomar's Best Tackle",
                                                                 Decimal("0.00"))
    assert world.cache.recon.count_clients("Atomar's") == 1
    refresh_reconciliation(world.cache)  # a full recompute keeps it too
    assert world.cache.recon.client("ledger:97") == incremental


# --------------------------------------------------------------------------- storage
def test_migration_2_adds_the_checklist_tables_to_a_schema_1_cache(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # a cache as the first release wrote it
        for statement in MIGRATIONS[0]:
            old.execute(statement)
        old.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '1')")
    with Cache(path) as cache:
        assert cache.schema_version == SCHEMA_VERSION >= 3
        assert {"checklist", "checklist_event"} <= set(cache.db.table_names())
        fks = cache.db["checklist_event"].foreign_keys
        assert [(f.column, f.other_table) for f in fks] == [("checklist_id", "checklist")]
        assert "idx_checklist_event" in {i.name for i in cache.db["checklist_event"].indexes}
        with pytest.raises(sqlite3.IntegrityError):  # the customer must exist
            cache.conn.execute(
                "INSERT INTO checklist(state, customer_id, customer_name, credit_kind, "
                "credit_id, credit_doc_number, credit_date, credit_cents, created_at, "
                "updated_at) VALUES ('done', 'nobody', '', 'CreditMemo', '1', '', "
                "'2026-01-01', 100, 'x', 'x')")
