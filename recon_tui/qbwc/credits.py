"""Credit checklists on QuickBooks Desktop, carried by a Web Connector session.

The app cannot reach the company file: only the Web Connector can, when it polls.
So "apply via the API" on a Desktop ledger queues the checklist (APPLYING, its
request id stored, nothing sent: ``credit_checklist.queue_for_web_connector``),
and each session, through its own QuickBooks Desktop connector:

1. before the sync's reads, applies every queued checklist with
   ``apply_via_api`` (one ``ReceivePaymentAddRq`` with ``AppliedToTxnAdd`` /
   ``SetCredit``). The stored request id is the ``[recon-tui <id>]`` mark in the
   payment's Memo, looked for before adding, and a resumed one first reads
   whether the credit already shows applied: a session dropped after the write
   and the next one retrying it apply the credit once;
2. after its sync succeeded, runs the checklists' verification (steps 4-6)
   against the cache that sync just refreshed: the session's sync stands for both
   the resync of the invoice and the full sync, since it read the whole ledger
   changed since the last one, after the application.

A checklist applied by hand on Desktop (``b``) is verified by the next session too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from recon_tui.cache import Cache, PairRow
from recon_tui.connectors.base import LedgerConnector, PsaConnector
from recon_tui.models import ApplyMethod, ChecklistState, SyncRun
from recon_tui.workflows.credit_checklist import ChecklistError, advance, apply_via_api
from recon_tui.workflows.verify import SyncStepProgress
from recon_tui.workflows.write_policy import WritePolicy

__all__ = ["SessionVerifier", "apply_queued", "verify_applied"]

log = logging.getLogger(__name__)

#: The states the session's sync moves on: applied, waiting to be verified.
VERIFIABLE = (ChecklistState.APPLIED, ChecklistState.RESYNCED, ChecklistState.FULL_SYNCED)


@dataclass(frozen=True)
class _Resynced:
    after: list[PairRow]
    run: SyncRun | None


@dataclass
class SessionVerifier:
    """The session's sync (already run) as the checklist's resync and full sync."""

    cache: Cache
    run: SyncRun
    calls: list[str] = field(default_factory=list)

    def resync(self, number: str) -> _Resynced:
        self.calls.append(f"resync {number}")
        return _Resynced(self.cache.recon.pairs_for_number(number), self.run)

    def full_sync(self, since: date, *,
                  progress: Callable[[SyncStepProgress], None] | None = None,
                  cancel: threading.Event | None = None) -> SyncRun:
        self.calls.append(f"full sync since {since.isoformat()}")
        return self.run


def apply_queued(cache: Cache, ledger: LedgerConnector, policy: WritePolicy) -> list[str]:
    """Send every queued checklist's application through ``ledger`` (the session's);
    one line per checklist that could not be applied (it stays queued)."""
    problems = []
    for checklist in cache.checklists.open_checklists():
        queued = (checklist.state is ChecklistState.APPLYING
                  and checklist.method is ApplyMethod.API)
        if not queued:
            continue
        try:
            apply_via_api(cache.checklists, ledger, checklist.id, policy=policy)
        except ChecklistError as exc:
            log.info("checklist #%s not applied this session: %s", checklist.id, exc)
            problems.append(f"checklist #{checklist.id}: {exc}")
    return problems


def verify_applied(cache: Cache, psa: PsaConnector, ledger: LedgerConnector, run: SyncRun,
                   policy: WritePolicy) -> list[str]:
    """Steps 4-6 of every applied checklist against the cache ``run`` refreshed;
    one line per checklist whose verification could not run."""
    verifier = SessionVerifier(cache, run)
    problems = []
    for checklist in cache.checklists.open_checklists():
        if checklist.state not in VERIFIABLE:
            continue
        try:
            advance(cache, psa, ledger, checklist.id, verifier=verifier, policy=policy)
        except ChecklistError as exc:
            log.info("checklist #%s not verified this session: %s", checklist.id, exc)
            problems.append(f"checklist #{checklist.id}: {exc}")
    return problems
