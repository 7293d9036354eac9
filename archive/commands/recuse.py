"""#recuse: the sender steps out of the case; they receive nothing more about it."""

from archive.commands.base import Command, Context, Refused
from archive.record.cases import set_recused


def run(ctx: Context, args: str) -> str:
    me = ctx.actor.email.lower()
    if me in ctx.case.recused:
        raise Refused("you have already recused yourself")
    set_recused(ctx.db, ctx.case, [*ctx.case.recused, me], ctx.now)
    ctx.event("recused", {"member": me, "reason": args or None})
    ctx.reload()
    return "you are recused: casebook sends you nothing more about this case"


COMMAND = Command("recuse", "#recuse [REASON]", "step out of this case", run)
