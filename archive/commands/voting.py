"""Shared by #agree, #object and #abstain: a vote on the open proposal."""

import json

from archive.commands.base import Context, Refused
from archive.commands.consult import CONSULT_TEMPLATE, consult_context, consulted_parties
from archive.council import council_holds, deciders, proposal_agreed
from archive.deadlines import cancel_deadlines
from archive.enactment import preview_of, preview_resolution_mail
from archive.outbox import Audience
from archive.resolutions import cast_vote, open_proposal, tally


def vote(ctx: Context, choice: str, reason: str | None) -> str:
    proposal = open_proposal(ctx.db, ctx.case.pk)
    if proposal is None:
        raise Refused("there is no open proposal to vote on")
    cast_vote(ctx.db, proposal, ctx.actor.email, choice, reason, ctx.now)
    ctx.event("voted", {"proposal": proposal.pk, "vote": choice, "reason": reason})
    votes = tally(ctx.db, proposal)
    voters = [m.email for m in deciders(ctx.case, ctx.settings)]
    counts = ", ".join(
        f"{sum(1 for v in votes.values() if v == kind)} {kind}"
        for kind in ("agree", "object", "abstain")
    )
    done = f"{choice} on proposal #{proposal.pk} ({proposal.resolution}): {counts}"
    if proposal_agreed(votes, ctx.case, ctx.settings):
        if not _agreed_before(ctx, proposal):
            _preview(ctx, proposal)
        ctx.event("consensus-reached", {"proposal": proposal.pk})
        cancel_deadlines(ctx.db, ctx.case, ("deadlock",), ctx.now)
        who = "the council agreed" if council_holds(ctx.case) else "consensus reached"
        return done + f"; {who}: next, #consult the reporter"
    waiting = [v for v in voters if v.lower() not in votes]
    return done + (f"; waiting for {len(waiting)} member(s)" if waiting else "")


def _agreed_before(ctx: Context, proposal) -> bool:
    """Whether this proposal had reached agreement already (a later vote changes nothing)."""
    rows = ctx.db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = 'consensus-reached'",
        [ctx.case.pk],
    )
    return any(json.loads(row[0] or "{}").get("proposal") == proposal.pk for row in rows)


def _preview(ctx: Context, proposal) -> None:
    """Those who decide read exactly what each outside reader will get, before #enact."""
    ctx.queue(
        "committee/resolution_preview",
        Audience.COMMITTEE,
        {
            "proposal": proposal.pk,
            "resolution": proposal.resolution,
            "by_council": council_holds(ctx.case),
            "consulted": proposal.consulted_at is not None,
            "previews": _consult_previews(ctx, proposal)
            + [
                {**preview, "step": "#enact"}
                for preview in preview_resolution_mail(
                    ctx.db, ctx.settings, ctx.now, ctx.case, proposal, ctx.actor.email
                )
            ],
        },
    )


def _consult_previews(ctx: Context, proposal) -> list[dict]:
    """What `#consult` will send each party it asks (nothing once it was sent)."""
    if proposal.consulted_at is not None:
        return []
    context = consult_context(ctx.case, proposal)
    return [
        {**preview_of(ctx.case, CONSULT_TEMPLATE, context, party=party), "step": "#consult"}
        for party in consulted_parties(ctx.db, ctx.case)
    ]
