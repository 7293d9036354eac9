"""Full-text search over the archive, and an online backup of it."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.private_files import create_private_file, make_private_folders

WORD_RE = re.compile(r"[\w@.+-]+", re.UNICODE)


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must appear (quoted, so no syntax)."""
    words = WORD_RE.findall(text)
    if not words:
        raise ValueError("the query has no words to search for")
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def search_messages(db: Database, text: str, limit: int = 50) -> tuple[list[dict], int]:
    """The best `limit` matches, each dated by its own Date header (its arrival when that is
    missing or unreadable), and how many messages match in all.

    Ranked in the full-text index alone first (bm25 over every match, nothing joined, no
    snippet), then only the page shown is joined and has its snippet made: a common word
    matches tens of thousands of messages, and a snippet reads a message's whole text.
    """
    query = fts_query(text)
    total = db.execute(
        "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?", [query]
    ).fetchone()[0]
    best = [
        row[0]
        for row in db.execute(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
            [query, limit],
        )
    ]
    if not best:
        return [], total
    rows = db.execute(
        "SELECT m.id, m.message_id, c.ref, m.direction, m.kind, m.from_addr, m.subject, m.date,"
        " COALESCE((SELECT MIN(d.received_at) FROM deliveries d WHERE d.message_pk = m.id),"
        " m.archived_at), m.archived_at, snippet(messages_fts, 2, '[', ']', ' … ', 12)"
        " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
        " LEFT JOIN cases c ON c.id = m.case_pk"
        f" WHERE messages_fts MATCH ? AND messages_fts.rowid IN ({','.join('?' * len(best))})",
        [query, *best],
    )
    found = {
        row[0]: {"message_id": row[1], "case": row[2], "direction": row[3], "kind": row[4],
                 "from": row[5], "subject": row[6], "at": message_date(row[7], row[8]),
                 "archived_at": row[9], "snippet": row[10]}
        for row in rows
    }  # fmt: skip
    return [found[pk] for pk in best if pk in found], total


def message_date(header: str | None, arrival: str) -> str:
    """A message's own Date header as UTC ISO 8601; its arrival if there is none to read."""
    try:
        when = parsedate_to_datetime(header or "")
    except (TypeError, ValueError, IndexError, OverflowError):
        return arrival
    if when.tzinfo is None:  # RFC 5322's -0000: the zone is unknown; UTC is the best guess
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC).isoformat()
    except (ValueError, OverflowError):
        return arrival


def backup_archive(db: Database, target: Path) -> int:
    """A consistent copy of the live archive (SQLite's online backup); its size in bytes."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file")
    make_private_folders(target.parent)
    try:
        os.close(create_private_file(target))  # SQLite keeps the mode of the file it finds
    except FileExistsError:
        raise FileExistsError(f"{target} exists; choose a new file") from None
    try:
        copy = sqlite3.connect(str(target))
        try:
            db.conn.backup(copy)
        finally:
            copy.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target.stat().st_size
