"""From the spool to the archive: parse each stored delivery and ingest it, exactly once.

Nothing accepted is lost: a message whose processing fails stays in the spool and is tried
again later; after `MAX_ATTEMPTS` failures it is quarantined (archived as it came, with its
bytes, acted on by nobody, the committee told). One bad message never holds up the others.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.floods import record_flood
from archive.arrivals.formpages import FORM_TRANSPORT, to_the_minute
from archive.arrivals.held import quarantine
from archive.arrivals.ingest import IngestResult, ingest_message
from archive.record.db import installation_id, write_transaction
from archive.record.models import IncomingMessage
from archive.record.settings import Settings
from archive.record.store import already_ingested, record_delivery
from intake.lanes import BIG, lane_due
from intake.parse import parse_message, plain_form
from intake.spool import (
    Spooled,
    defer_spooled,
    read_floods,
    read_spooled,
    release_floods,
    release_spooled,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
RETRY_DELAY = timedelta(minutes=1)  # times the attempt number: 1 min, then 2 min


def process_spooled(
    db: Database,
    spool: sqlite3.Connection,
    settings: Settings,
    clock: Callable[[], datetime],
    limit: int = 500,
    batch: int = 32,
    lane: str | None = None,
    committed: Callable[[], None] | None = None,
) -> list[IngestResult]:
    """Ingest spooled deliveries in arrival order; a failure keeps the bytes and moves on.

    Messages are parsed outside any transaction, then a batch is ingested under one archive
    commit (one fsync), each message in its own savepoint so one bad message spoils nothing
    else. Only then do the rows leave the spool; a crash in between is harmless, because the
    archive remembers which spool rows it holds (by their delivery keys). Storage trouble (a
    locked or full archive) is no message's fault: it propagates and the batch stays spooled.
    With `lane`, only what that lane may take now (`intake.lanes`); floods in the small one.
    `committed` is called after each archive commit (what it queued may be sent at once).
    """
    if lane != BIG:
        alert_floods(db, spool, settings, clock())
    loop_id = installation_id(db)
    ids = lane_due(spool, lane, clock(), limit) if lane else None
    rows = read_spooled(spool, limit, clock(), ids=ids)
    results: list[IngestResult] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        parsed = [(row, _parse(row, settings, loop_id)) for row in chunk]
        retry: dict[int, str] = {}
        arrived: list[IngestResult] = []
        with write_transaction(db):
            for row, msg in parsed:
                if already_ingested(db, row.key):
                    continue
                now = clock()
                if row.arrival.transport == FORM_TRANSPORT:
                    now = to_the_minute(now)  # nothing about a form report finer than that
                outcome = _ingest_one(db, row, msg, settings, now, loop_id)
                if isinstance(outcome, str):
                    retry[row.spool_id] = outcome
                else:
                    arrived.append(outcome)
        # Logged once committed: a failed commit (a full disk) opened nothing.
        for outcome in arrived:
            log_arrival(outcome)
        results += arrived
        if committed is not None:
            committed()
        release_spooled(spool, [row.spool_id for row in chunk if row.spool_id not in retry])
        for row in chunk:
            if row.spool_id in retry:
                delay = RETRY_DELAY * (row.attempts + 1)
                defer_spooled(spool, row.spool_id, retry[row.spool_id], clock() + delay)
    return results


def alert_floods(db: Database, spool: sqlite3.Connection, settings: Settings, now) -> int:
    """The edge's flood notes to the archive: one committee alert per flood; how many new."""
    notes = read_floods(spool)
    if not notes:
        return 0
    new = 0
    with write_transaction(db):
        for _, flood in notes:
            new += record_flood(
                db,
                settings,
                now,
                key=flood.key,
                address_class=flood.address_class,
                reason=flood.reason,
                sender=flood.sender,
                started_at=flood.started_at,
            )
    release_floods(spool, [pk for pk, _ in notes])
    if new:
        log.warning(
            "%d flood(s) at the SMTP edge: the committee is alerted (see the floods"
            " table for the sender)",
            new,
        )
    return new


def _ingest_one(
    db, row: Spooled, msg: IncomingMessage, settings, now, loop_id: str
) -> IngestResult | str:
    """The message ingested (or, at its last attempt, quarantined); else the error to retry."""
    options = dict(spool_key=row.key, received_at=row.arrival.received_at)
    try:
        return ingest_message(db, msg, settings, now, **options)
    except sqlite3.OperationalError:
        raise
    except Exception as exc:  # this message's problem: the others go on
        error = f"{type(exc).__name__}: {exc}"
        log.error(
            "spooled message %d could not be processed (attempt %d of %d): %s",
            row.spool_id,
            row.attempts + 1,
            MAX_ATTEMPTS,
            error,
            exc_info=True,
        )
        if row.attempts + 1 < MAX_ATTEMPTS:
            return error
    try:
        with write_transaction(db):
            plain = plain_form(msg, f"quarantined: {error}", settings, loop_id)
            result = quarantine(db, plain, settings, now, error, key=row.key)
            record_delivery(db, plain, now, message_pk=result.message_pk, error=error, **options)
    except sqlite3.OperationalError:
        raise
    except Exception as exc:  # not even the plain form could be stored: keep it spooled
        log.error("spooled message %d could not be quarantined: %r", row.spool_id, exc)
        return error
    return result


ROUTES = {"deliberation": "deliberation", "quarantined": "quarantine"}
# Why mail is held, by the kind the archive holds it as: the log says this, never the reason's
# own words (they may name a member); `casebook held` shows them.
HELD_WHY = {
    "held": "it claims a case or reply address it cannot prove",
    "loop": "a mail loop",
    "unrouted": "addressed to no address casebook serves",
    "autoreply": "automatic mail that belongs to no case",
    "list-held": "a list copy the list host did not vouch for",
    "bounce": "a bounce for mail casebook has no record of",
}


def describe_arrival(result: IngestResult) -> tuple[int, str, str, str | None]:
    """How a processed message is logged: level, route, outcome and a hint for the operator.

    Routes: report, followup, command, deliberation, appeal, bounce, autoreply, list, held,
    quarantine. Nothing here names a person or quotes a message: the case and the archive's
    message number identify it, a refusal is told by its class.
    """
    if result.kind == "quarantined":
        hint = f"processing failed {MAX_ATTEMPTS} times; see `casebook held`"
        return logging.WARNING, "quarantine", "quarantined", hint
    if result.held_reason is not None:
        why = HELD_WHY.get(result.kind, "held")
        return logging.WARNING, "held", "held", f"{why}; see `casebook held`"
    if result.duplicate:
        return logging.INFO, ROUTES.get(result.kind, result.kind), "duplicate", None
    if result.commands == "refused":
        why = f"{result.refusal}; " if result.refusal else ""
        return logging.WARNING, "command", "refused", f"{why}see `casebook show {result.case_ref}`"
    if result.commands == "applied":
        return logging.INFO, "command", "applied", None
    outcome = "opened" if result.kind == "report" else "recorded"
    return logging.INFO, ROUTES.get(result.kind, result.kind), outcome, None


def log_arrival(result: IngestResult) -> None:
    """One line per message in (case, route, outcome, the archive's message number), and one
    per mail the leak guard held while it was processed; never a name, address or Message-ID
    (a sender's Message-ID carries their domain)."""
    level, route, outcome, hint = describe_arrival(result)
    case, number = result.case_ref, result.message_pk
    reason = result.refusal if outcome == "refused" else result.kind if outcome == "held" else None
    log.log(
        level,
        "in %s %s: %s message %d%s",
        case or "-",
        route,
        outcome,
        number,
        f" ({hint})" if hint else "",
        extra={
            "case": case,
            "route": route,
            "outcome": outcome,
            "message_number": number,
            "reason": reason,
            "hint": hint,
        },
    )
    for item, template in result.guard_held:
        log_guard_hold(case, template, item)


def log_guard_hold(case: str | None, template: str, item: int) -> None:
    """Mail the leak guard held (while a message was processed, or a clock fired)."""
    hint = "the committee is told; `casebook outbox` lists it"
    log.warning(
        "out %s %s: held by the leak guard, outbox %d (%s)",
        case or "-",
        template,
        item,
        hint,
        extra={
            "case": case,
            "template": template,
            "outcome": "held",
            "outbox_id": item,
            "hint": hint,
        },
    )


def _parse(row: Spooled, settings: Settings, loop_id: str) -> IncomingMessage:
    arrival = row.arrival
    return parse_message(
        arrival.raw,
        envelope_from=arrival.envelope_from,
        envelope_to=arrival.envelope_to,
        settings=settings,
        loop_id=loop_id,
        transport=arrival.transport,
        historical=arrival.transport == "import",
    )
