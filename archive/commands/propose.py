"""#propose RESOLUTION [ARGS]: a resolution from the manual's ladder; starts a new tally.

The statement the resolution's mail carries is only what is marked in the text below the
command block: from a line `Statement:` to a line `End of statement`. The rest of the mail
(a word to colleagues, a sign-off) is for the committee and never leaves it; text below a
resolution that mails someone, with no statement marked, is refused rather than guessed at:

    #propose private-reprimand
    Statement:
    Your messages on the users list were hostile. Please keep discussions kind.
    End of statement

    Thanks all, let's discuss Monday.

At consensus the case's audience is sent each mail the resolution will send, as its reader
will get it (`committee/resolution_preview`).
"""

from archive.commands.base import Command, Context, Refused
from archive.council import council_holds
from archive.deadlines import add_deadline, cancel_deadlines
from archive.ladder import LADDER
from archive.models import CaseState
from archive.resolutions import (
    add_proposal,
    cast_vote,
    check_resolution,
    marked_statement,
    statement_problem,
)
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
    problem = check_resolution(resolution, rest) or statement_problem(resolution, ctx.body)
    if problem:
        raise Refused(problem)
    statement, _ = marked_statement(ctx.body)
    proposal = add_proposal(
        ctx.db, ctx.case.pk, resolution, rest, statement, ctx.actor.email.lower(), ctx.now
    )
    cast_vote(ctx.db, proposal, ctx.actor.email, "agree", "proposer", ctx.now)
    cancel_deadlines(ctx.db, ctx.case, ("deadlock", "consult-wait"), ctx.now)
    ctx.event("proposed", {"proposal": proposal.pk, "resolution": resolution, "args": rest})
    if council:  # the council decides: no deadlock to escalate, the case stays with it
        return f"proposal #{proposal.pk}: {resolution} {rest}".rstrip() + (
            " (the council's: its chair decides, or a quorum agreeing)" + _said(statement)
        )
    add_deadline(ctx.db, ctx.case, "deadlock", ctx.now + ctx.settings.deadlock_after, ctx.now,
                 {"proposal": proposal.pk})  # fmt: skip
    ctx.move_to(CaseState.RESOLUTION_PROPOSED)
    return (
        f"proposal #{proposal.pk}: {resolution} {rest}".rstrip()
        + " (your own vote counts as #agree; earlier votes no longer count)"
        + _said(statement)
    )


def _said(statement: str) -> str:
    """For the transcript: how much of the mail was taken as the statement."""
    if not statement:
        return "; no statement"
    lines = len(statement.splitlines())
    first = " ".join(statement.split()[:6])
    return f'; its statement: {lines} line(s), from "{first} …" (the rest of your mail stays here)'


COMMAND = Command(
    "propose",
    "#propose RESOLUTION [ARGS]",
    f"propose a resolution ({', '.join(row.usage for row in LADDER)}); its statement is the"
    " text between a line 'Statement:' and a line 'End of statement' below it",
    run,
)
