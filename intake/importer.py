"""`casebook import`: the list's past mail from mbox or maildir, through the same ingest.

Imported mail is history: it creates no deadlines and sends nothing. Importing is idempotent
(the same Message-ID is one message) and resumable (the byte offset reached in each mbox is
remembered after every committed batch, so a re-run continues where it stopped).
"""

from __future__ import annotations

import logging
import mailbox
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.db import installation_id, write_transaction
from archive.held import quarantine
from archive.ingest import ingest_message, record_delivery
from archive.settings import Settings
from archive.store import IngestResult
from intake.addresses import stored_envelope_sender
from intake.parse import parse_message, plain_form

log = logging.getLogger(__name__)

BATCH = 200
FROM_LINE = re.compile(rb"^From ")
ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


@dataclass
class ImportReport:
    read: int = 0
    new: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped_bytes: int = 0


def iter_mbox(path: Path, start: int = 0) -> Iterator[tuple[bytes, int]]:
    """(raw message, byte offset after it) from an mbox/mboxrd file, from byte `start`."""
    with open(path, "rb") as handle:
        handle.seek(start)
        lines: list[bytes] = []
        offset = start
        for line in handle:
            if FROM_LINE.match(line) and (not lines or lines[-1] in (b"\n", b"\r\n")):
                if lines:
                    yield _unescape(lines), offset
                lines = []
            else:
                lines.append(line)
            offset += len(line)
        if lines:
            yield _unescape(lines), offset


def _unescape(lines: list[bytes]) -> bytes:
    raw = b"".join(lines)
    if raw.endswith(b"\n\n"):
        raw = raw[:-1]  # the blank line before the next "From " belongs to the mbox format
    return ESCAPED_FROM.sub(rb"\1", raw)


def import_paths(
    db: Database,
    settings: Settings,
    paths: list[Path],
    now: datetime,
    progress=None,
) -> ImportReport:
    report = ImportReport()
    loop_id = installation_id(db)
    for path in paths:
        if path.is_dir():
            _import_maildir(db, settings, path, now, loop_id, report, progress)
        else:
            _import_mbox(db, settings, path, now, loop_id, report, progress)
    return report


def _meta_key(path: Path) -> str:
    return f"import-offset:{path.resolve()}"


def _import_mbox(db, settings, path: Path, now, loop_id, report, progress) -> None:
    key = _meta_key(path)
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    start = int(row[0]) if row else 0
    size = path.stat().st_size
    report.skipped_bytes += start
    if progress is not None:
        progress.reset(total=size)
        progress.update(start)
    batch: list[bytes] = []
    last = start
    for raw, offset in iter_mbox(path, start):
        batch.append(raw)
        if len(batch) >= BATCH:
            _ingest_batch(db, settings, batch, now, loop_id, report, key, offset)
            if progress is not None:
                progress.update(offset - last)
            last, batch = offset, []
    if batch:
        _ingest_batch(db, settings, batch, now, loop_id, report, key, size)
        if progress is not None:
            progress.update(size - last)


def _import_maildir(db, settings, path: Path, now, loop_id, report, progress) -> None:
    box = mailbox.Maildir(str(path), factory=None, create=False)
    keys = sorted(box.keys())
    if progress is not None:
        progress.reset(total=len(keys))
    for start in range(0, len(keys), BATCH):
        chunk = [box.get_bytes(k) for k in keys[start : start + BATCH]]
        _ingest_batch(db, settings, chunk, now, loop_id, report, None, None)
        if progress is not None:
            progress.update(len(chunk))


def _ingest_batch(db, settings, raws, now, loop_id, report, key, offset) -> None:
    parsed = [_parse(raw, settings, loop_id) for raw in raws]
    with write_transaction(db):
        for msg in parsed:
            report.read += 1
            result = _ingest_or_quarantine(db, settings, msg, now, loop_id)
            if result.kind == "quarantined":
                report.quarantined += 1
            elif result.duplicate:
                report.duplicates += 1
            else:
                report.new += 1
        if key is not None:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, str(offset)],
            )


def _ingest_or_quarantine(db, settings: Settings, msg, now, loop_id: str) -> IngestResult:
    """One message that cannot be archived normally must not stop the import."""
    try:
        return ingest_message(db, msg, settings, now)
    except sqlite3.OperationalError:
        raise  # the archive's trouble, not this message's
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.error("imported message %s quarantined: %s", msg.message_id, error)
    plain = plain_form(msg, f"quarantined: {error}", settings, loop_id)
    with write_transaction(db):
        result = quarantine(db, plain, settings, now, error)
        record_delivery(db, plain, now, None, None, message_pk=result.message_pk, error=error)
    return result


def _parse(raw: bytes, settings: Settings, loop_id: str):
    return parse_message(
        raw,
        envelope_from=stored_envelope_sender(raw),
        envelope_to=(settings.list_subscriber or settings.committee_list,),
        settings=settings,
        loop_id=loop_id,
        transport="import",
        historical=True,
    )
