"""The TUI's figures, timed through the real app on a real cache: launch to the
clients screen painted, a filter keystroke, opening a client.

Used by ``bench.py`` (on the book it synced) and ``bench_book.py`` (on the book
it builds). Prints nothing itself and asserts nothing.

How each is measured:

* **launch to interactive**: wall time from starting ``python`` to the clients
  screen of that cache composed, its rows queried and its first frame rendered
  (the ``recon-tui`` entry point, ``recon_tui.cli.main``, with ``--config`` and
  ``--db``; Textual's headless driver, the app's own code path otherwise), with
  recon_tui's bytecode compiled as an installed copy has it. Its floor is the
  same process doing only ``import textual.app``; beside it, a minimal Textual
  app (one Static) to its first frame. Best of N runs.
* **filter keystroke**: from a key event posted to the filter box until the
  table shows the narrowed rows (the Input's change handled, the queries run,
  the frame rendered); the frame is rendered at once instead of at Textual's
  next 60 Hz tick, so the figure is the app's work, not the frame clock.
* **open a client**: from ``open_client`` until its screen's first frame is
  rendered, the same way; the median of several opens (the app keeps its client
  screen, so all but the first show the client on it) and the first apart.

The app of the last two runs as ``recon-tui`` runs it, collector included: paused
through the launch, what the launch made frozen at the first frame
(``recon_tui.launch_gc``).
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Values of config.example.toml: a non-demo config (nothing is contacted at launch).
CONFIG = """\
[ledger]
kind = "qbo"
base_url = "http://127.0.0.1:9"
token_url = "http://127.0.0.1:9/oauth2/v1/tokens/bearer"
realm_id = "9130355377388383"
client_id = "sandbox-client"
client_secret = "sandbox-secret"
refresh_token = "sandbox-refresh-token"

[psa]
kind = "connectwise"
base_url = "http://127.0.0.1:9/v4_6_release/apis/3.0"
company_id = "sandbox"
public_key = "sandbox-public"
private_key = "sandbox-private"
client_id = "00000000-0000-0000-0000-000000000000"
"""

SIZE = (160, 45)

#: The launched process: recon-tui's own entry point, in the order it runs
#: (main() starts, then imports Textual); App.run is wrapped, as textual.app is
#: first imported, only to run headless and say "ready" once the clients screen
#: is painted. The hook imports nothing recon-tui does not (importlib.util is
#: site's already; importlib.abc would load importlib.resources, ~10 ms CPU that
#: no real launch spends).
_CHILD = """\
import importlib.util, os, sys

def run(self, *args, **kwargs):
    import asyncio

    async def ready(pilot):
        app = pilot.app
        while True:
            await pilot._wait_for_screen()
            screen = app.screen
            if type(screen).__name__ == "ClientsScreen":
                table = screen.query_one("#clients")
                if table.row_count:
                    break
            if type(screen).__name__ == "CacheErrorScreen":  # say so, do not wait forever
                os.write(1, ("error: " + app.cache_error + "\\n").encode())
                app.exit()
                return
            await asyncio.sleep(0)
        screen._on_timer_update()  # the first frame, rendered
        os.write(1, b"ready\\n")
        app.exit()
    return _run(self, headless=True, size=%(size)r, auto_pilot=ready)

class WrapRun:  # a finder is any object with find_spec: importlib.abc would cost ~10 ms
    def find_spec(self, name, path, target=None):
        if name != "textual.app":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            global _run
            load(module)
            _run, module.App.run = module.App.run, run
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, WrapRun())
from recon_tui.cli import main
raise SystemExit(main(sys.argv[1:]))
"""

_BARE = "import os, textual.app; os.write(1, b'ready\\n')"

#: The least a Textual app does to be interactive: one Static, its first frame
#: rendered the same way (how close to the bare import any app can get).
_MINIMAL = """\
import os
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("ready")

async def ready(pilot):
    await pilot._wait_for_screen()
    pilot.app.screen._on_timer_update()
    os.write(1, b"ready\\n")
    pilot.app.exit()

Minimal().run(headless=True, size=%(size)r, auto_pilot=ready)
"""


def write_config(folder: Path) -> Path:
    path = folder / "bench-config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _env(folder: Path) -> dict[str, str]:
    """A home of its own: no user config, token or keyring is read."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECON_TUI_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), PYTHONPATH=str(ROOT))
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_to_ready(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds to "ready", the process's CPU seconds start to exit)."""
    cpu0 = _children_cpu()
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             cwd=ROOT)
    assert child.stdout is not None
    line = child.stdout.readline()
    elapsed = time.perf_counter() - started
    _out, err = child.communicate(timeout=60)
    if line.strip() != b"ready":  # an error screen's line, or the traceback's end
        said = line.decode(errors="replace").strip() or err.decode(errors="replace").strip()
        raise RuntimeError(f"launch failed: {said[-400:]}")
    return elapsed, _children_cpu() - cpu0


@dataclass(frozen=True)
class Launch:
    """Best of N, seconds: wall to interactive, and the process's CPU (on a busy
    machine wall time also counts waiting for a core; CPU does not); beside the
    floor, python doing a bare ``import textual.app``, and a minimal Textual app
    (one Static) to its first frame."""

    wall: float
    cpu: float
    bare_wall: float
    bare_cpu: float
    minimal_wall: float
    minimal_cpu: float


def warm_bytecode() -> None:
    """Compile recon_tui's .pyc before timing a launch, as an installed recon-tui
    has them (and as Textual, the floor's import, has its own): with
    PYTHONDONTWRITEBYTECODE set, or a checkout never imported, every launched
    python would otherwise compile recon_tui from source (measured: a fifth of
    the launch's CPU)."""
    import compileall

    compileall.compile_dir(str(ROOT / "recon_tui"), quiet=1)


def time_launch(cache_path: Path, config_path: Path, runs: int = 3) -> Launch:
    """Launch to interactive beside a bare ``import textual.app`` and a minimal
    app, best of ``runs``."""
    warm_bytecode()
    env = _env(config_path.parent)
    commands = {
        "ours": [sys.executable, "-c", _CHILD % {"size": SIZE}, "--config", str(config_path),
                 "--db", str(cache_path)],
        "bare": [sys.executable, "-c", _BARE],
        "minimal": [sys.executable, "-c", _MINIMAL % {"size": SIZE}],
    }
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved, so a busy moment hits each alike
        for name, argv in commands.items():
            got[name].append(_time_to_ready(argv, env))
    best = {name: (min(w for w, _ in v), min(c for _, c in v)) for name, v in got.items()}
    return Launch(*best["ours"], *best["bare"], *best["minimal"])


def _key(ch: str) -> tuple[str, str]:
    return ("space", " ") if ch == " " else (ch, ch)


async def _screen_figures(cache_path: Path, config_path: Path, typed: str,
                          client_key: str | None, repeat: int) -> dict[str, list[float]]:
    """The app run as recon-tui's entry point runs it: the collector paused before
    the app's imports, and the app freezing what its launch made at its first
    frame (recon_tui.launch_gc), so that a collection during a keystroke walks what
    was made since, not the launch's objects (~50 ms a full collection otherwise)."""
    from recon_tui import launch_gc

    launch_gc.pause()
    try:
        return await _timed_screens(cache_path, config_path, typed, client_key, repeat)
    finally:
        launch_gc.resume()  # (the app resumed it already, unless it never painted)


async def _timed_screens(cache_path: Path, config_path: Path, typed: str,
                         client_key: str | None, repeat: int) -> dict[str, list[float]]:
    from textual import events

    from recon_tui.config import load_config
    from recon_tui.session import Session
    from recon_tui.tui.app import ReconApp
    from recon_tui.tui.screens.client_detail import ClientDetailScreen
    from recon_tui.tui.widgets.virtual_table import VirtualTable

    app = ReconApp(Session(load_config(config_path), cache_path, demo=False))
    figures: dict[str, list[float]] = {"filter": [], "open": [], "filter_cpu": [],
                                       "open_cpu": []}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#clients", VirtualTable)
        for _ in range(repeat if typed else 0):
            await pilot.press("slash")
            await pilot.pause()
            for ch in typed:
                old = table.source
                started, cpu0 = time.perf_counter(), time.process_time()
                key, char = _key(ch)
                app.post_message(events.Key(key, char))
                while table.source is old:
                    await asyncio.sleep(0)
                await pilot._wait_for_screen()
                screen._on_timer_update()
                figures["filter"].append((time.perf_counter() - started) * 1000)
                figures["filter_cpu"].append((time.process_time() - cpu0) * 1000)
            await pilot.press("escape")  # clears the filter, back to the table
            await pilot.pause()
        if client_key is not None:
            for _ in range(repeat):
                started, cpu0 = time.perf_counter(), time.process_time()
                app.open_client(client_key)
                while not isinstance(app.screen, ClientDetailScreen):
                    await asyncio.sleep(0)
                await pilot._wait_for_screen()
                app.screen._on_timer_update()
                figures["open"].append((time.perf_counter() - started) * 1000)
                figures["open_cpu"].append((time.process_time() - cpu0) * 1000)
                await pilot.pause()
                app.pop_screen()
                await pilot.pause()
    return figures


def screen_figures(cache_path: Path, config_path: Path, *, typed: str = "client 12",
                   client_key: str | None = None, repeat: int = 5) -> dict[str, float]:
    """Median and worst filter keystroke (ms) over ``typed`` (none when empty),
    each character a keystroke, typed ``repeat`` times; median time to open
    ``client_key`` (ms), and the first of those opens (``open_first``: the app
    keeps its client screen, so later opens reuse it); the medians' CPU too
    (``*_cpu``: this process's, all its threads; nothing else runs in it meanwhile)."""
    got = asyncio.run(_screen_figures(cache_path, config_path, typed, client_key, repeat))
    result = {}
    if got["filter"]:
        result["filter_median"] = statistics.median(got["filter"])
        result["filter_worst"] = max(got["filter"])
        result["filter_cpu"] = statistics.median(got["filter_cpu"])
    if got["open"]:
        result["open_median"] = statistics.median(got["open"])
        result["open_cpu"] = statistics.median(got["open_cpu"])
        # The app keeps its client screen: the first open composes it, later ones
        # show the client on it (ClientDetailScreen.show_client).
        result["open_first"] = got["open"][0]
        result["open_first_cpu"] = got["open_cpu"][0]
    return result


def biggest_client(cache_path: Path) -> tuple[str, int]:
    """The client with the most invoice rows, and how many."""
    import sqlite3

    conn = sqlite3.connect(cache_path)
    try:
        key, count = conn.execute(
            "SELECT client_key, count(*) AS n FROM invoice_pair WHERE kind = 'invoice' "
            "GROUP BY client_key ORDER BY n DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return key, count
