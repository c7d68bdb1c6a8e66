"""Where QuickBooks Online OAuth state lives between runs.

Intuit rotates the refresh token on (almost) every refresh and invalidates the
old one, so the newest token must be on disk *before* it is ever used: a crash
between the refresh and the save would otherwise lock the user out with
``invalid_grant``. The store therefore writes atomically (temp file in the same
directory, fsync, ``os.replace``) with mode 0600 and is saved by the connector
right after each refresh, before the new access token goes out.

The config file keeps the refresh token the user pasted in; the store keeps
the rotated ones. ``seeded_from`` (a SHA-256 of the config's token) says which
config token a stored state descends from: same hash, the stored token is newer
and wins; a different hash means the user re-authorised and pasted a new token,
so the config's wins.

Two processes (a cron sync while the TUI is open) share the file, so a refresh
holds :meth:`TokenStore.process_lock`, a lock file beside it
(``<token file>.lock``), around read-refresh-save: the second one re-reads the
store under the lock and adopts the first one's fresh access token instead of
spending the refresh token the first one just rotated away.

No token ever reaches a ``repr``, a log line or an exception message here, and
every token read from the file is registered with the scrubber.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recon_tui import scrub
from recon_tui.atomic import write_private_file
from recon_tui.paths import data_dir

__all__ = [
    "TokenLockTimeout",
    "TokenState",
    "TokenStore",
    "default_token_path",
    "expiry_after",
    "token_fingerprint",
]

log = logging.getLogger(__name__)

# Refresh a little before the access token runs out, so a request never
# leaves with a token that expires in flight.
EXPIRY_MARGIN = timedelta(seconds=60)

#: How long a refresh waits for another process's refresh (which retries a slow
#: token endpoint for a while) before giving up.
PROCESS_LOCK_TIMEOUT_SECONDS = 120.0

_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def token_fingerprint(refresh_token: str) -> str:
    """SHA-256 hex of a refresh token: safe to store and compare, says nothing about it."""
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()


def default_token_path(realm_id: str) -> Path:
    """``<user data dir>/tokens/qbo-<realm_id>.json`` (one file per QBO company)."""
    if not realm_id.isdigit():
        # The realm id becomes a file name: never let it climb out of the directory.
        raise ValueError(f"expected a numeric QuickBooks realm id, got {realm_id!r}")
    return data_dir() / "tokens" / f"qbo-{realm_id}.json"


@dataclass(frozen=True, slots=True)
class TokenState:
    """One company's OAuth state. ``repr`` masks both tokens."""

    refresh_token: str
    seeded_from: str
    access_token: str | None = None
    access_expires_at: datetime | None = None
    #: When Intuit stops honouring the refresh token (``x_refresh_token_expires_in``
    #: of the answer that issued it, made absolute); None when never told (older
    #: files, or a token endpoint that does not say).
    refresh_expires_at: datetime | None = None

    def __repr__(self) -> str:
        access = "set" if self.access_token else "none"
        return (
            f"TokenState(refresh_token=********, access_token={access}, "
            f"access_expires_at={self.access_expires_at!r}, "
            f"refresh_expires_at={self.refresh_expires_at!r}, "
            f"seeded_from={self.seeded_from[:12]}...)"
        )

    def access_valid(self, now: datetime | None = None) -> bool:
        """An access token that will still be good for at least the margin."""
        if not self.access_token or self.access_expires_at is None:
            return False
        now = now or datetime.now(UTC)
        return self.access_expires_at - EXPIRY_MARGIN > now

    def to_json(self) -> dict[str, Any]:
        return {
            "refresh_token": self.refresh_token,
            "access_token": self.access_token,
            "access_expires_at": (
                self.access_expires_at.isoformat() if self.access_expires_at else None
            ),
            "seeded_from": self.seeded_from,
            "refresh_expires_at": (
                self.refresh_expires_at.isoformat() if self.refresh_expires_at else None
            ),
        }

    @classmethod
    def from_json(cls, data: object) -> TokenState:
        if not isinstance(data, dict):
            raise ValueError("token file does not hold an object")
        refresh, seeded = data.get("refresh_token"), data.get("seeded_from")
        if not isinstance(refresh, str) or not refresh or not isinstance(seeded, str):
            raise ValueError("token file lacks refresh_token or seeded_from")
        access = data.get("access_token")
        state = cls(
            refresh_token=refresh,
            seeded_from=seeded,
            access_token=access if isinstance(access, str) and access else None,
            access_expires_at=_moment(data.get("access_expires_at")),
            # Absent from files written before refresh tokens expired: None.
            refresh_expires_at=_moment(data.get("refresh_expires_at")),
        )
        scrub.register(state.refresh_token, state.access_token)
        return state


def expiry_after(seconds: object, now: datetime | None = None) -> datetime | None:
    """``now`` plus a token answer's lifetime field (``expires_in``,
    ``x_refresh_token_expires_in``: seconds, a number or a numeric string); None
    when the field is absent or not a positive number."""
    if isinstance(seconds, bool):
        return None
    try:
        lifetime = int(str(seconds).strip()) if isinstance(seconds, str) else int(seconds)
    except (TypeError, ValueError, OverflowError):
        return None
    if lifetime <= 0:
        return None
    try:
        return (now or datetime.now(UTC)) + timedelta(seconds=lifetime)
    except OverflowError:
        return None


def _moment(text: object) -> datetime | None:
    """An ISO timestamp from the file (naive means UTC); None when absent.
    ValueError on a malformed one (the file is then treated as damaged)."""
    if not isinstance(text, str):
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class TokenLockTimeout(Exception):
    """Another process held the token file's lock past the timeout."""


class TokenStore:
    """The JSON file holding one company's rotated tokens.

    ``lock`` is shared by every store on the same path in this process, so two
    connectors never refresh with the same (soon invalid) refresh token at once.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        key = self.path.absolute()
        with _LOCKS_GUARD:
            self.lock = _LOCKS.setdefault(key, threading.RLock())

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def process_lock(self, timeout: float = PROCESS_LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
        """Hold ``<token file>.lock`` (an OS file lock, released if the process
        dies) so no other process refreshes this company's token meanwhile.

        Take ``lock`` (the in-process one) first. Raises OSError when the lock
        file cannot be created and TokenLockTimeout after ``timeout`` seconds.
        """
        import filelock  # here: reading a token (the launch's expiry check) takes no
        # lock, and importing filelock costs ~20 ms CPU

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = filelock.FileLock(self.lock_path, timeout=timeout, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise TokenLockTimeout(self.lock_path) from None
        try:
            yield
        finally:
            lock.release()

    def check_writable(self) -> None:
        """Raise OSError unless a new token file can be written beside this one.

        Called before a refresh token is spent: Intuit invalidates it once the
        rotated one is issued, so a rotated token that cannot be saved locks the
        user out. A real probe (create and remove a temp file), not a permission
        guess, so a read-only file system or a file in the way is caught too.
        """
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(prefix=f".{self.path.name}.", suffix=".probe",
                                    dir=directory):
            pass

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def load(self) -> TokenState | None:
        """The stored state, or None when there is none or it cannot be read.

        An unreadable file is not fatal: the config's token is the fallback and,
        if that one was rotated away, the user gets the re-authorise message.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning(
                "qbo: cannot read the token file %s (%s); using the config's refresh token",
                self.path,
                exc.strerror or type(exc).__name__,
            )
            return None
        try:
            return TokenState.from_json(json.loads(raw))
        except (ValueError, UnicodeDecodeError) as exc:
            # Never echo the content: it holds tokens.
            log.warning(
                "qbo: the token file %s is damaged (%s); using the config's refresh token",
                self.path,
                type(exc).__name__,
            )
            return None

    def resolve(self, config_refresh_token: str) -> TokenState:
        """The state to start from: the stored one if it descends from this config
        token, else a fresh one seeded from the config (the user re-authorised)."""
        seeded = token_fingerprint(config_refresh_token)
        stored = self.load()
        if stored is not None and stored.seeded_from == seeded:
            return stored
        return TokenState(refresh_token=config_refresh_token, seeded_from=seeded)

    def save(self, state: TokenState) -> None:
        """Write atomically with mode 0600: the old file or the new one, never half."""
        write_private_file(self.path, json.dumps(state.to_json(), indent=1).encode("utf-8"))

    def clear(self) -> None:
        """Forget the stored state (after the user re-authorises, say)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

