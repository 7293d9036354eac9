"""#enact: carry out the agreed, consulted resolution. The one way resolution mail leaves."""

from archive.cases import parties_of
from archive.clock import from_text
from archive.commands.base import Command, Context, Refused
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


def run(ctx: Context, args: str) -> str:
    settings = ctx.settings
    if not settings.enact_by_any_member and ctx.actor.role != "chair":
        raise Refused("only the chair enacts resolutions (see [policy] enact_by_any_member)")
    if args:
        raise Refused("scheduled enactment (#enact DATE) is not available yet; #enact now")
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
            f" {settings.consult_wait} after #consult"
        )
    if proposal.resolution == "apology-request" and not any(
        p.consent == "agreed" for p in reporters
    ):
        raise Refused("an apology request needs the reporter's explicit agreement")
    responsible = [p for p in parties_of(ctx.db, ctx.case, "reported") if p.email]
    if proposal.resolution in NEEDS_RESPONSIBLE and not responsible:
        raise Refused("no responsible person with an address: #responsible ADDRESS first")
    ctx.move_to(CaseState.ENACTING)
    sent = _queue_resolution_mail(ctx, proposal, responsible, reporters)
    mark_proposal(ctx.db, proposal, "enacted_at", ctx.now)
    ctx.event("enacted", {"proposal": proposal.pk, "resolution": proposal.resolution})
    ctx.move_to(CaseState.RESOLVED)
    return f"enacted {proposal.resolution}: {sent}"


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
    common = {
        "statement": proposal.text,
        "chair_name": chair.name if chair else ctx.settings.committee_name,
        "duration": words[0] if proposal.resolution in ("temporary-ban", "cooling-off") and words
        else None,
        "spaces": " ".join(words[1:] if proposal.resolution == "temporary-ban" else words)
        if "ban" in proposal.resolution else None,
    }  # fmt: skip
    done = []
    to_person, to_venue = MAIL[proposal.resolution]
    if to_person:
        for party in responsible:
            ctx.queue(to_person, Audience.PARTY, common, party=party, auto_submitted="no")
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
        ctx.queue("core/ban_notice", Audience.ADDRESS, common, to_addr=ctx.settings.core_team)
        done.append("ban notice to the core team")
    for reporter in reporters:
        if reporter.email and not reporter.no_contact:
            ctx.queue(
                "reporter/resolution_notice",
                Audience.PARTY,
                {"resolution": proposal.resolution},
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
    "enact", "#enact", "carry out the agreed resolution (the chair's, after #consult)", run
)
