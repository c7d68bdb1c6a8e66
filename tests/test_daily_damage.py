"""A damaged cache is refused before a sync writes anything, and why the check
is ``PRAGMA quick_check`` of the whole file (``CacheCore.check_integrity``).

Each test damages a real synced cache the way a disk can (a broken freelist, a
broken cell with its page header intact), shows that a cheaper check would have
passed it and that SQLite itself writes into it without a word, then runs a
real sync against the emulator and asserts it is refused with not one byte of
the file changed.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from recon_tui.cache import Cache, CacheDamaged
from recon_tui.cache.schema import TABLES
from recon_tui.models import SyncStatus
from recon_tui.sandbox.server import SandboxServer
from recon_tui.sync import run_full_sync
from tests.emulator import backend_for, running_emulator

PAGE = 4096


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with running_emulator() as (server, _book, _plan):
        yield server


def _synced(path: Path, server: SandboxServer) -> None:
    """A cache after a first sync, with some free pages (rows written and
    deleted), closed: its WAL checkpointed into the file, which stays in WAL mode."""
    with Cache(path) as cache, backend_for(server) as backend:
        run = run_full_sync(cache, backend.psa, backend.ledger, since=None)
        assert run.status is SyncStatus.SUCCEEDED, run.error
        with cache.transaction():
            cache.conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                                   [(f"scratch{n}", "x" * 500) for n in range(300)])
        with cache.transaction():
            cache.conn.execute("DELETE FROM meta WHERE key LIKE 'scratch%'")


def _varint(data: bytes | bytearray, at: int) -> tuple[int, int]:
    """An SQLite varint at ``at``: its value and where the next field starts."""
    value = 0
    for n in range(9):
        byte = data[at + n]
        if n == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + n + 1
    raise AssertionError("unreachable")


def _leaf_pages(path: Path, table: str) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            (table,))]
    finally:
        conn.close()


def _each_table_checks_ok(path: Path) -> bool:
    """``PRAGMA quick_check(TABLE)`` (the table and its indexes) passes for every
    table of the schema: the cheaper check a sync could have run instead."""
    conn = sqlite3.connect(path)
    try:
        return all(conn.execute(f"PRAGMA quick_check({table})").fetchall() == [("ok",)]
                   for table in TABLES)
    finally:
        conn.close()


def _refused_untouched(path: Path, server: SandboxServer) -> None:
    """A sync of ``path`` is refused as damaged, and the file is byte for byte
    what it was (no WAL frame either: nothing was written, not even a run)."""
    before = path.read_bytes()
    with Cache(path) as cache, backend_for(server) as backend, pytest.raises(
            CacheDamaged, match=r"the cache is damaged[^\n]*sync --full"):
        run_full_sync(cache, backend.psa, backend.ledger, since=None)
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert path.read_bytes() == before


def test_a_broken_freelist_passes_every_table_check_and_is_refused_before_writing(
        tmp_path: Path, server: SandboxServer) -> None:
    path = tmp_path / "cache.db"
    _synced(path, server)
    invoice_pages = _leaf_pages(path, "psa_invoice")
    data = bytearray(path.read_bytes())
    trunk = struct.unpack(">I", data[32:36])[0]
    assert trunk, "no free page to damage"
    at = (trunk - 1) * PAGE
    leaves = struct.unpack(">I", data[at + 4:at + 8])[0]
    assert leaves > 10
    for n in range(leaves):  # the free list now names pages psa_invoice still uses
        data[at + 8 + 4 * n:at + 12 + 4 * n] = struct.pack(">I", invoice_pages[n % 10])
    path.write_bytes(bytes(data))

    assert _each_table_checks_ok(path)  # a per-table check would let the sync write
    # ... and SQLite writes into it without an error, over psa_invoice's rows.
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    with conn:
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                         [(f"more{n}", "y" * 500) for n in range(40)])
    assert conn.execute("PRAGMA quick_check(psa_invoice)").fetchall() != [("ok",)]
    conn.close()

    _refused_untouched(path, server)


def test_a_broken_cell_sqlite_would_write_beside_is_refused_before_writing(
        tmp_path: Path, server: SandboxServer) -> None:
    path = tmp_path / "cache.db"
    _synced(path, server)
    page = _leaf_pages(path, "psa_invoice")[3]
    data = bytearray(path.read_bytes())
    at = (page - 1) * PAGE
    cells = struct.unpack(">H", data[at + 3:at + 5])[0]
    last = struct.unpack(">H", data[at + 8 + 2 * (cells - 1):at + 10 + 2 * (cells - 1)])[0]
    data[at + last:at + last + 4] = b"\xff\xff\xff\xff"  # one cell; the page header intact
    path.write_bytes(bytes(data))

    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    first = struct.unpack(">H", data[at + 8:at + 10])[0]
    rowid, _ = _varint(data, _varint(data, at + first)[1])  # a cell: size, then rowid
    with conn:  # a row on the damaged page is updated, and SQLite commits
        changed = conn.execute("UPDATE psa_invoice SET status = status WHERE rowid = ?",
                               (rowid,)).rowcount
    assert changed == 1
    conn.close()

    _refused_untouched(path, server)


def test_a_run_left_running_is_not_marked_failed_in_a_damaged_cache(
        tmp_path: Path, server: SandboxServer) -> None:
    """The interrupted runs are marked failed only once the file is proved whole
    (that UPDATE used to run first, inside the damaged file)."""
    path = tmp_path / "cache.db"
    _synced(path, server)
    with Cache(path) as cache, cache.transaction():
        cache.conn.execute("UPDATE sync_run SET status = ?", (SyncStatus.RUNNING.value,))
    data = bytearray(path.read_bytes())
    page = _leaf_pages(path, "psa_invoice")[2]
    data[(page - 1) * PAGE:(page - 1) * PAGE + 8] = b"\x00" * 8  # a broken page header
    path.write_bytes(bytes(data))
    _refused_untouched(path, server)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT DISTINCT status FROM sync_run").fetchall() == [
        (SyncStatus.RUNNING.value,)]
    conn.close()
