"""Shared by #agree, #object and #abstain: a vote on the open proposal."""

from archive.commands.base import Context, Refused
from archive.record.deadlines import cancel_deadlines
from archive.workflow.council import council_holds, deciders, proposal_agreed
from archive.workflow.resolutions import cast_vote, open_proposal, tally


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
        ctx.event("consensus-reached", {"proposal": proposal.pk})
        cancel_deadlines(ctx.db, ctx.case, ("deadlock",), ctx.now)
        who = "the council agreed" if council_holds(ctx.case) else "consensus reached"
        return done + f"; {who}: next, #consult the reporter"
    waiting = [v for v in voters if v.lower() not in votes]
    return done + (f"; waiting for {len(waiting)} member(s)" if waiting else "")
