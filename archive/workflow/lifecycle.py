"""The one door through which a case changes state (`move_case`).

It checks the move against `archive.workflow.states`, writes the audit log's `state-changed` event
(from, to, reason: the quarterly report's times come from these), and stops the clocks that
belong to the state left or entered. Nothing else writes `cases.state` (a test greps for it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, get_case, record_event, set_case_state
from archive.record.deadlines import cancel_deadlines
from archive.record.models import CaseState
from archive.record.timestamps import to_text
from archive.workflow.states import StateError, check_move, clocks_stopped_by

__all__ = ["StateError", "move_case"]


def move_case(
    db: Database,
    case: Case,
    to_state: CaseState | str,
    *,
    now: datetime,
    actor: str,
    reason: str,
    message_pk: int | None = None,
    restoring: bool = False,
) -> Case:
    """Move `case` to `to_state` (StateError if the table forbids it); returns the case as
    it is now. Already there: nothing is written. `restoring` is #unmerge's way back."""
    current = get_case(db, case.pk)
    target = CaseState(to_state)
    if current.state == target.value:
        return current
    check_move(current.state, target.value, restoring=restoring)
    set_case_state(db, case, target.value, now)
    record_event(
        db,
        current,
        now=now,
        actor=actor,
        action="state-changed",
        detail={"from": current.state, "to": target.value, "reason": reason},
        message_pk=message_pk,
    )
    stopped = clocks_stopped_by(current.state, target.value)
    if stopped:
        cancel_deadlines(db, current, stopped, now)
    return replace(current, state=target.value, updated_at=to_text(now))
