"""Two lanes through the spool: a big message never keeps an acknowledgement waiting.

Pure rules, then the two queries that apply them to the spool; `casebook.serve` runs one
worker per lane. Spooled mail of `BIG_MESSAGE` bytes or more takes the big lane, one
message at a time; everything else takes the small lane, in arrival order, while a big one
is being processed.

Order still holds where it matters: a small message that answers a big one still spooled
(its In-Reply-To or References name the big one's Message-ID) waits for it, so a follow-up
is never read before the report it follows; and a big message waits for the small ones that
came before it. Each waits only for mail that came earlier, so no two wait for each other.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime

from archive.record.timestamps import to_text, utc_now

BIG_MESSAGE = 1024 * 1024  # bytes
SMALL, BIG = "small", "big"
HEAD_SCAN = 65536  # bytes of a message searched for its header block
DUE = "(retry_at IS NULL OR retry_at <= ?)"  # a spooled row not waiting for a later retry

_BLANK_LINE_RE = re.compile(rb"\r?\n\r?\n")
_ID_RE = re.compile(rb"<[^<>\s]{1,500}>")


def lane_of(size: int) -> str:
    return BIG if size >= BIG_MESSAGE else SMALL


def _header(head: bytes, name: bytes) -> bytes:
    """A header's value, unfolded (the first of that name); empty when missing."""
    found = re.search(rb"(?im)^" + name + rb":((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)", head)
    return found.group(1) if found else b""


def _head(raw: bytes) -> bytes:
    blank = _BLANK_LINE_RE.search(raw, 0, HEAD_SCAN)
    return raw[: blank.start() if blank else HEAD_SCAN]


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID a message carries, read leniently from its header block."""
    found = _ID_RE.search(_header(_head(raw), b"message-id"))
    return found.group(0).decode("ascii", "replace") if found else None


def answered_ids(raw: bytes) -> set[str]:
    """The Message-IDs a message answers (its In-Reply-To and References)."""
    head = _head(raw)
    values = _header(head, b"in-reply-to") + b" " + _header(head, b"references")
    return {found.decode("ascii", "replace") for found in _ID_RE.findall(values)}


def waits_for_big(spool_id: int, raw: bytes, big: dict[str, int]) -> bool:
    """Whether a small message answers a big one spooled before it (`big`: Message-ID to
    spool id of every big message still spooled)."""
    return any(big.get(answered, spool_id) < spool_id for answered in answered_ids(raw))


# -- the spool's rows, by lane ------------------------------------------------------------------


def lane_due(
    conn: sqlite3.Connection, lane: str, now: datetime | None, limit: int = 1
) -> list[int]:
    """The ids of the rows `lane` may take now, oldest first (at most `limit`; the big lane
    takes one at a time)."""
    due_at = to_text(now or utc_now())
    if lane == BIG:  # the oldest big one, once no small one due came before it
        rows = conn.execute(
            f"SELECT id FROM spooled AS b WHERE {DUE} AND length(raw) >= ? AND NOT EXISTS"
            f" (SELECT 1 FROM spooled WHERE id < b.id AND {DUE} AND length(raw) < ?)"
            " ORDER BY id LIMIT 1",
            [due_at, BIG_MESSAGE, due_at, BIG_MESSAGE],
        )
        return [row[0] for row in rows]
    assert lane == SMALL, lane
    # Every big message still spooled, by Message-ID (the earliest of each wins).
    big_rows = conn.execute(
        "SELECT message_id, id FROM spooled WHERE length(raw) >= ? AND message_id IS NOT NULL"
        " ORDER BY id DESC",
        [BIG_MESSAGE],
    )
    big = dict(big_rows.fetchall())
    taken: list[int] = []
    rows = conn.execute(
        f"SELECT id, raw FROM spooled WHERE {DUE} AND length(raw) < ? ORDER BY id",
        [due_at, BIG_MESSAGE],
    )
    for spool_id, raw in rows:
        if len(taken) >= limit:
            break
        if not waits_for_big(spool_id, raw, big):
            taken.append(spool_id)
    return taken


def lane_has_work(conn: sqlite3.Connection, lane: str, now: datetime) -> bool:
    """Whether `lane` may take a row now (the small lane takes the flood notes too)."""
    if lane == SMALL and conn.execute("SELECT 1 FROM floods LIMIT 1").fetchone():
        return True
    return bool(lane_due(conn, lane, now))
