"""From the spool to the archive: parse each stored delivery and ingest it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlite_utils import Database

from archive.clock import to_text
from archive.db import installation_id, write_transaction
from archive.ingest import IngestResult, ingest_message
from archive.settings import Settings
from intake.parse import parse_message

log = logging.getLogger(__name__)


def process_spooled(
    db: Database,
    settings: Settings,
    clock: Callable[[], datetime],
    limit: int = 500,
) -> list[IngestResult]:
    """Ingest spooled deliveries in arrival order; a failure keeps the bytes and moves on."""
    loop_id = installation_id(db)
    rows = db.execute(
        "SELECT id, raw, envelope_from, envelope_to, transport FROM deliveries"
        " WHERE status = 'spooled' ORDER BY id LIMIT ?",
        [limit],
    ).fetchall()
    results = []
    for pk, raw, envelope_from, envelope_to, transport in rows:
        try:
            msg = parse_message(
                raw,
                envelope_from=envelope_from,
                envelope_to=tuple(json.loads(envelope_to)),
                settings=settings,
                loop_id=loop_id,
                transport=transport,
                historical=transport == "import",
            )
            results.append(ingest_message(db, msg, settings, clock(), delivery_pk=pk))
        except Exception as exc:  # the raw bytes stay in the spool for an operator to see
            log.exception("delivery %d could not be processed", pk)
            with write_transaction(db):
                db.execute(
                    "UPDATE deliveries SET status = 'failed', error = ?, processed_at = ?"
                    " WHERE id = ?",
                    [f"{type(exc).__name__}: {exc}"[:500], to_text(clock()), pk],
                )
    return results
