"""One Web Connector session's sync: the very sync every ledger goes through
(``recon_tui.sync.run_full_sync``: the PSA over its API and the ledger steps,
fetched into a stage, then applied in one transaction), with the QuickBooks
Desktop connector reading through the session's channel.

The history records each session as a run of kind ``web connector``; a session
that fails, times out or is closed early is recorded failed or cancelled with
nothing written, like any sync. Credit checklists queued for Desktop are applied
before the sync's reads and verified after it (:mod:`recon_tui.qbwc.credits`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.connectors.qbd_channel import QbxmlChannel
from recon_tui.qbwc.service import SessionOutcome, SessionRun
from recon_tui.workflows.write_policy import READ_ONLY, WritePolicy

if TYPE_CHECKING:
    from recon_tui.models import SyncRun

__all__ = ["RUN_KIND", "DesktopSync", "outcome_line", "qbd_ledger"]

log = logging.getLogger(__name__)

#: The history's name for a sync a Web Connector session ran.
RUN_KIND = "web connector"


def qbd_ledger(book: str) -> Callable[[QbxmlChannel], LedgerConnector]:
    """The QuickBooks Desktop connector of ``book`` over a session's channel."""

    def build(channel: QbxmlChannel) -> LedgerConnector:
        from recon_tui.connectors.qbd import QbdConnector

        return QbdConnector(channel, book=book)

    return build


def outcome_line(run: SyncRun) -> str:
    """'sync #4 succeeded (web connector since 2026-12-02, 0.3s): 1 record changed'."""
    from recon_tui.describe import duration, run_title
    from recon_tui.text import printable
    from recon_tui.wording import counted

    changed = sum(s.created + s.updated + s.deleted for s in run.steps)
    tail = printable(run.error) if run.error else f"{counted(changed, 'record')} changed"
    return f"sync #{run.id} {run.status.value} ({run_title(run)}, {duration(run)}): {tail}"


@dataclass(frozen=True)
class DesktopSync:
    """Runs one full sync per Web Connector session into the cache at ``cache_path``."""

    cache_path: Path
    open_psa: Callable[[], PsaConnector]
    open_ledger: Callable[[QbxmlChannel], LedgerConnector]
    max_delete_percent: int = 5
    #: May the session write to the company file (``[ledger] allow_writes``)? Off:
    #: queued credit checklists stay queued, with the line saying how to turn it on.
    policy: WritePolicy = READ_ONLY

    def __call__(self, session: SessionRun) -> SessionOutcome:
        from recon_tui.cache import Cache, CacheError
        from recon_tui.config import ConfigError
        from recon_tui.models import SyncStatus
        from recon_tui.qbwc.credits import apply_queued, verify_applied
        from recon_tui.sync import SyncBusy, default_since, run_full_sync

        def progress(p) -> None:  # never backwards: the steps are read side by side
            done = (p.step_index + 1) / (p.step_count + 1)
            session.done_fraction = max(session.done_fraction, done)
            session.applying = session.applying or p.phase != "fetch"

        try:
            cache = Cache(self.cache_path)
        except CacheError as exc:
            return SessionOutcome(False, str(exc))
        psa: PsaConnector | None = None
        ledger: LedgerConnector | None = None
        try:
            psa, ledger = self.open_psa(), self.open_ledger(session.channel)
            problems = apply_queued(cache, ledger, self.policy)  # before the sync reads
            run = run_full_sync(cache, psa, ledger, since=default_since(cache), kind=RUN_KIND,
                                progress=progress, cancel=session.cancel,
                                max_delete_percent=self.max_delete_percent)
            if run.status is SyncStatus.SUCCEEDED:
                problems += verify_applied(cache, psa, ledger, run, self.policy)
        except (SyncBusy, CacheError, ConnectorError, ConfigError, OSError) as exc:
            return SessionOutcome(False, f"no sync: {exc}")
        finally:
            for connector in (psa, ledger):
                if connector is not None:
                    connector.close()
            cache.close()
        tail = "".join(f"; {line}" for line in problems)
        return SessionOutcome(run.status is SyncStatus.SUCCEEDED, outcome_line(run) + tail)
