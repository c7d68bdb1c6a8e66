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
from tests.tui_app import recon_app
from tests.waits import wait_until


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
    return recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
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
        assert app.load_error is None and app.cache.records.counts()["psa_invoice"] > 1000


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


def next_step(screen: ConnectScreen) -> str:
    return str(screen.query_one("#connect-next").content)


def status(screen: ConnectScreen, which: str) -> str:
    return str(screen.query_one(f"#{which}-status").content)


def play_the_browser(url: str) -> None:
    """What the tech's browser does: open the consent page, press Connect, follow
    the redirect back to the loopback listener."""
    import html
    import re

    import httpx

    page = httpx.get(url)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = {name: html.unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text)}
    origin = url.split("/connect/")[0]
    answer = httpx.post(origin + action, data={**fields, "decision": "connect"})
    assert answer.status_code in (302, 303), answer.text
    back = httpx.get(answer.headers["location"])
    assert back.status_code == 200 and "Authorized" in back.text


async def test_connect_both_systems_from_the_tui_then_open_the_book(tmp_path: Path) -> None:
    """The whole onboarding in the TUI over real sockets: QuickBooks by the consent
    page and the loopback redirect, ConnectWise by its site lookup and one call with
    the keys, then ctrl+o leaves the demo and the first sync of the real book runs."""
    import asyncio
    import threading

    from recon_tui.backend import SANDBOX_CONNECTWISE, SANDBOX_LEDGER
    from recon_tui.config import load_config
    from recon_tui.tui.screens.sync import SyncScreen
    from tests.emulator import running_emulator

    target = tmp_path / "config.toml"
    with running_emulator() as (server, _book, _plan):
        app = recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                        sample_dir=sample_data_dir(), welcome=target)
        async with app.run_test(size=(120, 50)) as pilot:
            await pilot.pause()
            await pilot.press("c")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ConnectScreen)
            screen.qbo_urls = {"auth_url": f"{server.url}/connect/oauth2",
                               "token_url": f"{server.url}/oauth2/v1/tokens/bearer",
                               "api_url": server.url}
            screen.query_one("#qbo-client-id").value = SANDBOX_LEDGER["client_id"]
            screen.query_one("#qbo-secret").value = SANDBOX_LEDGER["client_secret"]
            screen.query_one("#qbo-redirect").value = "http://127.0.0.1:0/callback"
            screen.query_one("#qbo-go").press()
            await wait_until(pilot, lambda: screen.flow is not None
                             and screen.flow.request is not None)
            await wait_until(pilot, lambda: "Open this address" in screen_text(app))
            url = screen.flow.request.url()
            browser = threading.Thread(target=play_the_browser, args=(url,))
            browser.start()
            while browser.is_alive():
                await asyncio.sleep(0.05)
            await wait_until(pilot, lambda: "Connected to" in screen_text(app), 600)
            assert SANDBOX_LEDGER["client_secret"] not in screen_text(app)
            assert "QuickBooks is connected" in next_step(screen)

            screen.query_one("#cw-site").value = server.url
            screen.query_one("#cw-company").value = SANDBOX_CONNECTWISE["company_id"]
            screen.query_one("#cw-public").value = SANDBOX_CONNECTWISE["public_key"]
            screen.query_one("#cw-private").value = "sandbox-private"
            screen.query_one("#cw-client-id").value = SANDBOX_CONNECTWISE["client_id"]
            screen.query_one("#psa-go").press()
            await wait_until(pilot, lambda: "API member OK" in status(screen, "psa"), 600)
            assert "Both connected" in next_step(screen)
            # No OS keyring in the test run: the private key went inline into the 0600 file.
            assert "private key: config file (0600)" in status(screen, "psa")
            assert target.stat().st_mode & 0o777 == 0o600

            config = load_config(target)
            assert config.ledger.realm_id and config.psa.kind == "connectwise"
            assert config.psa.base_url == f"{server.url}/v4_6_release/apis/3.0"
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen))
            assert not app.demo and app.cache_path.name != "demo.db"
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.run is not None, 1800)
            assert app.screen.run.status.value == "succeeded", app.screen.run
            assert app.cache.records.counts()["psa_invoice"] > 1000
