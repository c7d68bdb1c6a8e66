"""The cache file itself: private modes, read-only opens that create nothing,
and one line for every way a file can be unusable."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from recon_tui.cache import Cache, CacheBusy, CacheDamaged, CacheError, CacheMissing
from recon_tui.cache import files as cache_files
from recon_tui.cli import main


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_cache_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "cache.db"
    cache = Cache(path)
    cache.set_meta("k", "v")
    try:
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        for companion in ("-wal", "-shm"):  # WAL mode: they exist while it is open
            assert mode(Path(f"{path}{companion}")) == 0o600
    finally:
        cache.close()


def test_an_older_world_readable_cache_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    Cache(path).close()
    os.chmod(path, 0o644)
    os.chmod(tmp_path, 0o755)
    Cache(path).close()
    assert mode(path) == 0o600
    assert mode(tmp_path) == 0o755  # a folder the user named is left alone


def test_read_only_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "a" / "b" / "cache.db"
    with pytest.raises(CacheMissing, match="no cache here yet; run `recon-tui sync` first"):
        Cache(missing, read_only=True)
    assert not (tmp_path / "a").exists()
    path = tmp_path / "cache.db"
    with Cache(path) as cache:
        cache.set_meta("k", "v")
    with Cache(path, read_only=True) as cache:
        assert cache.get_meta("k") == "v"
        with pytest.raises(CacheError, match="read-only"):
            cache.set_meta("k", "w")


def test_history_on_a_missing_cache_creates_no_folder(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "nowhere" / "cache.db"
    assert main(["history", "--demo", "--db", str(db)]) == 0
    assert "no cache at" in capsys.readouterr().out
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("target", ["/dev/null", "folder"])
def test_a_path_that_is_not_a_regular_file_is_refused(tmp_path: Path, target: str) -> None:
    path = Path(target) if target.startswith("/") else tmp_path
    with pytest.raises(CacheError, match="not a regular file"):
        Cache(path)


def test_garbage_and_a_dropped_table_are_damage_with_the_way_out(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00not sqlite" * 500)
    with pytest.raises(CacheDamaged, match="sync --full"):
        Cache(garbage)
    dropped = tmp_path / "dropped.db"
    Cache(dropped).close()
    conn = sqlite3.connect(dropped)
    conn.execute("DROP TABLE psa_invoice")
    conn.commit()
    conn.close()
    with pytest.raises(CacheDamaged, match="table psa_invoice missing"):
        Cache(dropped)


def test_damaged_pages_are_found_before_a_sync_writes(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with Cache(path) as cache:
        cache.conn.execute("PRAGMA journal_mode=DELETE")
        with cache.transaction():
            cache.conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                                   [(f"k{n}", "x" * 500) for n in range(400)])
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 5:page * 5 + 200] = os.urandom(200)  # scribble over an interior page
    path.write_bytes(bytes(data))
    cache = Cache(path)
    try:
        with pytest.raises(CacheDamaged, match="damaged"):
            cache.check_integrity()
    finally:
        cache.close()


def test_another_writer_holding_the_lock_is_named(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_files, "BUSY_TIMEOUT_SECONDS", 0.2)
    path = tmp_path / "cache.db"
    holder = Cache(path)
    other = Cache(path)
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with holder.transaction():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    entered.wait(5)
    try:
        with pytest.raises(CacheBusy, match="another recon-tui process is writing"):
            other.set_meta("k", "v")
    finally:
        release.set()
        thread.join()
        holder.close()
        other.close()


def test_translate_names_disk_full_and_permissions() -> None:
    path = Path("/x/cache.db")
    full = cache_files.translate(sqlite3.OperationalError("database or disk is full"), path)
    assert "the disk is full; nothing was written" in str(full)
    denied = cache_files.translate(PermissionError(13, "Permission denied"), path)
    assert str(denied) == "/x/cache.db: permission denied (Permission denied)"
