"""The demo's "systems really disagree" story, from launch to a verified 0.00:
a portal payment ConnectWise has and QuickBooks never got (invoice 11019) is
found by number, diagnosed, and recorded in QuickBooks by the guided fix."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

from recon_tui.backend import sandbox_configs
from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.diagnosis import Cause
from recon_tui.fixes import FixState
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.fix import FixScreen
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.emulator import backend_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app
from tests.waits import quiet, wait_until

NUMBER = json.loads((sample_data_dir() / "scenarios.json").read_text())["causes"][
    Cause.PAYMENT_PSA_ONLY.value]


def demo_app(tmp_path: Path, server) -> ReconApp:
    return recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                     backend_factory=lambda: backend_for(server))


async def test_payment_in_psa_only_is_fixed_through_the_api_and_verified(tmp_path: Path):
    with running_emulator() as (server, book, _plan):
        payments_before = len(book.qbo["Payment"])
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            (row,) = app.cache.recon.pairs_for_number(NUMBER)
            assert row.cause == Cause.PAYMENT_PSA_ONLY.value
            # The tech types the number, lands on the row, and f starts its fix.
            await pilot.press("slash", *NUMBER, "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
            await pilot.pause()
            invoices = app.screen.query_one("#invoices", VirtualTable)
            assert invoices.current_row.key == str(row.pair_id)
            await pilot.press("f")
            await wait_until(pilot, lambda: isinstance(app.screen, FixScreen))
            await pilot.pause()
            text = screen_text(app)
            assert "Will write to QuickBooks: a payment of" in text
            assert "Enter writes it" in text
            await pilot.press("enter")
            await wait_until(pilot, lambda: "Verified: both sides agree." in screen_text(app))
        cache = Cache(tmp_path / "demo.db")
        try:
            (after,) = cache.recon.pairs_for_number(NUMBER)
            assert not after.discrepant and after.difference_owing == Decimal("0")
            (fix,) = cache.fixes.recent()
            assert fix.state is FixState.DONE and fix.request_id
        finally:
            cache.close()
        assert len(book.qbo["Payment"]) == payments_before + 1


async def test_with_writes_off_the_fix_says_so_and_offers_the_hand_path(tmp_path: Path):
    with running_emulator() as (server, book, _plan):
        ledger_config, psa_config = sandbox_configs(server.url)
        real = dataclasses.replace(Config.default(), ledger=ledger_config, psa=psa_config)
        assert not real.is_demo and not ledger_config.allow_writes
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            app.session.config, app.session.demo = real, False  # as for a real account
            (row,) = app.cache.recon.pairs_for_number(NUMBER)
            payments_before = len(book.qbo["Payment"])
            app.start_fix(row.pair_id)
            await wait_until(pilot, lambda: isinstance(app.screen, FixScreen))
            await pilot.pause()
            text = screen_text(app)
            assert "Enter is off: writes to QuickBooks are off: set [ledger] allow_writes" in text
            assert "Receive payment" in text
            await pilot.press("enter")
            await quiet(pilot)
            assert len(book.qbo["Payment"]) == payments_before


async def test_f_on_a_row_that_agrees_says_there_is_nothing_to_fix(tmp_path: Path):
    with running_emulator() as (server, _book, _plan):
        app = demo_app(tmp_path, server)
        notes: list[str] = []
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            agreeing = next(r for r in app.cache.recon.pairs_for_number("220477-4"))
            assert not agreeing.discrepant
            app.notify = lambda message, **kw: notes.append(message)
            app.open_client(agreeing.client_key, pair_id=agreeing.pair_id)
            await pilot.pause()
            await pilot.press("f")
            await pilot.pause()
            assert isinstance(app.screen, ClientDetailScreen)
            assert notes == ["Nothing to fix: the two sides agree on this invoice."]
