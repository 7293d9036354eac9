"""A report's own clocks (SPEC §4): the acknowledgement watchdog, the six-day timeline request,
the reporter's one-week update, and the reminder to record a unilateral action."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.formpages import reachable
from archive.record.cases import Case, own_reporters, record_event
from archive.record.deadlines import Deadline, add_deadline
from archive.record.models import CaseState
from archive.record.outbox import to_case_audience, to_party
from archive.record.send_results import member_party
from archive.record.settings import Settings
from archive.record.timestamps import human_date, human_duration, parse_date
from archive.workflow.clock_registry import Clock, register
from archive.workflow.states import is_open


def start_report_clocks(db: Database, case: Case, settings: Settings, now: datetime) -> None:
    """The clocks a new report starts: the ack watchdog and the one-week update."""
    add_deadline(db, case, "ack-watchdog", now + settings.ack_watchdog, now)
    add_deadline(db, case, "timeline-request", now + settings.timeline_request_after, now)
    add_deadline(db, case, "reporter-update", now + settings.update_after, now)


def _committee(db, settings, now, case: Case, template: str, context: dict) -> None:
    to_case_audience(db, case, template, {**context}, now=now, settings=settings)


def fire_ack_watchdog(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    if case.state != CaseState.RECEIVED:
        return False
    record_event(db, case, now=now, actor="clock", action="ack-overdue")
    _committee(db, settings, now, case, "committee/ack_overdue", {"opened_at": case.opened_at})
    return True


def fire_timeline_request(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    if not is_open(case.state) or case.fields.get("timeline"):
        return False
    _committee(
        db,
        settings,
        now,
        case,
        "committee/timeline_request",
        {
            "update_in": human_duration(settings.update_after - settings.timeline_request_after),
        },
    )
    return True


def fire_reporter_update(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    if case.state == CaseState.ESCALATED:  # weekly while the council has the case
        add_deadline(db, case, "reporter-update", now + settings.update_after, now)
    elif not is_open(case.state):
        return False
    return queue_reporter_update(db, settings, now, case) > 0


def queue_reporter_update(db, settings: Settings, now: datetime, case: Case) -> int:
    """The reporter's update with the committee's timeline, or the default projection."""
    timeline = case.fields.get("timeline")  # the day #timeline set, stored as YYYY-MM-DD
    set_by_committee = timeline is not None and parse_date(timeline, settings.zone) > now
    # A day the committee set that has passed promises nothing any more (the weekly update
    # while the council has the case): the default projection from now, as without one.
    projected = (
        parse_date(timeline, settings.zone)
        if set_by_committee
        else now + settings.default_projection
    )
    timeline = human_date(projected, settings.zone)
    sent = 0
    for party in own_reporters(db, case):
        if reachable(db, party):
            to_party(
                db,
                case,
                party,
                "reporter/update",
                {"timeline": timeline},
                now=now,
                settings=settings,
            )
            sent += 1
    record_event(
        db,
        case,
        now=now,
        actor="clock",
        action="reporter-updated",
        detail={"timeline": timeline, "set_by_committee": set_by_committee},
    )
    return max(sent, 1)


def fire_unilateral_reminder(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    member = deadline.payload.get("member")
    since = deadline.payload.get("since")
    row = db.execute(
        "SELECT 1 FROM events WHERE case_pk = ? AND at >= ? AND (action IN"
        " ('proposed', 'enacted', 'closed') OR (action = 'unilateral-action' AND actor = ?))",
        [case.pk, since, member],
    ).fetchone()
    person = settings.person_for(member or "")
    if row or person is None:
        return False
    # Their own reply address, as on every case mail to one member: the answer the reminder
    # asks for is then theirs by the reply address too, never a stranger's word.
    role = "council" if settings.members and person not in settings.members else "member"
    party = member_party(db, case, person.email, person.name, now, role)
    to_party(
        db,
        case,
        party,
        "committee/unilateral_reminder",
        {"since": since},
        now=now,
        settings=settings,
        to_addr=member,
    )
    return True


# The six-day request for a timeline is stale once the seven-day update is due too: the
# reporter already hears the default projection.
CLOCKS = register(
    Clock("ack-watchdog", fire_ack_watchdog),
    Clock("timeline-request", fire_timeline_request, chain="one-week"),
    Clock("reporter-update", fire_reporter_update, chain="one-week"),
    Clock("unilateral-reminder", fire_unilateral_reminder),
)
