"""The policy's clocks (SPEC §4): what each kind of deadline does when it comes due.

`fire_due` is the sweep: every due row is claimed (fired once) and acted on in one
transaction; one that fires late tells the committee so. Imported history has no deadlines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from archive.cases import Case, get_case, own_reporters, parties_of, record_event, set_state
from archive.clock import human_duration, to_text
from archive.db import write_transaction
from archive.deadlines import (
    LATE_AFTER,
    Deadline,
    add_deadline,
    cancel_deadlines,
    claim_deadline,
    due_deadlines,
)
from archive.models import CaseState
from archive.outbox import Audience, queue_mail
from archive.resolutions import has_consensus, open_proposal, tally
from archive.settings import Settings

log = logging.getLogger(__name__)
DONE_STATES = {"resolved", "closed", "escalated", "appealed"}
# Deadlines that stop mattering once a case is resolved or closed.
CASE_CLOCKS = (
    "timeline-request",
    "reporter-update",
    "deadlock",
    "consult-wait",
    "unilateral-reminder",
)


@dataclass(frozen=True)
class Fired:
    kind: str
    case_ref: str | None
    late: bool
    acted: bool


def start_report_clocks(db: Database, case: Case, settings: Settings, now: datetime) -> None:
    """The clocks a new report starts: the ack watchdog and the one-week update."""
    add_deadline(db, case, "ack-watchdog", now + settings.ack_watchdog, now)
    add_deadline(db, case, "timeline-request", now + settings.timeline_request_after, now)
    add_deadline(db, case, "reporter-update", now + settings.update_after, now)


def stop_case_clocks(db: Database, case: Case, now: datetime) -> None:
    cancel_deadlines(db, case, CASE_CLOCKS, now)


def fire_due(db: Database, settings: Settings, now: datetime) -> list[Fired]:
    """Fire every deadline due at `now`, each once, each in its own transaction."""
    fired = []
    for deadline in due_deadlines(db, now):
        with write_transaction(db):
            if not claim_deadline(db, deadline, now):
                continue
            case = get_case(db, deadline.case_pk) if deadline.case_pk else None
            late = deadline.lateness(now) > LATE_AFTER
            handler = HANDLERS.get(deadline.kind)
            acted = bool(handler and handler(db, settings, now, deadline, case))
            if case is not None:
                record_event(
                    db,
                    case,
                    now=now,
                    actor="clock",
                    action="deadline-fired",
                    detail={"kind": deadline.kind, "due_at": deadline.due_at, "late": late,
                            "acted": acted},
                )  # fmt: skip
            if late and acted and case is not None:
                _tell_late(db, settings, now, deadline, case)
            fired.append(Fired(deadline.kind, case.ref if case else None, late, acted))
    return fired


def _tell_late(db, settings, now, deadline: Deadline, case: Case) -> None:
    queue_mail(
        db,
        now=now,
        settings=settings,
        template="committee/late_deadline",
        audience=Audience.COMMITTEE,
        case=case,
        context={
            "case_ref": case.ref,
            "kind": deadline.kind,
            "due_at": deadline.due_at,
            "hours_late": round(deadline.lateness(now).total_seconds() / 3600, 1),
        },
    )


def _committee(db, settings, now, case: Case, template: str, context: dict) -> None:
    queue_mail(
        db,
        now=now,
        settings=settings,
        template=template,
        audience=Audience.COMMITTEE,
        case=case,
        context={"case_ref": case.ref, **context},
    )


def ack_watchdog(db, settings, now, deadline, case: Case) -> bool:
    if case.state != CaseState.RECEIVED:
        return False
    record_event(db, case, now=now, actor="clock", action="ack-overdue")
    _committee(db, settings, now, case, "committee/ack_overdue", {"opened_at": case.opened_at})
    return True


def timeline_request(db, settings, now, deadline, case: Case) -> bool:
    if case.state in DONE_STATES or case.fields.get("timeline"):
        return False
    _committee(db, settings, now, case, "committee/timeline_request", {
        "update_in": human_duration(settings.update_after - settings.timeline_request_after),
    })  # fmt: skip
    return True


def reporter_update(db, settings, now, deadline, case: Case) -> bool:
    if case.state in DONE_STATES:
        return False
    return queue_reporter_update(db, settings, now, case) > 0


def queue_reporter_update(db, settings: Settings, now: datetime, case: Case) -> int:
    """The reporter's update with the committee's timeline, or the default projection."""
    timeline = case.fields.get("timeline")
    if not timeline:
        projected = (now + settings.default_projection).astimezone(settings.zone)
        timeline = projected.date().isoformat()
    sent = 0
    for party in own_reporters(db, case):
        if party.email and not party.no_contact:
            queue_mail(db, now=now, settings=settings, template="reporter/update",
                       audience=Audience.PARTY, case=case, party=party,
                       context={"case_ref": case.ref, "timeline": timeline})  # fmt: skip
            sent += 1
    record_event(db, case, now=now, actor="clock", action="reporter-updated",
                 detail={"timeline": timeline, "set_by_committee": bool(
                     case.fields.get("timeline"))})  # fmt: skip
    return max(sent, 1)


def deadlock(db, settings, now, deadline, case: Case) -> bool:
    proposal = open_proposal(db, case.pk)
    if proposal is None or proposal.pk != deadline.payload.get("proposal"):
        return False
    if case.state in DONE_STATES:
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
        },
    )  # fmt: skip
    set_state(db, case, CaseState.ESCALATED, now)
    record_event(db, case, now=now, actor="clock", action="deadlock-escalated",
                 detail={"proposal": proposal.pk, "from": case.state})  # fmt: skip
    _committee(db, settings, now, case, "committee/deadlock", {"proposal": proposal.resolution})
    return True


def unilateral_reminder(db, settings, now, deadline, case: Case) -> bool:
    member = deadline.payload.get("member")
    since = deadline.payload.get("since")
    row = db.execute(
        "SELECT 1 FROM events WHERE case_pk = ? AND at >= ? AND (action IN"
        " ('proposed', 'enacted', 'closed') OR (action = 'unilateral-action' AND actor = ?))",
        [case.pk, since, member],
    ).fetchone()
    if row or not member:
        return False
    queue_mail(db, now=now, settings=settings, template="committee/unilateral_reminder",
               audience=Audience.ADDRESS, to_addr=member, case=case,
               context={"case_ref": case.ref, "since": since})  # fmt: skip
    return True


def consult_wait(db, settings, now, deadline, case: Case) -> bool:
    proposal = open_proposal(db, case.pk)
    if proposal is None or proposal.pk != deadline.payload.get("proposal"):
        return False
    _committee(db, settings, now, case, "committee/feedback_wait_over",
               {"resolution": proposal.resolution})  # fmt: skip
    return True


def scheduled_send(db, settings, now, deadline, case: Case) -> bool:
    from archive.cases import get_party

    party = get_party(db, deadline.payload["party"])
    if party.no_contact:
        return False
    queue_mail(db, now=now, settings=settings, template=deadline.payload["template"],
               audience=Audience.PARTY, party=party, case=case,
               context={"case_ref": case.ref, "missing": []})  # fmt: skip
    return True


def scheduled_enact(db, settings, now, deadline, case: Case) -> bool:
    from archive.commands.enact import carry_out

    return carry_out(db, settings, now, case, deadline.payload)


def ban_expiry(db, settings, now, deadline, case: Case) -> bool:
    from archive.bans import ban_row, end_ban

    record = ban_row(db, deadline.payload["ban"])
    if record["status"] != "active":
        return False
    end_ban(db, case, record["id"], "ended", now)
    record_event(db, case, now=now, actor="clock", action="ban-ended",
                 detail={"ban": record["id"]})  # fmt: skip
    _committee(db, settings, now, case, "committee/ban_expired", {"spaces": record["spaces"]})
    context = {"case_ref": case.ref, "spaces": record["spaces"]}
    if record["email"]:
        queue_mail(db, now=now, settings=settings, template="reported/unban_notice",
                   audience=Audience.ADDRESS, to_addr=record["email"], case=case,
                   context=context)  # fmt: skip
    who = record["who"] or record["email"] or "(not recorded)"
    queue_mail(db, now=now, settings=settings, template="core/unban_notice",
               audience=Audience.ADDRESS, to_addr=settings.core_team, case=case,
               context={**context, "who": who})  # fmt: skip
    return True


def ban_review(db, settings, now, deadline, case: Case) -> bool:
    from archive.bans import REVIEW_EVERY, ban_row

    record = ban_row(db, deadline.payload["ban"])
    if record["status"] != "active":
        return False
    _committee(db, settings, now, case, "committee/ban_review",
               {"spaces": record["spaces"], "since": record["start_at"][:10]})  # fmt: skip
    next_review = now + REVIEW_EVERY
    db.execute("UPDATE bans SET review_at = ? WHERE id = ?", [to_text(next_review), record["id"]])
    add_deadline(db, case, "ban-review", next_review, now, {"ban": record["id"]})
    return True


def _open_appeal(db, deadline):
    row = db.execute(
        "SELECT id, due_at, status FROM appeals WHERE id = ?", [deadline.payload.get("appeal")]
    ).fetchone()
    return row if row and row[2] != "decided" else None


def appeal_reminder(db, settings, now, deadline, case: Case) -> bool:
    appeal = _open_appeal(db, deadline)
    if appeal is None:
        return False
    queue_mail(db, now=now, settings=settings, template="council/appeal_reminder",
               audience=Audience.COUNCIL, case=case,
               context={"case_ref": case.ref, "due": appeal[1][:10]})  # fmt: skip
    return True


def appeal_due(db, settings, now, deadline, case: Case) -> bool:
    appeal = _open_appeal(db, deadline)
    if appeal is None:
        return False
    record_event(db, case, now=now, actor="clock", action="appeal-overdue",
                 detail={"appeal": appeal[0]})  # fmt: skip
    queue_mail(db, now=now, settings=settings, template="council/appeal_overdue",
               audience=Audience.COUNCIL, case=case,
               context={"case_ref": case.ref, "due": appeal[1][:10]})  # fmt: skip
    return True


def mediation_reminder(db, settings, now, deadline, case: Case) -> bool:
    """Reminders go to the mediator and the committee only: never to the parties."""
    row = db.execute(
        "SELECT due_at FROM mediations WHERE id = ? AND status = 'settled'",
        [deadline.payload.get("mediation")],
    ).fetchone()
    if row is None:
        return False
    if deadline.payload.get("overdue"):  # the committee decides what next, not the parties
        _committee(db, settings, now, case, "committee/mediation_update",
                   {"what": f"overdue: no report from the mediator by {row[0][:10]}",
                    "report": None})  # fmt: skip
        return True
    context = {"case_ref": case.ref, "due": row[0][:10]}
    for party in parties_of(db, case, "mediator"):
        queue_mail(db, now=now, settings=settings, template="mediator/reminder",
                   audience=Audience.PARTY, party=party, case=case, context=context)  # fmt: skip
    _committee(db, settings, now, case, "committee/mediation_update",
               {"what": f"the mediation is due by {row[0][:10]}", "report": None})  # fmt: skip
    return True


HANDLERS: dict[str, Callable[..., bool]] = {
    "mediation-reminder": mediation_reminder,
    "appeal-reminder": appeal_reminder,
    "appeal-due": appeal_due,
    "ban-expiry": ban_expiry,
    "ban-review": ban_review,
    "ack-watchdog": ack_watchdog,
    "timeline-request": timeline_request,
    "reporter-update": reporter_update,
    "deadlock": deadlock,
    "unilateral-reminder": unilateral_reminder,
    "consult-wait": consult_wait,
    "send": scheduled_send,
    "enact": scheduled_enact,
}


def parse_date(text: str, settings: Settings, now: datetime) -> datetime:
    """`2026-03-20` (09:00 in the committee's time zone) or a full ISO time; ValueError if not."""
    from datetime import date, time

    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=settings.zone)
        return moment
    return datetime.combine(day, time(9, 0), tzinfo=settings.zone)
