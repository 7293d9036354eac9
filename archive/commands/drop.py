"""#drop ID: a mail the leak guard held is never sent."""

from archive.commands.base import Command, Context
from archive.commands.release import item_of
from archive.record.outbox import drop_held
from archive.workflow.enactment import drop_enactment


def run(ctx: Context, args: str) -> str:
    pk, template, status = item_of(ctx, args, "drop")
    if status != "held":
        return f"no change: mail {pk} ({template}) is no longer held ({status})"
    # A resolution's held mail: all of it is dropped, and the case goes back before #enact.
    called_off = drop_enactment(
        ctx.db,
        ctx.settings,
        ctx.now,
        ctx.case,
        pk,
        actor=ctx.actor.email,
        message_pk=ctx.message_pk,
    )
    if called_off is None:
        drop_held(ctx.db, pk)
    ctx.event("mail-dropped", {"item": pk, "template": template})
    ctx.reload()
    done = f"mail {pk} ({template}) dropped: it will not be sent"
    return f"{done}; {called_off}" if called_off else done


COMMAND = Command("drop", "#drop ID", "never send a mail the leak guard held", run)
