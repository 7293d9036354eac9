"""What the archive records when the mailer hands mail to the relay or gives up on it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.cases import (
    Case,
    Party,
    add_party,
    get_case,
    get_party,
    parties_of,
    record_event,
)
from archive.clock import to_text
from archive.db import write_transaction
from archive.deadlines import cancel_deadlines
from archive.lifecycle import move_case
from archive.models import CaseState
from archive.outbox import (
    Audience,
    OutboxItem,
    mark_failed,
    mark_retry,
    mark_sent,
    queue_mail,
    record_copy_sent,
)
from archive.settings import Settings

ACK_TEMPLATES = ("reporter/ack", "reporter/ack_folded")


def member_party(
    db: Database, case: Case, email: str, name: str, now: datetime, role: str = "member"
) -> Party:
    """A member's (or council member's) own party row on the case: their reply address."""
    with write_transaction(db):
        for party in parties_of(db, case, role=role):
            if party.email and party.email.lower() == email.lower():
                return party
        return add_party(db, case, role=role, name=name, email=email, now=now)


def record_copy(
    db: Database,
    item: OutboxItem,
    *,
    recipient: str,
    message_id: str,
    raw: bytes,
    to_addrs: list[str],
    subject: str,
    from_addr: str,
    text: str,
    now: datetime,
) -> None:
    """One copy went to the relay: remember it (so a retry skips it) and archive it."""
    with write_transaction(db):
        record_copy_sent(db, item, recipient, message_id, now)
        db.execute(
            "INSERT OR IGNORE INTO messages (message_id, direction, kind, case_pk, from_addr,"
            " to_addrs, subject, in_reply_to, refs, body_text, sha256, raw, archived_at)"
            " VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                message_id,
                item.template,
                item.case_pk,
                from_addr,
                json.dumps(to_addrs),
                subject,
                item.in_reply_to,
                json.dumps(list(item.refs)),
                text,
                hashlib.sha256(raw).hexdigest(),
                raw,
                to_text(now),
            ],
        )


def finish_item(db: Database, item: OutboxItem, now: datetime) -> None:
    """Every copy went out: the item is sent, and a sent acknowledgement moves its case on."""
    with write_transaction(db):
        mark_sent(db, item, now)
        case = record_mail_event(db, item, now, "mail-sent", message_id=item.message_id)
        if case is None:
            return
        if item.template in ACK_TEMPLATES:
            cancel_deadlines(db, case, ("ack-watchdog",), now)
        if item.template in ACK_TEMPLATES and case.state == CaseState.RECEIVED:
            move_case(db, case, CaseState.ACKNOWLEDGED, now=now, actor="mailer",
                      reason="acknowledgement sent")  # fmt: skip


def resend_what_was_folded_in(
    db: Database, item: OutboxItem, settings: Settings, now: datetime
) -> str | None:
    """More was folded into the item (a folded acknowledgement, the held-mail summary) after
    the sender read it: the mail that went lacks it, so the item's whole context goes again,
    in a new mail that later folds join. Call in the transaction that marks the item sent,
    so that nothing can be folded in between; the new mail's Message-ID, if any."""
    row = db.execute(
        "SELECT context, fold_key FROM outbox WHERE id = ? AND fold_key IS NOT NULL", [item.pk]
    ).fetchone()
    context = json.loads(row[0]) if row else item.context
    if context == item.context:
        return None
    return queue_mail(
        db,
        now=now,
        settings=settings,
        template=item.template,
        audience=item.audience,
        context=context,
        case=get_case(db, item.case_pk) if item.case_pk else None,
        party=get_party(db, item.party_pk) if item.party_pk else None,
        to_addr=item.to_addr,
        in_reply_to=item.in_reply_to,
        refs=item.refs,
        auto_submitted=item.auto_submitted,
        fold_key=row[1],
        from_name=item.from_name,
        exclude=item.exclude,
    )


def record_mail_event(
    db: Database, item: OutboxItem, now: datetime, action: str, message_pk=None, **detail
) -> Case | None:
    """The mailer's word about one outbox item in its case's audit log (what happened to which
    template); the case, or None for caseless mail (nothing to record)."""
    if item.case_pk is None:
        return None
    case = get_case(db, item.case_pk)
    detail = {"template": item.template, **detail}
    record_event(
        db, case, now=now, actor="mailer", action=action, detail=detail, message_pk=message_pk
    )
    return case


def withhold_item(db: Database, item: OutboxItem, reason: str, now: datetime) -> None:
    """Not sent, on purpose (a no-contact wish): recorded, never retried."""
    with write_transaction(db):
        db.execute(
            "UPDATE outbox SET status = 'withheld', last_error = ? WHERE id = ?", [reason, item.pk]
        )
        record_mail_event(db, item, now, "mail-withheld", reason=reason)


def postpone_item(db: Database, item: OutboxItem, error: str, retry_at: datetime) -> None:
    with write_transaction(db):
        mark_retry(db, item, error, retry_at)


def fail_item(
    db: Database, item: OutboxItem, error: str, settings: Settings, now: datetime
) -> None:
    """Mail that cannot be delivered: recorded, and the committee is told (never in a loop)."""
    with write_transaction(db):
        mark_failed(db, item, error)
        case = record_mail_event(db, item, now, "delivery-failed", error=error[:300])
        if case is None:
            return
        tell_delivery_problem(db, item, case, settings, now, "could not be delivered", error)


def tell_delivery_problem(
    db: Database,
    item: OutboxItem,
    case: Case,
    settings: Settings,
    now: datetime,
    problem: str,
    detail: str,
) -> None:
    """Show the committee that a case's mail bounced or failed (an unacknowledged reporter!).

    A failed notice to the committee itself is not announced to the committee: no loops.
    """
    if item.audience in (Audience.COMMITTEE, Audience.CHAIR):
        return
    queue_mail(
        db,
        now=now,
        settings=settings,
        template="committee/delivery_problem",
        audience=Audience.COMMITTEE,
        case=case,
        context={
            "case_ref": case.ref,
            "template": item.template,
            "problem": problem,
            "detail": detail[:2000],
        },
    )


def party_of(db: Database, item: OutboxItem) -> Party | None:
    return get_party(db, item.party_pk) if item.party_pk else None
