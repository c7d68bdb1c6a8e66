"""Names that hold terminal escape sequences never reach the terminal as controls.

A PSA company, a ledger customer, a contact, an invoice number, a credit memo
number and a sync error each carry a window-title OSC, a clear-screen CSI, an OSC 8
hyperlink, a bidi override, an 8-bit CSI and a NUL, plus Rich markup. The book is
loaded by the real sync from two in-memory systems; every screen is then rendered
and what Textual would write to the terminal is checked, byte by byte.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from msgspec.structs import replace
from textual.command import CommandPalette

from recon_tui.backend import Backend
from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.base import ConnectorError
from recon_tui.describe import change_line, describe_resync, describe_run, run_line
from recon_tui.models import (
    Contact,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    SyncStatus,
)
from recon_tui.report.snapshot import build_snapshot
from recon_tui.report.writers import render_text, write_report
from recon_tui.resync import resync_invoice
from recon_tui.sync import run_full_sync
from recon_tui.text import UNSAFE_CHARACTERS, is_printable, printable
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.checklist import ChecklistScreen, ChecklistsScreen
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.export import ExportScreen
from recon_tui.tui.screens.history import HistoryScreen, RunScreen
from recon_tui.tui.screens.mapper import MapperScreen, UnmapScreen
from recon_tui.tui.screens.resync import ResyncScreen
from recon_tui.tui.screens.why import WhyScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.fake_books import FakeLedger, FakePsa
from tests.tui_app import recon_app
from tests.waits import wait_for_text

SIZE = (80, 24)
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
LINK = "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"
RLO = "\u202e"
CSI8 = "\x9b31m"
NUL = "\x00"
MARKUP = "[bold]markup[/]"
PAYLOAD = f"{TITLE}{CLEAR}{LINK}{RLO}{CSI8}{NUL}"

COMPANY = f"{MARKUP} Acme{PAYLOAD}"  # the ledger customer has the same name: auto-mapped
OTHER_CUSTOMER = f"Zed {MARKUP}{PAYLOAD}"  # left unmapped, for the mapper
NUMBER = f"7{TITLE}{CSI8}"
MEMO = f"CM{RLO}{CLEAR}"
PAYMENT_DOC = f"PAY{LINK}"
STATUS = f"Sent{CLEAR}"
ERROR = f"the PSA said {PAYLOAD} {MARKUP}"

FORBIDDEN = frozenset(UNSAFE_CHARACTERS) - {ord("\n")}
# What Textual itself writes between the text: SGR colours and cursor moves.
TEXTUAL_SEQUENCES = re.compile(r"\x1b\[[0-9;:]*m|\x1b\[[0-9]+;[0-9]+H")


class FailingPsa(FakePsa):
    """A PSA whose invoice read fails with a hostile message (once armed)."""

    fail = False

    def invoices(self, since=None):  # type: ignore[no-untyped-def]
        if self.fail:
            raise ConnectorError("ConnectWise", ERROR)
        return super().invoices(since)


def systems() -> tuple[FailingPsa, FakeLedger]:
    psa = FailingPsa(
        companies_by_id={"1": PsaCompany("1", f"ID{TITLE}", COMPANY)},
        contacts_by_id={"c1": Contact("c1", "1", f"Eve{CLEAR}", f"Ivil{RLO}",
                                      portal_security_level=2, email=f"e{TITLE}@x")},
    )
    psa.touch(PsaInvoice("p1", NUMBER, "1", date(2026, 3, 1), Decimal("50.00"),
                         Decimal("40.00"), status=STATUS))
    psa.touch(PsaInvoice("p2", MEMO, "1", date(2026, 3, 2), Decimal("5.00"), Decimal("5.00"),
                         kind=DocKind.CREDIT_MEMO))
    ledger = FakeLedger(customers_by_id={
        "58": LedgerCustomer("58", COMPANY, company_name=f"Legal{CSI8}"),
        "59": LedgerCustomer("59", OTHER_CUSTOMER),
    })
    ledger.touch(LedgerInvoice("l1", NUMBER, "58", date(2026, 3, 1), Decimal("50.00"),
                               Decimal("50.00")))
    ledger.touch(LedgerInvoice("l2", MEMO, "58", date(2026, 3, 2), Decimal("5.00"),
                               Decimal("4.00"), kind=DocKind.CREDIT_MEMO))
    ledger.touch(LedgerInvoice("l3", f"9{NUL}", "59", date(2026, 3, 3), Decimal("8.00"),
                               Decimal("8.00")))
    ledger.payments_by_id["pay1"] = OrganizationalCredit(
        "pay1", CreditKind.UNAPPLIED_PAYMENT, "58", date(2026, 2, 1), Decimal("10.00"),
        Decimal("10.00"), doc_number=PAYMENT_DOC)
    return psa, ledger


def build_book(path: Path) -> tuple[FailingPsa, FakeLedger]:
    """Three recorded runs: the first load, one that changed hostile fields, one that
    failed with a hostile error."""
    psa, ledger = systems()
    with Cache(path) as cache:
        assert run_full_sync(cache, psa, ledger, since=None).status is SyncStatus.SUCCEEDED
        psa.touch(replace(psa.documents["p1"], owing=Decimal("45.00"),
                          status=f"Paid{TITLE}"))
        assert run_full_sync(cache, psa, ledger, since=None).status is SyncStatus.SUCCEEDED
        psa.fail = True
        failed = run_full_sync(cache, psa, ledger, since=None)
        assert failed.status is SyncStatus.FAILED and "pwned" in (failed.error or "")
        psa.fail = False
    return psa, ledger


@pytest.fixture
def book(tmp_path: Path) -> tuple[Path, FailingPsa, FakeLedger]:
    path = tmp_path / f"book{CLEAR}.db"  # the path is shown too (the header's subtitle)
    psa, ledger = build_book(path)
    return path, psa, ledger


def make_app(path: Path, psa: FakePsa, ledger: FakeLedger) -> ReconApp:
    return recon_app(config=Config.default(), cache_path=path, demo=False,
                     backend_factory=lambda: Backend(psa, ledger, "hostile fakes"))


# --------------------------------------------------------------------------- capture
def terminal_bytes(app: ReconApp) -> str:
    """Exactly what the app would write to the terminal for a full repaint of the
    current screen (the headless driver discards it; this is the same call)."""
    return app.screen._compositor.render_update(full=True).render_segments(app.console)


def screen_text(app: ReconApp) -> str:
    """The characters of every cell on the screen, line by line."""
    strips = app.screen._compositor.render_update(full=True).strips
    return "\n".join("".join(s.text for strip in line for s in strip)
                     for line in strips)


def forbidden_in(text: str) -> list[str]:
    return sorted({f"U+{ord(ch):04X}" for ch in text if ord(ch) in FORBIDDEN})


async def settle(app: ReconApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def assert_clean(app: ReconApp, where: str) -> str:
    """Nothing but Textual's own colour and cursor sequences reaches the terminal."""
    raw = terminal_bytes(app)
    left = TEXTUAL_SEQUENCES.sub("", raw)
    assert forbidden_in(left) == [], f"{where}: control characters reach the terminal"
    text = screen_text(app)
    assert forbidden_in(text) == [], f"{where}: control characters in the screen's cells"
    for label in (app.title, app.sub_title, app.screen.title, app.screen.sub_title):
        assert is_printable(str(label or "")), where
    for notification in app._notifications:
        assert is_printable(notification.message), where
        assert is_printable(notification.title or ""), where
    return text


# --------------------------------------------------------------------------- the TUI
async def test_every_screen_shows_hostile_names_without_sending_them(book) -> None:
    path, psa, ledger = book
    app = make_app(path, psa, ledger)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        text = assert_clean(app, "clients")
        assert MARKUP in text  # markup renders literally
        assert "Acme␛]0;pwn" in text  # ...and the escape sequence is shown, made visible
        assert "Zed [bold]markup[/]" in text

        await pilot.press("down", "enter")  # Zed (8.00) is worse than Acme (5.00)
        await settle(app, pilot)
        assert isinstance(app.screen, ClientDetailScreen)
        text = assert_clean(app, "client detail")
        assert MARKUP in text and "7␛]0;" in text
        memos = app.screen.query_one("#memos", VirtualTable)
        assert memos.display and memos.row_count == 1
        assert app.screen.query_one("#contacts", VirtualTable).row_count == 1
        assert app.screen.query_one("#credits", VirtualTable).row_count == 2
        for table in ("#memos", "#credits", "#contacts"):  # scroll each into view
            app.screen.query_one(table, VirtualTable).focus()
            app.screen.query_one(table, VirtualTable).scroll_visible(animate=False)
            await pilot.pause()
            assert_clean(app, f"client detail {table}")
        app.screen.query_one("#invoices", VirtualTable).focus()

        await pilot.press("r")  # resync the hostile invoice from the fakes
        await settle(app, pilot)
        assert isinstance(app.screen, ResyncScreen) and app.screen.error is None
        text = assert_clean(app, "resync")
        assert "7␛]0;pwned␇" in text
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("x")  # unmap: the dialog names both, the notification too
        await pilot.pause()
        assert isinstance(app.screen, UnmapScreen)
        assert_clean(app, "unmap dialog")
        await pilot.press("enter")
        await settle(app, pilot)
        assert any("Unmapped" in n.message for n in app._notifications)
        assert_clean(app, "unmapped notification")

        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert_clean(app, "export dialog")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("m")
        await settle(app, pilot)
        assert isinstance(app.screen, MapperScreen)
        text = assert_clean(app, "mapper")
        assert "Acme" in text
        await pilot.press("enter")  # map it back; the screen says so
        await settle(app, pilot)
        assert_clean(app, "mapper after a map")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert_clean(app, "history")
        runs = app.screen.query_one("#runs", VirtualTable)
        assert runs.row_count == 4 and runs.source is not None  # three syncs, one resync
        seen = ""
        for row in runs.source.rows(0, 4):
            app.push_screen(RunScreen(int(row.key)))
            await settle(app, pilot)
            seen += assert_clean(app, f"history run {row.key}")
            await pilot.press("escape")
            await pilot.pause()
        assert "the PSA said" in seen and "␛]0;pwned␇" in seen  # the failed run's error
        assert "status Sent␛[2J" in seen  # the second run's change, old value shown
        assert "resync of 7␛]0;pwned␇" in seen
        await pilot.press("escape")
        await pilot.pause()

        app.push_screen(WhyScreen(NUMBER))
        await settle(app, pilot)
        assert_clean(app, "why")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("question_mark")
        await pilot.pause()
        assert_clean(app, "help")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("comma")
        await pilot.pause()
        assert_clean(app, "settings")
        await pilot.press("escape")
        await pilot.pause()


async def test_checklist_screens_show_hostile_credits_and_customers(book) -> None:
    path, psa, ledger = book
    app = make_app(path, psa, ledger)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(ChecklistScreen(credit_key="Payment:pay1"))
        await settle(app, pilot)
        assert app.screen.checklist is not None
        text = assert_clean(app, "checklist")
        assert "Acme" in text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistsScreen)
        assert app.screen.query_one("#checklists", VirtualTable).row_count == 1
        assert_clean(app, "open checklists")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")  # the client screen's audit-trail block
        await settle(app, pilot)
        assert_clean(app, "client detail with a checklist")


async def test_the_command_palette_lists_hostile_names_literally(book) -> None:
    path, psa, ledger = book
    app = make_app(path, psa, ledger)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p", *"acme")
        await wait_for_text(pilot, "Open client", screen_text)  # searched in the background
        assert isinstance(app.screen, CommandPalette)
        text = assert_clean(app, "palette")
        assert "Open client: [bold]markup[/]" in text  # the name wraps at 80 columns
        assert "Acme␛]0;pwned␇␛[2J" in text
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ClientDetailScreen) and app.screen.client_key == "psa:1"


async def test_export_notification_and_failure_text_stay_printable(book, tmp_path) -> None:
    path, psa, ledger = book
    app = make_app(path, psa, ledger)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(ExportScreen("psa:1", COMPANY, folder=tmp_path))
        await pilot.pause()
        from textual.widgets import Input

        app.screen.query_one("#export-path", Input).value = str(tmp_path / f"r{TITLE}.md")
        await pilot.press("enter")
        await settle(app, pilot)
        assert (tmp_path / f"r{TITLE}.md").exists()
        assert not any("Report written" in n.message for n in app._notifications)
        await pilot.press("escape")
        await settle(app, pilot)
        assert any("Report written" in n.message for n in app._notifications)
        assert_clean(app, "export written")


# --------------------------------------------------------------------------- the CLI text
def test_describe_output_is_printable(book) -> None:
    path, psa, ledger = book
    with Cache(path) as cache:
        runs = cache.history.sync_runs(10)
        assert len(runs) == 3
        for run in runs:
            changes = cache.history.sync_changes(run.id)
            for line in [run_line(run), *map(change_line, changes)]:
                assert is_printable(line), line
            assert forbidden_in(describe_run(run, changes)) == []
        failed = next(r for r in runs if r.status is SyncStatus.FAILED)
        assert "the PSA said ␛]0;pwned␇" in run_line(failed)
        changed = next(r for r in runs if cache.history.sync_changes(r.id))
        assert any("Paid␛]0;pwned␇" in change_line(c)
                   for c in cache.history.sync_changes(changed.id))
        result = resync_invoice(cache, psa, ledger, NUMBER)
    described = describe_resync(result)
    assert forbidden_in(described) == []
    assert f"resync {printable(NUMBER)}" in described


# --------------------------------------------------------------------------- reports
def test_reports_keep_hostile_names_inert(book, tmp_path: Path) -> None:
    path, _psa, _ledger = book
    with Cache(path) as cache:
        snapshot = build_snapshot(cache, date(2026, 1, 1), date(2026, 12, 31))
    md = render_text(snapshot, "md")
    assert forbidden_in(md) == []
    assert r"\[bold\]markup\[/\] Acme␛\]0;pwned␇" in md  # visible, markdown-escaped
    assert r"\<U+202E\>" in md  # in a table cell, never read as an HTML tag...
    assert "`[bold]markup[/] Acme␛]0;pwned␇␛[2J␛]8;;http://evil␛\\click" in md  # ...in code, exact

    text = render_text(snapshot, "csv")
    assert forbidden_in(text.replace("\r\n", "")) == []
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["psa_invoice_number"] for r in rows} >= {printable(NUMBER)}

    raw = render_text(snapshot, "json")  # exact strings, written as escapes
    assert forbidden_in(raw) == []
    data = json.loads(raw)
    assert COMPANY in {r["psa_company"] for r in data["rows"]}
    assert NUMBER in {r["psa_invoice_number"] for r in data["rows"]}

    xlsx = write_report(snapshot, "xlsx", tmp_path / "r.xlsx")
    cells = [str(v) for ws in openpyxl.load_workbook(xlsx).worksheets
             for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert printable(COMPANY) in cells
    assert all(forbidden_in(cell) == [] for cell in cells)
    assert not any("_x001B_" in cell for cell in cells)
