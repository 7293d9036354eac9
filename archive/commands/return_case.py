"""#return [REASON]: the Executive Council hands an escalated case back to the committee."""

from archive.commands.base import Command, Context, Refused
from archive.record.deadlines import cancel_deadlines
from archive.record.models import CaseState
from archive.workflow.council import council_holds


def run(ctx: Context, args: str) -> str:
    if not council_holds(ctx.case):
        raise Refused(f"the case is {ctx.case.state}: only an escalated case can be returned")
    if ctx.actor not in ctx.settings.council:
        raise Refused("only the Executive Council returns a case it holds")
    reason = "\n".join(t for t in (args, ctx.body) if t).strip()
    cancel_deadlines(ctx.db, ctx.case, ("deadlock", "consult-wait"), ctx.now)
    ctx.event("returned-to-committee", {"reason": reason or None})
    ctx.queue("committee/returned", "committee", {"reason": reason or None})
    ctx.move_to(CaseState.DELIBERATING, "the council handed it back")
    return "the case is the committee's again (deliberating); the committee was told"


COMMAND = Command(
    "return",
    "#return [REASON]",
    "the Executive Council hands an escalated case back to the committee",
    run,
)
