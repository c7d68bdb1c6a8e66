"""Write a private file atomically: the old contents or the new, never half.

Used for the config file and the QBO token store, which can hold a freshly
rotated refresh token: losing it to a crash mid-write would lock the user out.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


class NotReplaceable(OSError):
    """The target exists and is not a regular file of ours to replace."""


def check_replaceable(path: Path) -> None:
    """A new path or an existing regular file only: renaming a temporary file over
    a device (``/dev/full``), a symlink or a folder would replace what is not
    ours to replace. Raises NotReplaceable (an OSError) with the reason."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        what = "a symbolic link (name the file it points to)"
    elif stat.S_ISDIR(info.st_mode):
        what = "a folder"
    elif not stat.S_ISREG(info.st_mode):
        what = "a device or special file"
    else:
        return
    raise NotReplaceable(1, f"is {what}, not a regular file; nothing was written", str(path))


def write_private_file(path: Path, payload: bytes) -> None:
    """Temp file in the same directory (mode 0600), fsync, rename over ``path``,
    fsync the directory. Raises OSError; the temp file never lingers."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        # mkstemp creates the file readable and writable by its owner only (0600 on
        # POSIX); os.fchmod would add nothing and does not exist on Windows.
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not every platform lets a directory be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
