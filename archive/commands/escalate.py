"""#escalate: hand the case to the Executive Council (e.g. a deadlock)."""

from archive.case_brief import case_brief
from archive.commands.base import Command, Context, Refused
from archive.council import tell_reporter_council_has_case
from archive.models import CaseState
from archive.outbox import Audience
from archive.resolutions import open_proposal, tally


def run(ctx: Context, args: str) -> str:
    if ctx.case.state == CaseState.ESCALATED:
        return "no change: the case is already with the Executive Council"
    if ctx.case.state == CaseState.CLOSED:
        raise Refused(f"the case is {ctx.case.state}")
    proposal = open_proposal(ctx.db, ctx.case.pk)
    votes = tally(ctx.db, proposal) if proposal else {}
    ctx.queue(
        "council/escalation",
        Audience.COUNCIL,
        {
            "reason": args or ctx.body or "no reason given",
            "state": ctx.case.state,
            "opened_at": ctx.case.opened_at,
            "proposal": proposal.resolution if proposal else None,
            "votes": {k: sum(1 for v in votes.values() if v == k)
                      for k in ("agree", "object", "abstain")},
            "brief": case_brief(ctx.db, ctx.case),
        },
    )  # fmt: skip
    ctx.event("escalated", {"reason": args or None})
    ctx.move_to(CaseState.ESCALATED)
    tell_reporter_council_has_case(ctx.db, ctx.case, ctx.settings, ctx.now)
    return "the case was handed to the Executive Council"


COMMAND = Command("escalate", "#escalate [REASON]", "hand the case to the Executive Council", run)
