"""A message's identity: the same Message-ID is the same message only when the content agrees.

SPEC §2.1: copies of one message differ only in trace headers, a list's subject prefix or its
footer. A different message that reuses an ID (a script that always sends the same one, or
someone hoping to have a report dropped as a duplicate) is kept as a new message under an ID
derived from its bytes, and the collision is recorded as a defect.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.models import IncomingMessage, RouteKind

LIST_PREFIX_RE = re.compile(r"^\s*\[[^\]]*\]\s*")


PASSIVE_KINDS = ("list", "unrouted", "list-held")  # archived, acted on by nobody
ACTING_ROUTES = (RouteKind.REPORT, RouteKind.APPEAL, RouteKind.REPLY)


def find_same_message(db: Database, msg: IncomingMessage) -> tuple | None:
    """The archived (id, kind, case_pk, held_reason) of this very message, if any."""
    rows = db.execute(
        "SELECT id, kind, case_pk, held_reason, from_addr, subject, date, body_text"
        " FROM messages WHERE direction = 'in' AND (message_id = ? OR claimed_id = ?)",
        [msg.message_id, msg.message_id],
    ).fetchall()
    copies = [row[:4] for row in rows if same_content(row[4], row[5], row[6], row[7], msg)]
    # The copy that was acted on, if one was: a later delivery is a duplicate of that one.
    copies.sort(key=lambda row: row[1] in PASSIVE_KINDS and row[2] is None)
    return copies[0] if copies else None


def reaches_further(row: tuple, msg: IncomingMessage) -> bool:
    """A copy of a message archived as list traffic (or for no address of ours) that now
    arrives at an address that acts: a reporter who Cc'd the list, the list's copy first.
    This copy is not a duplicate: it is the report, and must not be lost behind the first."""
    kind, case_pk = row[1], row[2]
    return kind in PASSIVE_KINDS and case_pk is None and msg.route.kind in ACTING_ROUTES


def claims_taken_id(db: Database, msg: IncomingMessage) -> bool:
    row = db.execute("SELECT 1 FROM messages WHERE message_id = ?", [msg.message_id]).fetchone()
    return row is not None


def with_own_id(db: Database, msg: IncomingMessage, defect: str | None = None) -> IncomingMessage:
    """The message under an ID of its own, remembering the one it claimed.

    The ID comes from the bytes, and is numbered when taken: the same bytes may already be
    archived under it (a copy first held at the list address, now at the reports address).
    """
    own = free_id(db, f"dup-{msg.content_key[:32]}")
    defect = defect or f"Message-ID {msg.message_id} was already used by a different message"
    return dataclasses.replace(
        msg, message_id=own, claimed_id=msg.message_id, defects=(*msg.defects, defect)
    )


def free_id(db: Database, stem: str) -> str:
    """`<stem@casebook.invalid>`, or the first `<stem-N@casebook.invalid>` no message holds."""
    own, number = f"<{stem}@casebook.invalid>", 1
    while db.execute("SELECT 1 FROM messages WHERE message_id = ?", [own]).fetchone():
        number += 1
        own = f"<{stem}-{number}@casebook.invalid>"
    return own


def same_content(
    from_addr: str | None,
    subject: str | None,
    date: str | None,
    body: str | None,
    msg: IncomingMessage,
) -> bool:
    """True when `msg` is a copy of the archived message these columns describe."""
    if (from_addr or "").lower() != (msg.from_addr or "").lower():
        return False
    if _squeeze(date) != _squeeze(msg.date):
        return False
    if not _subjects_agree(subject or "", msg.subject):
        return False
    return _bodies_agree(body or "", msg.text)


def _squeeze(text: str | None) -> str:
    return " ".join((text or "").split())


def _strip_prefixes(subject: str) -> str:
    """Without leading bracketed tags: a list's `[list-name]` and the case tag alike."""
    while True:
        stripped = LIST_PREFIX_RE.sub("", subject, count=1)
        if stripped == subject:
            return _squeeze(subject)
        subject = stripped


def _subjects_agree(stored: str, incoming: str) -> bool:
    return _strip_prefixes(stored) == _strip_prefixes(incoming)


def _bodies_agree(stored: str, incoming: str) -> bool:
    """Equal, or one is the other plus a footer."""
    a, b = _squeeze(stored), _squeeze(incoming)
    return a.startswith(b) if len(a) >= len(b) else b.startswith(a)
