"""Sync, history and resync from the TUI, against the emulator over real sockets."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.models import CreditKind
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.history import HistoryScreen, RunScreen
from recon_tui.tui.screens.resync import ResyncScreen
from recon_tui.tui.screens.sync import SyncScreen
from tests.emulator import backend_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app
from tests.waits import wait_for_text, wait_until


def demo_app(tmp_path: Path, server) -> ReconApp:
    return recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                     backend_factory=lambda: backend_for(server))


async def test_sync_dialog_validates_the_date_runs_and_records_history(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, SyncScreen)
            since = app.screen.query_one("#since")
            assert since.value  # prefilled with the default date
            since.value = "2026-13-01"
            await pilot.press("enter")
            await pilot.pause()
            assert "expected a date YYYY-MM-DD" in screen_text(app)
            since.value = "2026-01-01"
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.run is not None)
            text = await wait_for_text(pilot, "succeeded", screen_text)
            for step in ("psa companies", "psa invoices", "ledger invoices",
                         "ledger credit memos", "ledger payments", "ledger deletions"):
                assert step in text
            await pilot.press("h")
            await pilot.pause()
            assert isinstance(app.screen, HistoryScreen)
            history = screen_text(app)
            assert "full sync since 2026-01-01" in history and "demo load" in history
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RunScreen)
            assert "ledger deletions" in screen_text(app)


async def test_cancelled_sync_writes_nothing(tmp_path: Path) -> None:
    with running_emulator() as (server, book, plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            before = app.cache.records.counts()
            # A change waits in the ledger; the sync is cancelled before it lands.
            invoice = next(iter(book.qbo["Invoice"].values()))
            invoice["Balance"] = Decimal("1.23")
            plan.slow_ms = 1500
            from recon_tui.sandbox.faults import FaultRule

            plan.add(FaultRule("slow", "qbo", 1, 3))
            await pilot.press("s")
            await pilot.pause()
            app.screen.query_one("#since").value = "2025-01-01"
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.running)  # cancelled mid-sync
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen.run is not None)
            assert app.screen.run.status.value == "cancelled"
            await wait_for_text(pilot, "cancelled", screen_text)
            assert app.cache.records.counts() == before
            assert app.cache.records.ledger_invoice(invoice["Id"]).balance != Decimal("1.23")


async def test_resync_shows_before_and_after_for_the_seed_001_credit(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            # In QBO: Receive Payment applies credit memo 11261 ($10) to invoice 10040.
            with backend_for(server) as b:
                b.ledger.apply_credit("97", "9065", CreditKind.CREDIT_MEMO, "11261",
                                      Decimal("10.00"), str(uuid.uuid4()))
            await pilot.press("slash", *"atomars", "enter", "enter")
            await pilot.pause()
            assert isinstance(app.screen, ClientDetailScreen)
            table = app.screen.query_one("#invoices")
            row = next(i for i in range(table.row_count)
                       if table.get_row(i).cells[1].plain == "10040")
            table.move_cursor(row)
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, ResyncScreen)
            await wait_until(pilot, lambda: app.screen.done)
            assert app.screen.error is None, app.screen.error
            # done is set before the result is painted: wait for the painted change
            text = await wait_for_text(pilot, "balance 120.00 -> 110.00", screen_text)
            assert "balance 120.00" in text and "balance 110.00" in text
            assert "ledger invoice 10040: balance 120.00 -> 110.00" in text
            await pilot.press("escape")
            await pilot.pause()
            [pair] = app.cache.recon.pairs_for_number("10040")
            assert pair.ledger_owing == Decimal("110.00")
            assert all(c.id != "11261" for c in app.cache.recon.client_credits(["97"]))
            assert app.cache.history.sync_runs()[0].kind == "resync"
            assert date.today() >= app.cache.history.sync_runs()[0].started_at.date()



async def test_a_sync_that_would_delete_many_records_asks_first(tmp_path: Path) -> None:
    from recon_tui.tui.screens.confirm import ConfirmScreen

    with running_emulator() as (server, book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            before = app.cache.records.counts()
            for invoice_id in sorted(book.qbo["Invoice"])[:120]:  # a read gone short
                del book.qbo["Invoice"][invoice_id]

            async def sync_everything() -> None:
                await pilot.press("s")
                await pilot.pause()
                app.screen.query_one("#since").value = ""
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 1800)
                # pushed is not yet painted: wait for the question itself
                await wait_until(pilot, lambda: "would delete 120 of the" in screen_text(app))

            await sync_everything()
            await pilot.press("n")
            await wait_until(pilot, lambda: getattr(app.screen, "run", None) is not None, 1800)
            assert app.screen.run.status.value == "cancelled"
            assert app.cache.records.counts() == before
            await pilot.press("escape")
            await pilot.pause()
            await sync_everything()
            await pilot.press("y")
            await wait_until(pilot, lambda: getattr(app.screen, "run", None) is not None, 1800)
            assert app.screen.run.status.value == "succeeded"
            assert app.cache.records.counts()["ledger_invoice"] == before["ledger_invoice"] - 120


async def test_quitting_while_the_sync_asks_leaves_the_cache_and_no_thread_behind(
        tmp_path: Path) -> None:
    """A thread left waiting for an answer nobody can give would keep the process
    from exiting: quitting with the question open is a no, and the sync ends."""
    import threading

    from recon_tui.tui.screens.confirm import ConfirmScreen

    with running_emulator() as (server, book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            before = app.cache.records.counts()
            threads_before = set(threading.enumerate())
            for invoice_id in sorted(book.qbo["Invoice"])[:120]:
                del book.qbo["Invoice"][invoice_id]
            await pilot.press("s")
            await pilot.pause()
            app.screen.query_one("#since").value = ""
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 1800)
            await wait_until(pilot, lambda: "would delete 120 of the" in screen_text(app))
            app.exit()
        for thread in set(threading.enumerate()) - threads_before:
            thread.join(10)
            assert not thread.is_alive(), f"{thread.name} is still waiting"
        with Cache(tmp_path / "demo.db") as cache:
            assert cache.records.counts() == before
