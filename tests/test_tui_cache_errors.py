"""A cache that cannot be used is a message with the way out, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.cache_error import CacheErrorScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.why import WhyScreen
from tests.books import seed_book
from tests.tui_app import recon_app

SIZE = (80, 24)


def screen_text(app: ReconApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def one_line(app: ReconApp) -> str:
    """The error screen's message, unwrapped."""
    assert isinstance(app.screen, CacheErrorScreen)
    return " ".join(app.screen.message.split())


def good_cache(path: Path) -> Path:
    with Cache(path) as cache:
        seed_book(cache)
    return path


def drop_table(path: Path, table: str = "psa_invoice") -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()


async def assert_only_quit_is_left(app: ReconApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """The keys that need the cache do nothing; q quits cleanly."""
    for key in ("s", "h", "m", "c", "w", "comma", "ctrl+p"):
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, CacheErrorScreen), key
    await pilot.press("q")
    await pilot.pause()
    assert not app.is_running and app.return_code == 0


async def test_a_file_of_garbage_is_a_message_and_q_quits(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"\x00this is not SQLite\xff" * 400)
    app = recon_app(config=Config.default(), cache_path=path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = one_line(app)
        assert str(path) in line and "recon-tui sync --full" in line
        assert "not a database" in line and "move" in line
        assert "Traceback" not in screen_text(app)
        assert "The cache cannot be used" in screen_text(app)
        await assert_only_quit_is_left(app, pilot)


async def test_a_dropped_table_is_a_message_and_q_quits(tmp_path: Path) -> None:
    path = good_cache(tmp_path / "cache.db")
    drop_table(path)
    app = recon_app(config=Config.default(), cache_path=path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = one_line(app)
        assert "psa_invoice" in line and "recon-tui sync --full" in line
        await assert_only_quit_is_left(app, pilot)


async def test_a_table_dropped_while_the_app_runs_stops_at_the_next_query(
        tmp_path: Path) -> None:
    path = good_cache(tmp_path / "cache.db")
    app = recon_app(config=Config.default(), cache_path=path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        drop_table(path, "client_summary")
        await pilot.press("d")  # re-filters: the query fails in the key's handler
        await pilot.pause()
        line = one_line(app)
        assert "client_summary" in line and "recon-tui sync --full" in line
        await assert_only_quit_is_left(app, pilot)


async def test_a_cache_failure_in_a_worker_is_a_message_too(tmp_path: Path) -> None:
    path = good_cache(tmp_path / "cache.db")
    app = recon_app(config=Config.default(), cache_path=path, demo=False,
                    backend_factory=lambda: (_ for _ in ()).throw(RuntimeError("offline")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        drop_table(path, "invoice_pair")
        app.push_screen(WhyScreen("10040"))  # explains in a thread worker, its own connection
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = one_line(app)
        assert str(path) in line and "invoice_pair" in line
        await assert_only_quit_is_left(app, pilot)


async def test_a_screen_that_cannot_mount_leaves_the_message(tmp_path: Path) -> None:
    path = good_cache(tmp_path / "cache.db")
    app = recon_app(config=Config.default(), cache_path=path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        drop_table(path, "invoice_pair")
        await pilot.press("enter")  # the client screen's mount reads the pairs
        await pilot.pause()
        line = one_line(app)
        assert "invoice_pair" in line and "recon-tui sync --full" in line
        await assert_only_quit_is_left(app, pilot)
