"""The support log: Python logging to a rotating file under the user state directory.

The TUI shows one line when something fails; the traceback behind it goes here,
so a tech can send the file to support (``recon-tui --log-level debug`` for more).
Every record is scrubbed on its way into the file (:class:`recon_tui.scrub.ScrubFilter`):
a config ``Secret`` once revealed, the tokens the connectors learn, Bearer and
Basic headers, ``refresh_token=``, ``password=`` and their JSON forms.

Domain-free and Textual-free: only the standard library, platformdirs and the
scrubber.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from recon_tui.scrub import ScrubFilter

__all__ = ["LEVELS", "LOG_ENV", "current_log_path", "default_log_path", "setup_logging",
           "teardown_logging"]

APP_NAME = "recon-tui"
#: Overrides where the log goes (tests, or a support session that wants it elsewhere).
LOG_ENV = "RECON_TUI_LOG"
#: The levels ``--log-level`` offers, by name.
LEVELS: Mapping[str, int] = {"debug": logging.DEBUG, "info": logging.INFO,
                             "warning": logging.WARNING, "error": logging.ERROR}
#: One file stays small enough to attach to an e-mail; three old ones are kept.
MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class _SupportLogHandler(logging.handlers.RotatingFileHandler):
    """Our handler, told apart from anyone else's so a second setup replaces it."""

    def handleError(self, record: logging.LogRecord) -> None:
        """A log that cannot be written (a full disk, a folder gone) costs the
        record, never a traceback printed over the user's terminal."""


def default_log_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``RECON_TUI_LOG``, else ``recon-tui.log`` in the user state directory
    (``$XDG_STATE_HOME/recon-tui`` or ``~/.local/state/recon-tui`` on Linux)."""
    if environ.get(LOG_ENV):
        return Path(environ[LOG_ENV]).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "recon-tui.log"


def parse_level(level: str) -> int:
    """The logging level named ``level`` (case-insensitive); a clear error otherwise."""
    try:
        return LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}: choose one of "
                         f"{', '.join(LEVELS)}") from None


def _ours() -> list[_SupportLogHandler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, _SupportLogHandler)]


def setup_logging(level: str = "warning", *, path: Path | None = None,
                  max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path:
    """Send the process's log records at ``level`` and above to the rotating,
    scrubbed support log; return its path. Calling it again replaces the
    previous setup (a new level or file), it never adds a second handler."""
    number = parse_level(level)
    target = path if path is not None else default_log_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":  # the log names customers: the user's eyes only
        with contextlib.suppress(OSError):
            target.parent.chmod(0o700)
    handler = _SupportLogHandler(target, maxBytes=max_bytes, backupCount=backups,
                                 encoding="utf-8", delay=True)
    handler.setLevel(number)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(ScrubFilter())
    teardown_logging()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(number)
    return target


def teardown_logging() -> None:
    """Close and remove the support log handler (tests, or before a new setup)."""
    root = logging.getLogger()
    for handler in _ours():
        root.removeHandler(handler)
        handler.close()


def current_log_path() -> Path | None:
    """Where the support log is being written, or None when it is not set up."""
    handlers = _ours()
    return Path(handlers[-1].baseFilename) if handlers else None
