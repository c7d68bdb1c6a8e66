"""Snapshot tests (pytest-textual-snapshot) of the main screens and dialogs on the
demo book, at 80x24 and 160x45.

The demo is loaded once per test session into a shared folder (a file lock lets
the xdist workers share it) with the clock frozen, then copied for each test, so
every time shown ("synced 2026-12-01 12:18", a run's duration, a checklist
step's stamp) is the same on every run. A long-named client (German, with
brackets) is added to the copy beside the demo's markup and non-ASCII names.
Review a changed SVG by eye, then ``pytest tests/test_snapshots.py
--snapshot-update``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from filelock import FileLock
from textual.pilot import Pilot
from textual.widgets import Input

from recon_tui.backend import open_backend
from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.demo import demo_state_path, load_demo
from recon_tui.models import (
    CompanyMapping,
    LedgerCustomer,
    MappingMethod,
    PsaCompany,
    SyncStatus,
)
from recon_tui.refresh import refresh_reconciliation
from recon_tui.tui.app import ReconApp
from tests.books import ledger_invoice, psa_invoice
from tests.tui_app import recon_app

#: Every clock the screens show reads this moment.
FROZEN = datetime(2026, 12, 1, 12, 18, tzinfo=UTC)
LONG_NAME = ("Großmann-Übersee Logistik und Spedition Aktiengesellschaft "
             "[Niederlassung Süd] & Partner")
SIZES = {"80x24": (80, 24), "160x45": (160, 45)}
#: Where the welcome dialog says the config would go (the same on every machine).
WELCOME_CONFIG = Path("/home/tech/.config/recon-tui/config.toml")

Steps = Callable[[Pilot], Awaitable[None]]


@pytest.fixture(autouse=True)
def _utc_and_frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC and the wall clock stands still (monotonic time runs, so
    Textual's timers and the emulator's sockets work)."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("HOME", "/home/tech")  # the export dialog names the home folder
    time.tzset()
    with time_machine.travel(FROZEN, tick=False):
        yield
    monkeypatch.undo()
    time.tzset()


def _add_long_named_client(cache: Cache) -> None:
    cache.upsert_companies([PsaCompany("9001", "GROSSMANN", LONG_NAME)])
    cache.upsert_customers([LedgerCustomer("9001", LONG_NAME)])
    cache.upsert_psa_invoices([psa_invoice("990001", "9001", "1234.50", "1234.50",
                                           day=date(2026, 11, 20))])
    cache.upsert_ledger_invoices([ledger_invoice("990001", "9001", "1234.50", "234.50",
                                                 day=date(2026, 11, 20))])
    cache.add_mappings([CompanyMapping("9001", "9001", MappingMethod.AUTO_EXACT)])
    refresh_reconciliation(cache)


def _build_demo(folder: Path) -> None:
    cache_path = folder / "demo.db"
    cache = Cache(cache_path)
    backend = open_backend(Config.default(), demo=True, demo_state=demo_state_path(cache_path))
    try:
        run = load_demo(cache, backend)
        assert run.status is SyncStatus.SUCCEEDED, run.error
        _add_long_named_client(cache)
    finally:
        backend.close()
        cache.close()


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo book loaded once for the whole session (all workers)."""
    shared = tmp_path_factory.getbasetemp().parent / "snapshot-demo"
    shared.mkdir(exist_ok=True)
    with FileLock(str(shared / ".lock")):
        if not (shared / "done").exists():
            os.environ["TZ"] = "UTC"
            time.tzset()
            with time_machine.travel(FROZEN, tick=False):
                _build_demo(shared)
            (shared / "done").write_text("ok", encoding="utf-8")
    return shared


@pytest.fixture
def demo_app(demo_master: Path, tmp_path: Path) -> Callable[..., ReconApp]:
    """A fresh copy of the loaded demo, opened as ``recon-tui`` opens it."""

    def make(*, welcome: Path | None = None) -> ReconApp:
        for name in ("demo.db", "demo.db.emulator.json"):
            if (demo_master / name).exists():
                shutil.copy2(demo_master / name, tmp_path / name)
        return recon_app(config=Config.default(), cache_path=tmp_path / "demo.db",
                         demo=True, sample_dir=sample_data_dir(), welcome=welcome)

    return make


async def _settle(pilot: Pilot) -> None:
    """Workers done and the footer painted (Textual recomposes it a frame late)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    for screen in pilot.app.screen_stack:  # a blinking cursor is caught on or off
        for field in screen.query(Input):
            field.cursor_blink = False
    for _ in range(100):
        await pilot.pause()
        lines = [strip.text for strip in pilot.app.screen._compositor.render_strips()]
        if lines and lines[-1].strip():
            return
        await asyncio.sleep(0.02)


def keys(*pressed: str) -> Steps:
    """Press keys one at a time, letting each screen's workers finish."""

    async def run(pilot: Pilot) -> None:
        await _settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await _settle(pilot)

    return run


#: name -> the keys that reach it from the clients screen.
SCREENS: dict[str, Steps] = {
    "clients": keys(),
    "clients_markup_filter": keys("slash", *"[bold", "down"),
    "clients_long_name": keys("slash", *"Großmann", "enter"),
    "client_detail": keys("enter"),
    "client_detail_long_name": keys("slash", *"Großmann", "enter", "enter"),
    "client_detail_non_ascii": keys("slash", *"東京", "enter", "enter"),
    "invoice_view": keys("enter", "enter"),
    "fix_dialog": keys("enter", "f"),
    "credit_checklist": keys("slash", *"Silver Creek", "enter", "enter", "tab", "tab", "a"),
    "mapper": keys("m"),
    "export": keys("e"),
    "sync": keys("s"),
    "history": keys("h"),
    "history_run": keys("h", "enter"),
    "help": keys("question_mark"),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(screen: str, size: str, demo_app, snap_compare) -> None:
    assert snap_compare(demo_app(), terminal_size=SIZES[size], run_before=SCREENS[screen])


@pytest.mark.parametrize("size", SIZES)
def test_welcome(size: str, demo_app, snap_compare) -> None:
    assert snap_compare(demo_app(welcome=WELCOME_CONFIG), terminal_size=SIZES[size],
                        run_before=keys())
