"""The ban register: who, where, from when, until when (or permanent), which case, review."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, record_event
from archive.record.deadlines import Deadline, add_deadline, cancel_deadlines
from archive.record.durations import parse_days
from archive.record.outbox import Audience, Mail, queue_mail
from archive.record.settings import Settings
from archive.record.timestamps import human_date, human_duration, to_text
from archive.workflow.ban_lookup import BAN_SELECT, ban_dict, list_bans  # noqa: F401 (list_bans: read here too)
from archive.workflow.clock_registry import Clock, register

REVIEW_EVERY = timedelta(days=365)


def parse_ban_duration(text: str) -> timedelta | None:
    """`30d`, `2w`, `6mo`, `1y` (archive.record.durations); None for `permanent`; ValueError
    otherwise."""
    if text.lower() == "permanent":
        return None
    return parse_days(text)


def duration_fields(span: timedelta | None, now: datetime, settings) -> dict:
    """How mail states a duration: "30 days" and its last day, never "30d" (None: permanent)."""
    if span is None:
        return {"duration": None, "until": None}
    return {"duration": human_duration(span), "until": human_date(now + span, settings.zone)}


def who_text(name: str | None, email: str | None) -> str:
    """The person a ban is about, as the core team needs to find them."""
    if name and email:
        return f"{name} <{email}>"
    return name or email or "(not recorded)"


def add_ban(
    db: Database,
    case: Case,
    *,
    who: str,
    email: str | None,
    spaces: str,
    duration: timedelta | None,
    now: datetime,
    decided_by: str,
    unilateral: bool,
) -> int:
    end = now + duration if duration else None
    review = None if end else now + REVIEW_EVERY
    cursor = db.execute(
        "INSERT INTO bans (case_pk, who, email, spaces, start_at, end_at, review_at, unilateral,"
        " decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            case.pk,
            who,
            email,
            spaces,
            to_text(now),
            to_text(end) if end else None,
            to_text(review) if review else None,
            int(unilateral),
            decided_by,
        ],
    )
    ban_pk = cursor.lastrowid
    if end:
        add_deadline(db, case, "ban-expiry", end, now, {"ban": ban_pk})
    else:
        add_deadline(db, case, "ban-review", review, now, {"ban": ban_pk})
    return ban_pk


def active_bans(db: Database, case: Case, who: str) -> list[int]:
    rows = db.execute(
        "SELECT id FROM bans WHERE case_pk = ? AND status = 'active'"
        " AND (lower(who) = lower(?) OR lower(email) = lower(?))",
        [case.pk, who, who],
    )
    return [row[0] for row in rows]


def end_ban(db: Database, case: Case, ban_pk: int, status: str, now: datetime) -> None:
    db.execute(
        "UPDATE bans SET status = ?, ended_at = ? WHERE id = ?", [status, to_text(now), ban_pk]
    )
    cancel_deadlines(db, case, ("ban-expiry", "ban-review"), now, ban=ban_pk)


def ban_row(db: Database, ban_pk: int) -> dict:
    return ban_dict(db.execute(BAN_SELECT + " WHERE b.id = ?", [ban_pk]).fetchone())


def fire_ban_expiry(db, settings: Settings, now: datetime, deadline: Deadline, case: Case) -> bool:
    """A temporary ban's end: the ban ends and the person, core team and committee are told."""
    record = ban_row(db, deadline.payload["ban"])
    if record["status"] != "active":
        return False
    end_ban(db, case, record["id"], "ended", now)
    record_event(db, case, now=now, actor="clock", action="ban-ended", detail={"ban": record["id"]})
    context = {"case_ref": case.ref, "spaces": record["spaces"]}
    queue_mail(
        db,
        Mail(
            template="committee/ban_expired",
            audience=Audience.COMMITTEE,
            case=case,
            context=context,
        ),
        now=now,
        settings=settings,
    )
    if record["email"]:
        queue_mail(
            db,
            Mail(
                template="reported/unban_notice",
                audience=Audience.ADDRESS,
                to_addr=record["email"],
                case=case,
                context=context,
            ),
            now=now,
            settings=settings,
        )
    who = record["who"] or record["email"] or "(not recorded)"
    queue_mail(
        db,
        Mail(
            template="core/unban_notice",
            audience=Audience.ADDRESS,
            to_addr=settings.core_team,
            case=case,
            context={**context, "who": who},
        ),
        now=now,
        settings=settings,
    )
    return True


def fire_ban_review(db, settings: Settings, now: datetime, deadline: Deadline, case: Case) -> bool:
    """A permanent ban's yearly review: the committee is asked, the next review is set."""
    record = ban_row(db, deadline.payload["ban"])
    if record["status"] != "active":
        return False
    queue_mail(
        db,
        Mail(
            template="committee/ban_review",
            audience=Audience.COMMITTEE,
            case=case,
            context={
                "case_ref": case.ref,
                "spaces": record["spaces"],
                "since": record["start_at"][:10],
            },
        ),
        now=now,
        settings=settings,
    )
    next_review = now + REVIEW_EVERY
    db.execute("UPDATE bans SET review_at = ? WHERE id = ?", [to_text(next_review), record["id"]])
    add_deadline(db, case, "ban-review", next_review, now, {"ban": record["id"]})
    return True


CLOCKS = register(
    Clock("ban-expiry", fire_ban_expiry),
    Clock("ban-review", fire_ban_review, chain="ban-review", chain_key="ban"),
)
