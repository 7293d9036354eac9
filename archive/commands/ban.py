"""#ban WHO DURATION|permanent SPACES: in an urgent case, one member may ban at once.

Recorded as a unilateral action for the committee's review; outside urgent cases a ban is a
resolution (#propose temporary-ban / permanent-ban, then #enact).
"""

from archive.commands.base import Command, Context, Refused
from archive.record.address_grammar import bracketed_address
from archive.record.outbox import Audience
from archive.workflow.bans import add_ban, duration_fields, parse_ban_duration


def run(ctx: Context, args: str) -> str:
    words = args.split()
    if len(words) < 3:
        raise Refused(
            "usage: #ban WHO DURATION|permanent SPACES, e.g. #ban dave@example.com 30d chat"
        )
    if not ctx.case.urgent:
        raise Refused("outside an urgent case a ban is a resolution: #propose temporary-ban")
    who, duration_text, spaces = words[0], words[1], " ".join(words[2:])
    try:
        duration = parse_ban_duration(duration_text)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    email = (bracketed_address(who) or "").lower() or None
    if email and ctx.settings.person_for(email):
        raise Refused("a committee or council member cannot be banned by one member's command")
    ban = record_ban(
        ctx, who=email or who, email=email, spaces=spaces, duration=duration, unilateral=True
    )
    ctx.event(
        "unilateral-action",
        {"member": ctx.actor.email.lower(), "action": f"ban #{ban} of {who} from {spaces}"},
    )
    span = duration_fields(duration, ctx.now, ctx.settings)
    length = f"for {span['duration']}, until {span['until']}" if duration else "permanently"
    action = f"banned {who} from {spaces} {length}"
    ctx.queue(
        "committee/unilateral", Audience.COMMITTEE, {"member": ctx.actor.name, "action": action}
    )
    return f"ban #{ban} recorded ({spaces}, {length}); it awaits the committee's review"


def record_ban(ctx: Context, *, who, email, spaces, duration, unilateral) -> int:
    ban = add_ban(
        ctx.db,
        ctx.case,
        who=who,
        email=email,
        spaces=spaces,
        duration=duration,
        now=ctx.now,
        decided_by=ctx.actor.email.lower(),
        unilateral=unilateral,
    )
    ctx.event("ban-recorded", {"ban": ban, "spaces": spaces, "unilateral": unilateral})
    # One member's ban at once is theirs: signed by them, never "the Committee has decided".
    context = {
        "statement": "",
        "chair_name": ctx.actor.name,
        "spaces": spaces,
        "unilateral": unilateral,
        "by_council": False,
        **duration_fields(duration, ctx.now, ctx.settings),
    }
    if email:
        ctx.queue(
            "reported/ban_notice", Audience.ADDRESS, context, to_addr=email, auto_submitted="no"
        )
    ctx.queue(
        "core/ban_notice", Audience.ADDRESS, {**context, "who": who}, to_addr=ctx.settings.core_team
    )
    return ban


COMMAND = Command("ban", "#ban WHO DURATION|permanent SPACES", "ban at once in an urgent case", run)
