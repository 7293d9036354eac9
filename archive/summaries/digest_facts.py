"""What the council's weekly digest says, for one reader: anonymised facts, no names.

The facts are gathered for a reader: a council member conflicted in a case gets facts from
which that case is gone (not counted, not charted, not mentioned). Dates are the committee's
local dates. The policy's promises are measured with the policy's own limits (24 hours, one
week, two weeks), whatever the clocks are configured to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.settings import Settings
from archive.record.timestamps import from_text, to_text
from archive.workflow.states import is_done

CHART_WEEKS = 8
CHART_WIDTH = 200
ACK_WITHIN = timedelta(hours=24)
RESOLVE_WITHIN = timedelta(days=7)
APPEAL_WITHIN = timedelta(days=14)
ESCALATIONS = ("escalated", "deadlock-escalated")
# What needs the council first, in the order the digest shows it.
ATTENTION = ("appeals", "escalations", "unacknowledged", "unilateral")
# Deadlines as the council reads them; the internal ack watchdog is not one of them.
DEADLINE_NAMES = {
    "timeline-request": "timeline request to the committee",
    "reporter-update": "one-week update to the reporter",
    "deadlock": "consensus, else escalation to the council",
    "consult-wait": "reporter's feedback on the proposal",
    "unilateral-reminder": "report of a unilateral action",
    "mediation-reminder": "mediation check",
    "appeal-reminder": "appeal reminder to the council",
    "appeal-due": "appeal decision",
    "ban-expiry": "ban ends",
    "ban-review": "ban review",
    "send": "scheduled mail",
    "enact": "scheduled enactment",
}


@dataclass(frozen=True)
class CaseRow:
    pk: int
    ref: str
    state: str
    urgent: bool
    opened_at: str
    fields: dict
    imported: bool  # history from `casebook import`: no clocks ran, no promise was made
    owes_ack: bool  # a live report whose acknowledgement RFC 3834 did not forbid
    acked_at: str | None  # when the acknowledgement went
    answered_at: str | None  # first resolution, closing or update to the reporter


def visible_cases(db: Database, reader: str | None) -> dict[int, CaseRow]:
    """Every case the reader may see, by primary key (all of them when reader is None)."""
    rows = db.execute(
        "SELECT id, ref, state, urgent, opened_at, fields, conflicted FROM cases ORDER BY year, seq"
    )
    imported = _first_events(db, ("case-opened",), '"via": "import"')
    suppressed = _first_events(db, ("acknowledgement-suppressed",))
    acked = _first_events(db, ("state-changed",), '"to": "acknowledged"')
    answered = _first_events(db, ("enacted", "closed", "reporter-updated"))
    cases = {}
    for pk, ref, state, urgent, opened_at, fields, conflicted in rows:
        if reader and reader.lower() in {c.lower() for c in json.loads(conflicted)}:
            continue
        history = pk in imported
        cases[pk] = CaseRow(
            pk,
            ref,
            state,
            bool(urgent),
            opened_at,
            json.loads(fields),
            history,
            not history and pk not in suppressed,
            acked.get(pk),
            answered.get(pk),
        )
    return cases


def _first_events(db: Database, actions: tuple[str, ...], detail_like: str = "") -> dict:
    """Each case's first event of these actions: {case pk: at}, in one query."""
    marks = ",".join("?" * len(actions))
    rows = db.execute(
        f"SELECT case_pk, MIN(at) FROM events WHERE action IN ({marks}) AND detail LIKE ?"
        " GROUP BY case_pk",
        [*actions, f"%{detail_like}%"],
    )
    return dict(rows.fetchall())


def collect_facts(db: Database, settings: Settings, now: datetime, reader: str | None) -> dict:
    """The digest's context for `reader` (None: a reader conflicted in nothing)."""
    zone = settings.zone
    cases = visible_cases(db, reader)
    week_start = now - timedelta(days=7)
    quarter_label, quarter_start = current_quarter(now, settings)
    pending = pending_deadlines(db)

    def day(text: str | datetime) -> str:
        moment = from_text(text) if isinstance(text, str) else text
        return moment.astimezone(zone).date().isoformat()

    facts = {
        "week_ending": now.astimezone(zone).date().isoformat(),
        "quarter": quarter_label,
        "appeals": open_appeals(db, cases, now, day),
        "escalations": [
            {"ref": c.ref, "since": day(_last_event(db, c.pk, ESCALATIONS) or c.opened_at)}
            for c in cases.values()
            if c.state == "escalated"
        ],
        "unacknowledged": [
            {"ref": c.ref, "since": day(from_text(c.opened_at) + ACK_WITHIN)}
            for c in cases.values()
            if c.owes_ack and c.state == "received" and from_text(c.opened_at) + ACK_WITHIN <= now
        ],
        "unilateral": unreviewed_unilateral(db, cases, day),
        "promises": [
            {
                "promise": name,
                "week": measure(db, cases, week_start, now),
                "quarter": measure(db, cases, quarter_start, now),
            }
            for name, measure in PROMISES
        ],
        "open": [
            open_case(c, pending.get(c.pk, []), now, zone)
            for c in cases.values()
            if not is_done(c.state)
        ],
        "opened": [
            {"ref": c.ref, "at": day(c.opened_at)}
            for c in cases.values()
            if c.opened_at >= to_text(week_start)
        ],
        "resolved": resolved_since(db, cases, week_start, day),
        "escalated": [
            {"ref": cases[pk].ref, "at": day(at)}
            for pk, at in _events_since(db, cases, ESCALATIONS, week_start)
        ],
        "bans": bans_since(db, cases, week_start, day),
        "chart": volume_chart(cases, now, zone),
    }
    facts["attention_count"] = sum(len(facts[key]) for key in ATTENTION)
    return facts


def current_quarter(now: datetime, settings: Settings) -> tuple[str, datetime]:
    """The calendar quarter `now` falls in (committee time) and its start, UTC."""
    local = now.astimezone(settings.zone).date()
    quarter = (local.month - 1) // 3 + 1
    first = date(local.year, 3 * quarter - 2, 1)
    start = datetime.combine(first, time(0), tzinfo=settings.zone).astimezone(UTC)
    return f"{local.year} Q{quarter}", start


def _kept(spans: Iterable[tuple[datetime, str | None]], within: timedelta, now: datetime) -> dict:
    """How often a promise was kept: each span is (when it began, when it was done or None).
    A span still inside its time and not done is running, not yet due."""
    met = due = running = 0
    for began, done in spans:
        if done is None and began + within > now:
            running += 1
            continue
        due += 1
        met += done is not None and from_text(done) - began <= within
    percent = f"{round(100 * met / due)}%" if due else "n/a"
    return {"met": met, "due": due, "share": percent, "running": running}


def ack_promise(db: Database, cases: dict[int, CaseRow], start: datetime, now: datetime) -> dict:
    """Reports received since `start`: acknowledged within 24 hours of arriving."""
    spans = [
        (opened, case.acked_at)
        for case in cases.values()
        if case.owes_ack and (opened := from_text(case.opened_at)) >= start
    ]
    return _kept(spans, ACK_WITHIN, now)


def resolve_promise(
    db: Database, cases: dict[int, CaseRow], start: datetime, now: datetime
) -> dict:
    """Reports received since `start`: resolved, or the reporter updated, within 7 days."""
    spans = [
        (opened, case.answered_at)
        for case in cases.values()
        if not case.imported and (opened := from_text(case.opened_at)) >= start
    ]
    return _kept(spans, RESOLVE_WITHIN, now)


def appeal_promise(db: Database, cases: dict[int, CaseRow], start: datetime, now: datetime) -> dict:
    """Appeals received since `start`: decided within 14 days of arriving."""
    rows = db.execute(
        "SELECT case_pk, received_at, decided_at FROM appeals WHERE received_at >= ?",
        [to_text(start)],
    )
    spans = [
        (from_text(received_at), decided_at)
        for case_pk, received_at, decided_at in rows
        if case_pk is None or case_pk in cases
    ]
    return _kept(spans, APPEAL_WITHIN, now)


PROMISES = (
    ("Reports acknowledged within 24 hours", ack_promise),
    ("Reports resolved or the reporter updated within 7 days", resolve_promise),
    ("Appeals decided within 14 days", appeal_promise),
)


def open_appeals(db: Database, cases: dict[int, CaseRow], now: datetime, day) -> list[dict]:
    rows = db.execute(
        "SELECT case_pk, received_at, due_at, status FROM appeals WHERE status != 'decided'"
        " ORDER BY due_at"
    )
    return [
        {
            "ref": cases[pk].ref if pk is not None else "(not linked)",
            "received": day(received),
            "due": day(due_at),
            "overdue": due_at < to_text(now),
            "status": status,
        }
        for pk, received, due_at, status in rows
        if pk is None or pk in cases
    ]


def unreviewed_unilateral(db: Database, cases: dict[int, CaseRow], day) -> list[dict]:
    """Unilateral actions in cases still open: the committee has not reviewed them to an end."""
    rows = db.execute(
        "SELECT case_pk, at FROM events WHERE action = 'unilateral-action' ORDER BY at"
    )
    return [
        {"ref": cases[pk].ref, "at": day(at)}
        for pk, at in rows
        if pk in cases and not is_done(cases[pk].state)
    ]


def pending_deadlines(db: Database) -> dict[int, list[tuple[str, str]]]:
    """Every case's pending deadlines, soonest first: {case pk: [(kind, due_at)]}."""
    pending: dict[int, list[tuple[str, str]]] = {}
    rows = db.execute(
        "SELECT case_pk, kind, due_at FROM deadlines WHERE fired_at IS NULL"
        " AND cancelled_at IS NULL AND case_pk IS NOT NULL ORDER BY due_at"
    )
    for case_pk, kind, due_at in rows:
        pending.setdefault(case_pk, []).append((kind, due_at))
    return pending


def open_case(case: CaseRow, pending: list[tuple[str, str]], now: datetime, zone) -> dict:
    """One open case: state, age, what is overdue and since when, and the next deadline."""

    def day(text: str | datetime) -> str:
        moment = from_text(text) if isinstance(text, str) else text
        return moment.astimezone(zone).date().isoformat()

    opened = from_text(case.opened_at)
    overdue = []
    if case.owes_ack and case.state == "received" and opened + ACK_WITHIN <= now:
        overdue.append({"what": "acknowledgement", "since": day(opened + ACK_WITHIN)})
    named = [(DEADLINE_NAMES[kind], due_at) for kind, due_at in pending if kind in DEADLINE_NAMES]
    overdue += [
        {"what": what, "since": day(due_at)} for what, due_at in named if due_at < to_text(now)
    ]
    upcoming = [(what, due_at) for what, due_at in named if due_at >= to_text(now)]
    timeline = case.fields.get("timeline")
    if case.state not in ("escalated", "appealed") and opened + RESOLVE_WITHIN <= now:
        if timeline and timeline >= day(now):
            noon = datetime.combine(date.fromisoformat(timeline), time(12), tzinfo=zone)
            upcoming.append(("projected resolution", to_text(noon)))
        elif timeline:
            overdue.append({"what": "projected resolution", "since": timeline})
        else:
            overdue.append({"what": "resolution", "since": day(opened + RESOLVE_WITHIN)})
    upcoming.sort(key=lambda item: item[1])
    next_deadline = {"what": upcoming[0][0], "due": day(upcoming[0][1])} if upcoming else None
    if next_deadline is None and not overdue:
        waiting = "the council's decision" if case.state == "escalated" else "no clock running"
        next_deadline = {"what": waiting, "due": None}
    return {
        "ref": case.ref,
        "state": case.state,
        "urgent": case.urgent,
        "age_days": (now - opened).days,
        "overdue": overdue,
        "next_deadline": next_deadline,
    }


def resolved_since(db: Database, cases: dict[int, CaseRow], start: datetime, day) -> list[dict]:
    rows = db.execute(
        "SELECT case_pk, at, action, detail FROM events WHERE action IN ('enacted', 'closed')"
        " AND at >= ? ORDER BY at",
        [to_text(start)],
    )
    return [
        {
            "ref": cases[pk].ref,
            "at": day(at),
            "resolution": json.loads(detail).get("resolution") if action == "enacted" else "closed",
        }
        for pk, at, action, detail in rows
        if pk in cases
    ]


def bans_since(db: Database, cases: dict[int, CaseRow], start: datetime, day) -> list[dict]:
    """Bans that started or ended since `start` (the spaces, never who)."""
    since = to_text(start)
    rows = db.execute(
        "SELECT case_pk, start_at, end_at, ended_at, status, spaces, unilateral FROM bans"
        " WHERE start_at >= ? OR ended_at >= ? ORDER BY start_at",
        [since, since],
    )
    return [
        {
            "ref": cases[pk].ref,
            "start": day(start_at),
            "end": day(ended_at or end_at) if (ended_at or end_at) else "permanent",
            "status": status,
            "spaces": spaces,
            "unilateral": bool(unilateral),
        }
        for pk, start_at, end_at, ended_at, status, spaces, unilateral in rows
        if pk in cases
    ]


def volume_chart(cases: dict[int, CaseRow], now: datetime, zone) -> list[dict]:
    """Cases opened per week, oldest first, with bar widths for the HTML table cells."""
    weeks = []
    for back in range(CHART_WEEKS - 1, -1, -1):
        end = now - timedelta(days=7 * back)
        start, stop = to_text(end - timedelta(days=7)), to_text(end)
        count = sum(1 for c in cases.values() if start < c.opened_at <= stop)
        weeks.append({"week": end.astimezone(zone).date().isoformat(), "count": count})
    top = max(w["count"] for w in weeks) or 1
    for week in weeks:
        week["width"] = max(1, round(CHART_WIDTH * week["count"] / top)) if week["count"] else 0
    return weeks


def _events_since(db, cases, actions: tuple[str, ...], start: datetime) -> list[tuple[int, str]]:
    marks = ",".join("?" * len(actions))
    rows = db.execute(
        f"SELECT case_pk, at FROM events WHERE action IN ({marks}) AND at >= ? ORDER BY at",
        [*actions, to_text(start)],
    )
    return [(pk, at) for pk, at in rows if pk in cases]


def _last_event(db: Database, case_pk: int, actions: tuple[str, ...]) -> str | None:
    marks = ",".join("?" * len(actions))
    row = db.execute(
        f"SELECT MAX(at) FROM events WHERE case_pk = ? AND action IN ({marks})",
        [case_pk, *actions],
    ).fetchone()
    return row[0]
