"""One table for `make bench`: every figure beside its same-run baseline, the ratio and the target.

Each part of the bench (intake, outbox, import, flood, scale) returns a list of `Row`s; `run.py`
prints them as one Markdown table and writes them to `bench/results.json`.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One measured figure.

    `baseline`/`baseline_value` name what the figure is compared with in the same run (bare
    aiosmtpd, smtplib to the sink, notmuch), `ratio` is value / baseline_value written the way
    the target reads ("0.55 of smtplib", "2.3× notmuch"); `met` is None where no target is set,
    and a skipped figure has `value` None and says why in `note`.
    """

    name: str
    value: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    baseline: str = ""
    baseline_value: float | None = None
    ratio: str = ""
    note: str = ""


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "skipped"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return f"{value} {unit}".strip()
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}".strip()


def markdown(rows: list[Row]) -> str:
    lines = [
        "| measure | value | same-run baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = f"{row.baseline} {fmt(row.baseline_value, row.unit)}" if row.baseline else ""
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        value = fmt(row.value, row.unit) if row.value is not None else f"skipped: {row.note}"
        lines.append(f"| {row.name} | {value} | {base} | {row.ratio} | {row.target} | {met} |")
    return "\n".join(lines)


def write_results(rows: list[Row], path: Path, settings: dict) -> None:
    """`bench/results.json`: the run's settings and every row, for docs/developers/testing.md
    and for diffs."""
    data = {
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "settings": settings,
        "rows": [{k: _finite(v) for k, v in asdict(row).items()} for row in rows],
        "all_targets_met": all(row.met is not False for row in rows),
    }
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value
