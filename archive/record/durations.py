"""The one duration grammar: a number and a unit, each unit with one meaning everywhere.

The configuration (`timeout = "2min"`, `retry = ["1min", "1h"]`) and the commands
(`#ban dave@example.com 3mo chat`, `#propose temporary-ban 30d chat`) read durations here.
A bare `m` is no unit: it meant minutes in the configuration and months in `#ban` once, so
it is refused with the two spellings that say which.
"""

from __future__ import annotations

import re
from datetime import timedelta

DAY = timedelta(days=1)
# Every unit once: its spellings (the first is the one we write) and its length.
UNITS: tuple[tuple[tuple[str, ...], timedelta], ...] = (
    (("s", "sec", "second", "seconds"), timedelta(seconds=1)),
    (("min", "minute", "minutes"), timedelta(minutes=1)),
    (("h", "hour", "hours"), timedelta(hours=1)),
    (("d", "day", "days"), DAY),
    (("w", "week", "weeks"), 7 * DAY),
    (("mo", "month", "months"), 30 * DAY),
    (("y", "year", "years"), 365 * DAY),
)
LENGTHS = {spelling: length for spellings, length in UNITS for spelling in spellings}
DURATION_RE = re.compile(r"^\s*(\d{1,6})\s*([a-z]+)\s*$", re.IGNORECASE)
# Before this grammar, `#propose temporary-ban 6m` and `cooling-off 6m` meant six months.
MONTHS_ONCE_RE = re.compile(r"^(\d{1,6})[mM](?=\s|$)")
EXAMPLES = "90s, 30min, 24h, 7d, 2w, 6mo or 1y"


class AmbiguousUnit(ValueError):
    """`3m`: minutes or months? `number` lets the caller name the exact replacement."""

    def __init__(self, text: str, number: int):
        self.number = number
        super().__init__(
            f"{text.strip()!r} is ambiguous: write {number}min for minutes or {number}mo for months"
        )


def parse_duration(text: str) -> timedelta:
    """`90s`, `30min`, `24h`, `7d`, `2w`, `6mo`, `1y` (units may be spelt out) to a timedelta.

    ValueError with a sentence saying what to write on anything else; AmbiguousUnit on `m`."""
    match = DURATION_RE.match(str(text))
    unit = match.group(2).lower() if match else None
    if unit == "m":
        raise AmbiguousUnit(str(text), int(match.group(1)))
    if unit not in LENGTHS:
        raise ValueError(f"not a duration: {str(text).strip()!r} (e.g. {EXAMPLES})")
    return int(match.group(1)) * LENGTHS[unit]


def parse_days(text: str) -> timedelta:
    """A duration counted in days at least (a ban, a cooling-off): `30d`, `2w`, `6mo`, `1y`."""
    span = parse_duration(text)
    if span and span < DAY:
        raise ValueError(f"{text.strip()!r} is less than a day (e.g. 30d, 2w, 6mo or 1y)")
    return span


def is_days(text: str) -> bool:
    """Whether `text` is a duration of a day or more in the one grammar."""
    try:
        parse_days(text)
    except ValueError:
        return False
    return True


def months_as_once_meant(args: str) -> str:
    """Stored ban or cooling-off arguments in today's spelling: `6m chat` (months, as written
    before this grammar) → `6mo chat`; anything else unchanged (for the archive's migration)."""
    return MONTHS_ONCE_RE.sub(r"\1mo", args, count=1)
