"""The bundled demo: the sample book loaded into its own cache file.

The load goes through the emulator of the three APIs, the real connectors and
the ordinary sync, exactly like a real account, so the demo exercises the code
a user's data will. The emulator's world is kept beside the cache
(``<cache>.emulator.json``, see :mod:`recon_tui.sandbox.state`) so both stay
consistent across launches; once the first load has synced, the sample book's
after-sync events happen in the emulator (seed 000's payment deleted in both
systems...), which the cache learns of at the next sync or resync.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from recon_tui.backend import SANDBOX_REALM, Backend
from recon_tui.cache import Cache, CacheError
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import SyncRun, SyncStatus
from recon_tui.sync import ProgressCallback, run_full_sync

FINGERPRINT_KEY = "demo_fingerprint"
#: The book id the demo's emulator serves (see backend.SANDBOX_REALM).
DEMO_LEDGER_BOOK = f"qbo:{SANDBOX_REALM}"


def sample_fingerprint(data_dir: Path) -> str:
    """Changes whenever the bundled sample files change, so a stale demo cache
    is rebuilt instead of silently showing old data."""
    digest = hashlib.sha256()
    for path in sorted(data_dir.rglob("*.json")):
        stat = path.stat()
        digest.update(f"{path.relative_to(data_dir)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def demo_is_loaded(cache: Cache, data_dir: Path | None = None) -> bool:
    data_dir = data_dir or sample_data_dir()
    return cache.get_meta(FINGERPRINT_KEY) == sample_fingerprint(data_dir)


def demo_state_path(cache_path: Path) -> Path:
    """Where the emulator world of the demo cache at ``cache_path`` is kept."""
    from recon_tui.sandbox.state import state_path_for

    return state_path_for(cache_path)


def reset_demo_cache(path: Path) -> None:
    """Remove a demo cache (and its WAL files) and its emulator world, so the next
    load starts clean in both.

    Only a demo's own cache: one that holds a real company's books (an explicit
    ``--db`` naming the real cache with ``--demo``) raises CacheError and stays."""
    if path.is_file():
        try:
            with Cache(path, read_only=True) as cache:
                held = cache.get_meta("book_ledger")
        except CacheError:
            held = None  # unreadable or an older schema: nothing to protect we can see
        if held is not None and held != DEMO_LEDGER_BOOK:
            raise CacheError(f"{path}: holds the books of {held}, not the demo's; the demo "
                             "never replaces it. Run the demo without --db (it has its own "
                             "cache) or name a new file")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    demo_state_path(path).unlink(missing_ok=True)


def load_demo(
    cache: Cache,
    backend: Backend,
    *,
    data_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> SyncRun:
    """Sync the demo book into ``cache`` through ``backend`` (the emulator), then
    let the demo world move on (``backend.after_demo_load``: the events that happen
    after this sync, applied once per world)."""
    data_dir = data_dir or sample_data_dir()
    run = run_full_sync(cache, backend.psa, backend.ledger, since=None, kind="demo",
                        progress=progress, cancel=cancel)
    if run.status is SyncStatus.SUCCEEDED:
        cache.set_meta(FINGERPRINT_KEY, sample_fingerprint(data_dir))
        backend.after_demo_load()
    return run
