"""#enact [DATE]: carry out the agreed, consulted resolution, now or at 09:00 on DATE.

The command checks the gates; `archive.workflow.enactment` does the carrying out (the `enact` clock
calls it too). `#enact DATE` again moves the date; `#enact` alone enacts now.
"""

from archive.commands.base import Command, Context, Refused
from archive.record.models import CaseState
from archive.workflow.council import acting_chair, council_holds
from archive.workflow.enactment import (
    enact_gate,
    enact_now,
    held_enactment,
    preview_resolution_mail,
    schedule_enactment,
)
from archive.workflow.resolutions import open_proposal


def run(ctx: Context, args: str) -> str:
    settings = ctx.settings
    if not settings.enact_by_any_member and not _may_enact(ctx):
        raise Refused(_who_enacts(ctx) + " (see [policy] enact_by_any_member)")
    ctx.refuse_while_appealed()  # before a date is kept, not only when the case moves
    when = ctx.date(args.split()[0]) if args else None
    if when is not None and when <= ctx.now:
        raise Refused("the date is in the past; #enact alone enacts now")
    proposal = open_proposal(ctx.db, ctx.case.pk)
    if proposal is None:
        raise Refused("there is no open proposal")
    if held_enactment(ctx.db, ctx.case) is not None:
        raise Refused(
            "the resolution's mail is held by the leak guard: #release or #drop it"
            " (the notice gives its number)"
        )
    why_not = enact_gate(ctx.db, settings, ctx.now, ctx.case, proposal)
    if why_not:
        raise Refused(why_not)
    ctx.move_to(CaseState.ENACTING, "enactment")
    # The transcript shows what each outside reader gets, as they will read it.
    ctx.previews = preview_resolution_mail(
        ctx.db, settings, when or ctx.now, ctx.case, proposal, ctx.actor.email
    )
    if when is not None:
        return schedule_enactment(
            ctx.db,
            ctx.case,
            proposal,
            when,
            now=ctx.now,
            actor=ctx.actor.email,
            message_pk=ctx.message_pk,
        )
    done = enact_now(
        ctx.db,
        settings,
        ctx.now,
        ctx.case,
        proposal,
        actor=ctx.actor.email,
        message_pk=ctx.message_pk,
        queued=ctx.queued,
    )
    ctx.reload()
    return done


def _may_enact(ctx: Context) -> bool:
    """The chair; in a case the council holds, the council's chair (any council member when
    the council has no chair). A chair kept out of the case (it is about them, or they are
    conflicted) leaves it to the first free member (`acting_chair`)."""
    chair = acting_chair(ctx.case, ctx.settings)
    if chair is not None:
        return ctx.actor == chair
    return council_holds(ctx.case) and ctx.actor in ctx.settings.council


def _who_enacts(ctx: Context) -> str:
    chair = acting_chair(ctx.case, ctx.settings)
    usual = ctx.settings.council_chair if council_holds(ctx.case) else ctx.settings.chair
    if chair is not None and chair != usual:
        return f"only {chair.name} enacts here, for the chair, who takes no part in this case"
    return "only the chair enacts resolutions"


COMMAND = Command(
    "enact",
    "#enact [DATE]",
    "carry out the agreed resolution now or on DATE (the chair's, after #consult)",
    run,
)
