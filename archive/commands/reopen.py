"""#reopen: take a closed or resolved case up again."""

from archive.commands.base import Command, Context, Refused
from archive.models import CaseState


def run(ctx: Context, args: str) -> str:
    if ctx.case.state not in (CaseState.CLOSED, CaseState.RESOLVED):
        raise Refused(f"the case is {ctx.case.state}, not closed")
    ctx.event("reopened", {"reason": args or None})
    ctx.move_to(CaseState.INVESTIGATING)
    return "the case is open again (investigating)"


COMMAND = Command("reopen", "#reopen", "reopen a closed or resolved case", run)
