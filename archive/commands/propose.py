"""#propose RESOLUTION [ARGS]: a resolution from the manual's ladder; starts a new tally.

The text below the command block is the statement the resolution's mail will carry.
"""

from archive.commands.base import Command, Context, Refused
from archive.deadlines import add_deadline, cancel_deadlines
from archive.models import CaseState
from archive.resolutions import add_proposal, cast_vote, check_resolution
from archive.states import is_open


def run(ctx: Context, args: str) -> str:
    if not is_open(ctx.case.state):
        raise Refused(f"the case is {ctx.case.state}; #reopen it first")
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
    add_deadline(ctx.db, ctx.case, "deadlock", ctx.now + ctx.settings.deadlock_after, ctx.now,
                 {"proposal": proposal.pk})  # fmt: skip
    ctx.event("proposed", {"proposal": proposal.pk, "resolution": resolution, "args": rest})
    ctx.move_to(CaseState.RESOLUTION_PROPOSED)
    return (
        f"proposal #{proposal.pk}: {resolution} {rest}".rstrip()
        + " (your own vote counts as #agree; earlier votes no longer count)"
    )


COMMAND = Command(
    "propose",
    "#propose RESOLUTION [ARGS]",
    "propose a resolution (no-action, mediation, public-reminder ADDRESS, private-reprimand,"
    " public-reprimand ADDRESS, apology-request, hiatus, cooling-off [DURATION], temporary-ban"
    " DURATION SPACES, permanent-ban SPACES); the text below is its statement",
    run,
)
