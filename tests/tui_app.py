"""Test support: a ReconApp over a Session, built the way ``recon-tui`` builds it.

The CLI hands the app a :class:`recon_tui.session.Session`; tests name the same
settings and, with ``backend_factory``, point the session at their own emulator
(``tests.emulator.backend_for``) or fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from recon_tui.backend import Backend
from recon_tui.config import Config
from recon_tui.session import Session
from recon_tui.tui.app import ReconApp


def recon_app(*, config: Config, cache_path: Path, demo: bool, sample_dir: Path | None = None,
             backend_factory: Callable[[], Backend] | None = None,
             welcome: Path | None = None) -> ReconApp:
    """``ReconApp`` with its session, as ``recon-tui`` would start it."""
    session = Session(config, cache_path, demo=demo, sample_dir=sample_dir,
                      backend_factory=backend_factory)
    return ReconApp(session, welcome=welcome)
