"""#reopen: take a closed or resolved case up again."""

from archive.commands.base import Command, Context, Refused
from archive.record.models import CaseState
from archive.workflow.states import is_done


def run(ctx: Context, args: str) -> str:
    if ctx.case.state == CaseState.ESCALATED:
        raise Refused(
            "the case is not closed: the Executive Council has it and hands it back with #return"
        )
    if ctx.case.state == CaseState.APPEALED:
        raise Refused("the case is not closed: an appeal is open, which the council decides")
    if not is_done(ctx.case.state):
        return f"no change: the case is open ({ctx.case.state})"
    ctx.event("reopened", {"reason": args or None})
    ctx.move_to(CaseState.INVESTIGATING)
    return "the case is open again (investigating)"


COMMAND = Command("reopen", "#reopen", "reopen a closed or resolved case", run)
