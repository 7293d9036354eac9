"""What a policy feature registers for each kind of deadline it sets, the way command modules
register keywords: the handler, the reminder chain it belongs to, whether it is held when late.

Feature modules (`bans`, `appeals`, `mediation`, `deliberation_clocks`, `enactment`,
`report_clocks`) each export `CLOCKS`; `archive.workflow.clock_sweep` collects them and runs
the sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case
from archive.record.deadlines import Deadline
from archive.record.settings import Settings

# (db, settings, now, deadline, case) -> True if it acted (sent, moved, recorded something)
Handler = Callable[["Database", Settings, datetime, Deadline, Case], bool]


@dataclass(frozen=True)
class Clock:
    kind: str
    fire: Handler
    # Deadlines of one chain (same case, same `chain_key` in the payload) supersede each other:
    # when a later one is due too, an earlier one is stale and skipped (after downtime).
    chain: str | None = None
    chain_key: str | None = None
    # A scheduled mail that would go out later than `late_send_hold` is held for the
    # committee to confirm, not sent.
    hold_when_late: bool = False


def register(*clocks: Clock) -> dict[str, Clock]:
    """A feature's clocks by kind."""
    return {clock.kind: clock for clock in clocks}
