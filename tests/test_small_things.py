"""Issue 13's small things a tech notices, each driven the way a tech meets it:
counted nouns ("1 client", never "1 clients"); the README's "/, the client's
name, Enter, Enter" opens it; `p` typed into the checklist's amount field is text,
not "apply"; a sync killed a moment ago reads "interrupted" in the history as
soon as its process is gone; the checklist's preselected invoice says it is the
oldest open one as of the last sync."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.describe import run_line
from recon_tui.models import ChecklistState, SyncRun, SyncStatus, SyncStep
from recon_tui.run_status import honest_run, status_label
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.history import HistoryScreen, RunScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from recon_tui.wording import counted, noun
from recon_tui.workflows.credit_steps import manual_steps
from tests.books import seed_book
from tests.emulator import running_emulator
from tests.test_tui import SIZE, make_app, screen_text
from tests.test_tui_checklist import open_checklist, pick_10040, status_text
from tests.test_tui_sync import demo_app, wait_until
from tests.tui_app import recon_app
from tests.waits import quiet


# --------------------------------------------------------------------------- plurals
def test_counted_nouns() -> None:
    assert counted(1, "client") == "1 client"
    assert counted(0, "client") == "0 clients"
    assert counted(1204, "invoice") == "1,204 invoices"
    assert counted(1, "open invoice") == "1 open invoice"
    assert noun(2, "company", "companies") == "companies"
    assert noun(1, "company", "companies") == "company"


async def test_one_client_and_one_unmapped_customer_read_singular(tmp_path: Path) -> None:
    """The filter's count and the header: "1 client", "1 unmapped ledger customer"."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "1 unmapped ledger customer (m maps it)" in text
        assert "unmapped ledger customers" not in text
        await pilot.press("slash", *"quiet")
        await pilot.pause()
        status = str(app.screen.query_one("#filter-status").render())
        assert status.startswith("1 client") and "1 clients" not in status


# --------------------------------------------------------------------------- the README's promise
async def test_the_readme_flow_slash_name_enter_enter_opens_the_client(
        tmp_path: Path) -> None:
    """The README: press /, type the client's name, Enter (to the narrowed list),
    Enter again: the client is open."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"northwind", "enter")
        await pilot.pause()
        table = app.screen.query_one("#clients", VirtualTable)
        assert table.has_focus and table.row_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.screen.client_key == "psa:1"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "type the client's name, press Enter (the cursor goes to the narrowed" in (
        readme.replace("\n> ", " "))


async def test_letters_typed_at_once_after_slash_land_in_the_filter(tmp_path: Path) -> None:
    """A burst (a fast typist, a paste, tmux send-keys): "/" and the name's letters
    arrive before a frame. Every letter must reach the filter box; none may run as
    the list's keys (e would open the export dialog, d toggle discrepant)."""
    from textual import events
    from textual.widgets import Input

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        for key, char in [("slash", "/"), *((c, c) for c in "northwinde")]:
            event = events.Key(key, char)
            event.set_sender(app)
            app._driver.send_message(event)  # no idle wait between keys: one burst
        await pilot.pause()
        await pilot.pause()
        assert app.screen is screen  # no export dialog opened
        assert screen.query_one("#filter", Input).value == "northwinde"
        assert not screen.client_filter.discrepant_only
        await pilot.press("slash")  # inside the box "/" is a character like any other
        assert screen.query_one("#filter", Input).value == "northwinde/"


async def test_help_and_quit_stay_in_the_clients_footer_while_filtering(tmp_path: Path) -> None:
    """The filter box types ? and q: F1 and ctrl+q stand in while it has the
    keyboard (F1 opens the help), and ? and q are back on the list."""
    from recon_tui.tui.screens.help import HelpScreen
    from recon_tui.tui.widgets.key_footer import KeyFooter

    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen

        def pinned() -> list[str]:
            bar = screen.query_one(KeyFooter)
            return [b.key for b, _e, _t in bar.shown_bindings(bar.size.width)][-2:]

        assert pinned() == ["question_mark", "q"]
        await pilot.press("slash", "q")
        assert pinned() == ["f1", "ctrl+q"] and app.return_code is None
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "down")  # help closed, then back to the list
        await pilot.pause()
        assert app.screen is screen and pinned() == ["question_mark", "q"]


# --------------------------------------------------------------------------- p in the amount
async def test_p_typed_into_the_amount_field_is_text_not_apply(tmp_path: Path) -> None:
    """The screen's letters (p apply, b by hand, v re-check, x cancel) are typed into
    the focused amount field, never run: nothing is sent to QuickBooks."""
    with running_emulator() as (server, book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pick_10040(pilot, screen)
            amount = screen.query_one("#checklist-amount")
            await pilot.press("enter")  # Enter on the invoice moves to the amount
            await pilot.pause()
            assert amount.has_focus
            amount.value = ""
            await pilot.press("5", "p", "b", "v", "x")
            await quiet(pilot)
            assert amount.value == "5pbvx"
            assert not screen.busy and screen.checklist.state is ChecklistState.CHOOSE_INVOICE
            assert "Applying" not in status_text(screen)
            assert "Press x again" not in status_text(screen)
            assert book.qbo["Invoice"]["9065"]["Balance"] == Decimal("120.0")
            await pilot.press("enter")  # the typed text is refused as an amount
            await pilot.pause()
            assert "'5pbvx' is not an amount" in screen_text(app)


async def test_help_and_quit_stay_in_the_checklist_footer_while_typing_an_amount(
        tmp_path: Path) -> None:
    """The amount field types ? and q, so Textual drops those keys from the footer:
    F1 and ctrl+q stand in there (and F1 opens the help), and only there."""
    from recon_tui.tui.screens.help import HelpScreen
    from recon_tui.tui.widgets.key_footer import KeyFooter

    def footer(screen) -> list[str]:
        bar = screen.query_one(KeyFooter)
        return [binding.key for binding, _e, _t in bar.shown_bindings(bar.size.width)]

    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_checklist(app, pilot)
            assert footer(screen)[-2:] == ["question_mark", "q"]
            await pilot.press("enter")  # Enter on the invoice moves to the amount
            await pilot.pause()
            assert screen.query_one("#checklist-amount").has_focus
            assert footer(screen)[-2:] == ["f1", "ctrl+q"]
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)


def test_the_by_hand_steps_say_where_the_oldest_invoice_comes_from() -> None:
    from recon_tui.models import CreditChecklist, CreditKind

    now = datetime.now(UTC)
    checklist = CreditChecklist(
        id=1, state=ChecklistState.CHOOSE_INVOICE, customer_id="97",
        customer_name="Atomar's Best Tackle", credit_kind=CreditKind.CREDIT_MEMO,
        credit_id="11261", credit_doc_number="CM-1", credit_date=now.date(),
        credit_amount=Decimal("10.00"), created_at=now, updated_at=now)
    steps = manual_steps(checklist, "10040", Decimal("10.00"), default_number="10005")
    assert ("Select invoice 10040 and clear the other invoices (QuickBooks may tick the "
            "oldest open invoice for you; at the last sync that was 10005).") in steps


# --------------------------------------------------------------------------- interrupted
def killed_run(cache: Cache) -> SyncRun:
    """A run left "running" as a SIGKILLed process leaves it."""
    run = SyncRun(kind="full", started_at=datetime.now(UTC),
                  steps=[SyncStep("invoices", "psa", status=SyncStatus.RUNNING)])
    cache.history.start_sync_run(run)
    run.status = SyncStatus.RUNNING
    cache.history.save_sync_progress(run)
    return run


def test_status_label_and_the_cli_line() -> None:
    run = SyncRun(kind="full", id=3, status=SyncStatus.RUNNING,
                  steps=[SyncStep("invoices", "psa", status=SyncStatus.RUNNING)])
    assert status_label(honest_run(run, sync_live=True)) == "running"
    gone = honest_run(run, sync_live=False)
    assert status_label(gone) == "interrupted" and gone.steps[0].status is SyncStatus.CANCELLED
    assert run.status is SyncStatus.RUNNING  # a copy: the record is left to the next sync
    assert "  interrupted " in run_line(gone)


async def test_history_reads_interrupted_as_soon_as_the_lock_holder_dies(
        tmp_path: Path) -> None:
    """A sync process holds the cache's sync lock and is SIGKILLed: the open history
    screen turns its "running" row into "interrupted" without any new sync."""
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        seed_book(cache)
        run = killed_run(cache)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, filelock\n"
         "lock = filelock.FileLock(sys.argv[1], mode=0o600)\n"
         "lock.acquire()\n"
         "print('held', flush=True)\n"
         "time.sleep(120)\n",
         f"{path}.sync-lock"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        app = recon_app(config=Config.default(), cache_path=path, demo=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("h")
            await pilot.pause()
            assert isinstance(app.screen, HistoryScreen)
            table = app.screen.query_one("#runs", VirtualTable)

            def status() -> str:
                row = table.current_row
                assert row is not None and row.key == str(run.id)
                return row.cells[2].plain

            assert status() == "running"  # its process is alive
            holder.kill()
            holder.wait(timeout=10)
            await wait_until(pilot, lambda: status() == "interrupted")
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RunScreen)
            text = screen_text(app)
            assert f"Run #{run.id}: full sync of everything, interrupted" in text
            assert "recon-tui stopped before this sync finished" in text
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
    with Cache(path) as cache:
        assert cache.history.sync_run(run.id).status is SyncStatus.RUNNING  # the screen only reads
