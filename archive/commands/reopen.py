"""#reopen: take a closed or resolved case up again."""

from archive.commands.base import Command, Context, Refused
from archive.models import CaseState
from archive.states import WITH_COUNCIL, is_done


def run(ctx: Context, args: str) -> str:
    if ctx.case.state in WITH_COUNCIL:
        raise Refused(f"the case is {ctx.case.state}: with the Executive Council")
    if not is_done(ctx.case.state):
        return f"no change: the case is open ({ctx.case.state})"
    ctx.event("reopened", {"reason": args or None})
    ctx.move_to(CaseState.INVESTIGATING)
    return "the case is open again (investigating)"


COMMAND = Command("reopen", "#reopen", "reopen a closed or resolved case", run)
