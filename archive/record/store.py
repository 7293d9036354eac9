"""Writing incoming messages into the archive, and holding the ones casebook must not act on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, Party
from archive.record.models import IncomingMessage
from archive.record.timestamps import to_text


@dataclass(frozen=True)
class Binding:
    """How a message reached its case, as far as signed headers or tokens prove it."""

    via_party: Party | None = None  # the reply-address party it was sent to, if any
    signed_case: Case | None = None  # the case its subject tag or references name


@dataclass(frozen=True)
class IngestResult:
    message_pk: int
    duplicate: bool
    kind: str
    case_ref: str | None = None
    held_reason: str | None = None
    commands: str | None = None  # "applied" or "refused" when the message's commands ran
    refusal: str | None = None  # the class of why they were refused (the audit log has why)
    guard_held: tuple[tuple[int, str], ...] = ()  # (outbox item, template) the leak guard held


def store_message(
    db: Database,
    msg: IncomingMessage,
    now: datetime,
    *,
    kind: str,
    case: Case | None = None,
    held_reason: str | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO messages (message_id, direction, kind, case_pk, held, held_reason, from_addr,"
        " from_name, to_addrs, subject, date, in_reply_to, refs, body_text, defects, sha256, raw,"
        " archived_at, claimed_id, conflicts)"
        " VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            msg.message_id,
            kind,
            case.pk if case else None,
            int(held_reason is not None),
            held_reason,
            msg.from_addr,
            msg.from_name,
            json.dumps(list(msg.to_addrs)),
            msg.subject,
            msg.date,
            msg.in_reply_to,
            json.dumps(list(msg.references)),
            msg.text,
            json.dumps(list(msg.defects)),
            msg.sha256,
            msg.raw,
            to_text(now),
            msg.claimed_id,
            json.dumps([[c.member, c.reason] for c in msg.conflicts]),
        ],
    )
    pk = cursor.lastrowid
    for attachment in msg.attachments:
        db.execute(
            "INSERT INTO attachments (message_pk, filename, content_type, size, sha256, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                pk,
                attachment.filename,
                attachment.content_type,
                len(attachment.data),
                hashlib.sha256(attachment.data).hexdigest(),
                attachment.data,
            ],
        )
    return pk


def already_ingested(db: Database, spool_key: str) -> bool:
    row = db.execute("SELECT 1 FROM deliveries WHERE spool_key = ?", [spool_key]).fetchone()
    return row is not None


def record_delivery(
    db: Database,
    msg: IncomingMessage,
    now: datetime,
    spool_key: str | None,
    received_at: datetime | None,
    *,
    message_pk: int | None,
    error: str | None = None,
) -> None:
    """One delivery of a message; its bytes are kept unless identical to the archived copy."""
    stored_sha = None
    if message_pk is not None:
        stored_sha = db.execute(
            "SELECT sha256 FROM messages WHERE id = ?", [message_pk]
        ).fetchone()[0]
    db.execute(
        "INSERT INTO deliveries (spool_key, received_at, transport, envelope_from, envelope_to,"
        " size, sha256, raw, status, message_pk, processed_at, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            spool_key,
            to_text(received_at or now),
            msg.transport,
            msg.envelope_from,
            json.dumps(list(msg.envelope_to)),
            len(msg.raw),
            msg.sha256,
            None if stored_sha == msg.sha256 else msg.raw,
            "quarantined" if error else "processed",
            message_pk,
            to_text(now),
            error,
        ],
    )
