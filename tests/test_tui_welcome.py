"""First launch with no configuration: the demo opens behind an offer to explore
it or connect real accounts; the connect screen runs the same flows as
``recon-tui connect`` in workers."""

from __future__ import annotations

import argparse
from pathlib import Path

from recon_tui.cli import _first_launch
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.connect import ConnectScreen
from recon_tui.tui.screens.welcome import WelcomeScreen
from tests.test_tui import SIZE, screen_text
from tests.test_tui_sync import wait_until


def args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**({"demo": False, "config": None} | kw))


def test_the_offer_is_made_on_the_very_first_launch_only(tmp_path: Path) -> None:
    cache = tmp_path / "demo.db"
    target = tmp_path / "config.toml"
    assert _first_launch(args(config=str(target)), Config.default(), True, cache) == target
    assert _first_launch(args(demo=True), Config.default(), True, cache) is None
    cache.write_bytes(b"")  # the demo was opened before
    assert _first_launch(args(), Config.default(), True, cache) is None
    live = Config(path=target)
    assert _first_launch(args(), live, False, tmp_path / "other.db") is None


def demo_app(tmp_path: Path) -> ReconApp:
    return ReconApp(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                    sample_dir=sample_data_dir(), welcome=tmp_path / "config.toml")


async def test_enter_explores_the_demo_loading_behind(tmp_path: Path) -> None:
    app = demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        text = screen_text(app)
        assert "No accounts are connected yet" in text and "connect my accounts" in text
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        await wait_until(pilot, lambda: not app.loading)
        assert app.load_error is None and app.cache.counts()["psa_invoice"] > 1000


async def test_c_opens_the_connect_screen_which_refuses_missing_answers(tmp_path: Path) -> None:
    app = demo_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConnectScreen)
        await pilot.click("#qbo-go")
        await pilot.pause()
        assert "the client ID is missing" in screen_text(app)
        screen.query_one("#qbo-client-id").value = "ABclient"
        screen.query_one("#qbo-secret").value = "s3cret-value"
        screen.query_one("#qbo-redirect").value = "http://192.168.1.5/callback"
        screen.query_one("#qbo-production").value = True
        await pilot.click("#qbo-go")
        await pilot.pause()
        assert "IP address" in screen_text(app) or "https" in screen_text(app)
        assert "s3cret-value" not in screen_text(app)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, ConnectScreen)  # nothing connected: stays
        assert not (tmp_path / "config.toml").exists()
