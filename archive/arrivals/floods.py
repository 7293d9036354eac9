"""Floods the SMTP edge (or the web form) refused: one alert to the committee per flood,
never one per message.

The edge (`intake/limits.py`) answers 451 4.7.1 past its limits and notes the first refusal
of each flood in the spool (the web form, `webform/clients.py`, the first report refused when
its bucket for everyone ran out); the worker hands each note here. The flood's key makes the alert
happen once, even if the worker dies between this commit and forgetting the note.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from archive.record.cases import record_event
from archive.record.outbox import Audience, Mail, queue_mail
from archive.record.settings import Settings
from archive.record.timestamps import to_text

ADDRESSES = {
    "reports": "the reports and appeals addresses",
    "replies": "the reply addresses (conduct+…)",
    "list": "the committee list's address",
    "form": "the web form",
}
WEB_FORM = "form"  # the web form's bucket for everyone ran out (webform/clients.py)


def record_flood(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    key: str,
    address_class: str,
    reason: str,
    sender: str,
    started_at: datetime,
) -> bool:
    """Record a flood and queue its one alert (inside the caller's write transaction);
    False if this flood was recorded before."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO floods (flood_key, address_class, reason, sender, started_at,"
        " alerted_at) VALUES (?, ?, ?, ?, ?, ?)",
        [key, address_class, reason, sender, to_text(started_at), to_text(now)],
    )
    if not cursor.rowcount:
        return False
    burst, per_hour = _limit(settings, address_class, reason)
    record_event(
        db,
        None,
        now=now,
        actor="intake",
        action="flood",
        detail={"key": key, "addresses": address_class, "reason": reason},
    )
    queue_mail(
        db,
        Mail(
            template="committee/flood",
            audience=Audience.COMMITTEE,
            context={
                "addresses": ADDRESSES.get(address_class, address_class),
                "reason": reason,
                "started_at": to_text(started_at)[:16].replace("T", " "),
                "burst": burst,
                "per_hour": per_hour,
                "quiet": _duration(settings.limits.flood_quiet),
                "web_form": address_class == WEB_FORM,
            },
        ),
        now=now,
        settings=settings,
    )
    return True


def _limit(settings: Settings, address_class: str, reason: str) -> tuple[int, int]:
    """The limit that was reached: (at once, an hour)."""
    if address_class == WEB_FORM and settings.form is not None:
        return settings.form.reports_per_hour, settings.form.reports_per_hour
    limits = settings.limits
    if reason == "sender":
        return limits.sender_burst, limits.sender_per_hour
    return limits.global_burst, limits.global_per_hour


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"
