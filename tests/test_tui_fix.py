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
from recon_tui.tui.screens.fix import FixScreen
from tests.emulator import backend_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.test_tui_sync import wait_until

NUMBER = json.loads((sample_data_dir() / "scenarios.json").read_text())["causes"][
    Cause.PAYMENT_PSA_ONLY.value]


def demo_app(tmp_path: Path, server) -> ReconApp:
    return ReconApp(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                    backend_factory=lambda: backend_for(server))


async def test_payment_in_psa_only_is_fixed_through_the_api_and_verified(tmp_path: Path):
    with running_emulator() as (server, book, _plan):
        payments_before = len(book.qbo["Payment"])
        app = demo_app(tmp_path, server)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            (row,) = app.cache.pairs_for_number(NUMBER)
            assert row.cause == Cause.PAYMENT_PSA_ONLY.value
            app.start_fix(row.pair_id)
            await wait_until(pilot, lambda: isinstance(app.screen, FixScreen))
            await pilot.pause()
            text = screen_text(app)
            assert "Will write to QuickBooks: a payment of" in text
            assert "Enter writes it" in text
            await pilot.press("enter")
            await wait_until(pilot, lambda: "Verified: both sides agree." in screen_text(app))
        cache = Cache(tmp_path / "demo.db")
        try:
            (after,) = cache.pairs_for_number(NUMBER)
            assert not after.discrepant and after.difference_owing == Decimal("0")
            (fix,) = cache.fixes()
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
            app.config, app.demo = real, False  # as for a real account
            (row,) = app.cache.pairs_for_number(NUMBER)
            payments_before = len(book.qbo["Payment"])
            app.start_fix(row.pair_id)
            await wait_until(pilot, lambda: isinstance(app.screen, FixScreen))
            await pilot.pause()
            text = screen_text(app)
            assert "Enter is off: writes to QuickBooks are off: set [ledger] allow_writes" in text
            assert "Receive payment" in text
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert len(book.qbo["Payment"]) == payments_before
