"""The mapper's safety on the demo book, driven by the Pilot through the emulator,
with the keys each mapping costs counted: a certain mapping 1 key, a doubtful one 2;
a deleted and already-mapped company refuses a single Enter and says why; a tie
shows what tells the tied companies apart."""

from __future__ import annotations

from pathlib import Path

from recon_tui.models import MappingMethod
from recon_tui.tui.screens.mapper import MapperScreen, UnmapScreen
from tests.emulator import running_emulator
from tests.test_tui import SIZE, screen_text
from tests.test_tui_mapper import CountingPilot, candidate_names, mapper, open_client
from tests.test_tui_sync import demo_app, wait_until

NARROW = (80, 24)


async def open_mapper_on(pilot, app, name: str) -> None:
    """From the clients list: the unmapped client's screen, then m (keys not counted:
    they find the customer, they do not map it)."""
    await wait_until(pilot, lambda: not app.loading)
    await open_client(pilot, app, name)
    await pilot.press("m")
    await wait_until(pilot, lambda: isinstance(app.screen, MapperScreen))
    await pilot.pause()


async def test_demo_a_certain_mapping_costs_one_key(tmp_path: Path) -> None:
    """Blue Ridge Dental Group, unmapped by hand: its exact name is certain, so the
    one Enter maps it back and the mapper moves on."""
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as raw:
            await wait_until(raw, lambda: not app.loading)
            assert app.cache.records.mapping()["58"] == "254"
            await open_client(raw, app, "blue ridge")
            await raw.press("x")
            await wait_until(raw, lambda: isinstance(app.screen, UnmapScreen))
            await raw.press("enter")
            await wait_until(raw, lambda: "58" not in app.cache.records.mapping())
            await raw.press("m")
            await wait_until(raw, lambda: isinstance(app.screen, MapperScreen))
            screen = mapper(app)
            while screen.session.current.customer.id != "58":  # the queue, biggest first
                await raw.press("ctrl+k")
                await raw.pause()
            text = screen_text(app)
            assert candidate_names(app)[0] == "Blue Ridge Dental Group"
            assert "certain match: Enter maps it" in text
            pilot = CountingPilot(raw)
            await pilot.press("enter")
            assert pilot.keys == ["enter"]
            mapping = app.cache.mapper.company_mapping("58")
            assert mapping is not None and mapping.psa_company_id == "254"
            assert mapping.method is MappingMethod.MANUAL
            assert screen.session.current.customer.id != "58"
            assert "Mapped Blue Ridge Dental Group → Blue Ridge Dental Group" in \
                screen_text(app)


async def test_demo_a_doubtful_mapping_costs_two_keys_and_shows_why(tmp_path: Path) -> None:
    """Atomar's Best Tackle: the top candidate only nearly matches. Before any key the
    panel shows why it ranks; the first Enter asks, the second maps."""
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as raw:
            await open_mapper_on(raw, app, "atomar's")
            assert mapper(app).session.current.customer.id == "97"
            assert candidate_names(app)[0] == "Atomars Best Tackle LLC"
            text = screen_text(app)
            assert "not certain: Enter asks, Enter again maps" in text
            assert "name score 97, not certain, the names differ" in text
            assert "identifier: AtomarsBT" in text
            assert "contacts' e-mail: @atomarsbt.example.com" in text
            assert "invoice numbers shared: 13 (10005, 10040, 10155, …)" in text
            assert "open balance: ledger 485.00 on 13 invoices · PSA 485.00 on 13 " \
                "invoices" in text
            pilot = CountingPilot(raw)
            await pilot.press("enter")
            assert "97" not in app.cache.records.mapping()
            text = screen_text(app)
            assert "Atomars Best Tackle LLC is not a certain match (name score 97: the " \
                "names differ). Enter again maps it" in text
            assert "waiting for you: Enter again maps" in text
            await pilot.press("enter")
            assert app.cache.records.mapping()["97"] == "436"
            assert pilot.keys == ["enter", "enter"]


async def test_demo_a_deleted_already_mapped_company_refuses_enter(tmp_path: Path) -> None:
    """Keystone Realty Partners' top candidate (score 62) is Umbrella Health Partners,
    deleted in ConnectWise and mapped to its own customer: Enter, however often, maps
    nothing and says why; ctrl+y after it is the explicit confirm."""
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as raw:
            await open_mapper_on(raw, app, "keystone")
            assert mapper(app).session.current.customer.id == "104"
            assert candidate_names(app)[0] == "Umbrella Health Partners"
            text = screen_text(app)
            assert "⚠ deleted in the PSA; already mapped to Umbrella Health Partners" in text
            assert "Enter will not map it; Enter then ctrl+y maps anyway" in text
            assert "name score 62, not certain, the names differ" in text
            assert "invoice numbers shared: none" in text
            pilot = CountingPilot(raw)
            for _ in range(2):
                await pilot.press("enter")
                assert "104" not in app.cache.records.mapping()
                assert "Not mapped: Umbrella Health Partners is deleted in the PSA and " \
                    "already mapped to Umbrella Health Partners. ctrl+y maps anyway" \
                    in screen_text(app)
            await pilot.press("down")  # another candidate: the question is dropped
            await pilot.press("up", "ctrl+y")
            assert "104" not in app.cache.records.mapping()
            assert "Press Enter on Umbrella Health Partners first" in screen_text(app)
            await pilot.press("enter", "ctrl+y")
            assert app.cache.records.mapping()["104"] == "458"
            await pilot.press("ctrl+z")  # and back: it was only to show the confirm works
            assert "104" not in app.cache.records.mapping()
            assert mapper(app).session.current.customer.id == "104"


async def test_demo_a_tie_shows_what_differs_at_80x24(tmp_path: Path) -> None:
    """Northwind Traders Inc: "Northwind Traders" and "Northwind Traders, LLC" both
    score 100 (the same name once normalised, so neither is certain). At 80x24 the
    panel shows what tells them apart; the right one then costs two keys."""
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        async with app.run_test(size=NARROW) as raw:
            await wait_until(raw, lambda: not app.loading)
            # All its invoices pair by number with one company or the other, so it has
            # no client row of its own: m opens the queue, biggest balance first.
            await raw.press("m")
            await wait_until(raw, lambda: isinstance(app.screen, MapperScreen))
            await raw.pause()
            assert mapper(app).session.current.customer.id == "98"
            assert candidate_names(app)[:2] == ["Northwind Traders", "Northwind Traders, LLC"]
            text = screen_text(app)
            assert "2 PSA companies have this name once normalised" in text
            assert "Tied at 100 with Northwind Traders, LLC; what differs" in text
            assert "identifier: Northwind | NorthwindLLC" in text
            assert "contacts' e-mail: @northwind.example.com | @northwindllc.example.com" \
                in text
            assert "invoice numbers shared: 27 (10064, 10076, 10078, …) | 2 (10103, 10876)" \
                in text
            assert "PSA owes: 8,226.40 on 28 invoices | 0.00 on 2 invoices" in text
            assert "the same for all: status Active · mapped to nobody yet" in text
            await raw.press("down")
            await raw.pause()
            assert "Tied at 100 with Northwind Traders;" in screen_text(app)
            assert "identifier: NorthwindLLC | Northwind" in screen_text(app)
            await raw.press("up")
            await raw.pause()
            pilot = CountingPilot(raw)
            await pilot.press("enter")
            assert "98" not in app.cache.records.mapping()
            await pilot.press("enter")
            assert app.cache.records.mapping()["98"] == "437"
            assert pilot.keys == ["enter", "enter"]
