"""Held and quarantined mail: archived without acting on it, and never silent.

A held message claims a case it cannot prove it belongs to (a stranger writing to a case, a
stale or unknown reply address); a quarantined one could not be processed at all. Both keep
their bytes; the committee is told, with the command that takes a held message into a case.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, record_event
from archive.record.db import write_transaction
from archive.record.identity import free_id
from archive.record.models import IncomingMessage
from archive.record.outbox import Audience, Mail, queue_mail, queued_by_fold_key, update_context
from archive.record.settings import Settings
from archive.record.store import IngestResult, store_message
from archive.record.timestamps import from_text, to_text

SUMMARY_DELAY = timedelta(days=1)  # holds that claim no case: one summary a day
# Held mail claiming a case: the first notice goes at once, the rest of the hour fold into one.
NOTICE_INTERVAL = timedelta(hours=1)
NOTICE_TEMPLATE = "committee/held"
ANNOUNCED_KINDS = (
    "held",
    "unrouted",
    "list-held",
)  # told at once (in a case) or in the daily summary
SUMMARY_ONLY_KINDS = ("autoreply", "bounce")  # automatic mail: in the daily summary only, which
# goes to the committee and never to the sender, so no loop can start; a report a script sent
# with a null sender is seen there
EXCERPT = 1500
NAMES_HIDDEN = (
    "(not shown: it names someone on the committee or council; #merge takes it in"
    " and cuts off whoever it names)"
)


def hold(
    db: Database,
    msg: IncomingMessage,
    settings: Settings,
    now: datetime,
    reason: str,
    *,
    kind: str,
    case: Case | None = None,
) -> IngestResult:
    """Archive without acting: a member may `#merge` it later; never anyone's follow-up."""
    pk = store_message(db, msg, now, kind=kind, held_reason=reason)
    record_event(
        db,
        case,
        now=now,
        actor="intake",
        action="message-held",
        detail={"reason": reason, "message_id": msg.message_id},
        message_pk=pk,
    )
    if kind in ANNOUNCED_KINDS and case is not None and not msg.historical:
        _tell_case(db, msg, case, settings, now, reason, pk)
    elif kind in ANNOUNCED_KINDS + SUMMARY_ONLY_KINDS and not msg.historical:
        _add_to_summary(db, msg, settings, now, reason)
    return IngestResult(pk, False, kind, case.ref if case else None, reason)


def _tell_case(
    db, msg: IncomingMessage, case: Case, settings: Settings, now, reason: str, pk: int
) -> None:
    """The case's own audience hears of mail that claims the case, in the case's thread: at
    once for the first in an hour; later ones that hour in one notice when the hour ends (a
    flood of forgeries or strangers' mail to a case tag is two mails an hour, not one each)."""
    told = _last_notice(db, case, now)
    if told is not None:
        entry = {
            "archive_id": pk,
            "message_id": msg.message_id,
            "reason": reason,
            "at": to_text(now)[:16],
        }
        _fold(
            f"held-case:{case.pk}",
            "committee/held_folded",
            entry,
            settings,
            db,
            now,
            told + NOTICE_INTERVAL - now,
            case=case,
        )
        return
    queue_mail(
        db,
        Mail(
            template=NOTICE_TEMPLATE,
            audience=Audience.COMMITTEE,
            case=case,
            context={
                "case_ref": case.ref,
                "reason": reason,
                "from": msg.from_addr or "an unknown sender",
                "subject": NAMES_HIDDEN if _names_someone(msg, settings) else msg.subject,
                "message_id": msg.message_id,
                "excerpt": NAMES_HIDDEN if _names_someone(msg, settings) else msg.text[:EXCERPT],
                "parts_left_out": msg.parts_left_out,
            },
        ),
        now=now,
        settings=settings,
    )


def _last_notice(db, case: Case, now: datetime) -> datetime | None:
    """When the case's audience was last told at once of held mail, if within the hour."""
    row = db.execute(
        "SELECT MAX(created_at) FROM outbox WHERE template = ? AND case_pk = ? AND created_at > ?",
        [NOTICE_TEMPLATE, case.pk, to_text(now - NOTICE_INTERVAL)],
    ).fetchone()
    return from_text(row[0]) if row[0] else None


def _names_someone(msg: IncomingMessage, settings: Settings) -> bool:
    """It names a member or council member, so the whole audience may not read it yet (it
    conflicts nobody until #merge takes it in). Held mail's From is not proved: one that
    claims to be Alice's and names Bob is hidden from Bob like a stranger's."""
    author = settings.person_for(msg.from_addr or "")
    claimed = author.email.lower() if author else None
    return any(c.member.lower() != claimed for c in msg.conflicts)


def _add_to_summary(db, msg: IncomingMessage, settings: Settings, now, reason: str) -> None:
    """Holds that claim no case go into one summary a day; it names no sender or subject,
    since nobody yet knows which members may see the message."""
    entry = {"message_id": msg.message_id, "reason": reason, "at": to_text(now)[:16]}
    _fold("held-summary", "committee/held_summary", entry, settings, db, now, SUMMARY_DELAY)


def _fold(
    key, template, entry, settings: Settings, db, now, delay: timedelta, *, case=None
) -> None:
    queued = queued_by_fold_key(db, key)
    if queued:
        pk, context = queued
        update_context(db, pk, {**context, "items": [*context["items"], entry]})
        return
    queue_mail(
        db,
        Mail(
            template=template,
            audience=Audience.COMMITTEE,
            case=case,
            context={"case_ref": case.ref, "items": [entry]} if case else {"items": [entry]},
            not_before=now + delay,
            fold_key=key,
        ),
        now=now,
        settings=settings,
    )


def quarantine(
    db: Database,
    msg: IncomingMessage,
    settings: Settings,
    now: datetime,
    error: str,
    *,
    key: str | None = None,
) -> IngestResult:
    """A message whose processing kept failing: its bytes kept, nothing acted on, the
    committee told (mail quarantined while that notice waits joins it).

    It is stored under an ID of its own, made from `key` (the spool's delivery key), never
    the one it claims: whatever made its processing fail (a clash of IDs with a message
    archived before) cannot make its quarantine fail the same way. Should storing its plain
    reading fail all the same, it is stored by its bytes alone; only the archive's own trouble
    (locked, full) propagates, and the message stays spooled.
    """
    own = free_id(db, f"quarantined-{key or uuid.uuid4()}")
    msg = dataclasses.replace(msg, message_id=own, claimed_id=msg.message_id)
    try:
        with write_transaction(db):
            return _quarantine(db, msg, settings, now, error)
    except sqlite3.OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001 - the plain reading failed: the bytes still go in
        bare = dataclasses.replace(
            msg,
            subject="",
            text="",
            authored="",
            html=None,
            attachments=(),
            conflicts=(),
            defects=(*msg.defects, f"quarantined by its bytes alone: {type(exc).__name__}"),
        )
        return _quarantine(db, bare, settings, now, error)


def _quarantine(db, msg: IncomingMessage, settings: Settings, now, error: str) -> IngestResult:
    reason = f"could not be processed: {error}"[:500]
    pk = store_message(db, msg, now, kind="quarantined", held_reason=reason)
    detail = {"message_id": msg.message_id, "claimed_id": msg.claimed_id, "error": error[:300]}
    record_event(
        db,
        None,
        now=now,
        actor="intake",
        action="message-quarantined",
        detail=detail,
        message_pk=pk,
    )
    if not msg.historical:
        entry = {"archive_id": pk, "at": to_text(now)[:16], "error": error[:200]}
        _fold("quarantine", "committee/quarantined", entry, settings, db, now, timedelta(0))
    return IngestResult(pk, False, "quarantined", None, reason)


def list_held(db: Database) -> list[dict]:
    """Every message archived but held or quarantined, oldest first (`casebook held`)."""
    # A held message stays out of its case's thread; the case it claims is in its hold event.
    rows = db.execute(
        "SELECT m.id, m.message_id, m.kind, m.held_reason, COALESCE(c.ref, claimed.ref),"
        " m.from_addr, m.subject, m.archived_at, m.defects FROM messages m"
        " LEFT JOIN cases c ON c.id = m.case_pk"
        " LEFT JOIN events e ON e.message_pk = m.id AND e.action = 'message-held'"
        " LEFT JOIN cases claimed ON claimed.id = e.case_pk"
        " WHERE m.held = 1 ORDER BY m.id"
    )
    keys = ("id", "message_id", "kind", "reason", "case", "from", "subject", "archived_at")
    return [
        {**dict(zip(keys, row[:8], strict=True)), "defects": json.loads(row[8])} for row in rows
    ]
