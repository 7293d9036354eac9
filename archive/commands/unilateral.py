"""#unilateral ACTION: what a member did on their own; it goes on the committee's review list."""

from archive.commands.base import Command, Context, Refused
from archive.record.deadlines import cancel_deadlines
from archive.record.outbox import Audience


def run(ctx: Context, args: str) -> str:
    action = "\n".join(t for t in (args, ctx.body) if t).strip()
    if not action:
        raise Refused("#unilateral needs what you did, e.g. #unilateral removed him from the chat")
    ctx.event("unilateral-action", {"member": ctx.actor.email.lower(), "action": action[:5000]})
    cancel_deadlines(
        ctx.db, ctx.case, ("unilateral-reminder",), ctx.now, member=ctx.actor.email.lower()
    )
    ctx.queue(
        "committee/unilateral",
        Audience.COMMITTEE,
        {"member": ctx.actor.name, "action": action[:5000]},
    )
    return "recorded and put on the committee's review list"


COMMAND = Command(
    "unilateral",
    "#unilateral ACTION",
    "record an action you took on your own, for the committee's review",
    run,
)
