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
from archive.case_brief import case_brief
from archive.cases import Case, Party, get_case, get_party, parties_of, record_event
from archive.catalogue import fit_context, send_context
from archive.clockwork import Clock, register
from archive.council import council_holds
from archive.deadlines import Deadline, add_deadline, cancel_deadlines, pending_deadlines
from archive.formpages import reachable
from archive.ladder import DURATION, rung
from archive.lifecycle import move_case
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


@dataclass(frozen=True)
class PlannedMail:
    """One mail a resolution sends when it is enacted: its template, to whom, with what."""

    template: str
    audience: str
    context: dict
    party: Party | None = None
    to_addr: str | None = None
    auto_submitted: str | None = None  # "no": a person's own decision, not a notice

    @property
    def outside(self) -> bool:
        """For someone outside the committee and the council (what the preview shows)."""
        return self.audience in (Audience.PARTY, Audience.ADDRESS)

    def options(self) -> dict:
        found = {
            "party": self.party,
            "to_addr": self.to_addr,
            "auto_submitted": self.auto_submitted,
        }
        return {key: value for key, value in found.items() if value is not None}


def plan_resolution_mail(db: Database, settings: Settings, now: datetime, case: Case,
                         proposal: Proposal, actor: str) -> list[PlannedMail]:  # fmt: skip
    """Every mail enacting `proposal` now sends, in order, with the context each carries."""
    # Signed by the committee's chair, or the council's when the council decided the case.
    person = settings.person_for(actor)
    by_council = council_holds(case) or (
        person in settings.council and person not in settings.members
    )
    chair = (settings.council_chair or person) if by_council else settings.chair
    words = proposal.args.split()
    row = rung(proposal.resolution)
    timed = DURATION in row.args and words
    responsible = responsible_parties(db, case)
    common = {
        "statement": proposal.text,
        "chair_name": chair.name if chair else settings.committee_name,
        "by_council": by_council,
        **_duration(words[0] if timed else None, now, settings),
        "spaces": " ".join(words[1:] if row.args.startswith(DURATION) else words)
        if row.bans else None,
    }  # fmt: skip
    ban = {"unilateral": False} if row.bans else {}
    plan = []
    if row.to_responsible:
        plan += [
            PlannedMail(
                row.to_responsible, Audience.PARTY, common | ban, party=party, auto_submitted="no"
            )  # fmt: skip
            for party in responsible
        ]
        plan.append(PlannedMail("committee/resolution_copy", Audience.COMMITTEE,
                                {**common, "resolution": proposal.resolution,
                                 "template": row.to_responsible}))  # fmt: skip
    if row.to_venue:
        plan.append(PlannedMail(row.to_venue, Audience.ADDRESS, common,
                                to_addr=words[0].strip("<>"), auto_submitted="no"))  # fmt: skip
    if row.bans:
        who = ", ".join(who_text(p.name, p.email) for p in responsible)
        plan.append(PlannedMail("core/ban_notice", Audience.ADDRESS, common | ban | {"who": who},
                                to_addr=settings.core_team))  # fmt: skip
    plan += [
        PlannedMail(
            "reporter/resolution_notice",
            Audience.PARTY,
            {"resolution": proposal.resolution, "done": row.done, "by_council": by_council},
            party=reporter,
        )  # fmt: skip
        for reporter in parties_of(db, case, "reporter")
        if reachable(db, reporter)
    ]
    plan.append(PlannedMail("council/resolution_report", Audience.COUNCIL,
                            {"resolution": proposal.resolution, "violation": case.violation,
                             "opened_at": case.opened_at, "by_council": by_council,
                             "brief": case_brief(db, case)}))  # fmt: skip
    return plan


def preview_resolution_mail(db: Database, settings: Settings, now: datetime, case: Case,
                            proposal: Proposal, actor: str) -> list[dict]:  # fmt: skip
    """What each person outside the committee receives when `proposal` is enacted, for the
    committee to read first: one {to, template, context} per mail (the mailer renders each
    as it will be sent; `previews` in a committee template)."""
    plan = plan_resolution_mail(db, settings, now, case, proposal, actor)
    return [
        preview_of(case, mail.template, mail.context, party=mail.party, to_addr=mail.to_addr)
        for mail in plan
        if mail.outside
    ]


def preview_of(case: Case, template: str, context: dict, *, party: Party | None = None,
               to_addr: str | None = None) -> dict:  # fmt: skip
    """One mail as a committee preview holds it, for the mailer to render: its reader, its
    template and the context the template will get."""
    to = to_addr or (party.email if party else None) or "their follow-up page"
    if party is not None and party.name and party.email and not to_addr:
        to = f"{party.name} <{to}>"
    context = fit_context(template, {"case_ref": case.ref, **context})
    return {"to": to, "template": template, "context": context}


def _queue_resolution_mail(out: _Writer, proposal: Proposal) -> str:
    plan = plan_resolution_mail(out.db, out.settings, out.now, out.case, proposal, out.actor)
    for mail in plan:
        out.queue(mail.template, mail.audience, mail.context, **mail.options())
    row = rung(proposal.resolution)
    responsible = responsible_parties(out.db, out.case)
    done = []
    if row.to_responsible:
        done.append(
            f"{row.to_responsible} to {len(responsible)} person(s), a copy to the committee"
        )
    if row.to_venue:
        done.append(f"{row.to_venue} to {proposal.args.split()[0]}")
    if row.bans:
        words = proposal.args.split()
        spaces = " ".join(words[1:] if row.args.startswith(DURATION) else words)
        duration = parse_ban_duration(words[0]) if row.args.startswith(DURATION) else None
        for party in responsible:
            ban = add_ban(out.db, out.case, who=party.email, email=party.email, spaces=spaces,
                          duration=duration, now=out.now, decided_by="committee",
                          unilateral=False)  # fmt: skip
            out.event("ban-recorded", {"ban": ban, "spaces": spaces})
        done.append("ban notice to the core team; ban register updated")
    done += [
        "resolution notice to the reporter"
        for mail in plan
        if mail.template == "reporter/resolution_notice"
    ]
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
