"""#drop ID: a mail the leak guard held is never sent."""

from archive.commands.base import Command, Context
from archive.commands.release import item_of
from archive.record.outbox import drop_held


def run(ctx: Context, args: str) -> str:
    pk, template, status = item_of(ctx, args, "drop")
    if status != "held":
        return f"no change: mail {pk} ({template}) is no longer held ({status})"
    drop_held(ctx.db, pk)
    ctx.event("mail-dropped", {"item": pk, "template": template})
    return f"mail {pk} ({template}) dropped: it will not be sent"


COMMAND = Command("drop", "#drop ID", "never send a mail the leak guard held", run)
