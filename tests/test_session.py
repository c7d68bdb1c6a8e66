"""The composition root: one set of systems per session, opened once, closed together."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import SyncStatus
from recon_tui.session import Session


def _url(description: str) -> str:
    return description.rpartition(" at ")[2]


def test_the_demo_session_opens_its_emulator_once_and_stops_it_on_close(tmp_path: Path) -> None:
    session = Session(Config.default(), tmp_path / "demo.db", demo=True,
                      sample_dir=sample_data_dir())
    first = session.systems()
    assert session.systems() is first  # every screen shares the one emulator
    url = _url(first.description)
    httpx.get(url, timeout=5)  # it answers (whatever the status): the emulator is up
    session.reconnect()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
    second = session.systems()
    assert second is not first
    session.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(_url(second.description), timeout=2)


def test_the_demo_loads_through_the_session_and_reads_ready(tmp_path: Path) -> None:
    session = Session(Config.default(), tmp_path / "demo.db", demo=True,
                      sample_dir=sample_data_dir())
    try:
        with Cache(session.cache_path) as cache:
            assert not session.demo_ready(cache)
            run = session.load_demo(cache)
            assert run.status is SyncStatus.SUCCEEDED, run.error
            assert session.demo_ready(cache)
            verified = session.verifier(cache).resync("110273")
            assert verified.after and verified.run is not None
    finally:
        session.close()
    session.reset_demo()
    assert not session.cache_path.exists()


def test_going_live_leaves_the_demo_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECON_TUI_DB", str(tmp_path / "live.db"))
    session = Session(Config.default(), tmp_path / "demo.db", demo=True)
    session.go_live(Config.default())
    assert not session.demo and session.cache_path == tmp_path / "live.db"
