"""Carrying out an agreed, consulted resolution: the one way resolution mail leaves.

`#enact` (now) and the `enact` clock (a scheduled `#enact DATE`) both call `enact_now`; the
gates (`#consult`, consensus, feedback) are checked by the command before it gets here.
Scheduled `#send … on DATE` mail goes out here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.appeals import blocking_appeal_of
from archive.bans import add_ban, duration_fields, parse_ban_duration, who_text
from archive.cases import Case, Party, get_case, get_party, parties_of, record_event
from archive.catalogue import send_context
from archive.clockwork import Clock, register
from archive.council import council_holds
from archive.deadlines import Deadline, add_deadline, cancel_deadlines, pending_deadlines
from archive.formpages import reachable
from archive.ladder import DURATION, rung
from archive.lifecycle import move_case
from archive.mediation import tell_decision
from archive.models import CaseState
from archive.outbox import Audience, queue_mail
from archive.resolutions import Proposal, mark_proposal, open_proposal
from archive.settings import Settings


@dataclass
class _Writer:
    """Queues mail and audit entries for one case, as one actor, through one message."""

    db: Database
    settings: Settings
    now: datetime
    case: Case
    actor: str
    message_pk: int | None
    queued: list[str]

    def queue(self, template: str, audience: str, context: dict, **options) -> str:
        message_id = queue_mail(self.db, now=self.now, settings=self.settings, template=template,
                          audience=audience, case=self.case,
                          context={"case_ref": self.case.ref, **context}, actor=self.actor,
                          **options)  # fmt: skip
        self.queued.append(message_id)
        return message_id

    def event(self, action: str, detail: dict) -> None:
        record_event(self.db, self.case, now=self.now, actor=self.actor, action=action,
                     detail=detail, message_pk=self.message_pk)  # fmt: skip


def responsible_parties(db: Database, case: Case) -> list[Party]:
    return [p for p in parties_of(db, case, "reported") if p.email]


def scheduled_enactment(db: Database, case: Case) -> Deadline | None:
    """The enactment a `#enact DATE` scheduled, if it is still to come."""
    pending = pending_deadlines(db, case, ("enact",))
    return pending[-1] if pending else None


def schedule_enactment(db: Database, case: Case, proposal: Proposal, when: datetime, *,
                       now: datetime, actor: str, message_pk: int | None) -> str:  # fmt: skip
    """`#enact DATE`: one scheduled enactment per case; a new date replaces the earlier one."""
    replaced = cancel_deadlines(db, case, ("enact",), now)
    add_deadline(db, case, "enact", when, now, {"proposal": proposal.pk, "actor": actor})
    record_event(db, case, now=now, actor=actor, action="enactment-scheduled",
                 detail={"proposal": proposal.pk, "at": when.isoformat(),
                         "replaced": bool(replaced)},
                 message_pk=message_pk)  # fmt: skip
    moved = "moved to" if replaced else "will be enacted at"
    return f"{proposal.resolution} {moved} {when.isoformat()}"


def enact_now(db: Database, settings: Settings, now: datetime, case: Case, proposal: Proposal,
              *, actor: str, message_pk: int | None = None,
              queued: list[str] | None = None) -> str:  # fmt: skip
    """The resolution's mail goes out, the proposal is enacted, the case is resolved; the
    Message-IDs queued are added to `queued` (the transcript lists any the leak guard held)."""
    out = _Writer(db, settings, now, case, actor, message_pk, [] if queued is None else queued)
    sent = _queue_resolution_mail(out, proposal)
    row = rung(proposal.resolution)
    told = {"reporter"} | ({"reported"} if row.to_responsible else set())
    tell_decision(db, settings, case, now, done=row.done, told=frozenset(told))
    mark_proposal(db, proposal, "enacted_at", now)
    out.event("enacted", {"proposal": proposal.pk, "resolution": proposal.resolution})
    move_case(db, case, CaseState.RESOLVED, now=now, actor=actor, reason="enacted",
              message_pk=message_pk)  # fmt: skip
    return f"{proposal.resolution}: {sent}"


def _duration(text: str | None, now: datetime, settings: Settings) -> dict:
    """ "30 days, until 24 December 2026" from `30d`; text that is no duration is kept as given."""
    if not text:
        return {"duration": None, "until": None}
    try:
        span = parse_ban_duration(text)
    except ValueError:
        return {"duration": text, "until": None}
    return duration_fields(span, now, settings)


def _queue_resolution_mail(out: _Writer, proposal: Proposal) -> str:
    # Signed by the committee's chair, or the council's when the council decided the case.
    settings = out.settings
    person = settings.person_for(out.actor)
    by_council = council_holds(out.case) or (
        person in settings.council and person not in settings.members
    )
    chair = (settings.council_chair or person) if by_council else settings.chair
    words = proposal.args.split()
    row = rung(proposal.resolution)
    timed = DURATION in row.args and words
    responsible = responsible_parties(out.db, out.case)
    common = {
        "statement": proposal.text,
        "chair_name": chair.name if chair else out.settings.committee_name,
        "by_council": by_council,
        **_duration(words[0] if timed else None, out.now, settings),
        "spaces": " ".join(words[1:] if row.args.startswith(DURATION) else words)
        if row.bans else None,
    }  # fmt: skip
    ban = {"unilateral": False} if row.bans else {}
    done = []
    to_person, to_venue = row.to_responsible, row.to_venue
    if to_person:
        for party in responsible:
            out.queue(to_person, Audience.PARTY, common | ban, party=party, auto_submitted="no")
        out.queue("committee/resolution_copy", Audience.COMMITTEE,
                  {**common, "resolution": proposal.resolution, "template": to_person})  # fmt: skip
        done.append(f"{to_person} to {len(responsible)} person(s), a copy to the committee")
    if to_venue:
        out.queue(to_venue, Audience.ADDRESS, common, to_addr=words[0].strip("<>"),
                  auto_submitted="no")  # fmt: skip
        done.append(f"{to_venue} to {words[0]}")
    if row.bans:
        who = ", ".join(who_text(p.name, p.email) for p in responsible)
        out.queue("core/ban_notice", Audience.ADDRESS, common | ban | {"who": who},
                  to_addr=out.settings.core_team)  # fmt: skip
        duration = parse_ban_duration(words[0]) if row.args.startswith(DURATION) else None
        for party in responsible:
            ban = add_ban(out.db, out.case, who=party.email, email=party.email,
                          spaces=common["spaces"], duration=duration, now=out.now,
                          decided_by="committee", unilateral=False)  # fmt: skip
            out.event("ban-recorded", {"ban": ban, "spaces": common["spaces"]})
        done.append("ban notice to the core team; ban register updated")
    for reporter in parties_of(out.db, out.case, "reporter"):
        if reachable(out.db, reporter):
            out.queue("reporter/resolution_notice", Audience.PARTY,
                      {"resolution": proposal.resolution, "done": row.done,
                       "by_council": by_council},
                      party=reporter)  # fmt: skip
            done.append("resolution notice to the reporter")
    out.queue("council/resolution_report", Audience.COUNCIL,
              {"resolution": proposal.resolution, "violation": out.case.violation,
               "opened_at": out.case.opened_at})  # fmt: skip
    done.append("resolution report to the Executive Council")
    return "; ".join(done)


def fire_enactment(db, settings: Settings, now: datetime, deadline: Deadline, case: Case) -> bool:
    """A scheduled `#enact DATE` comes due: the resolution's mail goes out, as it would then."""
    case = get_case(db, case.pk)
    proposal = open_proposal(db, case.pk)
    if proposal is None or proposal.pk != deadline.payload.get("proposal"):
        return False
    if case.state != CaseState.ENACTING or blocking_appeal_of(db, case) is not None:
        return False
    person = settings.person_for(deadline.payload.get("actor", "")) or settings.chair
    actor = person.email if person else "clock"
    enact_now(db, settings, now, case, proposal, actor=actor)
    return True


def fire_send(db, settings: Settings, now: datetime, deadline: Deadline, case: Case) -> bool:
    """A scheduled `#send … on DATE` comes due."""
    party = get_party(db, deadline.payload["party"])
    if party.no_contact:
        return False
    template = deadline.payload["template"]
    context = {"case_ref": case.ref, **send_context(template, case.fields)}
    queue_mail(db, now=now, settings=settings, template=template, audience=Audience.PARTY,
               party=party, case=case, context=context)  # fmt: skip
    return True


CLOCKS = register(
    Clock("enact", fire_enactment, hold_when_late=True),
    Clock("send", fire_send, hold_when_late=True),
)
