"""Finding the case a message belongs to by its references or its subject tag (the caller picks
the order; a reply address's token is looked up in archive/record/cases.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, UnknownCaseError, find_case, find_case_tag, get_case
from archive.record.models import IncomingMessage


def case_by_references(db: Database, msg: IncomingMessage) -> Case | None:
    """The case of the nearest referenced message casebook archived or sent."""
    candidates = [msg.in_reply_to] if msg.in_reply_to else []
    candidates += [ref for ref in reversed(msg.references) if ref != msg.in_reply_to]
    for message_id in candidates:
        row = db.execute(
            "SELECT case_pk FROM messages WHERE message_id = ? AND case_pk IS NOT NULL"
            " UNION ALL SELECT case_pk FROM outbox WHERE message_id = ? AND case_pk IS NOT NULL"
            " UNION ALL SELECT o.case_pk FROM outbox_sends s JOIN outbox o ON o.id = s.outbox_pk"
            " WHERE s.message_id = ? AND o.case_pk IS NOT NULL LIMIT 1",
            [message_id, message_id, message_id],
        ).fetchone()
        if row:
            return get_case(db, row[0])
    return None


def case_by_tag(db: Database, msg: IncomingMessage, prefix: str) -> Case | None:
    ref = msg.subject_tag or find_case_tag(msg.subject, prefix)
    if not ref:
        return None
    try:
        return find_case(db, ref)
    except UnknownCaseError:
        return None
