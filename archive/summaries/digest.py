"""The Executive Council's weekly digest (SPEC §7): anonymised facts, sent once a week.

The week's slot is the configured weekday and time in the committee's time zone; a sweep
after the slot queues that week's digest once, and a digest missed for several weeks is sent
once (for the latest slot only). A council member conflicted in a case gets a digest that
neither shows nor mentions it (nor counts or charts it): then each council member gets their
own copy instead of one to the council address. What the digest says is `digest_facts`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.db import read_meta, write_meta, write_transaction
from archive.record.outbox import Audience, Mail, queue_mail
from archive.record.settings import Settings
from archive.record.timestamps import from_text, to_text
from archive.summaries.digest_facts import collect_facts


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
    since = read_meta(db, "digest_since")
    if since is None:
        with write_transaction(db):
            write_meta(db, "digest_since", to_text(now), keep=True)
        return None
    if slot < from_text(since):
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
        conflicted = {
            member.lower()
            for (text,) in db.execute("SELECT conflicted FROM cases")
            for member in json.loads(text)
        }
        council = list(settings.council)
        copies = 0
        if not any(p.email.lower() in conflicted for p in council):
            _queue(db, settings, now, digest_data(db, settings, now), Audience.COUNCIL, None)
            copies = 1
        else:
            for person in council:
                view = digest_data(db, settings, now, reader=person.email)
                _queue(db, settings, now, view, Audience.ADDRESS, person.email)
                copies += 1
        db.execute(
            "INSERT INTO digests (slot, queued_at, copies) VALUES (?, ?, ?)",
            [to_text(slot), to_text(now), copies],
        )
        return copies


def _queue(db, settings, now, context, audience, to_addr) -> None:
    queue_mail(
        db,
        Mail(template="council/digest", audience=audience, to_addr=to_addr, context=context),
        now=now,
        settings=settings,
    )


def digest_data(db: Database, settings: Settings, now: datetime, reader: str | None = None) -> dict:
    """The digest's facts as `reader` may see them: no case they are conflicted in, anywhere."""
    return collect_facts(db, settings, now, reader)
