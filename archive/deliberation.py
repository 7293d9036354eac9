"""The committee's deliberation clocks: a proposal without consensus for a week goes to the
Executive Council (the manual's deadlock rule); the end of the feedback wait is announced."""

from __future__ import annotations

from datetime import datetime

from archive.case_brief import case_brief
from archive.cases import Case, get_case, record_event
from archive.clock import human_duration
from archive.clockwork import Clock, register
from archive.council import tell_reporter_council_has_case
from archive.deadlines import Deadline
from archive.lifecycle import move_case
from archive.models import CaseState
from archive.outbox import Audience, queue_mail
from archive.resolutions import has_consensus, open_proposal, tally
from archive.settings import Settings
from archive.states import is_open


def _committee(db, settings, now, case: Case, template: str, context: dict) -> None:
    queue_mail(db, now=now, settings=settings, template=template, audience=Audience.COMMITTEE,
               case=case, context={"case_ref": case.ref, **context})  # fmt: skip


def fire_deadlock(db, settings: Settings, now: datetime, deadline: Deadline, case: Case) -> bool:
    proposal = open_proposal(db, case.pk)
    if proposal is None or proposal.pk != deadline.payload.get("proposal"):
        return False
    if not is_open(case.state):
        return False
    voters = [m.email for m in settings.committee if m.email.lower() not in case.excluded()]
    votes = tally(db, proposal)
    if has_consensus(votes, voters):
        return False
    queue_mail(
        db,
        now=now,
        settings=settings,
        template="council/escalation",
        audience=Audience.COUNCIL,
        case=case,
        context={
            "case_ref": case.ref,
            "reason": f"no consensus {human_duration(settings.deadlock_after)} after the proposal",
            "state": case.state,
            "opened_at": case.opened_at,
            "proposal": proposal.resolution,
            "votes": {k: sum(1 for v in votes.values() if v == k)
                      for k in ("agree", "object", "abstain")},
            "brief": case_brief(db, case),
        },
    )  # fmt: skip
    move_case(db, case, CaseState.ESCALATED, now=now, actor="clock", reason="deadlock")
    record_event(db, case, now=now, actor="clock", action="deadlock-escalated",
                 detail={"proposal": proposal.pk, "from": case.state})  # fmt: skip
    tell_reporter_council_has_case(db, get_case(db, case.pk), settings, now)
    _committee(db, settings, now, case, "committee/deadlock", {"proposal": proposal.resolution})
    return True


def fire_consult_wait(db, settings: Settings, now: datetime, deadline: Deadline,
                      case: Case) -> bool:  # fmt: skip
    proposal = open_proposal(db, case.pk)
    if proposal is None or proposal.pk != deadline.payload.get("proposal"):
        return False
    _committee(db, settings, now, case, "committee/feedback_wait_over",
               {"resolution": proposal.resolution})  # fmt: skip
    return True


CLOCKS = register(
    Clock("deadlock", fire_deadlock),
    Clock("consult-wait", fire_consult_wait),
)
