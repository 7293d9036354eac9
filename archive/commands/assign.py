"""#assign MEMBER: who leads the case."""

from archive.commands.base import Command, Context, Refused
from archive.record.cases import set_case_value
from archive.record.models import CaseState

EARLY = (CaseState.RECEIVED, CaseState.ACKNOWLEDGED)


def run(ctx: Context, args: str) -> str:
    if not args:
        raise Refused("#assign needs a member, e.g. #assign alice@example.org")
    person = ctx.member(args)
    if person.email.lower() in ctx.case.excluded():
        raise Refused(f"{person.name} is conflicted or recused in this case")
    set_case_value(ctx.db, ctx.case, "assignee", person.email.lower(), ctx.now)
    ctx.event("assigned", {"member": person.email.lower()})
    if ctx.case.state in EARLY:
        ctx.move_to(CaseState.INVESTIGATING)
    ctx.reload()
    return f"assigned to {person.name}"


COMMAND = Command("assign", "#assign MEMBER", "make a member the lead of the case", run)
