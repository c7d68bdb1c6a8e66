"""Opening a cache file safely, and saying plainly why one cannot be used.

The cache holds every client's balances, names and contacts' e-mail addresses,
so it is private to its owner: the file and its WAL/SHM companions are 0600
(SQLite gives the companions the main file's mode), and a folder recon-tui
creates for it is 0700. A read-only command opens the file read-only and
creates nothing. Every SQLite failure is translated into a :class:`CacheError`
whose one line names the file, the cause and the way out.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from pathlib import Path

from recon_tui.paths import data_dir

#: How long a writer waits for another process's write lock before saying so.
BUSY_TIMEOUT_SECONDS = 30.0
PRIVATE_FILE = stat.S_IRUSR | stat.S_IWUSR
PRIVATE_DIR = stat.S_IRWXU
COMPANIONS = ("-wal", "-shm", "-journal")


class CacheError(RuntimeError):
    """The cache file cannot be used (corrupt, newer schema, locked, disk full)."""


class CacheBusy(CacheError):
    """Another process holds the cache's write lock for longer than we wait."""


class CacheDamaged(CacheError):
    """The file is not a cache, or SQLite reports it damaged."""


class CacheMissing(CacheError):
    """A read-only command named a cache that does not exist yet."""


def way_out(path: Path) -> str:
    return (f"move {path} aside and run `recon-tui sync --full` to rebuild it from both "
            "systems")


def translate(exc: BaseException, path: Path) -> CacheError:
    """One line for an SQLite (or OS) failure on ``path``."""
    if isinstance(exc, CacheError):
        return exc
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return CacheBusy(f"{path}: another recon-tui process is writing to this cache "
                         f"(waited {BUSY_TIMEOUT_SECONDS:.0f} s); try again when it finishes")
    if "disk is full" in lowered or "disk full" in lowered or getattr(exc, "errno", 0) == 28:
        return CacheError(f"{path}: the disk is full; nothing was written. Free some space "
                          "and run the command again")
    if "readonly" in lowered or "read-only" in lowered:
        return CacheError(f"{path}: the cache is read-only for this user; nothing was "
                          "written. Check the file's permissions or use another --db")
    if isinstance(exc, PermissionError):
        return CacheError(f"{path}: permission denied ({exc.strerror or text})")
    if isinstance(exc, OSError):
        return CacheError(f"{path}: cannot use the cache ({exc.strerror or text})")
    if "no such table" in lowered or "no such column" in lowered:
        return CacheDamaged(f"{path}: the cache is damaged ({text}); {way_out(path)}")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError
                                                                 | sqlite3.ProgrammingError):
        return CacheDamaged(f"{path}: the cache is damaged or not a recon-tui cache "
                            f"({text}); {way_out(path)}")
    if "malformed" in lowered or "not a database" in lowered or "disk i/o" in lowered:
        return CacheDamaged(f"{path}: the cache is damaged ({text}); {way_out(path)}")
    return CacheError(f"{path}: the cache failed ({text})")


def open_connection(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """A connection to ``path``: created private when new (write mode only), read
    only without creating anything otherwise."""
    if str(path) == ":memory:":  # tests and throwaway snapshots
        return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    if path.exists() and not path.is_file():
        raise CacheError(f"{path}: not a regular file; name a cache file with --db")
    if read_only:
        if not path.exists():
            raise CacheMissing(f"{path}: no cache here yet; run `recon-tui sync` first")
        uri = f"{path.absolute().as_uri()}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        except sqlite3.Error as exc:
            raise translate(exc, path) from None
        return conn
    _prepare_private(path)
    try:
        return sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise translate(exc, path) from None


def _prepare_private(path: Path) -> None:
    """Create the folder (0700) and an empty file (0600) if need be; tighten an
    older cache's modes on open."""
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(parents=True, mode=PRIVATE_DIR)
            os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is masked by the umask
        except FileExistsError:
            pass
        except OSError as exc:
            raise CacheError(f"{path}: cannot create the folder {folder} "
                             f"({exc.strerror or exc})") from None
    try:
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
            os.close(fd)
    except FileExistsError:
        pass  # another process created it between the check and the open
    except OSError as exc:
        raise translate(exc, path) from None
    tighten(path)
    if folder.absolute() == data_dir().absolute():
        tighten_folder(folder)


def tighten(path: Path) -> None:
    """Mode 0600 on the cache and its companions we own (an older cache was 0644)."""
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)):
        with contextlib.suppress(OSError):
            info = candidate.lstat()
            if (stat.S_ISREG(info.st_mode) and _mine(info)
                    and stat.S_IMODE(info.st_mode) & ~PRIVATE_FILE):
                os.chmod(candidate, PRIVATE_FILE)


def tighten_folder(folder: Path) -> None:
    """0700 on recon-tui's own data folder (never on a folder the user named)."""
    with contextlib.suppress(OSError):
        info = folder.stat()
        if _mine(info) and stat.S_IMODE(info.st_mode) & ~PRIVATE_DIR:
            os.chmod(folder, PRIVATE_DIR)


def _mine(info: os.stat_result) -> bool:
    """Owned by this user (always true where there are no POSIX owners)."""
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def is_database_error(exc: BaseException) -> bool:
    """An SQLite failure escaping a cache call (callers outside this layer never
    import sqlite3)."""
    return isinstance(exc, sqlite3.Error)
