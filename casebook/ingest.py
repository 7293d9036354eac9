"""`casebook ingest`: one message on stdin, for a Postfix pipe or a .forward.

Exit 0 only once the bytes are committed; 75 (EX_TEMPFAIL) when they could not be, so the
MTA keeps the message and retries. It stores and processes, and never sends: a hanging relay
must not hold the MTA's pipe process for its whole timeout. `serve` (woken by its sweep) or
`casebook tick` (casebook-tick.timer) sends what the message queued.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from archive.clock import utc_now
from archive.db import open_archive
from archive.settings import Settings
from casebook.errors import EX_DATAERR, EX_TEMPFAIL
from casebook.restore import hold_archive
from intake.addresses import stored_envelope_sender
from intake.process import process_spooled
from intake.spool import Arrival, open_spool, spool_arrivals, spool_path

log = logging.getLogger("casebook")


def ingest_stdin(settings: Settings, sender: str | None, recipients: list[str] | None) -> int:
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        print("casebook: ingest: no message on standard input", file=sys.stderr)
        return EX_DATAERR
    if len(raw) > settings.max_message_size:
        print(
            f"casebook: ingest: message of {len(raw)} bytes is over the limit of"
            f" {settings.max_message_size}",
            file=sys.stderr,
        )
        return EX_DATAERR
    # Without an envelope sender a report would look like a bounce: fall back on the
    # message's own Return-Path or From, as a .forward delivery records them.
    envelope_from = sender if sender is not None else os.environ.get("SENDER")
    if envelope_from is None:
        envelope_from = stored_envelope_sender(raw)
    envelope_to = tuple(recipients or [os.environ.get("RECIPIENT") or settings.reports])
    try:
        spool = open_spool(spool_path(settings))
        spool_arrivals(spool, [Arrival(raw, envelope_from, envelope_to, "ingest", utc_now())])
    except Exception as exc:  # not stored: the MTA must keep the message and retry
        # Short: an MTA's pipe keeps only the start of a command's output for its log.
        print(f"casebook: ingest: could not store the message: {str(exc)[:300]}", file=sys.stderr)
        return EX_TEMPFAIL
    # Stored: from here on nothing can lose it; processing is best effort (sending is not ours).
    try:
        with hold_archive(Path(settings.database)):  # not while a restore replaces it
            db = open_archive(settings.database)
            process_spooled(db, spool, settings, utc_now)
    except Exception as exc:
        log.warning("stored, but not processed yet (serve or tick will): %s", exc)
    return 0
