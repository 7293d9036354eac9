"""#object [REASON]: object to the open proposal."""

from archive.commands.base import Command, Context
from archive.commands.voting import vote


def run(ctx: Context, args: str) -> str:
    return vote(ctx, "object", args or ctx.body or None)


COMMAND = Command("object", "#object [REASON]", "object to the open proposal", run)
