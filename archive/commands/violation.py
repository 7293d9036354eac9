"""#violation yes|no|unclear: the committee's finding."""

from archive.commands.base import Command, Context, Refused
from archive.record.cases import set_case_value

ANSWERS = ("yes", "no", "unclear")


def run(ctx: Context, args: str) -> str:
    answer = args.split()[0].lower() if args else ""
    if answer not in ANSWERS:
        raise Refused("#violation takes yes, no or unclear")
    set_case_value(ctx.db, ctx.case, "violation", answer, ctx.now)
    ctx.event("violation-finding", {"violation": answer})
    ctx.reload()
    return f"finding recorded: violation {answer}"


COMMAND = Command(
    "violation", "#violation yes|no|unclear", "record whether the CoC was broken", run
)
