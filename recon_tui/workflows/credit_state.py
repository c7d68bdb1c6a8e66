"""The persisted moves of a credit checklist: each transition is a compare-and-set
on its state with its audit line, in one transaction, so it resumes after a
restart and two screens can never both make the same move. Shared by the
operator's steps (:mod:`credit_apply`) and the automatic ones (:mod:`credit_advance`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from recon_tui.cache.checklists import Checklists
from recon_tui.models import ChecklistState, CreditChecklist
from recon_tui.workflows.credit_steps import ChecklistError

__all__ = ["Progress", "State", "load", "move", "now"]

State = ChecklistState
Progress = Callable[[str], None]


def now() -> datetime:
    """The time every audit line and timestamp of a checklist is written with."""
    return datetime.now(UTC)


def load(checklists: Checklists, checklist_id: int) -> CreditChecklist:
    """The checklist as stored now, or a one-line error when it does not exist."""
    checklist = checklists.checklist(checklist_id)
    if checklist is None:
        raise ChecklistError(f"checklist #{checklist_id} does not exist")
    return checklist


def move(checklists: Checklists, checklist: CreditChecklist, from_states: tuple[State, ...],
         changes: dict[str, object], *, step: int, outcome: str, message: str
         ) -> CreditChecklist:
    """Persist one transition; refuse when the checklist moved on meanwhile."""
    if not checklists.update_checklist(checklist.id, from_states=from_states, changes=changes,
                                       step=step, outcome=outcome, message=message, at=now()):
        current = load(checklists, checklist.id)
        raise ChecklistError(f"checklist #{checklist.id} is {current.state.value} now "
                             "(changed elsewhere); reopen it")
    return load(checklists, checklist.id)
