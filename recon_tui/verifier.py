"""The workflows' :class:`~recon_tui.workflows.verify.Verifier` over the real
resync and sync: what the composition root hands a checklist or a fix.

It is also where their failures become one :class:`VerifyError`: a resync that
could not read both systems (``ResyncError``), another sync holding the cache
(``SyncBusy``), a connector or configuration error raised before the run began.
The workflows then catch one error and never import ``resync``, ``sync`` or the
connectors' errors to do it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from recon_tui.cache import Cache
from recon_tui.config import ConfigError
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.models import SyncRun
from recon_tui.resync import ResyncError, ResyncResult, resync_invoice
from recon_tui.sync import SyncBusy, SyncProgress, run_full_sync
from recon_tui.workflows.verify import VerifyError

__all__ = ["SystemsVerifier"]


@dataclass(frozen=True, slots=True)
class SystemsVerifier:
    """Verification of ``cache`` by reading ``psa`` and ``ledger`` (one per thread,
    like the cache)."""

    cache: Cache
    psa: PsaConnector
    ledger: LedgerConnector

    def resync(self, number: str) -> ResyncResult:
        try:
            return resync_invoice(self.cache, self.psa, self.ledger, number)
        except (ResyncError, SyncBusy, ConnectorError, ConfigError) as exc:
            raise VerifyError(str(exc)) from exc

    def full_sync(self, since: date, *,
                  progress: Callable[[SyncProgress], None] | None = None,
                  cancel: threading.Event | None = None) -> SyncRun:
        try:
            return run_full_sync(self.cache, self.psa, self.ledger, since=since,
                                 progress=progress, cancel=cancel)
        except SyncBusy as exc:
            raise VerifyError(str(exc)) from exc
