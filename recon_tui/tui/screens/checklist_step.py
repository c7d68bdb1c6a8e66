"""One step of a credit checklist, run off the UI thread on its own cache connection.

Split from :mod:`recon_tui.tui.screens.checklist`, whose thread worker calls
:func:`run_step` and hands the outcome back to the screen: the checklist's id
(a step may have created it) and the one line to show if the step failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from recon_tui.cache import Cache
from recon_tui.tui.failures import reason
from recon_tui.workflows import credit_checklist as wf
from recon_tui.workflows.credit_checklist import ChecklistError
from recon_tui.workflows.write_policy import WritePolicy

if TYPE_CHECKING:
    from recon_tui.tui.app import ReconApp
    from recon_tui.tui.widgets.credit_choice import Job

__all__ = ["run_step"]

log = logging.getLogger(__name__)


def run_step(app: ReconApp, checklist_id: int | None, job: Job | None, *, advance: bool,
             policy: WritePolicy,
             progress: Callable[[str], None]) -> tuple[int | None, str | None]:
    """Run ``job``, then (``advance``) every automatic step after it; return the
    checklist's id and the error line, or None when all went through."""
    cache = Cache(app.cache_path)
    error: str | None = None
    try:
        if job is not None:
            checklist = job(cache)
            if checklist is not None and checklist_id is None:
                checklist_id = checklist.id
        if advance and checklist_id is not None:
            backend = app.get_backend()
            wf.advance(cache, backend.psa, backend.ledger, checklist_id,
                       verifier=app.session.verifier(cache), policy=policy, progress=progress)
    except ChecklistError as exc:
        error = str(exc)
    except Exception as exc:  # shown to the operator, never swallowed
        log.exception("a credit checklist step failed")
        error = reason(exc)
    finally:
        cache.close()
    return checklist_id, error
