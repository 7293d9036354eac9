"""#abstain: neither agree nor object (does not block consensus)."""

from archive.commands.base import Command, Context
from archive.commands.voting import vote


def run(ctx: Context, args: str) -> str:
    return vote(ctx, "abstain", args or None)


COMMAND = Command("abstain", "#abstain", "abstain on the open proposal", run)
