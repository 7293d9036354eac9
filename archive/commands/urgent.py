"""#urgent: mark the case urgent (shown in red; every free member alerted)."""

from archive.commands.base import Command, Context
from archive.record.cases import set_urgent
from archive.record.deadlines import add_deadline
from archive.record.outbox import Audience
from archive.record.timestamps import to_text


def run(ctx: Context, args: str) -> str:
    if ctx.case.urgent:
        return "no change: the case is already urgent"
    set_urgent(ctx.db, ctx.case, True, ctx.now)
    ctx.event("marked-urgent", {"reasons": [args or "marked by a member"]})
    ctx.reload()
    ctx.queue(
        "committee/urgent",
        Audience.COMMITTEE,
        {
            "urgent_reasons": [
                f"marked urgent by {ctx.actor.name}" + (f": {args}" if args else "")
            ],
            "fields": ctx.case.fields,
            "reporter": "see the case",
        },
    )
    add_deadline(
        ctx.db,
        ctx.case,
        "unilateral-reminder",
        ctx.now + ctx.settings.unilateral_reminder_after,
        ctx.now,
        {"member": ctx.actor.email.lower(), "since": to_text(ctx.now)},
    )
    return "the case is urgent; the committee was alerted"


COMMAND = Command("urgent", "#urgent [WHY]", "mark the case urgent and alert everyone", run)
