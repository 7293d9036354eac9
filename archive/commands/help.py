"""#help: every command, generated from the command modules themselves."""

from archive.commands.base import Command, Context
from archive.record.durations import EXAMPLES


def run(ctx: Context, args: str) -> str:
    from archive.commands import COMMANDS

    lines = [f"{c.usage:<32} {c.help}" for c in COMMANDS.values()]
    durations = f"durations: {EXAMPLES} (m alone is refused: min or mo)"
    return "commands:\n" + "\n".join(lines) + "\n" + durations


COMMAND = Command("help", "#help", "list the commands", run)
