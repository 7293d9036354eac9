"""Full-text search over the archive, and an online backup of it."""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.private_files import create_private_file, make_private_folders

WORD_RE = re.compile(r"[\w@.+-]+", re.UNICODE)


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must appear (quoted, so no syntax)."""
    words = WORD_RE.findall(text)
    if not words:
        raise ValueError("the query has no words to search for")
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


# A word matching more messages than this is ranked among the newest RANK_POOL of them: bm25
# costs about a microsecond per match, and a word in a fifth of the archive ranks poorly anyway.
RANK_POOL = 5000
SNIPPET_TOKENS = 12
TOKEN_RE = re.compile(r"[^\W_]+")  # as FTS5's unicode61 tokenizer: "_" separates


def search_messages(db: Database, text: str, limit: int = 50) -> tuple[list[dict], int]:
    """The best `limit` matches, each dated by its own Date header (its arrival when that is
    missing or unreadable), and how many messages match in all.

    Ranked by bm25 in the full-text index alone (nothing joined, no snippet), over every match
    or, when more than RANK_POOL messages match, over the newest RANK_POOL of them (by
    archive order; the scores are the same, only the candidates are fewer). Then only the
    page shown is joined and has its snippet made.
    """
    query = fts_query(text)
    best, total = _best_ranked(db, query, limit)
    if not best:
        return [], total
    rows = db.execute(
        "SELECT m.id, m.message_id, c.ref, m.direction, m.kind, m.from_addr, m.subject, m.date,"
        " COALESCE((SELECT MIN(d.received_at) FROM deliveries d WHERE d.message_pk = m.id),"
        " m.archived_at), m.archived_at, m.body_text"
        " FROM messages m LEFT JOIN cases c ON c.id = m.case_pk"
        f" WHERE m.id IN ({','.join('?' * len(best))})",
        best,
    )
    words = WORD_RE.findall(text)
    found = {
        row[0]: {
            "message_id": row[1],
            "case": row[2],
            "direction": row[3],
            "kind": row[4],
            "from": row[5],
            "subject": row[6],
            "at": message_date(row[7], row[8]),
            "archived_at": row[9],
            "snippet": snippet_of(row[10] or "", words),
        }
        for row in rows
    }
    for pk, hit in found.items():
        if hit["snippet"] is None:  # the words are not in the text as written: ask the index
            hit["snippet"] = db.execute(
                "SELECT snippet(messages_fts, 2, '[', ']', ' … ', ?) FROM messages_fts"
                " WHERE messages_fts MATCH ? AND rowid = ?",
                [SNIPPET_TOKENS, query, pk],
            ).fetchone()[0]
    return [found[pk] for pk in best if pk in found], total


def _best_ranked(db: Database, query: str, limit: int) -> tuple[list[int], int]:
    """The pks of the `limit` best matches by bm25 (among the newest RANK_POOL when more
    match), and how many match in all."""
    total = db.execute(
        "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?", [query]
    ).fetchone()[0]
    floor = 0
    if total > RANK_POOL:
        floor = db.execute(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            [query, RANK_POOL - 1],
        ).fetchone()[0]
    best = [
        row[0]
        for row in db.execute(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? AND rowid >= ?"
            " ORDER BY bm25(messages_fts) LIMIT ?",
            [query, floor, limit],
        )
    ]
    return best, total


def snippet_of(text: str, words: list[str]) -> str | None:
    """About SNIPPET_TOKENS words of `text` around the first place where most of `words` are
    found close together (as whole words, any case), each found word marked `[word]`, with
    ` … ` where text was left out, as
    FTS5's snippet() writes it; None when no word is found as written (the index folds
    diacritics, for one), for the caller to ask FTS5. Only the text near the match is read:
    snippet() tokenizes the whole message, 12 ms for the 50 longest hits of one search."""
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    found = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)
    wanted = len({w.lower() for w in words})
    matches = itertools.islice(found.finditer(text), 1000)  # lazily: most stop at the first
    ahead = list(itertools.islice(matches, 3 * wanted))
    if not ahead:
        return None
    first, most = ahead[0], 0
    while ahead:  # the first place where most of the words are close together
        close = {m.group(0).lower() for m in ahead if m.start() - ahead[0].start() < 50}
        if len(close) > most:
            first, most = ahead[0], len(close)
        if most == wanted:
            break
        ahead = ahead[1:] + list(itertools.islice(matches, 1))
    near = max(0, first.start() - 200)
    tokens = [
        t
        for t in TOKEN_RE.finditer(text, near, first.end() + 400)
        if t.start() > near or near == 0 or not text[near - 1].isalnum()
    ]
    at = next((i for i, t in enumerate(tokens) if t.end() > first.start()), 0)
    window = tokens[max(0, at - 3) : max(0, at - 3) + SNIPPET_TOKENS]
    start = min(window[0].start(), first.start()) if window else first.start()
    end = max(window[-1].end(), first.end()) if window else first.end()
    marked = found.sub(lambda m: f"[{m.group(0)}]", text[start:end])
    before = " … " if text[:start].strip() else ""
    after = " … " if text[end:].strip() else ""
    return f"{before}{marked}{after}"


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
