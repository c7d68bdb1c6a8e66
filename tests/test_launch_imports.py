"""Launching the app to the clients screen (issue 12): what the first frame needs
and nothing more. ``recon-tui``'s own entry point (``recon_tui.cli.main``) runs in
a child process on a real cache and a non-demo config, headless; what it has
imported is read when the clients screen is painted, as is the state of the
garbage collector the launch pauses (``recon_tui.launch_gc``). No timing: what is
loaded, and when, is the behaviour held."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.tui.app import ReconApp
from tests.books import seed_book

ROOT = Path(__file__).resolve().parents[1]

#: Not needed to paint the clients screen: HTTP and the connectors, the report
#: writers, the sync, the web servers, sqlite-utils, the config editor (tomlkit,
#: tomli_w), the keyring, the cache's parts no clients screen reads; nor, at all
#: in a launch, the token file's lock (the expiry check only reads the file).
NEVER = ("httpx", "sqlite_utils", "tomlkit", "tomli_w", "keyring", "rapidfuzz", "xlsxwriter",
         "openpyxl", "starlette", "uvicorn", "recon_tui.connectors.http", "recon_tui.sync",
         "recon_tui.backend", "recon_tui.report", "recon_tui.onboarding.qbo_connect",
         "recon_tui.cache.checklists", "recon_tui.cache.fixes", "recon_tui.cache.report",
         "filelock")
#: Read only once the first frame is shown: the QuickBooks token expiry check
#: (the token store).
AFTER_FIRST_FRAME = ("recon_tui.connectors.tokens", "recon_tui.onboarding.qbo_expiry")

CONFIG = """\
[ledger]
kind = "qbo"
base_url = "http://127.0.0.1:9"
token_url = "http://127.0.0.1:9/oauth2/v1/tokens/bearer"
realm_id = "9130355377388383"
client_id = "test-client"
client_secret = "test-secret"
refresh_token = "test-refresh-token"

[psa]
kind = "connectwise"
base_url = "http://127.0.0.1:9/v4_6_release/apis/3.0"
company_id = "test"
public_key = "test-public"
private_key = "test-private"
client_id = "00000000-0000-0000-0000-000000000000"
"""

#: The entry point with App.run made headless; the app's own hook for the end of
#: the launch (ReconApp._launched) is watched, and the pilot waits for the rows.
CHILD = """\
import asyncio, gc, json, sys
import textual.app
from recon_tui.tui.app import ReconApp

watched = %(watched)r
seen = {}

def loaded():
    return sorted(m for m in watched if m in sys.modules)

_launched = ReconApp._launched

def launched(self):
    seen["before"] = {"screen": type(self.screen).__name__, "loaded": loaded(),
                      "collecting": gc.isenabled()}
    _launched(self)
    seen["after"] = {"collecting": gc.isenabled(), "frozen": gc.get_freeze_count() > 0}

ReconApp._launched = launched
_run = textual.app.App.run

def run(self, *args, **kwargs):
    seen["collecting_at_run"] = gc.isenabled()

    def checking(app):
        return [w for w in app.workers if w.group == "expiry" and not w.is_finished]

    async def ready(pilot):
        app = pilot.app
        while "after" not in seen or type(app.screen).__name__ != "ClientsScreen" \\
                or not app.screen.query_one("#clients").row_count or checking(app):
            await pilot.pause(0.05)
        seen["rows"] = app.screen.query_one("#clients").row_count
        seen["later"] = loaded()
        app.exit()
    return _run(self, headless=True, size=(120, 36), auto_pilot=ready)

textual.app.App.run = run
from recon_tui.cli import main
code = main(sys.argv[1:])
print(json.dumps(seen))
raise SystemExit(code)
"""


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One launch of the entry point on a seeded book: what it saw."""
    folder = tmp_path_factory.mktemp("launch")
    config = folder / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with Cache(folder / "book.db") as cache:
        seed_book(cache)
        clients = cache.recon.count_clients()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECON_TUI_")}
    env.update(HOME=str(folder / "home"), XDG_CONFIG_HOME=str(folder / "xdg-config"),
               XDG_DATA_HOME=str(folder / "xdg-data"), XDG_STATE_HOME=str(folder / "xdg-state"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", PYTHONPATH=str(ROOT))
    child = CHILD % {"watched": NEVER + AFTER_FIRST_FRAME}
    done = subprocess.run([sys.executable, "-c", child, "--config", str(config), "--db",
                           str(folder / "book.db")], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "clients": clients}


def test_the_launch_paints_the_clients_screen_with_its_rows(launch: dict) -> None:
    assert launch["before"]["screen"] == "ClientsScreen"
    assert launch["rows"] == launch["clients"] > 0  # the seeded book's every client


def test_the_first_frame_imports_none_of_the_heavy_modules(launch: dict) -> None:
    assert launch["before"]["loaded"] == []


def test_the_expiry_check_reads_the_token_store_only_after_the_first_frame(launch: dict
                                                                          ) -> None:
    """Put off, not dropped: the check runs (off the UI thread) once the frame is
    shown, and still needs none of the heavy modules."""
    assert not set(launch["before"]["loaded"]) & set(AFTER_FIRST_FRAME)
    assert launch["later"] == sorted(AFTER_FIRST_FRAME)


def test_the_launch_collects_no_garbage_until_its_first_frame(launch: dict) -> None:
    assert launch["collecting_at_run"] is False  # paused by main(), before the app's imports
    assert launch["before"]["collecting"] is False
    assert launch["after"] == {"collecting": True, "frozen": True}


def test_a_launch_that_shows_no_frame_leaves_the_collector_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """main() is called in-process too: whatever happens the collector runs again
    when it returns, and nothing was frozen."""
    from recon_tui.cli import main

    monkeypatch.setattr(ReconApp, "run", lambda self: None)
    frozen = gc.get_freeze_count()
    assert main(["--demo", "--db", str(tmp_path / "demo.db")]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    (tmp_path / "config.toml").write_text("[ledger]\nkind = 'nope'\n", encoding="utf-8")
    assert main(["--config", str(tmp_path / "config.toml")]) == 2  # a config error
    assert gc.isenabled() and gc.get_freeze_count() == frozen
