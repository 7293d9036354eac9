"""Time values: UTC instants as aware datetimes, stored as ISO 8601 text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    """Read the real clock; only entry points call this, everything else takes `now`."""
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """The stored form: UTC, microseconds, `+00:00`, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def parse_now(text: str, zone: ZoneInfo) -> datetime:
    """A user's `--now`: ISO 8601; without an offset it is in the committee's time zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date and time: {text!r}") from None
    if not 1970 <= moment.year <= 9000:  # casebook adds weeks and years to it
        raise ValueError(f"{text!r} is out of range (years 1970 to 9000)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_date(text: str, zone: ZoneInfo) -> datetime:
    """A command's DATE: `2026-03-20` (09:00 in the committee's time zone) or a full ISO time;
    ValueError if neither."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment
    return datetime.combine(day, time(9, 0), tzinfo=zone)
