"""#help: every command, generated from the command modules themselves."""

from archive.commands.base import Command, Context


def run(ctx: Context, args: str) -> str:
    from archive.commands import COMMANDS

    lines = [f"{c.usage:<32} {c.help}" for c in COMMANDS.values()]
    return "commands:\n" + "\n".join(lines)


COMMAND = Command("help", "#help", "list the commands", run)
