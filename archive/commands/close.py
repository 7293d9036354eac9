"""#close REASON: close the case."""

from archive.commands.base import Command, Context, Refused
from archive.record.models import CaseState
from archive.workflow.mediation import tell_decision

# What a mediated case's parties are told of a #close (its reason is the committee's own words).
CLOSED_AFTER_MEDIATION = "the committee closed the case, with no further action"


def run(ctx: Context, args: str) -> str:
    if not args:
        raise Refused("#close needs a reason, e.g. #close resolved publicly")
    if ctx.case.state == CaseState.CLOSED:
        return "no change: the case is already closed"
    ctx.event("closed", {"reason": args})
    ctx.move_to(CaseState.CLOSED)
    tell_decision(ctx.db, ctx.settings, ctx.case, ctx.now, done=CLOSED_AFTER_MEDIATION)
    return "the case is closed"


COMMAND = Command("close", "#close REASON", "close the case", run)
