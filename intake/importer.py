"""`casebook import`: the list's past mail from mbox or maildir, through the same ingest.

Imported mail is history: it creates no deadlines and sends nothing. Importing is idempotent
(the same Message-ID is one message) and resumable (the byte offset reached in each mbox is
remembered after every committed batch, so a re-run continues where it stopped).
"""

from __future__ import annotations

import logging
import mailbox
import multiprocessing
import os
import re
import sqlite3
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.held import quarantine
from archive.arrivals.ingest import ingest_message
from archive.record.db import installation_id, read_meta, write_meta, write_transaction
from archive.record.fulltext import indexed_in_bulk
from archive.record.settings import Settings
from archive.record.store import IngestResult, record_delivery
from intake.addresses import stored_envelope_sender
from intake.parse import parse_message, plain_form

log = logging.getLogger(__name__)

BATCH = 200
FROM_LINE = re.compile(rb"^From ")
HEADER_LINE = re.compile(rb"^[!-9;-~]+:")  # an RFC 5322 field name and its colon
MAIL_FIELDS = re.compile(rb"^(from|date|message-id|subject|received|return-path):", re.I | re.M)
ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


@dataclass
class ImportReport:
    read: int = 0
    new: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped_bytes: int = 0


def not_mail(start: bytes) -> str | None:
    """Why a file starting with `start` is neither an mbox nor one message (None if it is).

    An mbox starts with a "From " line; one message with a header block (field lines and
    their folded continuations up to the first blank line) naming a field every mail has.
    An empty file is an empty mbox."""
    text = start.lstrip(b"\r\n")
    if not text or FROM_LINE.match(text):
        return None
    if b"\x00" in text:
        return "a binary file, not mail"
    head = re.split(rb"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = head.splitlines()
    folded = all(HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") for line in lines)
    if folded and HEADER_LINE.match(lines[0]) and MAIL_FIELDS.search(head):
        return None
    return 'not mail (an mbox starts with a "From " line, a message with its headers)'


def mail_file_problem(path: Path) -> str | None:
    """`not_mail` of a file's first 64 KiB."""
    with open(path, "rb") as handle:
        return not_mail(handle.read(65536))


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
    workers: int | None = None,
) -> ImportReport:
    """Import mbox files and maildirs; `workers` processes parse (default: one per core, and
    none for small imports), while this process writes the archive a batch at a time."""
    report = ImportReport()
    loop_id = installation_id(db)
    for path in paths:
        if path.is_dir():
            batches = _maildir_batches(path, progress)
            size = sum(f.stat().st_size for f in path.glob("*/*") if f.is_file())
        else:
            key = _meta_key(path)
            offset = read_meta(db, key)
            start = int(offset) if offset else 0
            report.skipped_bytes += start
            batches = _mbox_batches(path, start, key, progress)
            size = path.stat().st_size - start
        pool_size = _pool_size(workers, size)
        for parsed, key, offset, done in _parsed(batches, settings, loop_id, pool_size):
            _ingest_batch(db, settings, parsed, now, loop_id, report, key, offset)
            if progress is not None:
                progress.update(done)
    return report


def _meta_key(path: Path) -> str:
    return f"import-offset:{path.resolve()}"


# Below this many bytes, parsing here is quicker than starting worker processes.
POOL_THRESHOLD = 4_000_000


def _pool_size(workers: int | None, size: int) -> int:
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        if size < POOL_THRESHOLD:
            workers = 1
    return max(1, workers)


def _mbox_batches(path: Path, start: int, key: str, progress) -> Iterator[tuple]:
    """(raws, offset key, byte offset after them, progress done) per batch of an mbox."""
    size = path.stat().st_size
    if progress is not None:
        progress.reset(total=size)
        progress.update(start)
    batch: list[bytes] = []
    last = start
    for raw, offset in iter_mbox(path, start):
        batch.append(raw)
        if len(batch) >= BATCH:
            yield batch, key, offset, offset - last
            last, batch = offset, []
    if batch:
        yield batch, key, size, size - last


def _maildir_batches(path: Path, progress) -> Iterator[tuple]:
    box = mailbox.Maildir(str(path), factory=None, create=False)
    keys = sorted(box.keys())
    if progress is not None:
        progress.reset(total=len(keys))
    for start in range(0, len(keys), BATCH):
        chunk = [box.get_bytes(k) for k in keys[start : start + BATCH]]
        yield chunk, None, None, len(chunk)


def _parsed(batches, settings: Settings, loop_id: str, workers: int) -> Iterator[tuple]:
    """The batches parsed, in order: here, or by `workers` processes a few batches ahead
    (parsing is nearly all of an import's time; the archive is written by this process)."""
    if workers <= 1:
        for raws, key, offset, done in batches:
            yield [_parse(raw, settings, loop_id) for raw in raws], key, offset, done
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_start, initargs=(settings, loop_id)
    )
    try:
        pending: deque = deque()
        for raws, key, offset, done in batches:
            pending.append((pool.submit(_parse_batch, raws), key, offset, done))
            if len(pending) > 2 * workers:
                future, *rest = pending.popleft()
                yield future.result(), *rest
        while pending:
            future, *rest = pending.popleft()
            yield future.result(), *rest
    finally:
        pool.shutdown(cancel_futures=True)


_WORKER: dict = {}


def _worker_start(settings: Settings, loop_id: str) -> None:
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # it warns per unusual part
    _WORKER.update(settings=settings, loop_id=loop_id)


def _parse_batch(raws: list[bytes]) -> list:
    return [_parse(raw, _WORKER["settings"], _WORKER["loop_id"]) for raw in raws]


def _ingest_batch(db, settings, parsed, now, loop_id, report, key, offset) -> None:
    with write_transaction(db), indexed_in_bulk(db):
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
            write_meta(db, key, str(offset))


def _ingest_or_quarantine(db, settings: Settings, msg, now, loop_id: str) -> IngestResult:
    """One message that cannot be archived normally must not stop the import."""
    try:
        return ingest_message(db, msg, settings, now)
    except sqlite3.OperationalError:
        raise  # the archive's trouble, not this message's
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    plain = plain_form(msg, f"quarantined: {error}", settings, loop_id)
    with write_transaction(db):
        result = quarantine(db, plain, settings, now, error)
        record_delivery(db, plain, now, None, None, message_pk=result.message_pk, error=error)
    log.error("imported message quarantined as message %d: %s", result.message_pk, error)
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
