"""The doctor's checks in the TUI: shown at once when a sync fails on a
connection or a key, and from the palette (ctrl+d) any time."""

from __future__ import annotations

from pathlib import Path

from recon_tui.config import load_config
from recon_tui.tui.screens.doctor import DoctorScreen
from recon_tui.tui.screens.sync import SyncScreen, looks_like_connection
from tests.emulator import config_file_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app
from tests.waits import wait_until


def checks_text(screen: DoctorScreen) -> str:
    return str(screen.query_one("#doctor-checks").content)


async def test_a_sync_refused_on_the_key_shows_the_checks_with_the_fix(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        path = config_file_for(server, tmp_path, private_key="not-the-key")
        app = recon_app(config=load_config(path), cache_path=tmp_path / "live.db", demo=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen))
            app.screen.query_one("#since").value = ""
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, DoctorScreen), 1800)
            doctor = app.screen
            # The title is set on mount, a frame after the screen is pushed.
            await wait_until(pilot, lambda: "The sync failed" in str(
                doctor.query_one("#doctor-title").content))
            await wait_until(pilot, lambda: doctor.done, 1800)
            text = checks_text(doctor)
            assert "✗" in text and "fix:" in text
            assert "authenticated" in text and "not-the-key" not in screen_text(app)
            assert " failed." in str(doctor.query_one("#doctor-status").content)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, SyncScreen)
            assert app.cache.records.counts()["psa_invoice"] == 0  # nothing written


async def test_ctrl_d_runs_the_checks_on_a_healthy_book(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        path = config_file_for(server, tmp_path)
        app = recon_app(config=load_config(path), cache_path=tmp_path / "live.db", demo=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+d")
            await wait_until(pilot, lambda: isinstance(app.screen, DoctorScreen))
            doctor = app.screen
            await wait_until(pilot, lambda: doctor.done, 1800)
            text = checks_text(doctor)
            assert "✓" in text and "✗" not in text, text


def test_which_failures_are_about_connections() -> None:
    assert looks_like_connection("connectwise: list companies: HTTP 401 (check the keys)")
    assert looks_like_connection("qbo: refresh access token: ... (invalid_grant: expired")
    assert not looks_like_connection("step 'ledger invoices' failed: the page proved short")
