"""#conflict MEMBER: record a member's conflict of interest (they are cut off at once)."""

from archive.commands.base import Command, Context, Refused
from archive.record.cases import set_conflicted


def run(ctx: Context, args: str) -> str:
    if not args:
        raise Refused("#conflict needs a member, e.g. #conflict bob@example.org")
    person = ctx.member(args.split()[0])
    address = person.email.lower()
    if address in ctx.case.conflicted:
        raise Refused(f"{person.name} is already recorded as conflicted")
    set_conflicted(ctx.db, ctx.case, [*ctx.case.conflicted, address], ctx.now)
    ctx.event("conflict-recorded", {"member": address, "reason": "declared by a member"})
    ctx.reload()
    return f"{person.name} is conflicted: they receive nothing more about this case"


COMMAND = Command("conflict", "#conflict MEMBER", "record a member's conflict of interest", run)
