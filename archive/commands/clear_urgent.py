"""#clear-urgent: the case is no longer urgent."""

from archive.commands.base import Command, Context
from archive.record.cases import set_urgent


def run(ctx: Context, args: str) -> str:
    if not ctx.case.urgent:
        return "no change: the case is not urgent"
    set_urgent(ctx.db, ctx.case, False, ctx.now)
    ctx.event("urgent-cleared", {"reason": args or None})
    ctx.reload()
    return "the case is no longer urgent"


COMMAND = Command("clear-urgent", "#clear-urgent", "clear the urgent flag", run)
