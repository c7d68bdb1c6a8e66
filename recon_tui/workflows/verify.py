"""What a workflow verifies its work through: re-reading the systems into the cache.

A checklist or a fix is never ticked by hand: it is done when a resync of the
invoice (and, for a credit, sometimes a full sync) shows it. The workflows
receive that as a :class:`Verifier` instead of importing ``resync`` and ``sync``,
so they stay a layer that reads the cache and writes through the connector
interface, and the composition root (:mod:`recon_tui.session`) chooses what the
verification runs against. :class:`recon_tui.verifier.SystemsVerifier` is the one
the app uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Protocol

from recon_tui.cache import PairRow
from recon_tui.models import SyncRun

__all__ = ["Resynced", "SyncStepProgress", "Verifier", "VerifyError"]


class VerifyError(RuntimeError):
    """The verification could not run: a system failed or refused, the
    configuration is incomplete, another sync holds the cache, or neither system
    knows the invoice. Nothing was written; the message says why."""


class Resynced(Protocol):
    """The outcome of a resync: the invoice's rows after it, and its recorded run."""

    @property
    def after(self) -> list[PairRow]: ...

    @property
    def run(self) -> SyncRun | None: ...


class SyncStepProgress(Protocol):
    """Where a full sync is: the step, how many, in what phase."""

    @property
    def step_index(self) -> int: ...

    @property
    def step_count(self) -> int: ...

    @property
    def step(self) -> str: ...

    @property
    def system(self) -> str: ...

    @property
    def phase(self) -> str: ...  # "fetch" | "apply" | "done"


class Verifier(Protocol):
    """Resync one invoice, or sync everything changed since a day, into the cache."""

    def resync(self, number: str) -> Resynced:
        """Refetch invoice ``number`` from both systems (raises VerifyError)."""
        ...

    def full_sync(self, since: date, *,
                  progress: Callable[[SyncStepProgress], None] | None = None,
                  cancel: threading.Event | None = None) -> SyncRun:
        """A full sync from ``since``; its run says how it ended. Raises
        VerifyError only when it cannot start (another sync holds the cache)."""
        ...
