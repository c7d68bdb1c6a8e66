"""Applying an organizational credit to an invoice (seed 001), as a checklist.

A state machine over the cache, with no UI in it::

    CHOOSE_INVOICE -> READY_TO_APPLY -> APPLYING (api) -> APPLIED -> RESYNCED
                                     \\-> APPLIED (manual) -/          |
    RESYNCED --(credit still shows)--> FULL_SYNCED -> verify           |
    RESYNCED --(credit gone)----------------------> verify  <----------/
    verify: ledger wrong -> FAILED_VERIFICATION (re-check -> APPLIED)
            ledger right, PSA agrees (or has no copy) -> DONE
            ledger right, PSA lags -> LEDGER_DONE_PSA_LAGS (record it in the PSA,
                                      then re-check -> APPLIED -> ... -> DONE)
    any open state -> CANCELLED

Why it is built this way:

* every transition is persisted (a compare-and-set on the state, with its audit
  line, in one transaction), so the checklist resumes after a restart at the step
  it had reached, and two screens can never both make the same move;
* the QuickBooks request id is generated once and stored (APPLYING) *before* the
  call: a retry, or a resume after a crash mid-call, sends the same id, and QBO
  applies a request id once. Before re-sending, the ledger is read to see whether
  the first attempt already landed, so even an expired request id cannot apply
  the credit twice;
* on QuickBooks Desktop the app cannot reach the company file: "apply" queues the
  request (APPLYING, id stored, nothing sent) and the next Web Connector session
  applies it before its sync and verifies it after (``recon_tui.qbwc.credits``);
* nothing is written unless the config allows it (:class:`WritePolicy`): with
  ledger writes off the API path is refused here, not only greyed out on screen,
  and the by-hand path stays;
* verification is computed from what the systems say after a resync (and, when the
  credit still shows, a full sync from the day before the application), never
  ticked by hand, and each side is judged on its own
  (:mod:`recon_tui.workflows.credit_verification`): a ledger that shows the credit
  does not make a PSA that still shows the old balance agree.

The functions take a :class:`Cache` (one per thread), the connectors and, to
verify, a :class:`~recon_tui.workflows.verify.Verifier` (the resync and the full
sync, from the session); the TUI runs them in thread workers. What a checklist
shows (step views, amounts, the by-hand instructions) is in
:mod:`recon_tui.workflows.credit_steps`.

This module is the workflow's one entry point; its parts are the persisted moves
(:mod:`credit_state`), the operator's steps 1-3 (:mod:`credit_apply`) and the
automatic steps 4-6 (:mod:`credit_advance`).
"""

from __future__ import annotations

from recon_tui.workflows.credit_advance import FULL_SYNC_MARGIN, advance
from recon_tui.workflows.credit_apply import (
    QUEUED_NOTE,
    apply_via_api,
    cancel,
    choose_target,
    confirm_manual,
    queue_for_web_connector,
    recheck,
    start_checklist,
)
from recon_tui.workflows.credit_state import Progress, State
from recon_tui.workflows.credit_steps import (
    STEP_TITLES,
    ChecklistError,
    StepView,
    current_step,
    default_amount,
    default_invoice,
    manual_steps,
    parse_amount,
    psa_kind_of,
    psa_steps,
    step_views,
)

__all__ = [
    "FULL_SYNC_MARGIN",
    "QUEUED_NOTE",
    "STEP_TITLES",
    "ChecklistError",
    "Progress",
    "State",
    "StepView",
    "advance",
    "apply_via_api",
    "cancel",
    "choose_target",
    "confirm_manual",
    "current_step",
    "default_amount",
    "default_invoice",
    "manual_steps",
    "parse_amount",
    "psa_kind_of",
    "psa_steps",
    "queue_for_web_connector",
    "recheck",
    "start_checklist",
    "step_views",
]
