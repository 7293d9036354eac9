"""Full-text search over the archive, and an online backup of it."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from archive.private_files import create_private_file, make_private_folders

WORD_RE = re.compile(r"[\w@.+-]+", re.UNICODE)


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must appear (quoted, so no syntax)."""
    words = WORD_RE.findall(text)
    if not words:
        raise ValueError("the query has no words to search for")
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def search_messages(db: Database, text: str, limit: int = 50) -> list[dict]:
    rows = db.execute(
        "SELECT m.message_id, c.ref, m.direction, m.kind, m.from_addr, m.subject, m.archived_at,"
        " snippet(messages_fts, 2, '[', ']', ' … ', 12)"
        " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
        " LEFT JOIN cases c ON c.id = m.case_pk"
        " WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
        [fts_query(text), limit],
    )
    keys = ("message_id", "case", "direction", "kind", "from", "subject", "at", "snippet")
    return [dict(zip(keys, row, strict=True)) for row in rows]


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
