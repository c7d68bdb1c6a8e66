"""The demo app the snapshot tests photograph, the same on every machine and run.

The demo is loaded once per test session into a shared folder (a file lock lets
the xdist workers share it) with the clock frozen, then copied for each test into
``/tmp/recon-tui-snapshots/<test name>`` (cleared first, with ``XDG_CONFIG_HOME``
and ``XDG_DATA_HOME`` under it), so every path a screen prints (settings, the
connection checks, a cache error) and every time shown ("synced 2026-12-01 12:18",
a run's duration, a checklist step's stamp) is the same everywhere. A long-named
client (German, with brackets) is added beside the demo's markup (``[bold]ACME
Corp``) and non-ASCII (``東京テック株式会社``) names; ``hostile=True`` adds one more
whose name holds terminal controls, and ``killed_run=True`` a sync a killed process
left "running" (the history shows it interrupted).

The fixtures are registered in ``tests/conftest.py``; a test asks for
``snapshot_app`` (which brings the frozen clock and the folder). Review a changed
SVG with ``python -m tests.svg_text``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
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
    SyncRun,
    SyncStatus,
    SyncStep,
)
from recon_tui.refresh import refresh_reconciliation
from recon_tui.tui.app import ReconApp
from tests.books import ledger_invoice, psa_invoice
from tests.tui_app import recon_app

#: Every clock the screens show reads this moment.
FROZEN = datetime(2026, 12, 1, 12, 18, tzinfo=UTC)
LONG_NAME = ("Großmann-Übersee Logistik und Spedition Aktiengesellschaft "
             "[Niederlassung Süd] & Partner")
#: A window-title OSC, a clear-screen CSI, a bidi override, a tab and Rich markup.
HOSTILE_NAME = "Evil\x1b]0;pwned\x07 [bold]Corp\x1b[2J\u202e\tLtd"
SIZES = {"80x24": (80, 24), "160x45": (160, 45)}
#: Every test's own folder: a fixed path, so the paths on screen never vary.
STABLE_ROOT = Path("/tmp/recon-tui-snapshots")
#: Where the welcome dialog says the config would go (the same on every machine).
WELCOME_CONFIG = Path("/home/tech/.config/recon-tui/config.toml")

@pytest.fixture
def snapshot_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC and the wall clock stands still (monotonic time runs, so
    Textual's timers and the emulator's sockets work)."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("HOME", "/home/tech")  # the export dialog names the home folder
    time.tzset()
    with time_machine.travel(FROZEN, tick=False):
        yield
    monkeypatch.undo()
    time.tzset()


def _add_client(cache: Cache, number: str, name: str, *, psa: str, ledger: str) -> None:
    """One mapped client with one invoice whose balances differ."""
    cache.records.upsert_companies([PsaCompany(number, f"ID{number}", name)])
    cache.records.upsert_customers([LedgerCustomer(number, name)])
    invoice = f"99{number}"
    cache.records.upsert_psa_invoices([psa_invoice(invoice, number, psa, psa,
                                                   day=date(2026, 11, 20))])
    cache.records.upsert_ledger_invoices([ledger_invoice(invoice, number, psa, ledger,
                                                         day=date(2026, 11, 20))])
    cache.records.add_mappings([CompanyMapping(number, number, MappingMethod.AUTO_EXACT)])
    refresh_reconciliation(cache)


def _add_long_named_client(cache: Cache) -> None:
    cache.records.upsert_companies([PsaCompany("9001", "GROSSMANN", LONG_NAME)])
    cache.records.upsert_customers([LedgerCustomer("9001", LONG_NAME)])
    cache.records.upsert_psa_invoices([psa_invoice("990001", "9001", "1234.50", "1234.50",
                                                   day=date(2026, 11, 20))])
    cache.records.upsert_ledger_invoices([ledger_invoice("990001", "9001", "1234.50", "234.50",
                                                         day=date(2026, 11, 20))])
    cache.records.add_mappings([CompanyMapping("9001", "9001", MappingMethod.AUTO_EXACT)])
    refresh_reconciliation(cache)


def _add_killed_run(cache: Cache) -> None:
    """A sync left "running" by a killed process (no one holds the sync lock): the
    history reads it as interrupted."""
    run = SyncRun(kind="full", started_at=FROZEN,
                  steps=[SyncStep("invoices", "psa", status=SyncStatus.RUNNING)])
    cache.history.start_sync_run(run)
    run.status = SyncStatus.RUNNING
    cache.history.save_sync_progress(run)


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
def snapshot_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo book loaded once for the whole run (all its workers).

    Under xdist each worker's base temp is ``pytest-N/popen-gwK``, so their parent
    is the run's; without xdist the base temp is the run's own (its parent holds
    every earlier run, whose demo may be of an older schema or sample book)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "snapshot-demo"
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
def snapshot_folder(request: pytest.FixtureRequest,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``/tmp/recon-tui-snapshots/<test name>``, emptied, with the XDG folders in it.

    A lock beside it keeps two test runs at once (two checkouts, two engineers)
    from emptying each other's folder mid-test."""
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    STABLE_ROOT.mkdir(parents=True, exist_ok=True)
    folder = STABLE_ROOT / name
    with FileLock(str(STABLE_ROOT / f"{name}.lock")):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "xdg-config"))
        monkeypatch.setenv("XDG_DATA_HOME", str(folder / "xdg-data"))
        yield folder


@pytest.fixture
def snapshot_app(snapshot_clock: None, snapshot_demo: Path,
                 snapshot_folder: Path) -> Callable[..., ReconApp]:
    """A fresh copy of the loaded demo in the test's stable folder, opened as
    ``recon-tui`` opens it."""

    def make(*, welcome: Path | None = None, hostile: bool = False,
             cache_bytes: bytes | None = None, killed_run: bool = False) -> ReconApp:
        for name in ("demo.db", "demo.db.emulator.json"):
            if (snapshot_demo / name).exists():
                shutil.copy2(snapshot_demo / name, snapshot_folder / name)
        if hostile:
            with time_machine.travel(FROZEN, tick=False):
                cache = Cache(snapshot_folder / "demo.db")
                try:
                    _add_client(cache, "9002", HOSTILE_NAME, psa="480.00", ledger="80.00")
                finally:
                    cache.close()
        if killed_run:
            with time_machine.travel(FROZEN, tick=False):
                cache = Cache(snapshot_folder / "demo.db")
                try:
                    _add_killed_run(cache)
                finally:
                    cache.close()
        if cache_bytes is not None:  # a cache that cannot be opened
            (snapshot_folder / "demo.db").write_bytes(cache_bytes)
        return recon_app(config=Config.default(), cache_path=snapshot_folder / "demo.db",
                         demo=True, sample_dir=sample_data_dir(), welcome=welcome)

    return make


async def settle(pilot: Pilot) -> None:
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


@dataclass(frozen=True)
class Keys:
    """Keys pressed one at a time from the clients screen, letting each screen's
    workers finish; ``shows``, the class name of the screen they must end on (a key
    that no longer opens it fails the test rather than photographing the wrong
    screen, and ``test_snapshot_coverage`` reads it); ``then``, a last step."""

    pressed: tuple[str, ...]
    shows: str
    then: Callable[[Pilot], Awaitable[None]] | None = None

    async def __call__(self, pilot: Pilot) -> None:
        await settle(pilot)
        for key in self.pressed:
            await pilot.press(key)
            await settle(pilot)
        if self.then is not None:
            await self.then(pilot)
            await settle(pilot)
        shown = type(pilot.app.screen).__name__
        assert shown == self.shows, f"{self.pressed} ends on {shown}, not {self.shows}"


def keys(*pressed: str, shows: str,
         then: Callable[[Pilot], Awaitable[None]] | None = None) -> Keys:
    return Keys(pressed, shows, then)
