"""#enact [DATE]: carry out the agreed, consulted resolution, now or at 09:00 on DATE.

The command checks the gates; `archive.enactment` does the carrying out (the `enact` clock
calls it too). `#enact DATE` again moves the date; `#enact` alone enacts now.
"""

from archive.cases import parties_of
from archive.clock import from_text, human_duration
from archive.commands.base import Command, Context, Refused
from archive.council import council_holds, proposal_agreed
from archive.enactment import (
    enact_now,
    preview_resolution_mail,
    responsible_parties,
    schedule_enactment,
)
from archive.formpages import reachable
from archive.ladder import rung
from archive.models import CaseState
from archive.resolutions import open_proposal, tally


def run(ctx: Context, args: str) -> str:
    settings = ctx.settings
    if not settings.enact_by_any_member and not _may_enact(ctx):
        raise Refused("only the chair enacts resolutions (see [policy] enact_by_any_member)")
    ctx.refuse_while_appealed()  # before a date is kept, not only when the case moves
    when = ctx.date(args.split()[0]) if args else None
    if when is not None and when <= ctx.now:
        raise Refused("the date is in the past; #enact alone enacts now")
    proposal = open_proposal(ctx.db, ctx.case.pk)
    if proposal is None:
        raise Refused("there is no open proposal")
    if not proposal_agreed(tally(ctx.db, proposal), ctx.case, settings):
        who = "council" if council_holds(ctx.case) else "committee"
        raise Refused(f"the {who} has not agreed on the proposal")
    row = rung(proposal.resolution)
    if not row.enacted:
        raise Refused("mediation is arranged with #mediation, not enacted")
    if proposal.consulted_at is None:
        raise Refused("the reporter has not been consulted yet: #consult first")
    reporters = parties_of(ctx.db, ctx.case, "reporter")
    if not _feedback_or_waited(ctx, proposal, reporters):
        raise Refused(
            "no feedback from the reporter yet; #enact is possible once they answer or"
            f" {human_duration(settings.consult_wait)} after #consult"
        )
    if row.needs_consent and not any(p.consent == "agreed" for p in reporters):
        raise Refused("an apology request needs the reporter's explicit agreement")
    if row.needs_responsible and not responsible_parties(ctx.db, ctx.case):
        raise Refused("no responsible person with an address: #responsible ADDRESS first")
    ctx.move_to(CaseState.ENACTING, "enactment")
    # The transcript shows what each outside reader gets, as they will read it.
    ctx.previews = preview_resolution_mail(ctx.db, settings, when or ctx.now, ctx.case, proposal,
                                           ctx.actor.email)  # fmt: skip
    if when is not None:
        return schedule_enactment(ctx.db, ctx.case, proposal, when, now=ctx.now,
                                  actor=ctx.actor.email, message_pk=ctx.message_pk)  # fmt: skip
    done = enact_now(ctx.db, settings, ctx.now, ctx.case, proposal, actor=ctx.actor.email,
                     message_pk=ctx.message_pk, queued=ctx.queued)  # fmt: skip
    ctx.reload()
    return "enacted " + done


def _may_enact(ctx: Context) -> bool:
    """The chair; in a case the council holds, the council's chair (any council member when
    the council has no chair)."""
    if council_holds(ctx.case):
        chair = ctx.settings.council_chair
        return ctx.actor == chair if chair else ctx.actor in ctx.settings.council
    return ctx.actor.role in ("chair", "council-chair")


def _feedback_or_waited(ctx: Context, proposal, reporters) -> bool:
    consulted = from_text(proposal.consulted_at)
    if not [p for p in reporters if reachable(ctx.db, p)]:
        return True
    if ctx.now >= consulted + ctx.settings.consult_wait:
        return True
    row = ctx.db.execute(
        "SELECT 1 FROM events WHERE case_pk = ? AND action = 'feedback-received' AND at >= ?",
        [ctx.case.pk, proposal.consulted_at],
    ).fetchone()
    return row is not None


COMMAND = Command(
    "enact",
    "#enact [DATE]",
    "carry out the agreed resolution now or on DATE (the chair's, after #consult)",
    run,
)
