"""The Executive Council's weekly digest (SPEC §7): anonymised facts, sent once a week.

The week's slot is the configured weekday and time in the committee's time zone; a sweep
after the slot queues that week's digest once, and a digest missed for several weeks is sent
once (for the latest slot only). A council member conflicted in a case gets a digest without
it: then each council member gets their own copy instead of one to the council address.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from sqlite_utils import Database

from archive.appeals import appeals_for_digest
from archive.clock import from_text, to_text
from archive.db import write_transaction
from archive.outbox import Audience, queue_mail
from archive.settings import Settings
from archive.states import is_done

CHART_WEEKS = 8


def digest_slot(settings: Settings, now: datetime) -> datetime:
    """The latest scheduled digest time at or before `now` (UTC), DST-safe.

    The slot is computed from the local calendar date, so a wall time that does not exist
    (spring forward) or exists twice (fall back) still yields exactly one slot that week.
    """
    zone = settings.zone
    hour, minute = (int(part) for part in settings.digest_time.split(":"))
    local_day = now.astimezone(zone).date()
    back = (local_day.weekday() - settings.digest_weekday) % 7
    for weeks in (0, 1):
        day = local_day - timedelta(days=back + 7 * weeks)
        slot = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
        if slot <= now:
            return slot
    raise AssertionError("unreachable: last week's slot is always in the past")


def digest_due(db: Database, settings: Settings, now: datetime) -> datetime | None:
    """This week's slot if its digest has not been queued (nor the installation is newer)."""
    slot = digest_slot(settings, now)
    since = db.execute("SELECT value FROM meta WHERE key = 'digest_since'").fetchone()
    if since is None:
        with write_transaction(db):
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('digest_since', ?)",
                       [to_text(now)])  # fmt: skip
        return None
    if slot < from_text(since[0]):
        return None
    done = db.execute("SELECT 1 FROM digests WHERE slot = ?", [to_text(slot)]).fetchone()
    return None if done else slot


def send_digest_if_due(db: Database, settings: Settings, now: datetime) -> int:
    """Queue this week's digest once; the number of copies queued (0 if not due)."""
    slot = digest_due(db, settings, now)
    if slot is None:
        return 0
    return queue_digest(db, settings, now, slot)


def queue_digest(db: Database, settings: Settings, now: datetime, slot: datetime) -> int:
    with write_transaction(db):
        if db.execute("SELECT 1 FROM digests WHERE slot = ?", [to_text(slot)]).fetchone():
            return 0
        data = digest_data(db, settings, now)
        conflicted = {m for case in data["open"] for m in case["conflicted"]}
        council = [p for p in settings.council]
        copies = 0
        if not any(p.email.lower() in conflicted for p in council):
            _queue(db, settings, now, public_view(data), Audience.COUNCIL, None)
            copies = 1
        else:
            for person in council:
                view = public_view(data, without=person.email.lower())
                _queue(db, settings, now, view, Audience.ADDRESS, person.email)
                copies += 1
        db.execute(
            "INSERT INTO digests (slot, queued_at, copies) VALUES (?, ?, ?)",
            [to_text(slot), to_text(now), copies],
        )
        return copies


def _queue(db, settings, now, context, audience, to_addr) -> None:
    queue_mail(db, now=now, settings=settings, template="council/digest",
               audience=audience, to_addr=to_addr, context=context)  # fmt: skip


def public_view(data: dict, without: str | None = None) -> dict:
    """The digest as a council member may see it: no case they are conflicted in."""

    def keep(case: dict) -> bool:
        return without is None or without not in case["conflicted"]

    view = {key: value for key, value in data.items()}
    for key in ("open", "opened", "resolved", "escalated", "unilateral", "appeals", "bans"):
        view[key] = [{k: v for k, v in c.items() if k != "conflicted"}
                     for c in data[key] if keep(c)]  # fmt: skip
    view["omitted"] = sum(1 for c in data["open"] if not keep(c))
    return view


def digest_data(db: Database, settings: Settings, now: datetime) -> dict:
    """Anonymised facts: case numbers, states, ages, deadlines, resolution types, counts."""
    week_ago = to_text(now - timedelta(days=7))
    cases = db.execute(
        "SELECT id, ref, state, urgent, opened_at, conflicted FROM cases ORDER BY year, seq"
    ).fetchall()
    by_pk = {pk: (ref, json.loads(conf)) for pk, ref, _, _, _, conf in cases}
    open_cases = []
    for pk, ref, state, urgent, opened_at, conflicted in cases:
        if is_done(state):
            continue
        age = (now - from_text(opened_at)).days
        deadline = db.execute(
            "SELECT kind, due_at FROM deadlines WHERE case_pk = ? AND fired_at IS NULL"
            " AND cancelled_at IS NULL ORDER BY due_at LIMIT 1",
            [pk],
        ).fetchone()
        open_cases.append(
            {
                "ref": ref,
                "state": state,
                "urgent": bool(urgent),
                "age_days": age,
                "overdue": age >= 7,
                "next_deadline": {"kind": deadline[0], "due": deadline[1][:10]} if deadline
                else None,
                "conflicted": json.loads(conflicted),
            }
        )  # fmt: skip

    def events_since(action: str) -> list[dict]:
        rows = db.execute(
            "SELECT case_pk, at, detail FROM events WHERE action = ? AND at >= ? ORDER BY at",
            [action, week_ago],
        )
        return [
            {"ref": by_pk[r[0]][0], "at": r[1][:10], "conflicted": by_pk[r[0]][1],
             "resolution": json.loads(r[2]).get("resolution")}
            for r in rows if r[0] in by_pk
        ]  # fmt: skip

    opened = [
        {"ref": ref, "at": opened_at[:10], "conflicted": json.loads(conf)}
        for _, ref, _, _, opened_at, conf in cases
        if opened_at >= week_ago
    ]
    return {
        "week_ending": now.astimezone(settings.zone).date().isoformat(),
        "open": open_cases,
        "opened": opened,
        "resolved": events_since("enacted") + events_since("closed"),
        "escalated": events_since("escalated") + events_since("deadlock-escalated"),
        "unilateral": events_since("unilateral-action"),
        "appeals": appeals_for_digest(db, now),
        "bans": [
            {
                "ref": r[0],
                "start": r[1][:10],
                "end": (r[2] or "permanent")[:10],
                "status": r[3],
                "conflicted": json.loads(r[4]),
            }
            for r in db.execute(
                "SELECT c.ref, b.start_at, b.end_at, b.status, c.conflicted FROM bans b"
                " JOIN cases c ON c.id = b.case_pk WHERE b.start_at >= ? OR b.ended_at >= ?",
                [week_ago, week_ago],
            )
        ],
        "chart": volume_chart(db, now),
    }


def volume_chart(db: Database, now: datetime) -> list[dict]:
    """Cases opened per week for the last weeks, oldest first, with bar widths for HTML."""
    weeks = []
    for back in range(CHART_WEEKS - 1, -1, -1):
        end = now - timedelta(days=7 * back)
        start = end - timedelta(days=7)
        count = db.execute(
            "SELECT COUNT(*) FROM cases WHERE opened_at > ? AND opened_at <= ?",
            [to_text(start), to_text(end)],
        ).fetchone()[0]
        weeks.append({"week": end.date().isoformat(), "count": count})
    top = max((w["count"] for w in weeks), default=0) or 1
    for week in weeks:
        week["width"] = max(1, round(200 * week["count"] / top)) if week["count"] else 0
    return weeks
