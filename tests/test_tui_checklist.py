"""The credit checklist (seed 001) driven from the TUI, against the emulator over real
sockets: Atomar's Best Tackle (QBO customer 97), credit memo 11261 ($10), invoice
10040 ($120, QBO id 9065); the older open invoice 10005 is preselected and the
operator picks 10040 instead.

The emulator's ConnectWise, like the real one, never hears of the ledger's credit:
once the ledger side is verified the screen says the PSA lags and how to record the
credit there; after the tech has (here: in the emulator's book), v re-checks both
sides and only then is the checklist done."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import Static

from recon_tui.models import ChecklistState, CreditKind
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.checklist import ChecklistScreen, ChecklistsScreen
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from recon_tui.workflows import credit_checklist as wf
from tests.emulator import backend_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.test_tui_sync import demo_app, wait_until
from tests.tui_app import recon_app

CLIENT = "ledger:97"  # "Atomar's Best Tackle": unmapped on purpose, so a client of its own


async def settle(pilot, screen: ChecklistScreen) -> None:
    """Until the checklist's worker is done and the screen has redrawn."""
    await wait_until(pilot, lambda: screen.checklist is not None and not screen.busy)
    await pilot.pause()


async def open_checklist(app: ReconApp, pilot) -> ChecklistScreen:
    """Client screen, credit 11261 under the credits cursor (panel not focused), `a`."""
    await wait_until(pilot, lambda: not app.loading)
    app.open_client(CLIENT)
    await pilot.pause()
    assert isinstance(app.screen, ClientDetailScreen)
    credits = app.screen.query_one("#credits", VirtualTable)
    assert credits.current_row.key == "CreditMemo:11261"
    assert not credits.has_focus
    await pilot.press("a")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ChecklistScreen)
    await settle(pilot, screen)
    return screen


def manual_text(screen: ChecklistScreen) -> str:
    """The by-hand instructions as written (the screen wraps them)."""
    return str(screen.query_one("#checklist-manual", Static).content)


def status_text(screen: ChecklistScreen) -> str:
    return str(screen.query_one("#checklist-status", Static).content)


def record_in_connectwise(book, number: str, amount: Decimal) -> None:
    """What the tech does by hand in ConnectWise (Finance > Invoices > the invoice >
    Payments): the invoice's balance drops by the payment."""
    from recon_tui.sandbox.cw_payments import apply_payment

    with book.lock:
        invoice_id = next(i["id"] for i in book.connectwise["invoices"].values()
                          if i["invoiceNumber"] == number)
    apply_payment(book, invoice_id, {"amount": amount})  # as the payment screen records it


async def pick_10040(pilot, screen: ChecklistScreen) -> None:
    """The ledger's default (the oldest, 10005) is preselected; the operator moves to
    10040 and the amount follows: min(credit 10.00, balance 120.00)."""
    table = screen.query_one("#checklist-invoices", VirtualTable)
    amount = screen.query_one("#checklist-amount")
    assert table.has_focus
    assert table.current_row.key == "9005" and amount.value == "10.00"
    text = screen_text(screen.app)
    assert "oldest open at last sync" in text
    assert "credit memo 11261 (CM-1004) of 2026-10-28, 10.00" in text
    assert "Atomar's Best Tackle (97), 3 open invoices" in text
    await pilot.press("down")
    await pilot.pause()
    assert table.current_row.key == "9065" and amount.value == "10.00"
    assert ("3. Select invoice 10040 and clear the other invoices (QuickBooks may tick the "
            "oldest open invoice for you; at the last sync that was 10005).") in manual_text(screen)


async def test_seed_001_applied_via_quickbooks_from_the_tui(tmp_path: Path) -> None:
    with running_emulator() as (server, book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            await pilot.press("p")
            await pilot.pause()
            await settle(pilot, screen)
            assert screen.error is None, screen.error
            # The ledger is right, ConnectWise still bills 120.00: not "both sides agree".
            assert screen.checklist.state is ChecklistState.LEDGER_DONE_PSA_LAGS
            text = screen_text(app)
            assert "◐ 6. Verify each side: the ledger, then the PSA" in text
            assert "Verification, each side on its own (step 6)" in text
            assert "ledger: invoice 10040 110.00 of 120.00 ✓, credit memo 11261 used up ✓" \
                in text
            assert "PSA: ConnectWise still shows 120.00 owing on invoice 10040 ✗" in text
            assert "the PSA has not received the credit" in text
            assert "◐ The ledger is done; the PSA lags" in text
            assert "Done" not in status_text(screen)
            assert "applied via qbo (request id" in text
            assert "not needed: the resync already removed the credit" in text
            manual = manual_text(screen)
            assert "Next: record the credit in ConnectWise by hand:" in manual
            assert "Finance > Invoices, search for invoice 10040 and open it" in manual
            assert "Payments tab and add a payment of 10.00" in manual
            assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("110.00")
            [pair] = app.cache.recon.pairs_for_number("10040")
            assert (pair.ledger_owing, pair.psa_owing) == (Decimal("110.00"), Decimal("120.00"))
            stored = app.cache.checklists.checklist(screen.checklist.id)
            assert stored.state is ChecklistState.LEDGER_DONE_PSA_LAGS
            assert stored.closed_at is None
            assert [c.id for c in app.cache.checklists.open_checklists()] == [1]
            # The tech records the $10 in ConnectWise as shown, then v re-checks.
            record_in_connectwise(book, "10040", Decimal("10.00"))
            await pilot.press("v")
            await pilot.pause()
            await settle(pilot, screen)
            assert screen.error is None, screen.error
            assert screen.checklist.state is ChecklistState.DONE
            text = screen_text(app)
            assert "✓ Done, both sides agree." in status_text(screen)
            assert "✓ 6. Verify each side: the ledger, then the PSA" in text
            assert "PSA: ConnectWise shows 110.00 owing on invoice 10040 ✓" in text
            [pair] = app.cache.recon.pairs_for_number("10040")
            assert (pair.ledger_owing, pair.psa_owing) == (Decimal("110.00"), Decimal("110.00"))
            assert app.cache.checklists.open_checklists() == []
            # Back on the client: the credit is gone, the audit trail is there.
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ClientDetailScreen)
            text = screen_text(app)
            assert "No unapplied credits" in text
            assert ("#1 credit memo 11261 (CM-1004) → invoice 10040, 10.00 via the API — done"
                    in text)
            assert app.screen.query_one("#credits", VirtualTable).row_count == 0
            # ... and the client stays in the list, its audit trail one Enter away.
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("slash", *"Atomar's", "enter")
            await pilot.pause()
            text = screen_text(app)
            assert "Atomar's Best Tackle" in text and "ledger only" in text
            row = app.cache.recon.client(CLIENT)
            assert row is not None and row.unapplied_credits == Decimal("0.00")


async def apply_by_hand_and_confirm(server, app, pilot, screen) -> None:
    """The tech applies credit 11261 to invoice 10040 in QuickBooks itself (here: the
    emulator's API), presses b, and the app's verification sees it in the ledger."""
    with backend_for(server) as b:
        b.ledger.apply_credit("97", "9065", CreditKind.CREDIT_MEMO, "11261",
                              Decimal("10.00"), str(uuid.uuid4()))
    await pilot.press("b")
    await pilot.pause()
    await settle(pilot, screen)
    assert screen.error is None, screen.error
    assert screen.checklist.state is ChecklistState.LEDGER_DONE_PSA_LAGS
    assert screen.checklist.method.value == "manual"
    assert "ledger: invoice 10040 110.00 of 120.00 ✓" in screen_text(app)


async def test_seed_001_applied_by_hand_then_confirmed(tmp_path: Path) -> None:
    with running_emulator() as (server, book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            text = manual_text(screen)
            for step in ("Create (+ New) > Receive Payment.",
                         "Select the customer Atomar's Best Tackle.",
                         "Set the amount to 10.00", "Record and Close"):
                assert step in text
            # The operator follows the steps in QuickBooks (here: the emulator's API).
            await apply_by_hand_and_confirm(server, app, pilot, screen)
            assert "PSA: ConnectWise still shows 120.00 owing" in screen_text(app)
            assert "by hand in the ledger" in screen_text(app)
            assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("110.00")
            assert app.cache.checklists.ledger_credit(CreditKind.CREDIT_MEMO, "11261") is None


async def test_confirming_an_application_that_never_happened_reports_the_finding(
        tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            await pilot.press("b")  # ... without touching QuickBooks
            await pilot.pause()
            await settle(pilot, screen)
            assert screen.checklist.state is ChecklistState.FAILED_VERIFICATION
            text = screen_text(app)
            assert ("✗ Verification failed: invoice 10040 balance is 120.00, expected 110.00"
                    in text)
            assert "✗ 4. Resync the invoice and check its balance dropped" in text
            # Still open: listed under `c`.
            await pilot.press("escape")
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(app.screen, ChecklistsScreen)
            assert "failed verification: invoice 10040 balance is 120.00" in screen_text(app)


async def test_bad_amounts_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with running_emulator() as (server, book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            amount = screen.query_one("#checklist-amount")
            await pilot.press("enter")  # Enter on the invoice moves to the amount
            await pilot.pause()
            assert amount.has_focus
            for typed, message in (("20", "20.00 is more than the credit's 10.00 remaining"),
                                   ("10.001", "10.001 has more than two decimal places"),
                                   ("ten", "'ten' is not an amount"),
                                   ("0", "the amount must be more than 0.00")):
                amount.value = typed
                await pilot.press("enter")
                await pilot.pause()
                assert message in screen_text(app), typed
                assert screen.checklist.state is ChecklistState.CHOOSE_INVOICE
            # `p` with a bad amount sends nothing.
            amount.value = "11"
            screen.query_one("#checklist-invoices").focus()
            await pilot.press("p")
            await pilot.pause()
            assert "11.00 is more than the credit's 10.00 remaining" in screen_text(app)
            assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("120.0")
            # A good one is saved (step 2 ticked) and the keys go back to the table.
            screen.query_one("#checklist-amount").focus()
            amount.value = "7.5"
            await pilot.press("enter")
            await settle(pilot, screen)
            assert screen.checklist.state is ChecklistState.READY_TO_APPLY
            assert (screen.checklist.invoice_number, screen.checklist.amount) == (
                "10040", Decimal("7.50"))
            assert "✓ 2. Choose the invoice and the amount" in screen_text(app)
            assert screen.query_one("#checklist-invoices").has_focus


async def test_a_checklist_interrupted_after_the_apply_resumes_in_a_new_app(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_emulator() as (server, book, _plan):
        payments = len(book.qbo["Payment"])

        def killed(*_args, **_kwargs):
            raise RuntimeError("recon-tui was killed here")

        with monkeypatch.context() as patch:
            patch.setattr(wf, "advance", killed)  # the worker dies right after the apply
            app = demo_app(tmp_path, server)
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_checklist(app, pilot)
                await pick_10040(pilot, screen)
                await pilot.press("p")
                await pilot.pause()
                await settle(pilot, screen)
                assert screen.checklist.state is ChecklistState.APPLIED
                assert "recon-tui was killed here" in screen_text(app)
        assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("110.00")

        again = demo_app(tmp_path, server)  # a new app over the same cache file
        async with again.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not again.loading)
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(again.screen, ChecklistsScreen)
            listed = again.screen.query_one("#checklists", VirtualTable)
            assert listed.row_count == 1
            assert "Atomar's Best Tackle" in screen_text(again)
            await pilot.press("enter")
            await pilot.pause()
            screen = again.screen
            assert isinstance(screen, ChecklistScreen)
            await settle(pilot, screen)
            assert screen.error is None, screen.error
            assert screen.checklist.state is ChecklistState.LEDGER_DONE_PSA_LAGS
            text = screen_text(again)
            assert "ledger: invoice 10040 110.00 of 120.00 ✓" in text
            events = again.cache.checklists.checklist_events([screen.checklist.id])
            assert [e.step for e in events if e.message.startswith("applied via qbo")] == [3]
            assert "Continuing where the checklist stopped" not in text  # finished, redrawn
            await pilot.press("escape")
            await pilot.pause()
            # Still open (the PSA lags), and listed as such.
            assert again.screen.query_one("#checklists", VirtualTable).row_count == 1
            assert "ledger done, PSA lags: PSA: ConnectWise still shows" in screen_text(again)
        # Applied once: 110.00, not 100.00, and one payment.
        assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("110.00")
        assert len(book.qbo["Payment"]) == payments + 1


async def test_apply_credit_without_credits_says_so(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            app.open_client("psa:436")  # the PSA side of Atomar's: no ledger customer mapped
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, ClientDetailScreen)
            assert any("no organizational credit to apply" in n.message
                       for n in app._notifications)
            text = screen_text(app)
            assert "Apply credit" in text  # in the footer
            await pilot.press("question_mark")
            await pilot.pause()
            assert "Apply credit" in screen_text(app)


async def test_leaving_the_screen_while_it_runs_loses_nothing(tmp_path: Path) -> None:
    with running_emulator() as (server, book, plan):
        from recon_tui.sandbox.faults import FaultRule

        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            plan.slow_ms = 300
            plan.add(FaultRule("slow", "connectwise", 1, 2))  # the resync takes a while
            await pilot.press("p")
            await pilot.pause()
            assert screen.busy
            await pilot.press("escape")  # back to the client while the worker runs
            await wait_until(pilot, lambda: app.cache.checklists.checklist(1).state
                             is ChecklistState.LEDGER_DONE_PSA_LAGS)
            await pilot.pause()
            assert isinstance(app.screen, ClientDetailScreen)
            assert "via the API — ledger done, PSA lags" in screen_text(app)
            assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("110.00")


async def test_a_on_the_credit_of_an_interrupted_checklist_continues_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_emulator() as (server, book, _plan):
        with monkeypatch.context() as patch:
            patch.setattr(wf, "advance", lambda *a, **k: None)  # stops after the apply
            app = demo_app(tmp_path, server)
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_checklist(app, pilot)
                await pick_10040(pilot, screen)
                await pilot.press("p")
                await settle(pilot, screen)
                assert screen.checklist.state is ChecklistState.APPLIED
        again = demo_app(tmp_path, server)
        async with again.run_test(size=SIZE) as pilot:
            screen = await open_checklist(again, pilot)  # `a` on credit 11261 again
            assert screen.checklist.id == 1
            assert screen.checklist.state is ChecklistState.LEDGER_DONE_PSA_LAGS
        assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("110.00")


async def test_with_ledger_writes_off_the_api_path_is_off_and_by_hand_stays(
        tmp_path: Path) -> None:
    """Real accounts (here the emulator behind a config file) with no allow_writes:
    `p` and its button are disabled, the screen says which key turns them on, and
    applying by hand still works through to the verification."""
    from textual.widgets import Button

    from recon_tui.cache import Cache
    from recon_tui.config import load_config
    from recon_tui.sync import run_full_sync
    from tests.emulator import config_file_for

    with running_emulator() as (server, book, _plan):
        config_path = config_file_for(server, tmp_path)
        cache_path = tmp_path / "real.db"
        with Cache(cache_path) as cache, backend_for(server) as b:
            run_full_sync(cache, b.psa, b.ledger, since=None)
        payments = len(book.qbo["Payment"])
        app = recon_app(config=load_config(config_path), cache_path=cache_path, demo=False,
                        backend_factory=lambda: backend_for(server))
        off = (f"writes to QuickBooks are off: set [ledger] allow_writes = true in "
               f"{config_path}, or do it by hand")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            assert screen.query_one("#btn-apply-api", Button).disabled
            assert not screen.query_one("#btn-by-hand", Button).disabled
            assert off in status_text(screen).replace("\n  ", " ")
            assert "apply it by hand and press b" in status_text(screen)
            assert f"The API path is off: {off}." in manual_text(screen)
            assert screen.check_action("apply_api", ()) is None  # greyed in the footer
            await pilot.press("p")  # a disabled key does nothing
            await pilot.pause()
            screen.action_apply_api()  # as the palette would: refused with the line
            await pilot.pause()
            assert screen.error == off
            assert off in str(screen.query_one("#amount-error", Static).content)
            assert screen.checklist.state is ChecklistState.CHOOSE_INVOICE
            assert screen.checklist.request_id is None
            assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("120.00")
            assert len(book.qbo["Payment"]) == payments
            # By hand: the tech applies it in QuickBooks, presses b, the app verifies.
            await apply_by_hand_and_confirm(server, app, pilot, screen)
            assert len(book.qbo["Payment"]) == payments + 1  # the tech's, none of ours


async def test_history_calls_the_applied_credit_used_up_not_deleted(tmp_path: Path) -> None:
    from recon_tui.tui.screens.history import HistoryScreen, RunScreen

    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            await pilot.press("p")
            await pilot.pause()
            await settle(pilot, screen)
            await pilot.press("h")
            await pilot.pause()
            assert isinstance(app.screen, HistoryScreen)
            assert "resync of 10040" in screen_text(app)
            await pilot.press("enter")  # the newest run: the checklist's resync
            await pilot.pause()
            assert isinstance(app.screen, RunScreen)
            text = screen_text(app)
            rows = text.splitlines()  # the record in its column, what changed beside it
            [credit] = [r for r in rows if "credit CreditMemo:11261 " in r]
            assert "used up (applied): amount 10.00 -> 0.00" in credit
            assert "deleted" not in credit
            [invoice] = [r for r in rows if "ledger invoice 10040 " in r]
            assert "balance 120.00 -> 110.00" in invoice
            [run] = [r for r in app.cache.history.sync_runs() if r.kind == "resync"]
            credits = next(s for s in run.steps if s.name == "credits")
            assert (credits.updated, credits.deleted) == (1, 0)
            [change] = [c for c in app.cache.history.sync_changes(run.id)
                        if c.record_type == "credit"]
            assert (change.action, change.old, change.new) == ("used up", "10.00", "0.00")
