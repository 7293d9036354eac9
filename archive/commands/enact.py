"""#enact: carry out the agreed, consulted resolution. The one way resolution mail leaves."""

from archive.bans import add_ban, duration_fields, parse_ban_duration, who_text
from archive.cases import parties_of
from archive.clock import from_text, human_duration
from archive.commands.base import Command, Context, Refused
from archive.deadlines import add_deadline, cancel_deadlines
from archive.models import CaseState
from archive.outbox import Audience
from archive.resolutions import (
    NEEDS_RESPONSIBLE,
    has_consensus,
    mark_proposal,
    open_proposal,
    tally,
)

# resolution -> (template to the person responsible, template to the venue)
MAIL = {
    "private-reprimand": ("reported/private_reprimand", None),
    "apology-request": ("reported/apology_request", None),
    "hiatus": ("reported/hiatus", None),
    "cooling-off": ("reported/cooling_off", None),
    "temporary-ban": ("reported/ban_notice", None),
    "permanent-ban": ("reported/ban_notice", None),
    "public-reminder": (None, "venue/public_reminder"),
    "public-reprimand": (None, "venue/public_reprimand"),
    "no-action": (None, None),
}


# What the reporter is told was done (never to whom, never the statement).
DONE = {
    "no-action": "the committee decided to take no further action",
    "public-reminder": "a public reminder of the behaviour the community expects was posted"
    " where it happened",
    "private-reprimand": "the person responsible received a private reprimand from the committee",
    "public-reprimand": "the person responsible was reprimanded publicly, where it happened",
    "apology-request": "the person responsible was asked to apologise, as you agreed",
    "hiatus": "the person responsible was asked to take a break from the community",
    "cooling-off": "the person responsible must observe a cooling-off period away from the"
    " community",
    "temporary-ban": "the person responsible is banned from some community spaces for a time",
    "permanent-ban": "the person responsible is banned permanently from some community spaces",
}


def _duration(text: str | None, ctx: Context) -> dict:
    """ "30 days, until 24 December 2026" from `30d`; text that is no duration is kept as given."""
    if not text:
        return {"duration": None, "until": None}
    try:
        span = parse_ban_duration(text)
    except ValueError:
        return {"duration": text, "until": None}
    return duration_fields(span, ctx.now, ctx.settings)


def run(ctx: Context, args: str) -> str:
    settings = ctx.settings
    if not settings.enact_by_any_member and ctx.actor.role not in ("chair", "council-chair"):
        raise Refused("only the chair enacts resolutions (see [policy] enact_by_any_member)")
    when = ctx.date(args.split()[0]) if args else None
    if when is not None and when <= ctx.now:
        raise Refused("the date is in the past; #enact alone enacts now")
    proposal = open_proposal(ctx.db, ctx.case.pk)
    if proposal is None:
        raise Refused("there is no open proposal")
    if not has_consensus(tally(ctx.db, proposal), [m.email for m in ctx.active_members()]):
        raise Refused("the committee has not agreed on the proposal")
    if proposal.resolution == "mediation":
        raise Refused("mediation is arranged with #mediation, not enacted")
    if proposal.consulted_at is None:
        raise Refused("the reporter has not been consulted yet: #consult first")
    reporters = parties_of(ctx.db, ctx.case, "reporter")
    if not _feedback_or_waited(ctx, proposal, reporters):
        raise Refused(
            "no feedback from the reporter yet; #enact is possible once they answer or"
            f" {human_duration(settings.consult_wait)} after #consult"
        )
    if proposal.resolution == "apology-request" and not any(
        p.consent == "agreed" for p in reporters
    ):
        raise Refused("an apology request needs the reporter's explicit agreement")
    responsible = [p for p in parties_of(ctx.db, ctx.case, "reported") if p.email]
    if proposal.resolution in NEEDS_RESPONSIBLE and not responsible:
        raise Refused("no responsible person with an address: #responsible ADDRESS first")
    ctx.move_to(CaseState.ENACTING)
    cancel_deadlines(ctx.db, ctx.case, ("consult-wait", "deadlock"), ctx.now)
    if when is not None:
        add_deadline(ctx.db, ctx.case, "enact", when, ctx.now,
                     {"proposal": proposal.pk, "actor": ctx.actor.email})  # fmt: skip
        ctx.event("enactment-scheduled", {"proposal": proposal.pk, "at": when.isoformat()})
        return f"{proposal.resolution} will be enacted at {when.isoformat()}"
    return "enacted " + _enact_now(ctx, proposal, responsible, reporters)


def _enact_now(ctx: Context, proposal, responsible, reporters) -> str:
    sent = _queue_resolution_mail(ctx, proposal, responsible, reporters)
    mark_proposal(ctx.db, proposal, "enacted_at", ctx.now)
    ctx.event("enacted", {"proposal": proposal.pk, "resolution": proposal.resolution})
    ctx.move_to(CaseState.RESOLVED)
    return f"{proposal.resolution}: {sent}"


def carry_out(db, settings, now, case, payload: dict) -> bool:
    """A scheduled #enact comes due: the resolution's mail goes out, as it would have then."""
    proposal = open_proposal(db, case.pk)
    if proposal is None or proposal.pk != payload.get("proposal") or case.state != "enacting":
        return False
    actor = settings.person_for(payload.get("actor", "")) or settings.chair
    ctx = Context(db, settings, now, case, actor, None, None, "")
    responsible = [p for p in parties_of(db, case, "reported") if p.email]
    _enact_now(ctx, proposal, responsible, parties_of(db, case, "reporter"))
    return True


def _feedback_or_waited(ctx: Context, proposal, reporters) -> bool:
    consulted = from_text(proposal.consulted_at)
    if not [p for p in reporters if p.email and not p.no_contact]:
        return True
    if ctx.now >= consulted + ctx.settings.consult_wait:
        return True
    row = ctx.db.execute(
        "SELECT 1 FROM events WHERE case_pk = ? AND action = 'feedback-received' AND at >= ?",
        [ctx.case.pk, proposal.consulted_at],
    ).fetchone()
    return row is not None


def _queue_resolution_mail(ctx: Context, proposal, responsible, reporters) -> str:
    chair = ctx.settings.chair
    words = proposal.args.split()
    timed = proposal.resolution in ("temporary-ban", "cooling-off") and words
    common = {
        "statement": proposal.text,
        "chair_name": chair.name if chair else ctx.settings.committee_name,
        **_duration(words[0] if timed else None, ctx),
        "spaces": " ".join(words[1:] if proposal.resolution == "temporary-ban" else words)
        if "ban" in proposal.resolution else None,
    }  # fmt: skip
    ban = {"unilateral": False} if "ban" in proposal.resolution else {}
    done = []
    to_person, to_venue = MAIL[proposal.resolution]
    if to_person:
        for party in responsible:
            ctx.queue(to_person, Audience.PARTY, common | ban, party=party, auto_submitted="no")
        ctx.queue(
            "committee/resolution_copy",
            Audience.COMMITTEE,
            {**common, "resolution": proposal.resolution, "template": to_person},
        )
        done.append(f"{to_person} to {len(responsible)} person(s), a copy to the committee")
    if to_venue:
        ctx.queue(to_venue, Audience.ADDRESS, common, to_addr=words[0].strip("<>"),
                  auto_submitted="no")  # fmt: skip
        done.append(f"{to_venue} to {words[0]}")
    if "ban" in proposal.resolution:
        who = ", ".join(who_text(p.name, p.email) for p in responsible)
        ctx.queue("core/ban_notice", Audience.ADDRESS, common | ban | {"who": who},
                  to_addr=ctx.settings.core_team)  # fmt: skip
        duration = parse_ban_duration(words[0]) if proposal.resolution == "temporary-ban" else None
        for party in responsible:
            ban = add_ban(ctx.db, ctx.case, who=party.email, email=party.email,
                          spaces=common["spaces"], duration=duration, now=ctx.now,
                          decided_by="committee", unilateral=False)  # fmt: skip
            ctx.event("ban-recorded", {"ban": ban, "spaces": common["spaces"]})
        done.append("ban notice to the core team; ban register updated")
    for reporter in reporters:
        if reporter.email and not reporter.no_contact:
            ctx.queue(
                "reporter/resolution_notice",
                Audience.PARTY,
                {"resolution": proposal.resolution, "done": DONE[proposal.resolution]},
                party=reporter,
            )
            done.append("resolution notice to the reporter")
    ctx.queue(
        "council/resolution_report",
        Audience.COUNCIL,
        {
            "resolution": proposal.resolution,
            "violation": ctx.case.violation,
            "opened_at": ctx.case.opened_at,
        },
    )
    done.append("resolution report to the Executive Council")
    return "; ".join(done)


COMMAND = Command(
    "enact",
    "#enact [DATE]",
    "carry out the agreed resolution now or on DATE (the chair's, after #consult)",
    run,
)
