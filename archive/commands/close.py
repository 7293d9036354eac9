"""#close REASON: close the case."""

from archive.commands.base import Command, Context, Refused
from archive.record.models import CaseState


def run(ctx: Context, args: str) -> str:
    if not args:
        raise Refused("#close needs a reason, e.g. #close resolved publicly")
    if ctx.case.state == CaseState.CLOSED:
        return "no change: the case is already closed"
    ctx.event("closed", {"reason": args})
    ctx.move_to(CaseState.CLOSED)
    return "the case is closed"


COMMAND = Command("close", "#close REASON", "close the case", run)
