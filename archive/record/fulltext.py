"""The search index's writers (`messages_fts`, read by archive.record.search).

Incoming mail is indexed as it is archived, by the insert trigger (m018). What is written in
bulk is indexed in bulk, one statement per batch, which costs half as much as a trigger run
per message: the sender's copies when its chunk ends (`index_sent_copies`), an import's
messages when its batch ends (`indexed_in_bulk`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.db import write_transaction

TRIGGER = "messages_fts_insert"
COLUMNS = "subject, from_addr, body_text"


def index_sent_copies(db: Database) -> int:
    """Index the copies recorded since the last call, in one commit; the count.

    Called when a sending chunk ends; copies recorded before a crash are indexed by the next.
    `fts_outgoing_through` is the highest message row whose outgoing copy is indexed;
    messages are never deleted, so the outgoing rows above it are exactly those still to do.
    """
    with write_transaction(db):
        (through,) = db.execute(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_outgoing_through'"
        ).fetchone()
        highest = db.execute(
            "SELECT MAX(id) FROM messages WHERE id > ? AND direction = 'out'", [through]
        ).fetchone()[0]
        if highest is None:
            return 0
        cursor = db.execute(
            f"INSERT INTO messages_fts (rowid, {COLUMNS}) SELECT id, {COLUMNS} FROM messages"
            " WHERE id > ? AND id <= ? AND direction = 'out'",
            [through, highest],
        )
        db.execute("UPDATE meta SET value = ? WHERE key = 'fts_outgoing_through'", [str(highest)])
        return cursor.rowcount


@contextlib.contextmanager
def indexed_in_bulk(db: Database) -> Iterator[None]:
    """Inside one write transaction: the incoming messages archived within are indexed in one
    statement at the end instead of one by one by the trigger.

    The trigger is dropped and created again within the transaction, so no other connection
    ever sees the archive without it; if the block fails, the rollback that follows restores
    it with everything else.
    """
    if not db.conn.in_transaction:
        raise RuntimeError("indexed_in_bulk needs the caller's write transaction")
    (trigger,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [TRIGGER]
    ).fetchone()
    (before,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
    db.execute(f"DROP TRIGGER {TRIGGER}")
    yield
    # The rows the trigger would have indexed: incoming ones (its WHEN), all of them new.
    db.execute(
        f"INSERT INTO messages_fts (rowid, {COLUMNS}) SELECT id, {COLUMNS} FROM messages"
        " WHERE id > ? AND direction = 'in'",
        [before],
    )
    db.execute(trigger)
