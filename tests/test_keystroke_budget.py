"""Issue 13's keystroke budget on the demo, keys counted (not the text of a
number being typed): seed 001's credit applied through QuickBooks and verified
in QuickBooks in 5 keys from the clients screen, and the PSA side re-checked with
one more after the tech records it in ConnectWise."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from recon_tui.models import ChecklistState
from recon_tui.tui.screens.checklist import ChecklistScreen
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from tests.emulator import running_emulator
from tests.test_tui import SIZE
from tests.test_tui_checklist import record_in_connectwise
from tests.test_tui_sync import demo_app, wait_until


async def test_seed_001_credit_applied_and_verified_in_five_keys(tmp_path: Path) -> None:
    with running_emulator() as (server, book, _plan):
        app = demo_app(tmp_path, server)
        keys: list[str] = []

        async def press(*pressed: str, typed: str = "") -> None:
            keys.extend(pressed)
            await pilot.press(*pressed[:1], *typed, *pressed[1:])
            await pilot.pause()

        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            await press("slash", "enter", typed="11261")  # the credit's id: its client
            await wait_until(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
            await press("a")                               # apply this credit
            await wait_until(pilot, lambda: isinstance(app.screen, ChecklistScreen))
            screen = app.screen
            await wait_until(pilot, lambda: screen.checklist is not None and not screen.busy)
            await press("down")                            # invoice 10040
            await press("p")                               # apply via QuickBooks, verify
            await wait_until(pilot, lambda: not screen.busy and screen.checklist.state in (
                ChecklistState.LEDGER_DONE_PSA_LAGS, ChecklistState.DONE), 1800)
            assert screen.checklist.state is ChecklistState.LEDGER_DONE_PSA_LAGS
            # Applied, and verified in QuickBooks, in 5 keys.
            assert keys == ["slash", "enter", "a", "down", "p"], keys
            # ConnectWise gets the credit (by hand, in ConnectWise), v re-checks.
            record_in_connectwise(book, "10040", Decimal("10.00"))
            await press("v")
            await wait_until(pilot, lambda: not screen.busy
                             and screen.checklist.state is ChecklistState.DONE, 1800)
            [pair] = app.cache.recon.pairs_for_number("10040")
            assert (pair.ledger_owing, pair.psa_owing) == (Decimal("110.00"), Decimal("110.00"))
        # The PSA side is the tech's work in ConnectWise; one more key re-checks it.
        assert keys[5:] == ["v"]
