"""The one composition root: what a run of recon-tui works with.

The CLI builds a :class:`Session` (the config, where the cache is, the demo or
real accounts) and hands it to the TUI. The session decides how the systems are
reached: the real connectors a config names, or, for the demo, the bundled
emulator started in-process on a loopback port behind the very same connectors.
It also owns the demo's load, reset and "is it loaded", and builds the
:class:`~recon_tui.workflows.verify.Verifier` the workflows check their work with.

Why one root: the layers under it (``tui``, ``workflows``, ``report``) then never
import ``backend``, ``demo`` or the ``sandbox``, so a test or a future front end
swaps what they talk to in one place. The import-linter contracts in
``pyproject.toml`` hold them to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported where used instead: the connectors (httpx), the sync engine and the
    # demo are not needed to paint the first screen, and launch time is the import.
    from recon_tui.backend import Backend
    from recon_tui.cache import Cache
    from recon_tui.config import Config
    from recon_tui.models import SyncRun
    from recon_tui.sync import ProgressCallback
    from recon_tui.verifier import SystemsVerifier

__all__ = ["Session"]


class Session:
    """Config, cache location and the systems of one run; the systems open on
    first use (from a worker thread: opening may touch the network) and close
    together."""

    def __init__(self, config: Config, cache_path: Path, *, demo: bool,
                 sample_dir: Path | None = None,
                 backend_factory: Callable[[], Backend] | None = None) -> None:
        self.config = config
        self.cache_path = cache_path
        self.demo = demo
        #: The demo's sample book (None: the bundled one).
        self.sample_dir = sample_dir
        #: Tests point the session at their own emulator or fakes here.
        self._factory = backend_factory
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    # -- the systems
    def open_systems(self) -> Backend:
        """A new Backend the caller owns (and closes): the CLI's one-shot commands."""
        if self._factory is not None:
            return self._factory()
        from recon_tui.backend import open_backend
        from recon_tui.demo import demo_state_path

        return open_backend(self.config, demo=self.demo, sample_dir=self.sample_dir,
                            demo_state=demo_state_path(self.cache_path) if self.demo else None)

    def systems(self) -> Backend:
        """The session's connectors (and, for the demo, its emulator), opened once."""
        with self._lock:
            if self._backend is None:
                self._backend = self.open_systems()
            return self._backend

    def reconnect(self) -> None:
        """Close the open systems; the next :meth:`systems` opens them anew."""
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def close(self) -> None:
        """The end of the run: the connectors and the demo's emulator stop."""
        self.reconnect()

    def verifier(self, cache: Cache) -> SystemsVerifier:
        """How the workflows check their work: a resync or a sync of ``cache``
        through this session's systems."""
        from recon_tui.verifier import SystemsVerifier

        backend = self.systems()
        return SystemsVerifier(cache, backend.psa, backend.ledger)

    # -- the configuration
    def use_config(self, config: Config, *, reconnect: bool) -> None:
        """A saved configuration, used at once; new endpoints mean new connectors."""
        self.config = config
        if reconnect:
            self.reconnect()

    def go_live(self, config: Config) -> None:
        """Leave the demo for the accounts just connected: their own cache file."""
        self.use_config(config, reconnect=True)
        from recon_tui.paths import resolve_cache_path

        self.demo = False
        self.cache_path = resolve_cache_path(None, demo=False)

    # -- the demo book
    def demo_ready(self, cache: Cache) -> bool:
        """The demo cache holds the current sample book (no load needed)."""
        from recon_tui.demo import demo_is_loaded

        return demo_is_loaded(cache, self.sample_dir)

    def reset_demo(self) -> None:
        """Remove the demo's cache and emulator world (never a real company's:
        that raises CacheError)."""
        from recon_tui.demo import reset_demo_cache

        reset_demo_cache(self.cache_path)

    def load_demo(self, cache: Cache, *, progress: ProgressCallback | None = None) -> SyncRun:
        """Sync the demo book into ``cache`` from the emulator, through the connectors."""
        from recon_tui.demo import load_demo

        return load_demo(cache, self.systems(), data_dir=self.sample_dir, progress=progress)
