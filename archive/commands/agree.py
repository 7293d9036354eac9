"""#agree: agree with the open proposal."""

from archive.commands.base import Command, Context
from archive.commands.voting import vote


def run(ctx: Context, args: str) -> str:
    return vote(ctx, "agree", args or None)


COMMAND = Command("agree", "#agree", "agree with the open proposal", run)
