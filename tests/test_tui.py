"""The TUI driven by the Pilot, asserting what is on screen."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.models import Contact, LedgerCustomer, PsaCompany
from recon_tui.refresh import refresh_reconciliation
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.help import HelpScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.books import ledger_invoice, psa_invoice, seed_book
from tests.tui_app import recon_app
from tests.waits import wait_for_text, wait_until

SIZE = (160, 45)
MARKUP_NAME = "Refund [/] pending [bold]x"


def screen_text(app: ReconApp) -> str:
    """Exactly the characters on the terminal, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def make_app(tmp_path: Path, *, extra=None) -> ReconApp:
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        seed_book(cache)
        if extra:
            extra(cache)
            refresh_reconciliation(cache)
    return recon_app(config=Config.default(), cache_path=path, demo=False)


def add_markup_client(cache: Cache) -> None:
    cache.records.upsert_companies([PsaCompany("9", "REFUND", MARKUP_NAME)])
    cache.records.upsert_customers([LedgerCustomer("99", "Foo [/] Bar Ltd")])
    cache.records.upsert_psa_invoices([psa_invoice("77", "9", "5.00", "5.00",
                                                   day=date(2026, 1, 2))])
    cache.records.upsert_ledger_invoices([ledger_invoice("78", "99", "6.00", "6.00")])


async def test_clients_screen_shows_the_book_worst_first(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        text = screen_text(app)
        for heading in ("Client", "Ledger customer", "PSA owing", "Ledger balance",
                        "Difference", "Unapplied cr.", "Mapping"):
            assert heading in text
        lines = text.splitlines()
        quiet = next(i for i, line in enumerate(lines) if "Quiet Co" in line)
        north = next(i for i, line in enumerate(lines) if "Northwind Traders  " in line)
        assert quiet < north  # -99.00 is worse than +10.00
        assert "-99.00" in lines[quiet] and "unmapped" in lines[quiet]
        assert "40.00" in lines[north] and "50.00" in lines[north] and "10.00" in lines[north]
        # Header: totals, unmapped count, last sync of each side.
        assert "PSA owing 259.00" in text and "Ledger balance 170.00" in text
        assert "1 unmapped ledger customer (m maps it)" in text
        assert "2 of 4 clients discrepant" in text
        assert "PSA synced never" in text


async def test_filter_narrows_as_you_type_and_escape_clears(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#clients", VirtualTable)
        before = table.row_count
        await pilot.press("slash", "n", "o")
        await pilot.pause()
        assert table.row_count < before
        await pilot.press("r", "t", "h")
        await pilot.pause()
        assert table.row_count == 1
        assert "Northwind Traders" in screen_text(app)
        assert "Quiet Co" not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == before
        assert app.focused is table


async def test_enter_opens_the_client_side_by_side_and_escape_returns(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"northwind", "enter")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        text = screen_text(app)
        row = next(line for line in text.splitlines() if "110273" in line)
        # PSA number, total, owing | ledger number, total, balance | differences | status
        assert row.count("110273") == 2
        assert "40.00" in row and "50.00" in row and "10.00" in row and "Matched" in row
        assert "Organizational credits: 0" in text
        assert "Ada North" in text and "can see invoices" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)


async def test_contacts_below_the_portal_level_are_flagged(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"atomars", "enter", "enter")
        await pilot.pause()
        text = screen_text(app)
        bob = next(line for line in text.splitlines() if "Bob Atom" in line)
        assert "cannot see invoices" in bob
        assert "nobody can see invoices" in text


async def test_markup_in_names_renders_literally(tmp_path: Path) -> None:
    app = make_app(tmp_path, extra=add_markup_client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert MARKUP_NAME in text
        assert "Foo [/] Bar Ltd" in text
        await pilot.press("slash", *"refund", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert MARKUP_NAME in screen_text(app)


async def test_unmapped_and_discrepant_toggles(tmp_path: Path) -> None:
    def matched_client(cache: Cache) -> None:
        cache.records.upsert_companies([PsaCompany("5", "CALM", "Calm Corp")])
        cache.records.upsert_customers([LedgerCustomer("55", "Calm Corp")])
        from recon_tui.models import CompanyMapping, MappingMethod

        cache.records.add_mappings([CompanyMapping("55", "5", MappingMethod.MANUAL)])
        cache.records.upsert_psa_invoices([psa_invoice("500", "5", "10.00", "0.00")])
        cache.records.upsert_ledger_invoices([ledger_invoice("500", "55", "10.00", "0.00")])

    app = make_app(tmp_path, extra=matched_client)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#clients", VirtualTable)
        assert "Calm Corp" in screen_text(app)
        await pilot.press("d")
        await pilot.pause()
        assert "Calm Corp" not in screen_text(app)
        assert "with discrepancies" in screen_text(app)
        await pilot.press("d", "u")
        await pilot.pause()
        names = {table.get_row(i).cells[0].plain for i in range(table.row_count)}
        assert "Calm Corp" not in names and "Northwind Traders" not in names
        assert "Quiet Co" in names


async def test_help_lists_the_keys_of_the_screen(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for action in ("Open the client under the cursor", "Filter",
                       "Only clients with discrepancies", "Only unmapped clients", "Quit",
                       "Why can't the client see invoice N?", "Map unmapped ledger customers",
                       "Ledger Invoice Expected but not Found"):
            assert action in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)


async def test_command_palette_lists_every_action(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        commands = {c.title.partition(":")[0] for c in app.get_system_commands(app.screen)}
        assert {"Open", "Filter", "Discrepant", "Unmapped", "No portal", "Export", "Sync",
                "History", "Checklists", "Why hidden?", "Map", "Settings", "Help",
                "Quit"} <= commands
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"discrep")
        await wait_for_text(pilot, "Discrepant: Only clients", screen_text)
        assert "Discrepant: Only clients with discrepancies" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        assert app.screen.client_filter.discrepant_only


async def test_footer_shows_keys_with_descriptions(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    labels = ("Open", "Filter", "Discrepant", "Sync", "Why hidden?", "Map", "Settings",
              "Help", "Quit")
    async with app.run_test(size=SIZE) as pilot:
        # the footer is painted a frame after the screen: wait for it, then read it
        await wait_until(pilot, lambda: "Quit" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        for label in labels:
            assert label in footer


async def test_q_quits(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert app.return_code is None  # running
        await pilot.press("q")
        await pilot.pause()
        # q itself asked the app to exit (leaving run_test would stop it anyway)
        assert app.return_code == 0


async def test_detail_updates_when_the_cache_changes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"northwind", "enter", "enter")
        await pilot.pause()
        with Cache(app.cache_path) as writer:
            writer.records.upsert_psa_invoices([psa_invoice("110273", "1", "50.00", "50.00")])
            writer.records.upsert_contacts([Contact("c9", "1", "Cy", "New",
                                                    portal_security_level=1)])
            refresh_reconciliation(writer)
        from recon_tui.tui.messages import CacheChanged

        app.broadcast(CacheChanged)
        await pilot.pause()
        text = screen_text(app)
        assert "Difference 0.00" in text
        assert "Cy New" in text
        assert app.cache.recon.client("psa:1").difference == Decimal("0.00")


async def test_command_palette_opens_a_client_by_name(tmp_path: Path) -> None:
    app = make_app(tmp_path, extra=add_markup_client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"refund")
        await wait_for_text(pilot, "Open client: ", screen_text)
        assert f"Open client: {MARKUP_NAME}" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.screen.client_key == "psa:9"


def add_credit_memos(cache: Cache) -> None:
    """Northwind (company 1, customer 58): a credit memo applied in the ledger only,
    and a contact whose portal login is disabled."""
    from recon_tui.models import DocKind

    cache.records.upsert_psa_invoices([psa_invoice("CM-7", "1", "25.00", "25.00",
                                                   kind=DocKind.CREDIT_MEMO)])
    cache.records.upsert_ledger_credit_memos([ledger_invoice("CM-7", "58", "25.00", "0.00",
                                                             id="m7", kind=DocKind.CREDIT_MEMO)])
    cache.records.upsert_contacts([Contact("c9", "1", "Lou", "Locked", portal_security_level=6,
                                           portal_login_disabled=True)])


async def test_client_screen_shows_credit_memos_apart_and_disabled_logins(
        tmp_path: Path) -> None:
    app = make_app(tmp_path, extra=add_credit_memos)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(ClientDetailScreen("psa:1"))
        await pilot.pause()
        text = screen_text(app)
        assert "Credit memos: 1 (credit and what is left of it" in text
        memo_line = next(line for line in text.splitlines() if "CM-7" in line)
        assert "25.00" in memo_line and "-25.00" in memo_line and "Matched" in memo_line
        invoices = app.screen.query_one("#invoices", VirtualTable)
        assert all("CM-7" not in str(invoices.source.rows(0, 50)[i].cells[1])
                   for i in range(invoices.source.count()))
        locked = next(line for line in text.splitlines() if "Lou Locked" in line)
        assert "portal login disabled" in locked


def many_causes(cache: Cache) -> None:
    """Seed 000's reversed payment, plus rows of five more causes: an amount edited,
    a ledger-only invoice of a mapped customer and one of an unmapped customer, a
    void on one side, and Quiet Co's invoice never exported."""
    from recon_tui.row_diagnosis import diagnose_pending
    from tests.test_tui_invoice_history import reversed_payment_book

    reversed_payment_book(cache)
    cache.records.upsert_psa_invoices([psa_invoice("300", "1", "30.00", "30.00"),
                                       psa_invoice("301", "1", "31.00", "31.00")])
    cache.records.upsert_ledger_invoices([ledger_invoice("300", "58", "35.00", "35.00"),
                                          ledger_invoice("301", "58", "31.00", "0.00", voided=True),
                                          ledger_invoice("L-1", "58", "12.00", "12.00"),
                                          ledger_invoice("L-2", "59", "13.00", "13.00")])
    refresh_reconciliation(cache)
    diagnose_pending(cache)


def make_cause_app(tmp_path: Path) -> ReconApp:
    """make_app recomputes the pairs after ``extra`` (which clears their causes)."""
    path = tmp_path / "causes.db"
    with Cache(path) as cache:
        many_causes(cache)
    return recon_app(config=Config.default(), cache_path=path, demo=False)


async def test_cause_column_and_counts_per_cause_in_the_header(tmp_path: Path) -> None:
    app = make_cause_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        counts = app.cache.txns.cause_counts()
        assert set(counts) >= {"payment reversed", "amount edited", "created in ledger",
                               "customer unmapped", "voided on one side", "never exported"}
        causes = next(line for line in screen_text(app).splitlines() if "Causes:" in line)
        expected = " · ".join(f"{n} {cause}" for cause, n in counts.items())
        assert causes.strip() == f"Causes: {expected}"
        tooltip = app.screen.query_one("#cause-line").tooltip
        assert all(f"{n}  {cause}" in tooltip.plain for cause, n in counts.items())
        await pilot.press("slash", *"northwind", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        text = screen_text(app)
        header = next(line for line in text.splitlines() if line.startswith("Date "))
        assert header.index("Δ owing") < header.index("Cause") < header.index("Sync status")
        for number, cause in (("110273", "payment reversed"), ("300", "amount edited"),
                              ("301", "voided one side"), ("L-1", "created in ledger")):
            row = next(line for line in text.splitlines() if f" {number} " in line)
            assert cause in row, (number, row)
        invoices = app.screen.query_one("#invoices", VirtualTable)
        cells = {invoices.get_row(i).cells[1].plain: invoices.get_row(i).cells[10].plain
                 for i in range(invoices.row_count)}
        assert cells["110273"] == "payment reversed"


async def test_cause_counts_fit_80_columns(tmp_path: Path) -> None:
    app = make_cause_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        causes = next(line for line in screen_text(app).splitlines() if "Causes:" in line)
        assert len(causes) <= 80 and causes.rstrip().endswith("…")
        assert causes.startswith(" Causes: ")


async def test_help_explains_every_cause_with_its_count(tmp_path: Path) -> None:
    from recon_tui.diagnosis import Cause

    app = make_cause_app(tmp_path)
    async with app.run_test(size=(200, 120)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for cause in Cause:
            assert cause.value in text, cause
        row = next(line for line in text.splitlines()
                   if "payment reversed" in line and "│" in line)
        assert "│    1 │" in row and "deleted, voided or unapplied" in row
        assert "at an invoice by its PSA, ledger or credit number" in text
