"""Carrying out an agreed, consulted resolution: the one way resolution mail leaves.

`#enact` (now) and the `enact` clock (a scheduled `#enact DATE`) both call `enact_now`; the
gates (`enact_gate`: consensus, `#consult`, feedback) are checked by the command before it gets
here, and the end of the feedback wait tells the committee what they say.
Scheduled `#send … on DATE` mail goes out here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.formpages import reachable
from archive.outgoing.catalogue import fit_context, send_context
from archive.record.cases import Case, Party, get_case, get_party, parties_of, record_event
from archive.record.deadlines import Deadline, add_deadline, cancel_deadlines, pending_deadlines
from archive.record.models import CaseState
from archive.record.outbox import (
    Audience,
    Mail,
    drop_held,
    held_among,
    hold_with,
    queue_mail,
    release_held,
)
from archive.record.settings import Person, Settings
from archive.record.timestamps import from_text, human_duration
from archive.workflow.appeals import blocking_appeal_of
from archive.workflow.bans import add_ban, duration_fields, parse_ban_duration, who_text
from archive.workflow.case_brief import case_brief
from archive.workflow.clock_registry import Clock, register
from archive.workflow.council import acting_chair, council_holds, proposal_agreed
from archive.workflow.ladder import DURATION, rung
from archive.workflow.lifecycle import move_case
from archive.workflow.mediation import tell_decision
from archive.workflow.resolutions import Proposal, mark_proposal, open_proposal, tally


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
        message_id = queue_mail(
            self.db,
            Mail(
                template=template,
                audience=audience,
                case=self.case,
                context={"case_ref": self.case.ref, **context},
                actor=self.actor,
                **options,
            ),
            now=self.now,
            settings=self.settings,
        )
        self.queued.append(message_id)
        return message_id

    def event(self, action: str, detail: dict) -> None:
        record_event(
            self.db,
            self.case,
            now=self.now,
            actor=self.actor,
            action=action,
            detail=detail,
            message_pk=self.message_pk,
        )


def responsible_parties(db: Database, case: Case) -> list[Party]:
    return [p for p in parties_of(db, case, "reported") if p.email]


def scheduled_enactment(db: Database, case: Case) -> Deadline | None:
    """The enactment a `#enact DATE` scheduled, if it is still to come."""
    pending = pending_deadlines(db, case, ("enact",))
    return pending[-1] if pending else None


def schedule_enactment(
    db: Database,
    case: Case,
    proposal: Proposal,
    when: datetime,
    *,
    now: datetime,
    actor: str,
    message_pk: int | None,
) -> str:
    """`#enact DATE`: one scheduled enactment per case; a new date replaces the earlier one."""
    replaced = cancel_deadlines(db, case, ("enact",), now)
    add_deadline(db, case, "enact", when, now, {"proposal": proposal.pk, "actor": actor})
    record_event(
        db,
        case,
        now=now,
        actor=actor,
        action="enactment-scheduled",
        detail={"proposal": proposal.pk, "at": when.isoformat(), "replaced": bool(replaced)},
        message_pk=message_pk,
    )
    moved = "moved to" if replaced else "will be enacted at"
    return f"{proposal.resolution} {moved} {when.isoformat()}"


def enact_gate(
    db: Database, settings: Settings, now: datetime, case: Case, proposal: Proposal
) -> str | None:
    """Why the open proposal cannot be enacted now, in words for members; None when it can.
    `#enact` refuses with it and the end of the feedback wait says it: no notice tells the
    committee a step is possible when it is not."""
    if blocking_appeal_of(db, case) is not None:
        return "an appeal of this case is open: the council decides it first"
    if not proposal_agreed(tally(db, proposal), case, settings):
        who = "council" if council_holds(case) else "committee"
        return f"the {who} has not agreed on the proposal"
    row = rung(proposal.resolution)
    if not row.enacted:
        return "mediation is arranged with #mediation, not enacted"
    if proposal.consulted_at is None:
        return "the reporter has not been consulted yet: #consult first"
    # What no wait mends comes first: "possible once they answer" must be true when said.
    if row.needs_responsible and not responsible_parties(db, case):
        return "no responsible person with an address: #responsible ADDRESS first"
    reporters = parties_of(db, case, "reporter")
    if row.needs_consent and not any(p.consent == "agreed" for p in reporters):
        return "an apology request needs the reporter's explicit agreement"
    if not _feedback_or_waited(db, settings, now, case, proposal, reporters):
        return (
            "no feedback from the reporter yet; #enact is possible once they answer or"
            f" {human_duration(settings.consult_wait)} after #consult"
        )
    return None


def _feedback_or_waited(
    db: Database,
    settings: Settings,
    now: datetime,
    case: Case,
    proposal: Proposal,
    reporters: list[Party],
) -> bool:
    consulted = from_text(proposal.consulted_at)
    if not [p for p in reporters if reachable(db, p)]:
        return True
    if now >= consulted + settings.consult_wait:
        return True
    row = db.execute(
        "SELECT 1 FROM events WHERE case_pk = ? AND action = 'feedback-received' AND at >= ?",
        [case.pk, proposal.consulted_at],
    ).fetchone()
    return row is not None


def who_enacts(case: Case, settings: Settings) -> str:
    """Who may `#enact` the case, as a notice to the committee says it."""
    if settings.enact_by_any_member:
        return "Any member"
    chair = acting_chair(case, settings)
    usual = settings.council_chair if council_holds(case) else settings.chair
    if chair is None and council_holds(case):
        return "Any council member"
    if chair is None:
        return "Nobody: no chair is configured ([policy] enact_by_any_member lets any member)"
    if chair != usual:
        return f"{chair.name}, for the chair (who takes no part in this case),"
    return "The chair"


def enact_now(
    db: Database,
    settings: Settings,
    now: datetime,
    case: Case,
    proposal: Proposal,
    *,
    actor: str,
    message_pk: int | None = None,
    queued: list[str] | None = None,
) -> str:
    """The resolution's mail goes out, the proposal is enacted, the case is resolved; what was
    done, for the transcript. The Message-IDs queued are added to `queued`.

    When the leak guard holds any of the resolution's own mail (to the person responsible, the
    venue, the core team), none of it leaves: the rest waits with it, and the case stays
    `enacting` until a member releases it (then the enactment completes: the committee's copy,
    the reporter's notice, the council's report) or drops it (the case goes back)."""
    out = _Writer(db, settings, now, case, actor, message_pk, [] if queued is None else queued)
    plan = plan_resolution_mail(db, settings, now, case, proposal, actor)
    outward = [
        out.queue(m.template, m.audience, m.context, **m.options())
        for m in plan
        if _is_outward(m, proposal)
    ]
    held = [pk for pk, _ in held_among(db, outward)]
    if held:
        return _hold_enactment(out, proposal, outward, held)
    done = _outward_done(out, proposal) + _complete_enactment(out, proposal, plan, now)
    return f"enacted {proposal.resolution}: {'; '.join(done)}"


def _is_outward(mail: PlannedMail, proposal: Proposal) -> bool:
    """The resolution's own mail (to the person responsible, the venue, the core team), which
    leaves whole or not at all; the rest (copies, notices, the report) follows it."""
    row = rung(proposal.resolution)
    return mail.template in (row.to_responsible, row.to_venue, "core/ban_notice")


def _outward_done(out: _Writer, proposal: Proposal) -> list[str]:
    row = rung(proposal.resolution)
    done = []
    if row.to_responsible:
        count = len(responsible_parties(out.db, out.case))
        done.append(f"{row.to_responsible} to {count} person(s)")
    if row.to_venue:
        done.append(f"{row.to_venue} to {proposal.args.split()[0]}")
    if row.bans:
        done.append("ban notice to the core team")
    return done


def _hold_enactment(out: _Writer, proposal: Proposal, outward: list[str], held: list[int]) -> str:
    """Nothing of the resolution leaves while the guard holds part of it."""
    marks = ",".join("?" * len(outward))
    items = [
        row[0]
        for row in out.db.execute(
            f"SELECT id FROM outbox WHERE message_id IN ({marks}) ORDER BY id", outward
        )
    ]
    waiting = [pk for pk in items if pk not in held]
    for pk in waiting:
        hold_with(out.db, pk, held)
    out.event(
        "enactment-held",
        {
            "proposal": proposal.pk,
            "resolution": proposal.resolution,
            "held": held,
            "waiting": waiting,
            "actor": out.actor,
            "at": out.now.isoformat(),
        },
    )
    if _state_before_enacting(out.db, out.case) == CaseState.ESCALATED:
        # The council enacted: it keeps the case, to #release or #drop its own mail.
        move_case(
            out.db,
            out.case,
            CaseState.ESCALATED,
            now=out.now,
            actor=out.actor,
            reason="resolution mail held",
            message_pk=out.message_pk,
        )
    numbers = ", ".join(map(str, held))
    return (
        f"not enacted yet: the {proposal.resolution}'s mail is held by the leak guard, nothing"
        f" sent (mail {numbers}); the reporter and the council are told, and the case resolved,"
        f" once it is released (#release {held[0]}); #drop {held[0]} calls the enactment off"
    )


def _complete_enactment(
    out: _Writer, proposal: Proposal, plan: list[PlannedMail], started: datetime
) -> list[str]:
    """Once the resolution's own mail goes: the committee's copy, the ban register, the
    reporter's notice and the council's report; the proposal is enacted, the case resolved."""
    row = rung(proposal.resolution)
    for mail in plan:
        if not _is_outward(mail, proposal):
            out.queue(mail.template, mail.audience, mail.context, **mail.options())
    done = ["a copy to the committee"] if row.to_responsible else []
    if row.bans:
        words = proposal.args.split()
        spaces = " ".join(words[1:] if row.args.startswith(DURATION) else words)
        duration = parse_ban_duration(words[0]) if row.args.startswith(DURATION) else None
        for party in responsible_parties(out.db, out.case):
            ban = add_ban(
                out.db,
                out.case,
                who=party.email,
                email=party.email,
                spaces=spaces,
                duration=duration,
                now=started,
                decided_by="committee",
                unilateral=False,
            )
            out.event("ban-recorded", {"ban": ban, "spaces": spaces})
        done.append("ban register updated")
    done += [
        "resolution notice to the reporter"
        for mail in plan
        if mail.template == "reporter/resolution_notice"
    ]
    done.append("resolution report to the Executive Council")
    # A mediation's parties and mediator, if the resolution's own mail did not reach them.
    told = {"reporter"} | ({"reported"} if row.to_responsible else set())
    tell_decision(out.db, out.settings, out.case, out.now, done=row.done, told=frozenset(told))
    mark_proposal(out.db, proposal, "enacted_at", out.now)
    out.event("enacted", {"proposal": proposal.pk, "resolution": proposal.resolution})
    if get_case(out.db, out.case.pk).state == CaseState.ESCALATED:  # the council's, released
        move_case(
            out.db,
            out.case,
            CaseState.ENACTING,
            now=out.now,
            actor=out.actor,
            reason="enactment",
            message_pk=out.message_pk,
        )
    move_case(
        out.db,
        out.case,
        CaseState.RESOLVED,
        now=out.now,
        actor=out.actor,
        reason="enacted",
        message_pk=out.message_pk,
    )
    return done


# Where a case waits while its resolution's mail is held: enacting, or with the council when
# the council enacted (so that it can #release or #drop its own mail).
HELD_ENACTING = frozenset({CaseState.ENACTING, CaseState.ESCALATED})


def held_enactment(db: Database, case: Case) -> dict | None:
    """The enactment of the open proposal whose mail the leak guard holds (none of it has
    left): its `enactment-held` record, or None."""
    row = db.execute(
        "SELECT detail, id FROM events WHERE case_pk = ? AND action = 'enactment-held'"
        " ORDER BY id DESC LIMIT 1",
        [case.pk],
    ).fetchone()
    proposal = open_proposal(db, case.pk)
    if row is None or proposal is None or case.state not in HELD_ENACTING:
        return None
    detail = json.loads(row[0]) | {"event": row[1]}
    if detail["proposal"] != proposal.pk or not _still_held(db, detail["held"] + detail["waiting"]):
        return None
    return detail


def _still_held(db: Database, items: list[int]) -> list[int]:
    if not items:
        return []
    marks = ",".join("?" * len(items))
    rows = db.execute(f"SELECT id FROM outbox WHERE id IN ({marks}) AND status = 'held'", items)
    return [row[0] for row in rows]


def release_enactment(
    db: Database,
    settings: Settings,
    now: datetime,
    case: Case,
    item: int,
    *,
    actor: str,
    message_pk: int | None,
    queued: list[str],
) -> tuple[bool, str] | None:
    """`#release ITEM` of a held enactment's mail. A resolution leaves whole: once every mail
    the guard held of it is vouched for, all of it goes (the mail waiting with it too) and the
    enactment completes, as it would have at `#enact`; until then nothing is sent. What
    happened (whether ITEM was vouched for, and the transcript's words); None for mail of no
    held enactment."""
    detail = held_enactment(db, case)
    if detail is None or item not in detail["held"] + detail["waiting"]:
        if _of_an_enactment(db, case, item):  # superseded, closed: it never goes alone
            return (
                False,
                "not sent: it is the mail of an enactment that was called off"
                " (the proposal or the case moved on); #drop it",
            )
        return None
    vouched = _vouched(db, case, detail["event"]) | {item}
    left = [pk for pk in _still_held(db, detail["held"]) if pk not in vouched]
    if left:
        numbers = ", ".join(map(str, left))
        if item in detail["waiting"]:
            return (
                False,
                f"not sent: it waits with the resolution's held mail {numbers},"
                f" which #release {left[0]} sends with it",
            )
        return True, f"vouched for; nothing is sent until mail {numbers} is released too"
    for pk in _still_held(db, detail["held"] + detail["waiting"]):
        release_held(db, pk, actor, now)
    proposal = open_proposal(db, case.pk)
    out = _Writer(db, settings, now, case, detail["actor"], message_pk, queued)
    plan = plan_resolution_mail(db, settings, now, case, proposal, detail["actor"])
    done = _complete_enactment(out, proposal, plan, from_text(detail["at"]))
    return (
        True,
        f"released: it goes out as it is, with the rest of the resolution's mail;"
        f" enacted {proposal.resolution}: {'; '.join(done)}",
    )


def _of_an_enactment(db: Database, case: Case, item: int) -> bool:
    """Whether held mail `item` is a resolution's, held at some enactment of the case."""
    rows = db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = 'enactment-held'", [case.pk]
    )
    return any(item in d["held"] + d["waiting"] for d in (json.loads(r[0]) for r in rows))


def _vouched(db: Database, case: Case, since: int) -> set[int]:
    """Held mail a member released since the enactment was held."""
    rows = db.execute(
        "SELECT json_extract(detail, '$.item') FROM events WHERE case_pk = ? AND id > ?"
        " AND action = 'mail-released'",
        [case.pk, since],
    )
    return {row[0] for row in rows}


def drop_enactment(
    db: Database,
    settings: Settings,
    now: datetime,
    case: Case,
    item: int,
    *,
    actor: str,
    message_pk: int | None,
) -> str | None:
    """`#drop ITEM` of a held enactment's mail: none of the resolution is sent, and the case
    goes back to where it was before `#enact` (agreed and consulted, or the council's), where
    a member can enact again or propose a corrected one. None for other mail."""
    detail = held_enactment(db, case)
    if detail is None or item not in detail["held"] + detail["waiting"]:
        return None
    for pk in _still_held(db, detail["held"] + detail["waiting"]):
        drop_held(db, pk)
    back = _state_before_enacting(db, case)
    items = detail["held"] + detail["waiting"]
    record_event(
        db,
        case,
        now=now,
        actor=actor,
        action="enactment-dropped",
        detail={"proposal": detail["proposal"], "items": items},
        message_pk=message_pk,
    )
    move_case(db, case, back, now=now, actor=actor, reason="#drop", message_pk=message_pk)
    return (
        f"the resolution was not carried out and nothing of it was sent; the case is back to"
        f" {back}: #enact sends the same again, #propose a corrected one"
    )


def _state_before_enacting(db: Database, case: Case) -> CaseState:
    row = db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = 'state-changed'"
        " AND json_extract(detail, '$.to') = ? ORDER BY id DESC LIMIT 1",
        [case.pk, CaseState.ENACTING.value],
    ).fetchone()
    earlier = json.loads(row[0]).get("from") if row else None
    return CaseState.ESCALATED if earlier == CaseState.ESCALATED else CaseState.REPORTER_CONSULTED


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


def plan_resolution_mail(
    db: Database, settings: Settings, now: datetime, case: Case, proposal: Proposal, actor: str
) -> list[PlannedMail]:
    """Every mail enacting `proposal` now sends, in order, with the context each carries."""
    words = proposal.args.split()
    row = rung(proposal.resolution)
    responsible = responsible_parties(db, case)
    by_council, common = _resolution_common(settings, now, case, proposal, actor)
    ban = {"unilateral": False} if row.bans else {}
    plan = []
    if row.to_responsible:
        plan += [
            PlannedMail(
                row.to_responsible, Audience.PARTY, common | ban, party=party, auto_submitted="no"
            )
            for party in responsible
        ]
        plan.append(
            PlannedMail(
                "committee/resolution_copy",
                Audience.COMMITTEE,
                {**common, "resolution": proposal.resolution, "template": row.to_responsible},
            )
        )
    if row.to_venue:
        plan.append(
            PlannedMail(
                row.to_venue,
                Audience.ADDRESS,
                common,
                to_addr=words[0].strip("<>"),
                auto_submitted="no",
            )
        )
    if row.bans:
        who = ", ".join(who_text(p.name, p.email) for p in responsible)
        plan.append(
            PlannedMail(
                "core/ban_notice",
                Audience.ADDRESS,
                common | ban | {"who": who},
                to_addr=settings.core_team,
            )
        )
    return plan + _reports_of_resolution(db, case, proposal, row, by_council)


def _signer(settings: Settings, case: Case, actor: str) -> tuple[bool, Person | None]:
    """Whether the council decided, and who signs: the committee's chair, or the council's
    when the council decided the case; never a chair the case is about (the first free member
    signs for them)."""
    person = settings.person_for(actor)
    by_council = council_holds(case) or (
        person in settings.council and person not in settings.members
    )
    if by_council:
        chair = settings.council_chair or person
        if chair is not None and chair.email.lower() in case.excluded():
            chair = person
    else:
        chair = settings.chair
        if chair is not None and chair.email.lower() in case.excluded():
            chair = acting_chair(case, settings) or person
    return by_council, chair


def _resolution_common(
    settings: Settings, now: datetime, case: Case, proposal: Proposal, actor: str
) -> tuple[bool, dict]:
    """Whether the council decided, and what every resolution mail shows."""
    by_council, chair = _signer(settings, case, actor)
    words = proposal.args.split()
    row = rung(proposal.resolution)
    timed = DURATION in row.args and words
    spaces = " ".join(words[1:] if row.args.startswith(DURATION) else words)
    return by_council, {
        "statement": proposal.text,
        "chair_name": chair.name if chair else settings.committee_name,
        "by_council": by_council,
        **_duration(words[0] if timed else None, now, settings),
        "spaces": spaces if row.bans else None,
    }


def _reports_of_resolution(
    db: Database, case: Case, proposal: Proposal, row, by_council: bool
) -> list[PlannedMail]:
    """The reporter's notice and the council's report of a resolution carried out."""
    plan = [
        PlannedMail(
            "reporter/resolution_notice",
            Audience.PARTY,
            {"resolution": proposal.resolution, "done": row.done, "by_council": by_council},
            party=reporter,
        )
        for reporter in parties_of(db, case, "reporter")
        if reachable(db, reporter)
    ]
    plan.append(
        PlannedMail(
            "council/resolution_report",
            Audience.COUNCIL,
            {
                "resolution": proposal.resolution,
                "violation": case.violation,
                "opened_at": case.opened_at,
                "by_council": by_council,
                "brief": case_brief(db, case),
            },
        )
    )
    return plan


def preview_resolution_mail(
    db: Database, settings: Settings, now: datetime, case: Case, proposal: Proposal, actor: str
) -> list[dict]:
    """What each person outside the committee receives when `proposal` is enacted, for the
    committee to read first: one {to, template, context} per mail (the mailer renders each
    as it will be sent; `previews` in a committee template)."""
    plan = plan_resolution_mail(db, settings, now, case, proposal, actor)
    return [
        preview_of(case, mail.template, mail.context, party=mail.party, to_addr=mail.to_addr)
        for mail in plan
        if mail.outside
    ]


def preview_of(
    case: Case,
    template: str,
    context: dict,
    *,
    party: Party | None = None,
    to_addr: str | None = None,
) -> dict:
    """One mail as a committee preview holds it, for the mailer to render: its reader, its
    template and the context the template will get."""
    to = to_addr or (party.email if party else None) or "their follow-up page"
    if party is not None and party.name and party.email and not to_addr:
        to = f"{party.name} <{to}>"
    context = fit_context(template, {"case_ref": case.ref, **context})
    return {"to": to, "template": template, "context": context}


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
    queue_mail(
        db,
        Mail(template=template, audience=Audience.PARTY, party=party, case=case, context=context),
        now=now,
        settings=settings,
    )
    return True


CLOCKS = register(
    Clock("enact", fire_enactment, hold_when_late=True),
    Clock("send", fire_send, hold_when_late=True),
)
