"""The Textual application: screens over the cache, I/O in thread workers.

A cache that cannot be used (damaged, a table gone, locked, the disk full) is the
operator's to fix: wherever it surfaces, in a screen's handler, a table's render or
a worker, the app shows one line and the way out instead of Textual's traceback,
and stays usable to quit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from textual import work
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerFailed, WorkerState, get_current_worker

from recon_tui import launch_gc
from recon_tui.cache import Cache, CacheError
from recon_tui.cache.files import translate
from recon_tui.config import Config
from recon_tui.models import SyncStatus
from recon_tui.text import printable
from recon_tui.tui.app_session import AppSession, Systems
from recon_tui.tui.breakpoints import breakpoint_classes
from recon_tui.tui.commands import ClientCommands, NumberCommands, binding_commands
from recon_tui.tui.failures import failure_line, is_cache_failure, log_failure
from recon_tui.tui.messages import CacheChanged, LoadProgress
from recon_tui.tui.screen_css import read_screens_css
from recon_tui.tui.screens.cache_error import CacheErrorScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.help import HelpScreen

__all__ = ["NEEDS_CACHE", "ReconApp", "is_cache_failure"]

log = logging.getLogger(__name__)

#: The app's actions that need a working cache; refused once it has failed.
NEEDS_CACHE = frozenset({"sync", "history", "checklists", "why", "map_companies", "settings",
                         "command_palette"})


class ReconApp(App[None]):
    """recon-tui: PSA versus ledger, side by side."""

    CSS_PATH = "app.tcss"
    #: Screen classes the stylesheets lay out by (README, "Layout"): panels stack below
    #: 110 columns, the filter box and panels shrink below 32 rows.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    TITLE = "recon-tui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ClientCommands, NumberCommands}
    BINDINGS = [
        Binding("s", "sync", "Sync", id="sync",
                tooltip="Full sync from a date: the PSA first, then the ledger"),
        Binding("h", "history", "History", id="history",
                tooltip="Sync history: every run, its steps and the records it changed"),
        Binding("c", "checklists", "Checklists", id="checklists",
                tooltip="Open credit-application checklists (continue one where it stopped)"),
        Binding("w", "why", "Why hidden?", id="why",
                tooltip="Why can't the client see invoice N? Checks it in both systems"),
        Binding("m", "map_companies", "Map", id="map_companies",
                tooltip="Map unmapped ledger customers to PSA companies"),
        Binding("comma", "settings", "Settings", key_display=",", id="settings",
                tooltip="Portal level, default sync date, endpoints and account ids"),
        Binding("question_mark", "help", "Help", key_display="?", id="help",
                tooltip="Every key of this screen and what each sync status means"),
        Binding("ctrl+d", "doctor", "Check connections", id="doctor", show=False,
                tooltip="The recon-tui doctor checks: config, each system reachable, "
                        "authenticated and permitted, clock skew, token expiry, the cache"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+p", "command_palette", "Commands", id="palette", show=False),
    ]

    def __init__(self, session: AppSession, *, welcome: Path | None = None) -> None:
        super().__init__()
        #: Built by the CLI (recon_tui.session): config, cache path, systems, demo.
        self.session = session
        #: First launch with no config: offer the demo or connecting (the config path).
        self.welcome = welcome
        self.cache: Cache | None = None
        self.loading = False
        self.load_error: str | None = None
        self.cache_error: str | None = None

    # -- the session's settings, as the screens read them
    @property
    def config(self) -> Config:
        return self.session.config

    @property
    def cache_path(self) -> Path:
        return self.session.cache_path

    @property
    def demo(self) -> bool:
        return self.session.demo

    @property
    def sample_dir(self) -> Path | None:
        return self.session.sample_dir

    # -- lifecycle
    def on_mount(self) -> None:
        self.sub_title = "demo book" if self.demo else printable(self.cache_path)
        try:
            self.cache = Cache(self.cache_path)
            load = self.demo and not self._demo_ready()
        except Exception as exc:
            if not is_cache_failure(exc):
                raise
            self.show_cache_error(exc)
            return
        if load:
            self.loading = True
            self.push_screen(ClientsScreen())
            self._load_demo()
        else:
            self.push_screen(ClientsScreen())
        if self.welcome is not None:
            from recon_tui.tui.screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen(self.welcome))

    def on_ready(self) -> None:
        """The first screen is laid out; once the frame after it (the clients
        screen's rows) is shown, what the launch put off runs."""
        self.call_after_refresh(self._launched)

    def _launched(self) -> None:
        """The collector the command line paused (recon_tui.launch_gc), and the
        token expiry check (off the UI thread: it reads the token store)."""
        launch_gc.resume(freeze=True)
        if not self.demo and self.cache_error is None:
            self._warn_if_expiring()

    @work(thread=True, group="expiry", exit_on_error=False)
    def _warn_if_expiring(self) -> None:
        """A month before Intuit ends the QuickBooks connection, say so at launch
        (in a thread: importing the token store and reading its file would otherwise
        delay the first keystroke)."""
        from recon_tui.onboarding.qbo_expiry import warning_for_config

        warning = warning_for_config(self.config)  # never raises
        if warning and self.is_running:
            with contextlib.suppress(RuntimeError):  # the app quit meanwhile
                self.call_from_thread(self.notify, printable(warning), severity="warning",
                                      timeout=20, markup=False)

    # -- a cache that cannot be used
    def cache_error_text(self, exc: BaseException) -> str:
        """One line naming the file, the cause and the way out."""
        return str(translate(exc, self.cache_path)).replace("\n", " ")

    def show_cache_error(self, exc: BaseException) -> None:
        """Cover every screen with the error; a second failure updates the line."""
        log.error("the cache cannot be used", exc_info=(type(exc), exc, exc.__traceback__))
        self.cache_error = self.cache_error_text(exc)
        if isinstance(self.screen, CacheErrorScreen):
            self.screen.show(self.cache_error)
            return
        self.push_screen(CacheErrorScreen(self.cache_error))
        self.refresh_bindings()

    async def run_action(self, action: str | ActionParseResult,
                         default_namespace: DOMNode | None = None,
                         namespaces: Mapping[str, DOMNode] | None = None) -> bool:
        """Every key binding and palette command runs here, in the app's own message
        loop, which Textual stops for good after an exception: a cache failure is
        caught first, so the keys (q at least) keep working."""
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as exc:
            if not is_cache_failure(exc):
                raise
            self.show_cache_error(exc)
            return True

    def _handle_exception(self, error: Exception) -> None:
        """Textual's last stop for an exception from a handler, a render or a worker:
        a worker's is left to :meth:`on_worker_state_changed`; a cache failure becomes
        the error screen; anything else is a bug and still ends the app with its
        traceback."""
        if isinstance(error, WorkerFailed) and self.is_running:
            return
        if is_cache_failure(error) and self.is_running:
            self.show_cache_error(error)
            return
        super()._handle_exception(error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported (screens pass theirs on): the
        cache's failures cover the screens, others are one line; the traceback goes
        to the support log either way."""
        error = event.worker.error
        if event.state is not WorkerState.ERROR or error is None or not self.is_running:
            return
        if is_cache_failure(error):
            self.show_cache_error(error)
            return
        log_failure(event.worker, error)
        self.notify(failure_line(event.worker, error), severity="error", timeout=15,
                    markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Once the cache has failed only quitting (and Textual's own keys) is left."""
        return self.cache_error is None or action not in NEEDS_CACHE

    def _demo_ready(self) -> bool:
        assert self.cache is not None
        return self.session.demo_ready(self.cache)

    def on_unmount(self) -> None:
        if self.cache is not None:
            try:
                self.cache.close()
            except Exception as exc:  # a damaged file may fail to close: nothing to lose
                if not is_cache_failure(exc):
                    raise
                log.exception("closing the cache failed")
        self.session.close()

    def push_screen(self, screen: Screen | str, *args: Any, **kwargs: Any) -> Any:
        """Every screen is pushed with its breakpoint classes already set, so its
        widgets are styled once: Textual sets them on the first Resize, after
        styling the whole screen, and then styles it all again (a tenth of the
        time opening a client took)."""
        if isinstance(screen, Screen) and not screen.is_attached:
            screen.update_classes(breakpoint_classes(self, screen), update=False)
            read_screens_css(self, screen)  # the other screens' rules: see screen_css
        return super().push_screen(screen, *args, **kwargs)

    def get_backend(self) -> Systems:
        """The session's connectors (and, for the demo, its in-process emulator),
        opened on first use from a worker thread: opening may touch the network."""
        return self.session.systems()

    @work(thread=True, exclusive=True, group="sync", name="load demo")
    def _load_demo(self) -> None:
        """First run: sync the demo book from the emulator through the connectors."""
        worker = get_current_worker()
        assert self.cache is not None
        if self.cache.records.counts()["psa_invoice"]:
            # The sample files changed since this cache was built: start clean.
            try:
                self.call_from_thread(self._swap_cache, self.session.reset_demo)
            except CacheError as exc:  # a real company's cache named with --demo
                self.call_from_thread(self._demo_loaded, str(exc))
                return
        cache = Cache(self.cache_path)
        error: str | None = None
        try:
            run = self.session.load_demo(
                cache,
                progress=lambda p: None if worker.is_cancelled
                else self.call_from_thread(self.broadcast, lambda: LoadProgress(p)),
            )
            if run.status is not SyncStatus.SUCCEEDED:
                error = run.error or run.status.value
        except Exception as exc:  # shown on screen, never swallowed
            log.exception("loading the demo book failed")
            error = f"{type(exc).__name__}: {exc}"
        finally:
            cache.close()
        self.call_from_thread(self._demo_loaded, error)

    def _swap_cache(self, reset: Callable[[], None]) -> None:
        assert self.cache is not None
        self.cache.close()
        try:
            reset()
        finally:
            self.cache = Cache(self.cache_path)

    def _demo_loaded(self, error: str | None) -> None:
        self.loading = False
        self.load_error = error
        if error:
            self.notify(f"Loading the demo book failed: {printable(error)}", severity="error",
                        timeout=15, markup=False)
        self.broadcast(CacheChanged)

    def broadcast(self, make_message: Callable[[], Message]) -> None:
        """Give every open screen its own copy of a message (they re-query)."""
        for screen in self.screen_stack:
            screen.post_message(make_message())

    # -- actions
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_sync(self, since: date | None = None) -> None:
        from recon_tui.tui.screens.sync import SyncScreen

        if self.loading:
            self.notify("The demo book is still loading.")
            return
        if not isinstance(self.screen, SyncScreen):
            self.push_screen(SyncScreen(since))

    def action_settings(self) -> None:
        from recon_tui.tui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def apply_config(self, config: Config, *, reconnect: bool) -> None:
        """Use a saved configuration at once; new endpoints mean new connectors."""
        self.session.use_config(config, reconnect=reconnect)

    def use_live_config(self, config: Config) -> None:
        """Leave the demo for the accounts just connected: their own cache, new
        connectors, a fresh clients screen, and the first sync started."""
        self.session.go_live(config)
        self.loading = False
        if self.cache is not None:
            self.cache.close()
        self.cache = Cache(self.cache_path)
        self.sub_title = printable(self.cache_path)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(ClientsScreen())
        self.action_sync()

    def action_doctor(self, reason: str | None = None) -> None:
        from recon_tui.tui.screens.doctor import DoctorScreen

        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen(reason))

    def action_why(self) -> None:
        from recon_tui.tui.screens.why import WhyScreen

        if not isinstance(self.screen, WhyScreen):
            self.push_screen(WhyScreen())

    def action_map_companies(self, customer_id: str | None = None) -> None:
        """The company mapper; from an unmapped client's screen it starts on that customer."""
        from recon_tui.tui.screens.mapper import MapperScreen

        if self.loading:
            self.notify("The demo book is still loading.")
            return
        if isinstance(self.screen, MapperScreen):
            return
        if any(getattr(screen, "running", False) for screen in self.screen_stack):
            self.notify("A sync is writing the cache: map companies once it has finished.")
            return
        key = getattr(self.screen, "client_key", None)
        if customer_id is None and isinstance(key, str) and key.startswith("ledger:"):
            customer_id = key.partition(":")[2]
        self.push_screen(MapperScreen(start_customer_id=customer_id))

    def action_history(self) -> None:
        from recon_tui.tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_checklists(self) -> None:
        """The open credit checklists, to continue one where it stopped."""
        from recon_tui.tui.screens.checklist import ChecklistsScreen

        if not isinstance(self.screen, ChecklistsScreen):
            self.push_screen(ChecklistsScreen())

    def resync(self, number: str) -> None:
        from recon_tui.tui.screens.resync import ResyncScreen

        self.push_screen(ResyncScreen(number))

    def open_client(self, client_key: str, *, pair_id: int | None = None,
                    credit_key: str | None = None) -> None:
        """Open a client's screen from anywhere (palette, links between screens),
        with the cursor on one of its invoice rows or credits when given."""
        from recon_tui.tui.screens.client_detail import client_screen

        self.push_screen(client_screen(self, client_key, pair_id=pair_id, credit_key=credit_key))

    def start_fix(self, pair_id: int) -> None:
        """The guided fix of one invoice row (its diagnosis decides which)."""
        from recon_tui.tui.screens.fix import FixScreen

        self.push_screen(FixScreen(pair_id))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action with a description, on the current screen, is a command."""
        yield from binding_commands(self, screen)
        yield from super().get_system_commands(screen)
