"""Unproven appeals that came after the party's daily request had gone (issue 18 R5).

A party is asked to confirm at most once a day (archive.arrivals.unverified). An unproven appeal in
their name that arrives when the day's request has already gone (about a follow-up, or about
another appeal) is not forgotten: once the day has passed, the `appeal-confirm` clock sends
one request about every appeal of theirs in the case that nobody has asked them about yet, and
their yes to that request links those appeals (archive.workflow.appeal_confirmation). Each appeal is
asked about once; the party still gets at most one request a day.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.unverified import (
    CONFIRM_INTERVAL,
    CONFIRM_TEMPLATE,
    ask_to_confirm,
    askable,
    may_ask,
)
from archive.record.cases import Case, Party, get_party, record_event
from archive.record.deadlines import Deadline, add_deadline, pending_deadlines
from archive.record.models import IncomingMessage
from archive.record.settings import Settings
from archive.record.timestamps import from_text
from archive.workflow.clock_registry import Clock, register

KIND = "appeal-confirm"
ASKED = "appeal-confirmation-requested"  # the audit event: which appeals a request asked about


def ask_later(db: Database, msg: IncomingMessage, case: Case, party: Party, now) -> None:
    """An unproven appeal the party could not be asked about today: asked once the day has
    passed (one clock per party; it asks about every appeal still unasked then)."""
    if msg.no_reply_reason or not askable(party):
        return
    if any(d.payload.get("party") == party.pk for d in pending_deadlines(db, case, (KIND,))):
        return
    add_deadline(db, case, KIND, _next_request_at(db, case, party, now), now, {"party": party.pk})


def _next_request_at(db: Database, case: Case, party: Party, now: datetime) -> datetime:
    """A day after the party's last request (now, if they were never asked)."""
    row = db.execute(
        "SELECT MAX(created_at) FROM outbox WHERE template = ? AND case_pk = ? AND party_pk = ?",
        [CONFIRM_TEMPLATE, case.pk, party.pk],
    ).fetchone()
    return from_text(row[0]) + CONFIRM_INTERVAL if row[0] else now


def fire_appeal_confirm(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    """The day has passed: one request about the party's appeals nobody asked about yet."""
    party = get_party(db, deadline.payload["party"])
    appeals = unasked_appeals(db, case, party)
    if not appeals or not askable(party):
        return False
    if not may_ask(db, case, party, now):  # asked about something else since: another day
        add_deadline(
            db, case, KIND, _next_request_at(db, case, party, now), now, {"party": party.pk}
        )
        return False
    request = ask_to_confirm(db, case, party, settings, now, appeal=True)
    record_event(
        db,
        case,
        now=now,
        actor="clock",
        action=ASKED,
        detail={"party": party.pk, "appeals": appeals, "request": request},
    )
    return True


def unasked_appeals(db: Database, case: Case, party: Party) -> list[int]:
    """The party's unproven appeals in this case no request asked about, still unlinked and
    undecided, oldest first."""
    rows = db.execute(
        "SELECT action, detail FROM events WHERE case_pk = ? AND action IN (?, ?) ORDER BY id",
        [case.pk, "unverified-word", ASKED],
    ).fetchall()
    asked: set[int] = set()
    unasked: list[int] = []
    for action, detail in rows:
        word = json.loads(detail or "{}")
        if word.get("party") != party.pk:
            continue
        if action == ASKED:
            asked.update(word.get("appeals", ()))
        elif word.get("appeal") and word.get("request"):
            asked.add(word["appeal"])
        elif word.get("appeal"):
            unasked.append(word["appeal"])
    return [pk for pk in unasked if pk not in asked and _open(db, pk)]


def appeals_asked_in(db: Database, case: Case, party: Party, requests: set[str]) -> list[int]:
    """The appeals these requests (sent by the `appeal-confirm` clock) asked about."""
    rows = db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = ?", [case.pk, ASKED]
    ).fetchall()
    found: list[int] = []
    for (detail,) in rows:
        asked = json.loads(detail or "{}")
        if asked.get("party") == party.pk and asked.get("request") in requests:
            found += [pk for pk in asked.get("appeals", ()) if pk not in found]
    return found


def _open(db: Database, appeal_pk: int) -> bool:
    row = db.execute("SELECT case_pk, status FROM appeals WHERE id = ?", [appeal_pk]).fetchone()
    return row is not None and row[0] is None and row[1] != "decided"


CLOCKS = register(Clock(KIND, fire_appeal_confirm))
