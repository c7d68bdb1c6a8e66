"""The company mapper screen and unmapping, driven by the Pilot with every key counted."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.models import CompanyMapping, LedgerCustomer, MappingMethod, PsaCompany
from recon_tui.refresh import refresh_reconciliation
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.mapper import MapperScreen, UnmapScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.books import ledger_invoice, seed_book
from tests.test_mapper import PAIRS, company_id, customer_id, intended, mapper_book
from tests.test_refresh import snapshot
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app


class CountingPilot:
    """pilot.press that counts every key, so the keystroke budget is measured."""

    def __init__(self, pilot) -> None:
        self.pilot = pilot
        self.keys: list[str] = []

    async def press(self, *keys: str) -> None:
        self.keys.extend(keys)
        await self.pilot.press(*keys)
        await self.pilot.pause()


def app_for(tmp_path: Path, build) -> ReconApp:
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        build(cache)
    return recon_app(config=Config.default(), cache_path=path, demo=False)


def mapper(app: ReconApp) -> MapperScreen:
    assert isinstance(app.screen, MapperScreen)
    return app.screen


async def open_client(pilot, app: ReconApp, name: str) -> None:
    """/ name Enter opens the client (the list's Enter too, while the filter's Enter
    only moves to the list)."""
    await pilot.press("slash", *name, "enter")
    await pilot.pause()
    if not isinstance(app.screen, ClientDetailScreen):
        await pilot.press("enter")
        await pilot.pause()
    assert isinstance(app.screen, ClientDetailScreen)


def candidate_names(app: ReconApp) -> list[str]:
    table = app.screen.query_one("#mapper-candidates", VirtualTable)
    return [table.get_row(i).cells[1].plain for i in range(table.row_count)]


async def test_twenty_doubtful_companies_cost_two_keys_each_with_undo(tmp_path: Path) -> None:
    """Every name in the book only nearly matches, so every mapping is doubtful: the
    first Enter asks (and maps nothing), the second maps. 20 mappings, 2 keys each."""
    app = app_for(tmp_path, mapper_book)
    async with app.run_test(size=SIZE) as raw:
        pilot = CountingPilot(raw)
        await pilot.press("m")
        screen = mapper(app)
        text = screen_text(app)
        assert "Atomar's Best Tackle" in text and "1 of 20" in text
        assert "2 invoices" in text and "open balance 2,100.00" in text
        assert candidate_names(app)[0] == "Atomars Best Tackle LLC"
        await pilot.press("enter")                      # asks about Atomars Best Tackle LLC
        assert customer_id(0) not in app.cache.records.mapping()
        assert "Enter again maps it" in screen_text(app)
        await pilot.press("enter")                      # ... and maps
        assert app.cache.records.mapping()[customer_id(0)] == company_id(0)
        await pilot.press("enter", "enter")             # Brightline
        assert app.cache.records.mapping()[customer_id(1)] == company_id(1)
        rows_with_brightline = snapshot(app.cache)

        await pilot.press("ctrl+z")                     # undo Brightline ...
        assert customer_id(1) not in app.cache.records.mapping()
        assert screen.session.current.customer.display_name == "Brightline Architechts"
        assert app.cache.recon.client(f"ledger:{customer_id(1)}") is not None  # rows are back
        assert "Undone" in screen_text(app)
        await pilot.press("enter", "enter")             # ... and redo it
        assert snapshot(app.cache) == rows_with_brightline

        await pilot.press("ctrl+k")                     # skip Cedar Valley CU ...
        assert screen.session.current.customer.display_name == "Dr. Olsen Family Dentistry"
        await pilot.press("ctrl+z")                     # ... and come back to it
        assert screen.session.current.customer.display_name == "Cedar Valley CU"

        while screen.session.current is not None:
            current = screen.session.current.customer.id
            name = screen.session.current.customer.display_name
            if name == "Riverbend Auto":               # a true tie: "... Body" ranks level
                assert "Tied at" in screen_text(app)
                await pilot.press("down")
                assert app.screen.query_one("#mapper-candidates",
                                            VirtualTable).current_row.cells[1].plain \
                    == "Riverbend Auto Group"
            await pilot.press("enter")
            assert screen.session.current.customer.id == current  # asked, nothing mapped
            if name == "Globex Corp East":             # its company is taken: Enter refuses
                assert "already mapped to Globex Corporation" in screen_text(app)
                await pilot.press("ctrl+y")
            else:
                await pilot.press("enter")
            assert current in app.cache.records.mapping()
        assert "Queue empty" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, ClientsScreen)

        # m; 20 mappings at 2 keys each; undo + its 2-key redo; skip + undo; ↓; Esc.
        assert len(pilot.keys) == 1 + 20 * 2 + 3 + 2 + 1 + 1, pilot.keys
        mapping = app.cache.records.mapping()
        assert {k: v for k, v in mapping.items() if k != "G1"} == intended()
        for i in range(len(PAIRS)):
            assert app.cache.recon.client(f"ledger:{customer_id(i)}") is None
            client = app.cache.recon.client(f"psa:{company_id(i)}")
            assert client is not None and client.mapped
            assert customer_id(i) in client.ledger_customer_ids
            also_globex = Decimal("75.00") if i == 19 else Decimal("0.00")  # G1's invoice
            assert client.ledger_balance == Decimal(2000 - 50 * i) + 100 + also_globex
            [ledger_only] = app.cache.recon.pairs_for_number(str(9000 + i))
            assert ledger_only.client_key == f"psa:{company_id(i)}"
        # The clients list below was told at once: nobody unmapped is left.
        text = screen_text(app)
        assert "0 unmapped ledger customers" in text
        assert "ledger only" not in text
        incremental = snapshot(app.cache)
        refresh_reconciliation(app.cache)
        assert snapshot(app.cache) == incremental


async def test_typing_searches_every_company_and_narrows(tmp_path: Path) -> None:
    app = app_for(tmp_path, mapper_book)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await pilot.pause()
        before = candidate_names(app)
        assert before[:2] == ["Atomars Best Tackle LLC", "Atomic Bait & Tackle"]
        text = screen_text(app)
        deleted = next(line for line in text.splitlines() if "Atomic Bait & Tackle" in line)
        assert "deleted in PSA" in deleted
        await pilot.press(*"harbor fr")
        await pilot.pause()
        after = candidate_names(app)
        assert after[0] == "Harbor Freight Movers" and len(after) < len(before)
        await pilot.press("ctrl+u", *"zzqx")  # ctrl+u clears the box
        await pilot.pause()
        assert candidate_names(app) == []
        assert 'No PSA company resembles "zzqx"' in screen_text(app)
        await pilot.press("enter")  # nothing highlighted: nothing happens
        await pilot.pause()
        assert customer_id(0) not in app.cache.records.mapping()
        await pilot.press("ctrl+u", *"freight", "enter")  # clear, search, asked
        await pilot.pause()
        assert customer_id(0) not in app.cache.records.mapping()
        assert "Harbor Freight Movers is not a certain match" in screen_text(app)
        await pilot.press("enter")  # confirmed
        await pilot.pause()
        assert app.cache.records.mapping()[customer_id(0)] == "208"
        assert mapper(app).query_one("#mapper-search").value == ""  # fresh for the next one


async def test_a_taken_company_is_marked_on_screen(tmp_path: Path) -> None:
    app = app_for(tmp_path, mapper_book)
    async with app.run_test(size=SIZE) as pilot:
        await open_client(pilot, app, "globex corp east")
        await pilot.press("m")  # from an unmapped client: the mapper starts on it
        await pilot.pause()
        assert mapper(app).session.current.customer.display_name == "Globex Corp East"
        line = next(line for line in screen_text(app).splitlines()
                    if "Globex Corporation" in line and "already mapped" in line)
        assert "already mapped: Globex Corporation" in line


def deleted_company_book(cache: Cache) -> None:
    seed_book(cache)
    cache.records.upsert_companies([PsaCompany("4", "GONE", "Gone Fishing Ltd", status="Inactive",
                                               deleted=True)])
    cache.records.upsert_customers([LedgerCustomer("60", "Gone Fishing")])
    cache.records.upsert_ledger_invoices([ledger_invoice("777", "60", "30.00", "30.00")])
    cache.records.add_mappings([CompanyMapping("60", "4", MappingMethod.MANUAL)])
    refresh_reconciliation(cache)


async def test_a_mapping_to_a_deleted_company_is_flagged(tmp_path: Path) -> None:
    app = app_for(tmp_path, deleted_company_book)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = next(line for line in screen_text(app).splitlines() if "Gone Fishing Ltd" in line)
        assert "mapped (PSA co. deleted)" in row
        north = next(line for line in screen_text(app).splitlines()
                     if "Northwind Traders  " in line)
        assert "deleted" not in north
        await open_client(pilot, app, "gone")
        assert "mapped to a DELETED PSA company" in screen_text(app)


async def test_unmap_from_the_client_screen_with_confirmation(tmp_path: Path) -> None:
    app = app_for(tmp_path, seed_book)
    async with app.run_test(size=SIZE) as pilot:
        before = snapshot(app.cache)
        await open_client(pilot, app, "northwind")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, UnmapScreen)
        assert "Unmap a ledger customer from Northwind Traders" in screen_text(app)
        await pilot.press("escape")  # cancel: nothing changes
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.cache.records.mapping()["58"] == "1"
        await pilot.press("x", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert "58" not in app.cache.records.mapping()
        assert "UNMAPPED" in screen_text(app) and "none mapped" in screen_text(app)
        client = app.cache.recon.client("psa:1")
        assert client is not None and not client.mapped and client.ledger_customer_ids == ()
        incremental = snapshot(app.cache)
        refresh_reconciliation(app.cache)
        assert snapshot(app.cache) == incremental
        await pilot.press("x")  # nothing left to unmap
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)  # a notice, no dialog
        await pilot.press("escape")
        await pilot.pause()
        assert "2 unmapped ledger customers" in screen_text(app)
        # Map it back: the queue starts with Atomar's (bigger balance), skip it; the
        # exact name is then the top candidate, one Enter.
        await pilot.press("m", "ctrl+k")
        await pilot.pause()
        assert mapper(app).session.current.customer.id == "58"
        assert candidate_names(app)[0] == "Northwind Traders"
        await pilot.press("enter", "escape")
        await pilot.pause()
        assert app.cache.records.mapping()["58"] == "1"
        assert snapshot(app.cache) == before
        assert "1 unmapped ledger customer" in screen_text(app)


async def test_help_and_footer_name_the_mapper_keys(tmp_path: Path) -> None:
    app = app_for(tmp_path, mapper_book)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        for label in ("Map to highlighted", "Skip customer", "Undo last", "Back"):
            assert label in footer
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for label in ("Map to highlighted", "Next candidate", "Skip customer", "Undo last"):
            assert label in text


async def test_demo_book_map_then_sync_keeps_the_mapping_and_flags_deleted(
        tmp_path: Path) -> None:
    """End to end on the demo book through the emulator: map Atomar's from its own
    client screen (doubtful: two keys), run a full sync from the app, and the mapping stays;
    Umbrella Health Partners (mapped exactly to a recycle-bin company) is flagged."""
    from tests.emulator import running_emulator
    from tests.test_tui_sync import demo_app, wait_until

    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            await pilot.press("slash", *"umbrella")  # the list narrows as you type
            await pilot.pause()
            row = next(line for line in screen_text(app).splitlines()
                       if "Umbrella Health Partners" in line and "mapped" in line)
            assert "mapped (PSA co. deleted)" in row
            await pilot.press("escape")  # clears the filter
            await pilot.pause()
            await open_client(pilot, app, "atomar's")
            assert app.screen.client_key == "ledger:97"
            await pilot.press("m")
            await pilot.pause()
            assert mapper(app).session.current.customer.id == "97"
            assert candidate_names(app)[0] == "Atomars Best Tackle LLC"
            await pilot.press("enter", "enter", "escape", "escape")
            await pilot.pause()
            assert isinstance(app.screen, ClientsScreen)
            assert app.cache.records.mapping()["97"] == "436"
            await pilot.press("s")
            await pilot.pause()
            app.screen.query_one("#since").value = "2025-01-01"
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.run is not None)
            assert app.screen.run.status.value == "succeeded"
            await pilot.press("escape")
            await pilot.pause()
            mapping = app.cache.mapper.company_mapping("97")
            assert mapping is not None and mapping.psa_company_id == "436"
            assert mapping.method is MappingMethod.MANUAL
            client = app.cache.recon.client("psa:436")
            assert client is not None and "97" in client.ledger_customer_ids
            assert app.cache.recon.client("ledger:97") is None


async def test_a_question_is_dropped_by_moving_or_typing(tmp_path: Path) -> None:
    """Enter asked about one company; the cursor moving away and back, or typing,
    drops the question, so the next Enter asks again instead of mapping."""
    app = app_for(tmp_path, mapper_book)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "enter")
        await pilot.pause()
        assert "Enter again maps it" in screen_text(app)
        await pilot.press("down", "up")
        await pilot.pause()
        assert "Enter again maps it" not in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert customer_id(0) not in app.cache.records.mapping()  # asked again, not mapped
        await pilot.press("a", "backspace")  # the same list again, but a new search
        await pilot.pause()
        assert "Enter again maps it" not in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert customer_id(0) not in app.cache.records.mapping()
        await pilot.press("enter")  # the confirmation
        await pilot.pause()
        assert app.cache.records.mapping()[customer_id(0)] == company_id(0)
