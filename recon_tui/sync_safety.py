"""What keeps a sync safe around its edges: one sync per cache across processes,
one company's books per cache, and no mass deletion without a yes.

A read that silently came back short (an empty page a proxy invented, a
filter the server ignored) looks exactly like records deleted at the source;
the share check is the last line of defence after every read has proved its
count, so a cache is never emptied by a fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import filelock

from recon_tui.cache import Cache
from recon_tui.cache.held_ids import held_ledger_ids, held_psa_invoice_ids
from recon_tui.connectors.base import LedgerConnector, PsaConnector


class SyncCancelled(Exception):
    """The operator cancelled; nothing was written."""


class SyncBusy(RuntimeError):
    """Another sync or resync holds this cache."""


INTERRUPTED = "interrupted: recon-tui stopped before this sync finished; nothing was written"
#: Deleting up to this many records of a side never asks, whatever the share.
MASS_DELETE_FLOOR = 10


@dataclass(frozen=True, slots=True)
class MassDeletion:
    """One side's deletions when they exceed the allowed share of what it holds."""

    side: str  # "psa" | "ledger"
    deleting: int
    held: int
    percent_allowed: int

    def describe(self) -> str:
        share = self.deleting * 100 / max(self.held, 1)  # a display figure, not money
        return (f"would delete {self.deleting:,} of the {self.held:,} {self.side} records "
                f"the cache holds ({share:.0f}%), more than the {self.percent_allowed}% "
                "allowed")


#: Asked (from the sync's thread) when deletions exceed the share; True goes on.
ConfirmMassDelete = Callable[[list[MassDeletion]], bool]


def _lock_for(cache_path: Path) -> filelock.BaseFileLock:
    """The OS lock beside the cache (flock on POSIX, msvcrt on Windows, through
    filelock): held by an open file, so a killed process never leaves it held."""
    return filelock.FileLock(f"{cache_path}.sync-lock", mode=0o600)


def sync_in_progress(cache_path: Path) -> bool:
    """Whether a live process holds this cache's sync lock (without creating the
    lock file: a read-only command must not write)."""
    if not Path(f"{cache_path}.sync-lock").exists():
        return False
    lock = _lock_for(cache_path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        return True
    except OSError:
        return False  # cannot even open it: nobody we could see holds it
    lock.release()
    return False


@contextmanager
def sync_lock(cache: Cache, *, check_integrity: bool = False) -> Iterator[None]:
    """One sync at a time per cache file, across processes. Runs a killed process
    left 'running' are marked failed once we hold the lock; with
    ``check_integrity`` the whole file is checked first (``Cache.check_integrity``),
    so a damaged cache is refused before even that is written."""
    lock = _lock_for(cache.path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise SyncBusy("another sync is already running on this cache; "
                       "wait for it to finish") from None
    try:
        if check_integrity:
            cache.check_integrity()
        cache.history.fail_interrupted_runs(INTERRUPTED)
        yield
    finally:
        lock.release()


def check_books(cache: Cache, psa: PsaConnector, ledger: LedgerConnector, *,
                claim: bool = False) -> None:
    """One cache, one PSA and one ledger company (raises CacheError otherwise)."""
    cache.check_book("psa", psa.book, claim=claim)
    cache.check_book("ledger", ledger.book, claim=claim)


class SyncFailed(Exception):
    """A step failed; the message names the step and the cause."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"step '{step}' failed: {cause}")
        self.step = step
        self.cause = cause



def check_mass_deletions(cache: Cache, deleting: Mapping[str, int], percent: int,
                         confirm: ConfirmMassDelete | None) -> None:
    """Stop before writing when a side would lose more than ``percent`` of its
    records, unless the caller confirms: a read that came back short must never
    empty the cache. ``deleting`` counts the records each deletion step read.
    What a side holds is counted only when it deletes more than the floor (a
    daily sync deletes nothing, and need not count a 200,000-invoice book)."""
    def held(side: str) -> int:
        if side == "psa":
            return len(held_psa_invoice_ids(cache))
        return sum(len(ids) for ids in held_ledger_ids(cache, {}).values())

    steps = {"psa": "psa deleted invoices", "ledger": "ledger deletions"}
    excess = [MassDeletion(side, deleting[key], count, percent)
              for side, key in steps.items()
              if deleting[key] > MASS_DELETE_FLOOR
              for count in (held(side),)
              if deleting[key] * 100 > percent * count]
    if not excess:
        return
    text = "; ".join(f"{m.side}: {m.describe()}" for m in excess)
    if confirm is not None and confirm(excess):
        return
    if confirm is not None:
        raise SyncCancelled(f"cancelled: {text}; not confirmed, nothing written")
    raise SyncFailed(steps[excess[0].side], MassDeleteRefused(
        f"{text}. Nothing was written. If these records really were deleted, run "
        "`recon-tui sync --allow-mass-delete` (or confirm in the app)")) from None


class MassDeleteRefused(ValueError):
    """Deletions beyond the allowed share, not confirmed."""
