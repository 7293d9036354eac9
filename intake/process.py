"""From the spool to the archive: parse each stored delivery and ingest it, exactly once."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

from sqlite_utils import Database

from archive.db import installation_id, write_transaction
from archive.ingest import (
    IngestResult,
    already_ingested,
    ingest_message,
    record_failed_delivery,
)
from archive.settings import Settings
from intake.parse import parse_message
from intake.spool import Spooled, read_spooled, release_spooled

log = logging.getLogger(__name__)


def process_spooled(
    db: Database,
    spool: sqlite3.Connection,
    settings: Settings,
    clock: Callable[[], datetime],
    limit: int = 500,
    batch: int = 32,
) -> list[IngestResult]:
    """Ingest spooled deliveries in arrival order; a failure keeps the bytes and moves on.

    Messages are parsed outside any transaction, then a batch is ingested under one archive
    commit (one fsync), each message in its own savepoint so one bad message spoils nothing
    else. Only then do the rows leave the spool; a crash in between is harmless, because the
    archive remembers which spool rows it holds (by their delivery keys).
    """
    loop_id = installation_id(db)
    rows = read_spooled(spool, limit)
    results: list[IngestResult] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        parsed = [(row, _parse(row, settings, loop_id)) for row in chunk]
        with write_transaction(db):
            for row, msg in parsed:
                if already_ingested(db, row.key):
                    continue
                try:
                    if isinstance(msg, Exception):
                        raise msg
                    result = ingest_message(
                        db,
                        msg,
                        settings,
                        clock(),
                        spool_key=row.key,
                        received_at=row.arrival.received_at,
                    )
                    results.append(result)
                except Exception as exc:  # the raw bytes are kept for an operator
                    log.error("spooled message %d could not be processed: %r", row.spool_id, exc)
                    _keep_failed(db, row, exc, clock())
        release_spooled(spool, [row.spool_id for row in chunk])
    return results


def _parse(row: Spooled, settings: Settings, loop_id: str):
    arrival = row.arrival
    try:
        return parse_message(
            arrival.raw,
            envelope_from=arrival.envelope_from,
            envelope_to=arrival.envelope_to,
            settings=settings,
            loop_id=loop_id,
            transport=arrival.transport,
            historical=arrival.transport == "import",
        )
    except Exception as exc:  # parse_message is meant never to raise; keep the bytes if it does
        return exc


def _keep_failed(db: Database, row: Spooled, exc: Exception, now: datetime) -> None:
    arrival = row.arrival
    record_failed_delivery(
        db,
        spool_key=row.key,
        received_at=arrival.received_at,
        transport=arrival.transport,
        envelope_from=arrival.envelope_from,
        envelope_to=arrival.envelope_to,
        raw=arrival.raw,
        error=f"{type(exc).__name__}: {exc}",
        now=now,
    )
