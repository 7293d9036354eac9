"""#consult: explain the agreed proposal to the reporter and ask for feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.address_grammar import find_addresses
from archive.cases import Case, Party, add_party, parties_of
from archive.commands.base import Command, Context, Refused
from archive.council import council_holds, proposal_agreed
from archive.deadlines import add_deadline
from archive.formpages import reachable
from archive.ladder import rung
from archive.models import CaseState
from archive.outbox import Audience
from archive.resolutions import Proposal, mark_proposal, open_proposal, tally

CONSULT_TEMPLATE = "reporter/proposed_resolution"


def consult_context(case: Case, proposal: Proposal) -> dict:
    """What `#consult` tells the reporter (and other affected people) of the proposal."""
    row = rung(proposal.resolution)
    return {
        "resolution": proposal.resolution,
        "description": row.consult,
        "asks_consent": row.needs_consent,
        "by_council": council_holds(case),
    }


def consulted_parties(db: Database, case: Case) -> list[Party]:
    """Who `#consult` asks: the reporters and affected people casebook can reach."""
    return [
        p
        for role in ("reporter", "affected")
        for p in parties_of(db, case, role)
        if reachable(db, p)
    ]


def run(ctx: Context, args: str) -> str:
    proposal = open_proposal(ctx.db, ctx.case.pk)
    if proposal is None:
        raise Refused("there is no open proposal")
    if not proposal_agreed(tally(ctx.db, proposal), ctx.case, ctx.settings):
        who = "council" if council_holds(ctx.case) else "committee"
        raise Refused(f"the {who} has not agreed on the proposal yet")
    for address in find_addresses(args):
        known = {(p.email or "").lower() for p in parties_of(ctx.db, ctx.case)}
        if ctx.settings.person_for(address):
            raise Refused(f"{address} is a committee or council member, not an affected party")
        if address.lower() not in known:
            add_party(ctx.db, ctx.case, role="affected", name=None, email=address.lower(),
                      now=ctx.now)  # fmt: skip
    reporters = consulted_parties(ctx.db, ctx.case)
    for reporter in reporters:
        ctx.queue(
            CONSULT_TEMPLATE, Audience.PARTY, consult_context(ctx.case, proposal), party=reporter
        )
    mark_proposal(ctx.db, proposal, "consulted_at", ctx.now)
    add_deadline(ctx.db, ctx.case, "consult-wait", ctx.now + ctx.settings.consult_wait, ctx.now,
                 {"proposal": proposal.pk})  # fmt: skip
    ctx.event("consulted", {"proposal": proposal.pk, "parties": len(reporters)})
    if not council_holds(ctx.case):  # the case stays with the council until it is enacted
        ctx.move_to(CaseState.REPORTER_CONSULTED)
    if not reporters:
        return "no reporter can be contacted (anonymous or asked for no contact); recorded"
    return f"the proposal was sent to {len(reporters)} party(ies) for feedback"


COMMAND = Command(
    "consult",
    "#consult [AFFECTED-ADDRESS ...]",
    "send the agreed proposal to the reporter (and other affected people named) for feedback",
    run,
)
