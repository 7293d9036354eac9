"""Time values: UTC instants as aware datetimes, stored as ISO 8601 text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


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


def human_duration(span: timedelta) -> str:
    """A duration as mail says it: "7 days", "1 day and 12 hours", never "7 days, 0:00:00"."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return "less than a minute"
    parts = []
    for name, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    return " and ".join(parts[:2])


def human_date(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """A date as people write it in mail: "24 December 2026" (in the committee's zone)."""
    local = moment.astimezone(zone) if zone else moment
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"
