"""The Executive Council as the deciding body of an escalated case (SPEC §5; manual).

Once a deadlock (or `#escalate`) hands a case to the council, its non-conflicted members use
the committee's keywords under the council's rule: its chair decides, or `appeal_quorum`
members alike (a majority of the free ones when unset), as for appeals. `#return` hands the
case back to the committee. The case stays `escalated` while the council holds it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.formpages import reachable
from archive.record.cases import Case, own_reporters
from archive.record.deadlines import add_deadline, cancel_deadlines
from archive.record.models import CaseState
from archive.record.outbox import to_party
from archive.record.settings import Person, Settings

# What the council may say in a case it holds (besides its own #appeal): all it needs to
# finish the case on its own (the person responsible and the finding, mail the leak guard
# held from its enactment) and to see where the case stands.
COUNCIL_KEYWORDS = frozenset(
    {
        "propose",
        "agree",
        "object",
        "abstain",
        "consult",
        "enact",
        "to-reporter",
        "to-party",
        "send",
        "note",
        "summary",
        "return",
        "responsible",
        "violation",
        "release",
        "drop",
        "help",
        "status",
        "timeline",
    }
)
# What a council member may say in a case the committee has: the council's own keywords.
COUNCIL_ELSEWHERE = frozenset({"help"})
# What the committee may no longer do while the council holds the case.
DECIDING = frozenset({"propose", "agree", "object", "abstain", "consult", "enact"})


def council_holds(case: Case) -> bool:
    return case.state == CaseState.ESCALATED


def free_council(case: Case, settings: Settings) -> list[Person]:
    """Council members who take part in this case (not conflicted, not recused)."""
    excluded = case.excluded()
    return [p for p in settings.council if p.email.lower() not in excluded]


def council_agreed(votes: dict[str, str], case: Case, settings: Settings) -> bool:
    """The council's rule: its chair's vote decides; without it, a quorum agreeing."""
    free = free_council(case, settings)
    chair = settings.council_chair
    if chair and chair in free and chair.email.lower() in votes:
        return votes[chair.email.lower()] == "agree"
    quorum = settings.appeal_quorum or (len(free) // 2 + 1)
    emails = {p.email.lower() for p in free}
    return sum(1 for who, v in votes.items() if who in emails and v == "agree") >= quorum


def tell_reporter_council_has_case(
    db: Database, case: Case, settings: Settings, now: datetime
) -> int:
    """The reporter hears the council has the case; the one-week update runs on from here."""
    told = 0
    for party in own_reporters(db, case):
        if reachable(db, party):
            to_party(
                db,
                case,
                party,
                "reporter/council_has_case",
                now=now,
                settings=settings,
                auto_submitted="no",
            )
            told += 1
    cancel_deadlines(db, case, ("reporter-update",), now)
    add_deadline(db, case, "reporter-update", now + settings.update_after, now)
    return told


def deciders(case: Case, settings: Settings) -> list[Person]:
    """Who decides the case now: the free council while it holds the case, else the free
    committee members."""
    if council_holds(case):
        return free_council(case, settings)
    excluded = case.excluded()
    return [m for m in settings.committee if m.email.lower() not in excluded]


def proposal_agreed(votes: dict[str, str], case: Case, settings: Settings) -> bool:
    """The committee's consensus, or the council's rule in a case the council holds."""
    from archive.workflow.resolutions import has_consensus

    if council_holds(case):
        return council_agreed(votes, case, settings)
    return has_consensus(votes, [p.email for p in deciders(case, settings)])


def acting_chair(case: Case, settings: Settings) -> Person | None:
    """Who enacts and signs for the deciding body: its chair (the council's, in a case the
    council holds) or, when the chair is conflicted or recused in this case, the first free
    member in the configuration's order; None when no chair is configured (any council
    member enacts for a council without one) or nobody is free."""
    chair = settings.council_chair if council_holds(case) else settings.chair
    if chair is None:
        return None
    free = deciders(case, settings)
    return chair if chair in free else next(iter(free), None)
