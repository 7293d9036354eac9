"""#status [STATE]: show the case's state, or move it to a state without a gate."""

from archive.commands.base import Command, Context, Refused
from archive.models import CaseState

OPEN_TO_STATUS = (CaseState.INVESTIGATING, CaseState.DELIBERATING)


def run(ctx: Context, args: str) -> str:
    if not args:
        return f"the case is {ctx.case.state}"
    wanted = args.split()[0].lower()
    allowed = {s.value for s in OPEN_TO_STATUS}
    if wanted not in allowed:
        gated = {s.value for s in CaseState} - allowed
        if wanted in gated:
            raise Refused(f"{wanted} is reached only through its own command, not #status")
        raise Refused(f"unknown state {wanted!r}; #status takes {', '.join(sorted(allowed))}")
    if ctx.case.state in ("closed", "resolved"):
        raise Refused(f"the case is {ctx.case.state}; #reopen it first")
    ctx.move_to(CaseState(wanted))
    return f"the case is now {wanted}"


COMMAND = Command(
    "status", "#status [STATE]", "show the state, or set investigating/deliberating", run
)
