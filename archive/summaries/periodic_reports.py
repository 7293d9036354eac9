"""The quarterly report and the annual transparency summary: anonymised counts and times."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.settings import Settings
from archive.record.timestamps import from_text, to_text
from archive.workflow.states import DONE_STATES

QUARTER_RE = re.compile(r"^(\d{4})[Qq]([1-4])$")


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def quarter_period(text: str, settings: Settings) -> Period:
    match = QUARTER_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a quarter; use e.g. 2026Q4")
    year, quarter = int(match.group(1)), int(match.group(2))
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return _period(f"{year} Q{quarter}", first, after, settings)


def year_period(text: str, settings: Settings) -> Period:
    if not re.fullmatch(r"\d{4}", text.strip()):
        raise ValueError(f"{text!r} is not a year; use e.g. 2026")
    year = int(text)
    return _period(str(year), date(year, 1, 1), date(year + 1, 1, 1), settings)


def _period(label: str, first: date, after: date, settings: Settings) -> Period:
    zone = settings.zone
    return Period(
        label,
        datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC),
        datetime.combine(after, time(0), tzinfo=zone).astimezone(UTC),
    )


def report_data(db: Database, period: Period) -> dict:
    start, end = to_text(period.start), to_text(period.end)
    cases = db.execute(
        "SELECT id, state, opened_at FROM cases WHERE opened_at >= ? AND opened_at < ?",
        [start, end],
    ).fetchall()
    states = Counter(state for _, state, _ in cases)
    resolutions = Counter(
        row[0]
        for row in db.execute(
            "SELECT resolution FROM proposals WHERE enacted_at >= ? AND enacted_at < ?",
            [start, end],
        )
    )
    ack_hours, resolve_days = [], []
    for pk, _, opened_at in cases:
        opened = from_text(opened_at)
        acked = _first_event(db, pk, "state-changed", '"to": "acknowledged"')
        if acked:
            ack_hours.append((from_text(acked) - opened) / timedelta(hours=1))
        done = _first_done(db, pk)
        if done:
            resolve_days.append((from_text(done) - opened) / timedelta(days=1))
    appeals = db.execute(
        "SELECT COUNT(*) FROM appeals WHERE received_at >= ? AND received_at < ?", [start, end]
    ).fetchone()[0]
    bans = db.execute(
        "SELECT COUNT(*) FROM bans WHERE start_at >= ? AND start_at < ?", [start, end]
    ).fetchone()[0]
    return {
        "period": period.label,
        "opened": len(cases),
        "states": dict(sorted(states.items())),
        "resolutions": dict(sorted(resolutions.items())),
        "median_hours_to_acknowledge": _median(ack_hours),
        "median_days_to_resolve": _median(resolve_days),
        "appeals": appeals,
        "bans": bans,
    }


def _first_event(db: Database, case_pk: int, action: str, detail_like: str = "") -> str | None:
    row = db.execute(
        "SELECT MIN(at) FROM events WHERE case_pk = ? AND action = ? AND detail LIKE ?",
        [case_pk, action, f"%{detail_like}%"],
    ).fetchone()
    return row[0]


def _first_done(db: Database, case_pk: int) -> str | None:
    """When the case first reached a done state (`state-changed`, written by the one door)."""
    done = sorted(DONE_STATES)
    row = db.execute(
        "SELECT MIN(at) FROM events WHERE case_pk = ? AND action = 'state-changed'"
        f" AND json_extract(detail, '$.to') IN ({','.join('?' * len(done))})",
        [case_pk, *done],
    ).fetchone()
    return row[0]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _hours(hours: float) -> str:
    if hours < 1:
        minutes = round(hours * 60)
        return "under a minute" if minutes < 1 else f"{minutes} minutes"
    return f"{hours} hours"


def render_markdown(data: dict, title: str) -> str:
    """The report as Markdown: counts only, no case numbers, no names."""

    def table(counts: dict, what: str) -> list[str]:
        if not counts:
            return [f"No {what}.", ""]
        lines = [f"| {what} | cases |", "| --- | ---: |"]
        lines += [f"| {name} | {count} |" for name, count in counts.items()]
        return lines + [""]

    ack = data["median_hours_to_acknowledge"]
    resolve = data["median_days_to_resolve"]
    lines = [
        f"# {title}: {data['period']}",
        "",
        f"Reports received: **{data['opened']}**. Appeals: **{data['appeals']}**."
        f" Bans recorded: **{data['bans']}**.",
        "",
        "Median time to acknowledge a report: "
        + (f"**{_hours(ack)}**." if ack is not None else "no data."),
        "Median time to resolve a report: "
        + (f"**{resolve} days**." if resolve is not None else "no data."),
        "",
        "## Cases received in the period, by current state",
        "",
        *table(data["states"], "state"),
        "## Resolutions carried out in the period",
        "",
        *table(data["resolutions"], "resolution"),
        "All figures are anonymised counts; no case details or names are included.",
    ]
    return "\n".join(lines) + "\n"
