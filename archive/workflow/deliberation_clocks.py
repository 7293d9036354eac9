"""The committee's deliberation clocks: a proposal without consensus for a week goes to the
Executive Council (the manual's deadlock rule); the end of the feedback wait is announced."""

from __future__ import annotations

from datetime import datetime

from archive.record.cases import Case, get_case, record_event
from archive.record.deadlines import Deadline
from archive.record.models import CaseState
from archive.record.outbox import Audience, Mail, queue_mail, to_case_audience
from archive.record.settings import Settings
from archive.record.timestamps import human_duration
from archive.workflow.case_brief import case_brief
from archive.workflow.clock_registry import Clock, register
from archive.workflow.council import tell_reporter_council_has_case
from archive.workflow.enactment import enact_gate, who_enacts
from archive.workflow.lifecycle import move_case
from archive.workflow.resolutions import has_consensus, open_proposal, tally
from archive.workflow.states import is_open


def _committee(db, settings, now, case: Case, template: str, context: dict) -> None:
    to_case_audience(db, case, template, {**context}, now=now, settings=settings)


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
    waited = human_duration(settings.deadlock_after)
    queue_mail(
        db,
        Mail(
            template="council/escalation",
            audience=Audience.COUNCIL,
            case=case,
            context={
                "case_ref": case.ref,
                "reason": f"no consensus {waited} after the proposal",
                "state": case.state,
                "opened_at": case.opened_at,
                "proposal": proposal.resolution,
                "votes": {
                    k: sum(1 for v in votes.values() if v == k)
                    for k in ("agree", "object", "abstain")
                },
                "brief": case_brief(db, case),
            },
        ),
        now=now,
        settings=settings,
    )
    move_case(db, case, CaseState.ESCALATED, now=now, actor="clock", reason="deadlock")
    record_event(
        db,
        case,
        now=now,
        actor="clock",
        action="deadlock-escalated",
        detail={"proposal": proposal.pk, "from": case.state},
    )
    tell_reporter_council_has_case(db, get_case(db, case.pk), settings, now)
    _committee(db, settings, now, case, "committee/deadlock", {"proposal": proposal.resolution})
    return True


def fire_consult_wait(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    proposal = open_proposal(db, case.pk)
    if proposal is None or proposal.pk != deadline.payload.get("proposal"):
        return False
    # What the notice says next is what #enact would do now: never "may now #enact" when it
    # would be refused (no address for a member responsible, no consent, an open appeal).
    _committee(
        db,
        settings,
        now,
        case,
        "committee/feedback_wait_over",
        {
            "resolution": proposal.resolution,
            "enactor": who_enacts(case, settings),
            "blocked": enact_gate(db, settings, now, case, proposal),
        },
    )
    return True


CLOCKS = register(
    Clock("deadlock", fire_deadlock),
    Clock("consult-wait", fire_consult_wait),
)
