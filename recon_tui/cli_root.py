"""What the commands share to reach the systems: the session (the composition root)
and the sample book, each failure turned into the one-line ``CliError``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from recon_tui.cli_common import CliError

if TYPE_CHECKING:
    from recon_tui.backend import Backend
    from recon_tui.config import Config
    from recon_tui.session import Session

__all__ = ["open_backend", "open_session", "sample_dir"]


def sample_dir() -> Path:
    """The bundled demo book's folder, or a one-line error saying where it was looked for."""
    from recon_tui.connectors.sample import sample_data_dir

    try:
        return sample_data_dir()
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc


def open_session(config: Config, demo: bool, cache_path: Path) -> Session:
    """The composition root every command and the TUI work through."""
    from recon_tui.session import Session

    return Session(config, cache_path, demo=demo, sample_dir=sample_dir() if demo else None)


def open_backend(config: Config, demo: bool, cache_path: Path) -> Backend:
    """The connected systems of a session; a refusal is one line, not a traceback."""
    from recon_tui.backend import BackendError
    from recon_tui.connectors.base import ConnectorError

    try:
        return open_session(config, demo, cache_path).open_systems()
    except (BackendError, ConnectorError, OSError) as exc:
        raise CliError(str(exc)) from exc
