"""Find by invoice number: the cache's indexed lookups, the clients filter and
the command palette, each opening the client at that row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import CreditKind, DocKind, OrganizationalCredit
from recon_tui.refresh import refresh_reconciliation
from recon_tui.row_diagnosis import diagnose_pending
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.resync import ResyncScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.books import ledger_invoice, psa_invoice, seed_book
from tests.test_tui import MARKUP_NAME, SIZE, add_markup_client, screen_text
from tests.test_tui_invoice_history import reversed_payment_book
from tests.tui_app import recon_app
from tests.waits import wait_for_text

DAY = date(2026, 3, 1)


def busy_northwind(cache: Cache) -> None:
    """Seed 000's book, with 30 more Northwind invoices, ten of them further apart
    than 110273 (so 110273 is not the first row), and numbers sharing its prefix."""
    reversed_payment_book(cache)
    psa, ledger = [], []
    for n in range(30):
        number = f"2{n:04d}"
        gap = "20.00" if n < 10 else "0.00"
        psa.append(psa_invoice(number, "1", "100.00", "80.00" if n < 10 else "100.00",
                               day=DAY - timedelta(days=n)))
        ledger.append(ledger_invoice(number, "58", "100.00",
                                     str(Decimal("80.00") + Decimal(gap)) if n < 10
                                     else "100.00", day=DAY - timedelta(days=n)))
    psa += [psa_invoice("110274", "2", "5.00", "5.00"), psa_invoice("1102", "3", "7.00", "7.00")]
    cache.records.upsert_psa_invoices(psa)
    cache.records.upsert_ledger_invoices(ledger)
    cache.records.upsert_credits([OrganizationalCredit(
        "10914", CreditKind.UNAPPLIED_PAYMENT, "58", DAY, Decimal("25.00"), Decimal("25.00"),
        doc_number="ACH-88213")])
    refresh_reconciliation(cache)
    diagnose_pending(cache)


def make_app(tmp_path: Path, build=busy_northwind) -> ReconApp:
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        build(cache)
    return recon_app(config=Config.default(), cache_path=path, demo=False)


# -- the cache
def test_exact_numbers_on_either_side_and_prefixes_from_four_characters(cache: Cache) -> None:
    busy_northwind(cache)
    [hit] = cache.lookup.find_number("110273")
    assert (hit.what, hit.number, hit.client_key, hit.client_name, hit.exact) == (
        "invoice", "110273", "psa:1", "Northwind Traders", True)
    assert (hit.amount, hit.discrepant, hit.cause) == (Decimal("10.00"), True,
                                                      "payment reversed")
    assert cache.recon.pair_row(hit.pair_id).psa_number == "110273"
    assert [h.number for h in cache.lookup.find_number("#110273")] == ["110273"]
    # A prefix: the exact number first, then those starting with it, and no other.
    assert [(h.number, h.exact) for h in cache.lookup.find_number("1102")] == [
        ("1102", True), ("110273", False), ("110274", False)]
    assert cache.lookup.find_number("110") == []  # three characters: exact only
    assert [h.number for h in cache.lookup.find_number("2000")] == [f"2{n:04d}" for n in range(10)]
    # A number only the ledger has (a ledger-only document) is found by its doc number.
    cache.records.upsert_ledger_invoices([ledger_invoice("L-900", "58", "9.00", "9.00")])
    refresh_reconciliation(cache)
    [ledger_only] = cache.lookup.find_number("l-900")  # typed in lower case
    assert ledger_only.number == "L-900" and ledger_only.client_key == "psa:1"


def test_credits_by_id_and_by_doc_number(cache: Cache) -> None:
    busy_northwind(cache)
    [memo] = cache.lookup.find_number("11261")
    assert (memo.what, memo.credit_key, memo.client_key, memo.amount) == (
        "credit", "CreditMemo:11261", "ledger:59", Decimal("10.00"))
    assert memo.client_name == "Atomar's Best Tackle"
    [payment] = cache.lookup.find_number("ACH-88213")
    assert (payment.credit_key, payment.client_key) == ("Payment:10914", "psa:1")
    assert [h.credit_key for h in cache.lookup.find_number("ach-8821")] == ["Payment:10914"]
    assert [h.credit_key for h in cache.lookup.find_number("10914")] == ["Payment:10914"]


def test_credit_memo_rows_by_number_and_by_their_ledger_id(cache: Cache) -> None:
    from tests.test_tui import add_credit_memos

    seed_book(cache)
    add_credit_memos(cache)
    refresh_reconciliation(cache)
    [by_number] = cache.lookup.find_number("CM-7")
    [by_id] = cache.lookup.find_number("m7")
    assert by_number.what == "credit memo" and by_number.pair_id == by_id.pair_id
    assert cache.recon.pair_row(by_id.pair_id).kind is DocKind.CREDIT_MEMO


def test_every_lookup_reads_an_index_not_the_invoices(cache: Cache) -> None:
    """No scan per keystroke: each statement the lookup runs searches an index. The
    open credits' payment references are the one table read whole (a few per
    customer), never the invoice rows."""
    busy_northwind(cache)
    statements: list[str] = []
    cache.conn.set_trace_callback(statements.append)
    for typed in ("1", "11", "110", "1102", "110273", "ACH-8", "CM-1004", "zzzz"):
        cache.lookup.find_number(typed)
    [hit] = cache.lookup.find_number("110273")
    cache.lookup.client_pair_index(hit.pair_id)
    cache.lookup.pair_id_for(DocKind.INVOICE, "p110273", "l110273")
    cache.conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) > 50
    for sql in selects:
        plan = [row[3] for row in cache.conn.execute("EXPLAIN QUERY PLAN " + sql)]
        scans = [step for step in plan if step.startswith("SCAN")]
        assert scans in ([], ["SCAN c"]), (sql, plan)
        if scans:
            assert "FROM ledger_credit c" in sql and "c.kind = 'Payment'" in sql


def test_a_rows_index_in_its_client_list(cache: Cache) -> None:
    busy_northwind(cache)
    rows = cache.recon.client_pairs("psa:1", 0, 1000)
    assert len(rows) == 31
    assert [cache.lookup.client_pair_index(r.pair_id) for r in rows] == list(range(31))
    [hit] = cache.lookup.find_number("110273")
    assert cache.lookup.client_pair_index(hit.pair_id) == 10  # after the ten 20.00 gaps
    assert cache.lookup.client_pair_index(99_999) is None


def test_a_rows_new_id_after_a_recompute(cache: Cache) -> None:
    busy_northwind(cache)
    [before] = cache.lookup.find_number("110273")
    cache.conn.execute("UPDATE invoice_pair SET id = id + 1000")
    assert cache.lookup.pair_id_for(DocKind.INVOICE, "p110273", None) == before.pair_id + 1000
    assert cache.lookup.pair_id_for(DocKind.INVOICE, None, "l110273") == before.pair_id + 1000
    assert cache.lookup.pair_id_for(DocKind.INVOICE, "nope", "nope") is None


# -- the clients filter
async def test_filter_finds_by_number_and_enter_lands_on_the_row(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"110273")
        await pilot.pause()
        table = app.screen.query_one("#clients", VirtualTable)
        assert table.row_count == 1
        text = screen_text(app)
        row = next(line for line in text.splitlines() if "Northwind Traders" in line)
        assert row.startswith("invoice 110273 ▸ Northwind Traders (")
        assert table.get_row(0).cells[0].plain == (
            "invoice 110273 ▸ Northwind Traders (difference 10.00, payment reversed)")
        assert "1 by number, 0 by name — Enter opens invoice 110273" in text
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClientDetailScreen) and screen.client_key == "psa:1"
        invoices = screen.query_one("#invoices", VirtualTable)
        assert invoices.has_focus
        assert invoices.cursor_row == 10
        assert invoices.current_row.cells[1].plain == "110273"
        cursor_line = next(line for line in screen_text(app).splitlines()
                           if line.startswith("2026-03-01 110273"))
        assert "payment reversed" in cursor_line  # the Cause column
        await pilot.press("r")  # the existing resync key, on that invoice
        await pilot.pause()
        assert isinstance(app.screen, ResyncScreen) and app.screen.number == "110273"


async def test_filter_prefix_lists_each_match_and_a_name_still_matches(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"11027")
        await pilot.pause()
        table = app.screen.query_one("#clients", VirtualTable)
        names = [table.get_row(i).cells[0].plain for i in range(table.row_count)]
        assert names == ["invoice 110273 ▸ Northwind Traders (difference 10.00, payment "
                         "reversed)", "invoice 110274 ▸ Atomars Best Tackle LLC "
                         "(difference -5.00, never exported)"]
        assert "2 by number, 0 by name" in screen_text(app)
        await pilot.press("enter")  # two prefix matches: pick one in the list
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen) and table.has_focus
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.screen.client_key == "psa:2"
        invoices = app.screen.query_one("#invoices", VirtualTable)
        assert invoices.current_row.cells[1].plain == "110274"
        await pilot.press("escape")
        await pilot.pause()
        app.screen.query_one("#filter").value = "quiet"  # names still filter as before
        await pilot.pause()
        assert [table.get_row(i).cells[0].plain for i in range(table.row_count)] == ["Quiet Co"]


async def test_filter_finds_a_credit_and_opens_the_client_on_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"ACH-88213", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClientDetailScreen) and screen.client_key == "psa:1"
        credits = screen.query_one("#credits", VirtualTable)
        assert credits.has_focus and credits.current_row.key == "Payment:10914"


# -- the command palette
async def test_palette_finds_by_number_and_opens_at_the_row(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"110273")
        text = await wait_for_text(pilot, "Open invoice 110273", screen_text)
        assert ("Open invoice 110273 — Northwind Traders (difference 10.00, payment reversed)"
                in text)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClientDetailScreen) and screen.client_key == "psa:1"
        invoices = screen.query_one("#invoices", VirtualTable)
        assert invoices.cursor_row == 10 and invoices.current_row.cells[1].plain == "110273"


async def test_palette_numbers_of_hostile_clients_stay_literal(tmp_path: Path) -> None:
    def build(cache: Cache) -> None:
        seed_book(cache)
        add_markup_client(cache)
        refresh_reconciliation(cache)

    app = make_app(tmp_path, build)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", "7", "7")
        await wait_for_text(pilot, "Open invoice 77 ", screen_text)
        assert f"Open invoice 77 — {MARKUP_NAME} (" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen) and app.screen.client_key == "psa:9"


# -- seed 000 on the demo: / 110273 Enter r
async def test_demo_seed_000_in_three_keys_besides_the_number(tmp_path: Path) -> None:
    app = recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                    sample_dir=sample_data_dir())
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.load_error is None
        await pilot.press("slash", *"110273", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClientDetailScreen)
        assert "Redwood Family Law" in screen_text(app)
        invoices = screen.query_one("#invoices", VirtualTable)
        assert invoices.current_row.cells[1].plain == "110273"
        await pilot.press("r")
        await pilot.pause()
        resync = app.screen
        assert isinstance(resync, ResyncScreen) and resync.number == "110273"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert resync.done and resync.error is None, resync.error
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        # The client screen re-read the cache and the cursor is still on 110273.
        assert invoices.current_row.cells[1].plain == "110273"
        [row] = app.cache.recon.pairs_for_number("110273")
        assert invoices.current_row.key == str(row.pair_id)
        # Resolved: the resync brought both systems' 50.00 (the payment reversed on
        # each side) and the row agrees.
        assert (row.psa_owing, row.ledger_owing) == (Decimal("50.00"), Decimal("50.00"))
        assert not row.discrepant and row.cause is None
