"""Shared by #agree, #object and #abstain: a vote on the open proposal."""

from archive.commands.base import Context, Refused
from archive.deadlines import cancel_deadlines
from archive.resolutions import cast_vote, has_consensus, open_proposal, tally


def vote(ctx: Context, choice: str, reason: str | None) -> str:
    proposal = open_proposal(ctx.db, ctx.case.pk)
    if proposal is None:
        raise Refused("there is no open proposal to vote on")
    cast_vote(ctx.db, proposal, ctx.actor.email, choice, reason, ctx.now)
    ctx.event("voted", {"proposal": proposal.pk, "vote": choice, "reason": reason})
    votes = tally(ctx.db, proposal)
    voters = [m.email for m in ctx.active_members()]
    counts = ", ".join(
        f"{sum(1 for v in votes.values() if v == kind)} {kind}"
        for kind in ("agree", "object", "abstain")
    )
    done = f"{choice} on proposal #{proposal.pk} ({proposal.resolution}): {counts}"
    if has_consensus(votes, voters):
        ctx.event("consensus-reached", {"proposal": proposal.pk})
        cancel_deadlines(ctx.db, ctx.case, ("deadlock",), ctx.now)
        return done + "; consensus reached: next, #consult the reporter"
    waiting = [v for v in voters if v.lower() not in votes]
    return done + (f"; waiting for {len(waiting)} member(s)" if waiting else "")
