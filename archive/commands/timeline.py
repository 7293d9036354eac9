"""#timeline DATE: the projected date of a resolution, for the reporter's one-week update."""

from archive.commands.base import Command, Context, Refused
from archive.record.cases import set_case_fields
from archive.workflow.report_clocks import queue_reporter_update


def run(ctx: Context, args: str) -> str:
    if not args:
        raise Refused("#timeline needs a date, e.g. #timeline 2026-03-20")
    when = ctx.date(args.split()[0])
    if when <= ctx.now:
        raise Refused("the projected date is in the past")
    day = when.astimezone(ctx.settings.zone).date().isoformat()
    fields = {**ctx.case.fields, "timeline": day}
    set_case_fields(ctx.db, ctx.case, fields, None)
    ctx.event("timeline-set", {"timeline": day})
    ctx.reload()
    updated = ctx.db.execute(
        "SELECT 1 FROM deadlines WHERE case_pk = ? AND kind = 'reporter-update'"
        " AND fired_at IS NOT NULL",
        [ctx.case.pk],
    ).fetchone()
    if updated:
        queue_reporter_update(ctx.db, ctx.settings, ctx.now, ctx.case)
        return f"projected resolution by {day}; the reporter was sent an update with it"
    return f"projected resolution by {day}; the reporter's one-week update will give it"


COMMAND = Command(
    "timeline", "#timeline DATE", "the projected resolution date, for the reporter's update", run
)
