"""#unban WHO: lift the active bans of WHO in this case; the person and core team are told."""

from archive.commands.base import Command, Context, Refused
from archive.record.outbox import Audience
from archive.workflow.bans import active_bans, ban_row, end_ban, who_text


def run(ctx: Context, args: str) -> str:
    who = args.split()[0].strip("<>") if args else ""
    if not who:
        raise Refused("#unban needs who, as the ban names them")
    bans = active_bans(ctx.db, ctx.case, who)
    if not bans:
        raise Refused(f"no active ban of {who} in this case")
    for ban in bans:
        record = ban_row(ctx.db, ban)
        end_ban(ctx.db, ctx.case, ban, "lifted", ctx.now)
        ctx.event("ban-lifted", {"ban": ban})
        context = {"spaces": record["spaces"]}
        if record["email"]:
            ctx.queue(
                "reported/unban_notice",
                Audience.ADDRESS,
                context,
                to_addr=record["email"],
                auto_submitted="no",
            )
        core = {**context, "who": who_text(None, record["who"] or record["email"])}
        ctx.queue("core/unban_notice", Audience.ADDRESS, core, to_addr=ctx.settings.core_team)
    return f"lifted {len(bans)} ban(s) of {who}"


COMMAND = Command("unban", "#unban WHO", "lift a ban recorded in this case", run)
