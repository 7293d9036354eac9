"""The case's states: which moves are allowed, what counts as done, and the clocks that
belong to a state. Plain values; `archive.workflow.lifecycle.move_case` is the one door that
uses them.
"""

from __future__ import annotations

from archive.record.models import CaseState as S

# A case the committee has finished with: no committee clock runs, #reopen takes it up again.
DONE_STATES: frozenset[S] = frozenset({S.RESOLVED, S.CLOSED})
# A case in the Executive Council's hands: the committee's own clocks do not act on it.
WITH_COUNCIL: frozenset[S] = frozenset({S.ESCALATED, S.APPEALED})

OPEN_STATES: frozenset[S] = frozenset(S) - DONE_STATES - WITH_COUNCIL
_WORKING = frozenset(
    {
        S.RECEIVED,
        S.ACKNOWLEDGED,
        S.INVESTIGATING,
        S.MEDIATION,
        S.DELIBERATING,
        S.RESOLUTION_PROPOSED,
        S.REPORTER_CONSULTED,
    }
)

# to-state <- the states it may be reached from. One table, which
# docs/committee/states-and-clocks.md mirrors.
_REACHED_FROM: dict[S, frozenset[S]] = {
    S.RECEIVED: frozenset(),
    S.ACKNOWLEDGED: frozenset({S.RECEIVED}),
    # #assign, #status, #reopen; the council hands a case back; a mediation ends
    S.INVESTIGATING: OPEN_STATES | DONE_STATES | WITH_COUNCIL,
    S.DELIBERATING: OPEN_STATES | WITH_COUNCIL | DONE_STATES,  # also an appeal overturned
    S.MEDIATION: _WORKING,
    S.RESOLUTION_PROPOSED: _WORKING | {S.ENACTING},
    # #consult; #drop of a resolution's held mail calls its enactment off
    S.REPORTER_CONSULTED: frozenset({S.RESOLUTION_PROPOSED, S.ENACTING}),
    S.ENACTING: frozenset({S.REPORTER_CONSULTED, S.ESCALATED}),  # the council enacts too
    # #enact, or the council upholds an appeal of a resolved case
    S.RESOLVED: frozenset({S.ENACTING, S.APPEALED}),
    S.CLOSED: frozenset(S) - {S.CLOSED},
    S.APPEALED: DONE_STATES,
    S.ESCALATED: OPEN_STATES | {S.RESOLVED, S.APPEALED},
}
# #unmerge puts a merged-away (closed) case back where it was, whatever that was.
RESTORE_FROM_MERGE = S.CLOSED

TRANSITIONS: dict[S, frozenset[S]] = {
    frm: frozenset(to for to, sources in _REACHED_FROM.items() if frm in sources and to != frm)
    for frm in S
}

# Clocks that belong to a state: entering (or leaving) it stops them.
STOP_ON_ENTER: dict[S, tuple[str, ...]] = {
    S.RESOLVED: (
        "timeline-request",
        "reporter-update",
        "deadlock",
        "consult-wait",
        "unilateral-reminder",
    ),
    S.CLOSED: (
        "timeline-request",
        "reporter-update",
        "deadlock",
        "consult-wait",
        "unilateral-reminder",
    ),
    S.ENACTING: ("consult-wait", "deadlock"),
}
STOP_ON_LEAVE: dict[S, tuple[str, ...]] = {
    S.MEDIATION: ("mediation-reminder",),
    S.ENACTING: ("enact",),
}


class StateError(ValueError):
    """A move the state table does not allow."""


def is_done(state: str) -> bool:
    """The committee has finished with the case (resolved or closed)."""
    return state in DONE_STATES


def is_open(state: str) -> bool:
    """The committee is working on the case: neither done nor with the Executive Council.
    Its own clocks (timeline, update, deadlock) act, and #propose is taken, only then."""
    return state in OPEN_STATES


def check_move(frm: str, to: str, *, restoring: bool = False) -> None:
    """Raise StateError unless the table allows `frm -> to`."""
    if restoring and frm == RESTORE_FROM_MERGE:
        return
    if S(to) not in TRANSITIONS[S(frm)]:
        raise StateError(f"a case cannot go from {frm} to {to}")


def clocks_stopped_by(frm: str, to: str) -> tuple[str, ...]:
    """The clock kinds a move from `frm` to `to` stops."""
    kinds = STOP_ON_LEAVE.get(S(frm), ()) + STOP_ON_ENTER.get(S(to), ())
    return tuple(dict.fromkeys(kinds))
