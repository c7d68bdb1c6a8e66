"""A credit applied on QuickBooks Desktop, over real sockets: the app queues the
checklist (it cannot reach the company file), the next emulated Web Connector
session applies it with one ReceivePaymentAddRq before its sync reads the books,
and the checklist is verified against the cache that sync refreshed. A session
dropped after the write and a second session still apply it once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import ChecklistState, CreditKind
from recon_tui.money import money_str
from recon_tui.qbwc.service import SessionOutcome
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbd_company import SampleCompany
from recon_tui.sandbox.web_connector import SessionReport
from recon_tui.workflows import credit_checklist as wf
from recon_tui.workflows.write_policy import READ_ONLY, WritePolicy
from tests.emulator import running_emulator
from tests.test_qbwc_desktop import desktop_sync

USER, PASSWORD = "recon", "desktop-pass"
WRITES = WritePolicy(ledger=True, psa=False, ledger_name="QuickBooks Desktop", desktop=True)
ADD = "ReceivePaymentAddRq"


@dataclass
class Desktop:
    """The sample company (kept across sessions, as the company file is) and the cache."""

    server_url: str
    cache_path: Path
    company: SampleCompany

    def session(self, *, policy: WritePolicy = WRITES, drop_after: int | None = None
                ) -> tuple[SessionOutcome, SessionReport]:
        return desktop_sync(self.cache_path.parent, self.server_url, self.company,
                            response_timeout=1.0 if drop_after else 30.0,
                            drop_after=drop_after, cache_path=self.cache_path, policy=policy)


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Desktop]:
    with running_emulator() as (server, _book, _plan):
        book = Desktop(server.url, tmp_path / "qbd.db",
                       SampleCompany(SandboxBook.from_dir(sample_data_dir())))
        outcome, _report = book.session()
        assert outcome.succeeded, outcome.line
        yield book


def queued_checklist(cache_path: Path, *, queue: bool = True) -> int:
    """A checklist started in the app for a Desktop credit memo, chosen and queued
    (``queue=False``: chosen only)."""
    cache = Cache(cache_path)
    try:
        for credit in cache.records.credits():
            if credit.kind is not CreditKind.CREDIT_MEMO:
                continue
            invoices = cache.checklists.open_ledger_invoices(credit.customer_id)
            if invoices:
                break
        else:
            raise AssertionError("the sample company has no credit memo to apply")
        checklist = wf.start_checklist(cache, f"CreditMemo:{credit.id}")
        invoice = wf.default_invoice(invoices)
        assert invoice is not None
        amount = wf.default_amount(credit.amount, invoice.balance)
        wf.choose_target(cache, checklist.id, invoice.id, str(amount))
        if not queue:
            return checklist.id
        queued = wf.queue_for_web_connector(cache.checklists, checklist.id, policy=WRITES)
        assert queued.state is ChecklistState.APPLYING and queued.request_id
        assert wf.QUEUED_NOTE in cache.checklists.checklist_events([checklist.id])[-1].message
        return checklist.id
    finally:
        cache.close()


def adds(report: SessionReport) -> int:
    return sum(ADD in request for request in report.requests)


def marked_payments(company: SampleCompany, cache_path: Path, checklist_id: int) -> int:
    """The company's payments carrying the checklist's ``[recon-tui <request id>]``."""
    cache = Cache(cache_path, read_only=True)
    try:
        checklist = cache.checklists.checklist(checklist_id)
        assert checklist is not None and checklist.request_id
        mark = f"[recon-tui {checklist.request_id}]"
    finally:
        cache.close()
    return sum(mark in str(p.get("PrivateNote", ""))
               for p in company.book.qbo.get("Payment", {}).values())


def verified(cache_path: Path, checklist_id: int) -> tuple[ChecklistState, str]:
    cache = Cache(cache_path, read_only=True)
    try:
        checklist = cache.checklists.checklist(checklist_id)
        assert checklist is not None
        return checklist.state, checklist.note or ""
    finally:
        cache.close()


def test_a_queued_credit_is_applied_at_the_next_poll_and_verified_after_its_sync(
        desktop: Desktop) -> None:
    checklist_id = queued_checklist(desktop.cache_path)
    outcome, report = desktop.session()
    assert outcome.succeeded, outcome.line
    assert adds(report) == 1
    # the write comes before the sync's reads of invoices
    first_add = next(i for i, r in enumerate(report.requests) if ADD in r)
    assert not any("<InvoiceQueryRq" in r and "ModifiedDateRangeFilter" in r
                   for r in report.requests[:first_add])
    assert marked_payments(desktop.company, desktop.cache_path, checklist_id) == 1
    # The ledger is verified; the emulated ConnectWise was not told of the credit.
    state, note = verified(desktop.cache_path, checklist_id)
    assert state is ChecklistState.LEDGER_DONE_PSA_LAGS, note
    assert note.startswith("ledger: invoice ") and note.endswith(" used up ✓"), note
    again, report = desktop.session()  # nothing queued any more: nothing written
    assert again.succeeded and adds(report) == 0


def test_a_session_dropped_after_the_write_and_a_second_one_apply_the_credit_once(
        desktop: Desktop, tmp_path: Path) -> None:
    checklist_id = queued_checklist(desktop.cache_path)
    # Where the write falls in a session: a dry run against a copy of the company.
    probe = Desktop(desktop.server_url, tmp_path / "probe.db",
                    SampleCompany(SandboxBook.from_dir(sample_data_dir())))
    assert probe.session()[0].succeeded
    probe_id = queued_checklist(probe.cache_path)
    _done, probe_report = probe.session()
    at = next(i for i, r in enumerate(probe_report.requests) if ADD in r) + 1
    assert verified(probe.cache_path, probe_id)[0] is not ChecklistState.APPLYING

    dropped, report = desktop.session(drop_after=at)
    assert adds(report) == 1 and len(report.requests) == at and report.closed is None
    assert not dropped.succeeded
    cache = Cache(desktop.cache_path, read_only=True)
    try:
        checklist = cache.checklists.checklist(checklist_id)
        assert checklist is not None and checklist.state is ChecklistState.APPLYING
    finally:
        cache.close()
    outcome, report = desktop.session()
    assert outcome.succeeded, outcome.line
    assert adds(report) == 0  # found applied (or by its Memo mark): not sent again
    assert marked_payments(desktop.company, desktop.cache_path, checklist_id) == 1
    state, note = verified(desktop.cache_path, checklist_id)
    assert state is ChecklistState.LEDGER_DONE_PSA_LAGS, note
    assert note.startswith("ledger: invoice ") and note.endswith(" used up ✓"), note
    cache = Cache(desktop.cache_path, read_only=True)
    try:
        trail = [e.message for e in cache.checklists.checklist_events([checklist_id])]
    finally:
        cache.close()
    assert any("no answer from the ledger" in m for m in trail)
    assert any("had already applied it; not sent again" in m for m in trail)


def test_with_desktop_writes_off_a_queued_credit_stays_queued_with_the_line(
        desktop: Desktop) -> None:
    checklist_id = queued_checklist(desktop.cache_path)
    outcome, report = desktop.session(policy=READ_ONLY)
    assert outcome.succeeded and adds(report) == 0
    assert f"checklist #{checklist_id}: writes to QuickBooks are off" in outcome.line
    assert verified(desktop.cache_path, checklist_id)[0] is ChecklistState.APPLYING


def test_a_desktop_ledger_shows_the_desktop_steps_by_hand(desktop: Desktop) -> None:
    cache = Cache(desktop.cache_path, read_only=True)
    try:
        checklist = cache.checklists.checklist(queued_checklist(desktop.cache_path))
    finally:
        cache.close()
    assert checklist is not None
    steps = wf.manual_steps(checklist, desktop=True)
    assert steps[0] == "In QuickBooks Desktop: Customers > Receive Payments."
    assert any("Discounts & Credits" in s for s in steps)
    assert any(f"credit memo {checklist.credit_id}" in s and "Done" in s for s in steps)
    assert steps[-1] == "Save & Close."
    assert not any("QuickBooks Online" in s for s in steps)


def test_done_by_hand_on_desktop_is_checked_by_the_next_poll(desktop: Desktop) -> None:
    """`b` without the application really made: the next session's sync finds the
    invoice unchanged, and the checklist says so (nothing was written for it)."""
    checklist_id = queued_checklist(desktop.cache_path, queue=False)
    cache = Cache(desktop.cache_path)
    try:
        wf.confirm_manual(cache.checklists, checklist_id)
    finally:
        cache.close()
    outcome, report = desktop.session()
    assert outcome.succeeded and adds(report) == 0
    cache = Cache(desktop.cache_path, read_only=True)
    try:
        checklist = cache.checklists.checklist(checklist_id)
    finally:
        cache.close()
    assert checklist is not None and checklist.state is ChecklistState.FAILED_VERIFICATION
    assert checklist.invoice_balance is not None and checklist.amount is not None
    assert checklist.finding == (f"invoice {checklist.invoice_number} balance is "
                                 f"{money_str(checklist.invoice_balance)}, expected "
                                 f"{money_str(checklist.invoice_balance - checklist.amount)}")
