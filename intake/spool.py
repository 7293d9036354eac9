"""The durable spool: raw bytes are committed (WAL, synchronous=FULL) before the SMTP 250.

Concurrent sessions share commits: one writer thread takes every message waiting, inserts them
all and commits once, so 20 sessions pay for one fsync instead of 20 (group commit).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from archive.clock import to_text, utc_now
from archive.db import open_archive, write_transaction

log = logging.getLogger(__name__)
MAX_BATCH = 256


@dataclass(frozen=True)
class Arrival:
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    transport: str
    received_at: datetime


def spool_arrivals(db: Database, arrivals: list[Arrival]) -> list[int]:
    """Insert arrivals as spooled deliveries in one committed transaction; their row ids."""
    ids = []
    with write_transaction(db):
        for arrival in arrivals:
            cursor = db.execute(
                "INSERT INTO deliveries (received_at, transport, envelope_from, envelope_to,"
                " size, sha256, raw) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    to_text(arrival.received_at),
                    arrival.transport,
                    arrival.envelope_from,
                    json.dumps(list(arrival.envelope_to)),
                    len(arrival.raw),
                    hashlib.sha256(arrival.raw).hexdigest(),
                    arrival.raw,
                ],
            )
            ids.append(cursor.lastrowid)
    return ids


class SpoolWriter:
    """A writer thread with group commit; `store` resolves once the bytes are on disk."""

    def __init__(self, database: Path, on_stored: Callable[[], None] | None = None):
        self.database = database
        self.on_stored = on_stored
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._db: Database | None = None

    def start(self) -> None:
        self._db = open_archive(self.database)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        if self._db is not None:
            self._db.close()

    async def store(self, raw: bytes, envelope_from: str, envelope_to: tuple[str, ...],
                    transport: str) -> int:  # fmt: skip
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        arrival = Arrival(raw, envelope_from, envelope_to, transport, utc_now())
        self._queue.put((arrival, future, loop))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list) -> None:
        try:
            ids = spool_arrivals(self._db, [arrival for arrival, _, _ in batch])
        except Exception as exc:  # any storage failure becomes a 451 for each waiting session
            log.error("spool write failed for %d message(s): %s", len(batch), exc)
            for _, future, loop in batch:
                loop.call_soon_threadsafe(_settle, future, None, exc)
            return
        for (_, future, loop), pk in zip(batch, ids, strict=True):
            loop.call_soon_threadsafe(_settle, future, pk, None)
        if self.on_stored:
            self.on_stored()


def _settle(future: asyncio.Future, result, error) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
