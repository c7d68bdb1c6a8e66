"""What the TUI needs from the session the CLI builds (:mod:`recon_tui.session`).

The app is handed one and never imports ``backend``, ``demo`` or the
``sandbox`` itself (an import-linter contract holds it to that): these
Protocols are the whole of what it may ask for, so a test can hand it a session
pointed at its own emulator, and the demo's emulator never starts from a screen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: none of these is needed to paint the first screen
    from recon_tui.cache import Cache
    from recon_tui.config import Config
    from recon_tui.connectors.base import LedgerConnector, PsaConnector
    from recon_tui.models import SyncRun
    from recon_tui.sync import SyncProgress
    from recon_tui.workflows.verify import Verifier

__all__ = ["AppSession", "Systems"]


class Systems(Protocol):
    """The open connectors of a session."""

    @property
    def psa(self) -> PsaConnector: ...

    @property
    def ledger(self) -> LedgerConnector: ...


class AppSession(Protocol):
    """Config, cache location, systems, the demo and the workflows' verifier."""

    config: Config
    cache_path: Path
    demo: bool
    sample_dir: Path | None

    def systems(self) -> Systems:
        """Opened on first use, from a worker thread (may touch the network)."""
        ...

    def close(self) -> None: ...

    def verifier(self, cache: Cache) -> Verifier: ...

    def use_config(self, config: Config, *, reconnect: bool) -> None: ...

    def go_live(self, config: Config) -> None: ...

    def demo_ready(self, cache: Cache) -> bool: ...

    def reset_demo(self) -> None: ...

    def load_demo(self, cache: Cache, *,
                  progress: Callable[[SyncProgress], None] | None = None) -> SyncRun: ...
