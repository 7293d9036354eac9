"""The durable spool: raw bytes are committed (WAL, synchronous=FULL) before the SMTP 250.

The spool is its own small SQLite file, so the SMTP edge never waits for the worker's archive
transactions. Concurrent sessions share commits: one writer thread takes every message
waiting, inserts them all and commits once (group commit), so 20 sessions pay for one fsync.
Rows leave the spool once the archive holds them (see `intake.process`).

Each row carries a random `delivery_key`, the name the archive records it under. Row ids
restart at 1 in a fresh spool file, so they cannot say whether a restored or older archive
already holds a row; a UUID per delivery can.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archive.record.db import ArchiveUnavailable, connect_durable, disk_full
from archive.record.settings import Settings
from archive.record.timestamps import from_text, to_text, utc_now
from intake.lanes import DUE, message_id_of
from intake.limits import Flood

log = logging.getLogger(__name__)
MAX_BATCH = 256
BATCH_BYTES = 4 * 1024 * 1024  # a batch takes no more after this: small mail never waits
# for the fsync of several big messages committed together
SPOOL_FILE = "spool.db"


@dataclass(frozen=True)
class Arrival:
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    transport: str
    received_at: datetime


@dataclass(frozen=True)
class Spooled:
    spool_id: int
    key: str  # the delivery's identity in the archive (`deliveries.spool_key`)
    arrival: Arrival
    attempts: int = 0  # processing attempts that failed so far


class SpoolClosed(ArchiveUnavailable):
    """The writer takes no more mail (intake is stopping); the reason was logged once."""


def spool_path(settings: Settings) -> Path:
    return Path(settings.spool) / SPOOL_FILE


def open_spool(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the spool database."""
    try:
        conn = connect_durable(path)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS spooled (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " received_at TEXT NOT NULL, transport TEXT NOT NULL, envelope_from TEXT NOT NULL,"
            " envelope_to TEXT NOT NULL, raw BLOB NOT NULL)"
        )
        upgrade_spool(conn)
        # Floods the SMTP edge refused (`intake/limits.py`), until the worker has told the
        # committee (`archive/arrivals/floods.py`); the archive remembers each by its key.
        conn.execute(
            "CREATE TABLE IF NOT EXISTS floods (id INTEGER PRIMARY KEY, flood_key TEXT NOT NULL"
            " UNIQUE, address_class TEXT NOT NULL, reason TEXT NOT NULL, sender TEXT NOT NULL,"
            " started_at TEXT NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS imap_state (mailbox TEXT PRIMARY KEY,"
            " uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL)"
        )
    except (sqlite3.Error, OSError) as exc:
        raise ArchiveUnavailable(f"cannot open the spool {path}: {exc}") from exc
    return conn


# Columns spool files gained after the first release; every spool file gets them on open.
LATER_COLUMNS = {
    "delivery_key": "TEXT",  # the delivery's name in the archive
    "attempts": "INTEGER NOT NULL DEFAULT 0",  # processing attempts that failed
    "retry_at": "TEXT",  # not to be tried again before this
    "last_error": "TEXT",
    "message_id": "TEXT",  # as it came: a small reply waits for the big mail it answers
}


def upgrade_spool(conn: sqlite3.Connection) -> None:
    """Give a spool file from an older casebook the columns and index this one needs.

    Rows from before delivery keys are named `spool-id:N`, as the archive's migration names the
    deliveries it recorded by row id, so a row ingested but not yet released is still known.
    """
    if _missing_columns(conn) == {} and _has_key_index(conn):
        return
    conn.execute("BEGIN IMMEDIATE")  # another process may be upgrading the same file
    try:
        missing = _missing_columns(conn)
        for name, declaration in missing.items():
            conn.execute(f"ALTER TABLE spooled ADD COLUMN {name} {declaration}")
        if "delivery_key" in missing:
            conn.execute("UPDATE spooled SET delivery_key = 'spool-id:' || id")
        conn.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS spooled_delivery_key ON spooled (delivery_key)"
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _missing_columns(conn: sqlite3.Connection) -> dict[str, str]:
    present = {row[1] for row in conn.execute("PRAGMA table_info(spooled)")}
    return {name: kind for name, kind in LATER_COLUMNS.items() if name not in present}


def _has_key_index(conn: sqlite3.Connection) -> bool:
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(spooled)")}
    return "spooled_delivery_key" in indexes


def new_delivery_key() -> str:
    return str(uuid.uuid4())


def spool_arrivals(
    conn: sqlite3.Connection,
    arrivals: list[Arrival],
    also: tuple[str, list] | None = None,
) -> list[int]:
    """Insert arrivals in one committed transaction; their spool ids.

    `also` is one more statement committed with them (a poller's progress), so what was
    fetched and how far the poller got are on disk together or not at all.
    """
    ids = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for arrival in arrivals:
            cursor = conn.execute(
                "INSERT INTO spooled (received_at, transport, envelope_from, envelope_to, raw,"
                " delivery_key, message_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    to_text(arrival.received_at),
                    arrival.transport,
                    arrival.envelope_from,
                    json.dumps(list(arrival.envelope_to)),
                    arrival.raw,
                    new_delivery_key(),
                    message_id_of(arrival.raw),
                ],
            )
            ids.append(cursor.lastrowid)
        if also is not None:
            conn.execute(*also)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return ids


def spool_floods(conn: sqlite3.Connection, floods: list[Flood]) -> None:
    """Record floods in one committed transaction (the same key twice is one flood)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT OR IGNORE INTO floods (flood_key, address_class, reason, sender, started_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(f.key, f.address_class, f.reason, f.sender, to_text(f.started_at)) for f in floods],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def read_floods(conn: sqlite3.Connection) -> list[tuple[int, Flood]]:
    """Floods the committee has not been told of yet, oldest first, with their row ids."""
    rows = conn.execute(
        "SELECT id, flood_key, address_class, reason, sender, started_at FROM floods ORDER BY id"
    ).fetchall()
    return [(pk, Flood(key, cls, why, who, from_text(at))) for pk, key, cls, why, who, at in rows]


def release_floods(conn: sqlite3.Connection, ids: list[int]) -> None:
    """Forget floods the archive now holds."""
    conn.executemany("DELETE FROM floods WHERE id = ?", [(pk,) for pk in ids])


ROW_COLUMNS = "id, delivery_key, received_at, transport, envelope_from, envelope_to, raw, attempts"


def read_spooled(
    conn: sqlite3.Connection,
    limit: int,
    now: datetime | None = None,
    *,
    ids: list[int] | None = None,
) -> list[Spooled]:
    """The oldest rows, leaving out those waiting to be retried after `now`; with `ids`,
    those rows (what a lane may take now, `intake.lanes`)."""
    if ids is None:
        rows = conn.execute(
            f"SELECT {ROW_COLUMNS} FROM spooled WHERE {DUE} ORDER BY id LIMIT ?",
            [to_text(now or utc_now()), limit],
        ).fetchall()
    else:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT {ROW_COLUMNS} FROM spooled WHERE id IN ({marks}) ORDER BY id", list(ids)
        ).fetchall()
    return [
        Spooled(
            pk, key, Arrival(raw, sender, tuple(json.loads(to)), transport, from_text(at)), tries
        )
        for pk, key, at, transport, sender, to, raw, tries in rows
    ]


def defer_spooled(conn: sqlite3.Connection, spool_id: int, error: str, retry_at: datetime) -> None:
    """Processing failed: count the attempt and try again at `retry_at`."""
    conn.execute(
        "UPDATE spooled SET attempts = attempts + 1, retry_at = ?, last_error = ? WHERE id = ?",
        [to_text(retry_at), error[:500], spool_id],
    )


def count_spooled(
    conn: sqlite3.Connection, due_at: datetime | None = None, *, floods: bool = False
) -> int:
    """Rows waiting; with `due_at`, only those not waiting for a later retry; with `floods`,
    flood notes waiting too."""
    if floods:
        waiting = conn.execute("SELECT COUNT(*) FROM floods").fetchone()[0]
        return waiting + count_spooled(conn, due_at)
    if due_at is None:
        return conn.execute("SELECT COUNT(*) FROM spooled").fetchone()[0]
    return conn.execute(
        "SELECT COUNT(*) FROM spooled WHERE retry_at IS NULL OR retry_at <= ?", [to_text(due_at)]
    ).fetchone()[0]


def release_spooled(conn: sqlite3.Connection, spool_ids: list[int]) -> None:
    """Forget rows the archive now holds."""
    if not spool_ids:
        return
    marks = ",".join("?" * len(spool_ids))
    conn.execute(f"DELETE FROM spooled WHERE id IN ({marks})", spool_ids)


def full_disk_hint(exc: BaseException, path: Path) -> str:
    """What to do when a spool write failed for want of space ("" for any other failure)."""
    full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    if not (full or (isinstance(exc, sqlite3.OperationalError | OSError) and disk_full(path))):
        return ""
    return (
        f" (disk full: answered 451, so the senders keep the mail and retry; free space"
        f" in {Path(path).parent})"
    )


class SpoolWriter:
    """A writer thread with group commit; `store` resolves once the bytes are on disk.

    `store` never waits on a writer that cannot answer: once `refuse` was called, or the
    thread died, it fails at once (the SMTP edge answers 451) and `on_failure` is told.
    """

    def __init__(
        self,
        path: Path,
        on_stored: Callable[[], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ):
        self.path = path
        self.on_stored = on_stored
        self.on_failure = on_failure
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._lock = threading.Lock()  # orders `store`'s check-then-queue with a refusal
        self._refusal: str | None = None
        self._batch: list = []
        self.conn: sqlite3.Connection | None = None

    def start(self) -> None:
        self.conn = open_spool(self.path)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        if self.conn is not None:
            self.conn.close()

    def note_flood(self, flood: Flood) -> None:
        """Record a flood for the worker (written by the writer thread; nobody waits)."""
        with self._lock:
            if self._refusal is None:
                self._queue.put((flood, None, None))

    def refuse(self, reason: str) -> None:
        """From now on every `store` fails at once; what is queued already is still written."""
        with self._lock:
            self._refusal = self._refusal or reason

    async def store(
        self,
        raw: bytes,
        envelope_from: str,
        envelope_to: tuple[str, ...],
        transport: str,
        received_at: datetime | None = None,
    ) -> int:
        """`received_at` defaults to now (the web form passes it to the minute)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        arrival = Arrival(raw, envelope_from, envelope_to, transport, received_at or utc_now())
        with self._lock:
            if self._refusal is not None:
                raise SpoolClosed(self._refusal)
            self._queue.put((arrival, future, loop))
        return await future

    def _run(self) -> None:
        try:
            self._write_batches()
        except BaseException as exc:  # never die silently: answer everyone waiting, then say so
            log.exception("the spool writer stopped")
            reason = f"the spool writer stopped: {exc!r}"
            self.refuse(reason)
            self._fail_waiting(ArchiveUnavailable(reason))
            if self.on_failure:
                self.on_failure(reason)

    def _write_batches(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            self._batch = [first]
            size = _size(first)
            while len(self._batch) < MAX_BATCH and size < BATCH_BYTES:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                self._batch.append(item)
                size += _size(item)
            self._commit(self._batch)
            self._batch = []

    def _fail_waiting(self, error: Exception) -> None:
        """Settle the batch in hand and everything queued with `error` (after a refusal)."""
        waiting = list(self._batch)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                waiting.append(item)
        for _, future, loop in waiting:
            if future is None:  # a flood note: nobody waits for it
                continue
            with contextlib.suppress(RuntimeError):  # that session's loop has closed
                loop.call_soon_threadsafe(_settle, future, None, error)

    def _commit(self, batch: list) -> None:
        floods = [item for item, _, _ in batch if isinstance(item, Flood)]
        if floods:
            batch = [entry for entry in batch if not isinstance(entry[0], Flood)]
            try:
                spool_floods(self.conn, floods)
            except Exception as exc:  # only the alert is lost; the limits still hold
                log.error("could not record a flood in the spool: %s", exc)
            if not batch:
                self._wake()
                return
        try:
            ids = spool_arrivals(self.conn, [arrival for arrival, _, _ in batch])
        except Exception as exc:  # any storage failure becomes a 451 for each waiting session
            log.error(
                "spool write failed for %d message(s): %s%s",
                len(batch),
                exc,
                full_disk_hint(exc, self.path),
            )
            for _, future, loop in batch:
                loop.call_soon_threadsafe(_settle, future, None, exc)
            return
        for (_, future, loop), pk in zip(batch, ids, strict=True):
            loop.call_soon_threadsafe(_settle, future, pk, None)
        self._wake()

    def _wake(self) -> None:
        if self.on_stored:
            try:
                self.on_stored()
            except Exception:  # the mail is stored; a lost wake-up waits for the next sweep
                log.exception("could not wake the worker after a spool commit")


def _size(item: tuple) -> int:
    return len(item[0].raw) if isinstance(item[0], Arrival) else 0


def _settle(future: asyncio.Future, result, error) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
