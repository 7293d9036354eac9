"""#propose RESOLUTION [ARGS]: a resolution from the manual's ladder; starts a new tally.

The text below the command block is the statement the resolution's mail will carry.
"""

from archive.commands.base import Command, Context, Refused
from archive.council import council_holds
from archive.deadlines import add_deadline, cancel_deadlines
from archive.ladder import LADDER
from archive.models import CaseState
from archive.resolutions import add_proposal, cast_vote, check_resolution
from archive.states import is_done

WHY_NOT = {
    "appealed": "an appeal is open; the Executive Council decides it with #appeal",
    "escalated": "the Executive Council has this case; it hands it back with #return",
}


def run(ctx: Context, args: str) -> str:
    if is_done(ctx.case.state):
        raise Refused(f"the case is {ctx.case.state}; #reopen it first")
    council = council_holds(ctx.case) and ctx.actor in ctx.settings.council
    if ctx.case.state in WHY_NOT and not council:
        raise Refused(WHY_NOT[ctx.case.state])
    words = args.split(maxsplit=1)
    if not words:
        raise Refused("#propose needs a resolution, e.g. #propose private-reprimand")
    resolution, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
    problem = check_resolution(resolution, rest)
    if problem:
        raise Refused(problem)
    proposal = add_proposal(
        ctx.db, ctx.case.pk, resolution, rest, ctx.body, ctx.actor.email.lower(), ctx.now
    )
    cast_vote(ctx.db, proposal, ctx.actor.email, "agree", "proposer", ctx.now)
    cancel_deadlines(ctx.db, ctx.case, ("deadlock", "consult-wait"), ctx.now)
    ctx.event("proposed", {"proposal": proposal.pk, "resolution": resolution, "args": rest})
    if council:  # the council decides: no deadlock to escalate, the case stays with it
        return f"proposal #{proposal.pk}: {resolution} {rest}".rstrip() + (
            " (the council's: its chair decides, or a quorum agreeing)"
        )
    add_deadline(
        ctx.db,
        ctx.case,
        "deadlock",
        ctx.now + ctx.settings.deadlock_after,
        ctx.now,
        {"proposal": proposal.pk},
    )
    ctx.move_to(CaseState.RESOLUTION_PROPOSED)
    return (
        f"proposal #{proposal.pk}: {resolution} {rest}".rstrip()
        + " (your own vote counts as #agree; earlier votes no longer count)"
    )


COMMAND = Command(
    "propose",
    "#propose RESOLUTION [ARGS]",
    f"propose a resolution ({', '.join(row.usage for row in LADDER)}); the text below is its"
    " statement",
    run,
)
