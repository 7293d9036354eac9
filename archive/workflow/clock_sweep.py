"""The sweep of the policy's clocks (SPEC §4): every due deadline fires once, however late.

What each kind does is registered by its feature (`CLOCKS` in `report_clocks`,
`deliberation_clocks`, `enactment`, `mediation`, `appeals`, `appeal_requests`, `bans`), the way
command modules register keywords. A case's due deadlines fire together in one transaction.
After downtime the committee gets one catch-up summary per case: what fired late, which
reminders were skipped as stale (a later one of the same chain came due too), and which
scheduled mail was held because it would go out more than `late_send_hold` late (`#enact`
again confirms it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, get_case, record_event
from archive.record.db import write_transaction
from archive.record.deadlines import LATE_AFTER, Deadline, claim_deadline, due_deadlines
from archive.record.outbox import Audience, Mail, queue_mail
from archive.record.settings import Settings
from archive.record.timestamps import parse_date as _parse_date
from archive.workflow import (
    appeal_requests,
    appeals,
    bans,
    deliberation_clocks,
    enactment,
    mediation,
    report_clocks,
)
from archive.workflow.clock_registry import Clock
from archive.workflow.report_clocks import start_report_clocks

__all__ = ["HANDLERS", "Fired", "fire_due", "parse_date", "start_report_clocks"]
log = logging.getLogger(__name__)
FEATURES = (
    report_clocks,
    deliberation_clocks,
    enactment,
    mediation,
    appeals,
    appeal_requests,
    bans,
)


def _collect(features) -> dict[str, Clock]:
    handlers: dict[str, Clock] = {}
    for feature in features:
        for kind, clock in feature.CLOCKS.items():
            if kind in handlers:
                raise RuntimeError(f"deadline kind {kind!r} registered twice")
            handlers[kind] = clock
    return handlers


HANDLERS: dict[str, Clock] = _collect(FEATURES)


@dataclass(frozen=True)
class Fired:
    kind: str
    case_ref: str | None
    late: bool
    acted: bool
    outcome: str = "fired"  # fired | stale (skipped) | held (waits for #enact)


@dataclass
class _CatchUp:
    """What one case's sweep did late, for the committee's summary."""

    fired: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    held: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fired or self.skipped or self.held)


def fire_due(db: Database, settings: Settings, now: datetime) -> list[Fired]:
    """Fire every deadline due at `now`, each once; one transaction per case."""
    fired: list[Fired] = []
    while True:
        due = due_deadlines(db, now)
        if not due:
            return fired
        by_case: dict[int | None, list[Deadline]] = {}
        for deadline in due:
            by_case.setdefault(deadline.case_pk, []).append(deadline)
        for case_pk, deadlines in by_case.items():
            with write_transaction(db):
                fired += _fire_case(db, settings, now, case_pk, deadlines)


def _fire_case(
    db, settings: Settings, now: datetime, case_pk: int | None, deadlines: list[Deadline]
) -> list[Fired]:
    stale = stale_deadlines(deadlines)
    catch_up = _CatchUp()
    fired = []
    for deadline in deadlines:
        if not claim_deadline(db, deadline, now):
            continue
        case = get_case(db, case_pk) if case_pk else None  # earlier ones may have moved it
        lateness = deadline.lateness(now)
        late = lateness > LATE_AFTER
        clock = HANDLERS.get(deadline.kind)
        acted, outcome = False, "fired"
        if deadline.pk in stale:
            outcome = "stale"
        elif clock and clock.hold_when_late and lateness > settings.late_send_hold:
            outcome = "held"
        elif clock:
            acted = bool(clock.fire(db, settings, now, deadline, case))
        line = {
            "kind": deadline.kind,
            "due_at": deadline.due_at,
            "hours_late": round(lateness.total_seconds() / 3600, 1),
        }
        if outcome == "stale":
            catch_up.skipped.append(line)
        elif outcome == "held":
            catch_up.held.append(line)
        elif late and acted:
            catch_up.fired.append(line)
        if case is not None:
            record_event(
                db,
                case,
                now=now,
                actor="clock",
                action="deadline-fired",
                detail={
                    "kind": deadline.kind,
                    "due_at": deadline.due_at,
                    "late": late,
                    "acted": acted,
                    "outcome": outcome,
                },
            )
        fired.append(Fired(deadline.kind, case.ref if case else None, late, acted, outcome))
    if catch_up and case_pk:
        _tell_catch_up(db, settings, now, get_case(db, case_pk), catch_up)
    return fired


def stale_deadlines(deadlines: list[Deadline]) -> set[int]:
    """Of deadlines due together, those a later one of the same chain supersedes."""
    latest: dict[tuple, Deadline] = {}
    chained = []
    for deadline in deadlines:
        clock = HANDLERS.get(deadline.kind)
        if clock is None or clock.chain is None:
            continue
        key = (
            deadline.case_pk,
            clock.chain,
            deadline.payload.get(clock.chain_key) if clock.chain_key else None,
        )
        chained.append((key, deadline))
        if key not in latest or (deadline.due_at, deadline.pk) > (
            latest[key].due_at,
            latest[key].pk,
        ):
            latest[key] = deadline
    return {d.pk for key, d in chained if latest[key].pk != d.pk}


def _tell_catch_up(db, settings: Settings, now: datetime, case: Case, catch_up: _CatchUp) -> None:
    queue_mail(
        db,
        Mail(
            template="committee/catch_up",
            audience=Audience.COMMITTEE,
            case=case,
            context={
                "case_ref": case.ref,
                "fired": catch_up.fired,
                "skipped": catch_up.skipped,
                "held": catch_up.held,
                "hold_after": _in_words(settings.late_send_hold),
            },
        ),
        now=now,
        settings=settings,
    )


def _in_words(span: timedelta) -> str:
    """`24 hours`, `3 days`: a duration as the committee reads it."""
    hours = span.total_seconds() / 3600
    if hours >= 72 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} hours"


def parse_date(text: str, settings: Settings, now: datetime) -> datetime:
    """`2026-03-20` (09:00 in the committee's time zone) or a full ISO time; ValueError if not."""
    return _parse_date(text, settings.zone)
