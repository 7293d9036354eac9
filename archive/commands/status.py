"""#status [STATE]: show the case's state, or move it to a state without a gate."""

from archive.commands.base import Command, Context, Refused
from archive.record.models import CaseState
from archive.workflow.enactment import scheduled_enactment
from archive.workflow.states import is_done

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
    if ctx.case.state == wanted:
        return f"no change: the case is already {wanted}"
    if is_done(ctx.case.state):
        raise Refused(f"the case is {ctx.case.state}; #reopen it first")
    scheduled = scheduled_enactment(ctx.db, ctx.case)
    if scheduled is not None:
        # The committee agreed the resolution and its date by consensus; one member's #status
        # does not quietly undo that (the manual: resolutions by consensus).
        raise Refused(
            f"the resolution is scheduled to be enacted at {scheduled.due_at[:16]} UTC; the"
            " case stays enacting until then. To stop it, #propose a new resolution (the"
            " committee votes again) or #close the case; #enact DATE moves the date"
        )
    ctx.move_to(CaseState(wanted))
    return f"the case is now {wanted}"


COMMAND = Command(
    "status", "#status [STATE]", "show the state, or set investigating/deliberating", run
)
