"""What the case's audience is told of a member's command-only mail: at once when someone must
act on it, else folded into one mail per case per hour or into the case's next notice.

A member who works a case through their reply address sends many short command mails (a vote,
a note, #responsible); one "Commands from X" mail per command to every other member buried
them. Now each such mail is one entry of the case's outcome mail (`committee/command_outcome`),
which waits up to FOLD_WINDOW for more, goes at once when an entry calls on someone to act (a
proposal to vote on, a consensus the chair takes on, a case made urgent), and is folded into
any other mail the case's audience gets first (its `folded` lines). The author reads their own
results there too: a routine command that worked needs no transcript of its own. Queries
(#help, #status without a state) are answered to the asker alone.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case
from archive.record.outbox import (
    OUTCOME_TEMPLATE,
    Audience,
    Mail,
    outcome_fold_key,
    queue_mail,
    queued_by_fold_key,
    send_now,
    update_context,
)
from archive.record.settings import Settings
from archive.record.timestamps import to_text

FOLD_WINDOW = timedelta(hours=1)
# What a command-only mail may record and still wait for the hour's end or the case's next
# notice: nobody must act on it. Anything else (a proposal, a consensus, urgency, a conflict,
# a held mail, the case closed or handed on) reaches the audience at once.
ROUTINE_EVENTS = frozenset(
    {
        "commands-applied",
        "deliberation-posted",
        "voted",
        "note",
        "call-summary",
        "responsible-recorded",
        "violation-finding",
        "timeline-set",
        "consulted",
        "template-sent",
        "template-scheduled",
        "message-to-reporter",
        "message-to-party",
        "state-changed",
    }
)


def is_query(commands) -> bool:
    """Every command only asks (#help, #status without a state): the answer is the asker's."""
    return all(c.keyword == "help" or (c.keyword == "status" and not c.args) for c in commands)


def who_must_act(db: Database, message_pk: int) -> str | None:
    """Who must act at once on what the message's commands recorded: the case's audience
    (`Audience.COMMITTEE`), the chair alone (a consensus: the chair takes the case on to
    #consult), or nobody (None: every event routine)."""
    rows = db.execute("SELECT DISTINCT action FROM events WHERE message_pk = ?", [message_pk])
    actions = {row[0] for row in rows} - ROUTINE_EVENTS
    if not actions:
        return None
    return Audience.CHAIR if actions == {"consensus-reached"} else Audience.COMMITTEE


def outcome_entry(
    author: str, results: list[dict], applied: bool, at: str, previews: list[dict]
) -> dict:
    """One command-only mail as the audience reads it; `previews`: the mail its commands
    send outside the committee, as read there (an #enact's)."""
    return {
        "author": author,
        "results": results,
        "applied": applied,
        "at": at,
        "previews": previews,
    }


def tell_outcome(
    db: Database,
    settings: Settings,
    now: datetime,
    case: Case,
    entry: dict,
    *,
    at_once: str | None,
    since: int,
    threading: tuple[str | None, tuple[str, ...]],
) -> None:
    """The entry reaches the case's audience: in a notice this run queued for it (the
    resolution's copy), else in the case's outcome mail (queued, or added to), which goes now
    when the whole audience must act (`at_once` COMMITTEE). When only the chair must act
    (CHAIR), the chair is sent what the outcome mail holds now, and it waits for the rest."""
    if _fold_into_notice(db, case, entry, since, now):
        return
    key = outcome_fold_key(case.pk)
    queued = queued_by_fold_key(db, key)
    fresh = {"state": case.state, "urgent": case.urgent}
    items = [entry]
    if queued is not None:
        pk, context = queued
        items = [*context["items"], entry]
        update_context(db, pk, {**context, **fresh, "items": items})
        if at_once == Audience.COMMITTEE:
            send_now(db, pk, now)
    in_reply_to, refs = threading
    context = {"case_ref": case.ref, "items": items, "folded_into": False, **fresh}
    if queued is None:
        waits = at_once != Audience.COMMITTEE
        queue_mail(
            db,
            Mail(
                template=OUTCOME_TEMPLATE,
                audience=Audience.COMMITTEE,
                case=case,
                context=context,
                fold_key=key,
                not_before=now + FOLD_WINDOW if waits else None,
                in_reply_to=in_reply_to,
                refs=refs,
            ),
            now=now,
            settings=settings,
        )
    if at_once == Audience.CHAIR:
        queue_mail(
            db,
            Mail(
                template=OUTCOME_TEMPLATE,
                audience=Audience.CHAIR,
                case=case,
                context=context,
                in_reply_to=in_reply_to,
                refs=refs,
            ),
            now=now,
            settings=settings,
        )


def _fold_into_notice(db: Database, case: Case, entry: dict, since: int, now: datetime) -> bool:
    """The entry added to a notice this run queued for the case's audience, if there is one."""
    notice = _notice_since(db, case, since, now)
    if notice is None:
        return False
    pk, context = notice
    context["folded"] = [*context.get("folded", []), entry]
    update_context(db, pk, context)
    return True


def _notice_since(db: Database, case: Case, since: int, now: datetime) -> tuple[int, dict] | None:
    """A mail to the whole case audience queued after item `since`, due now, not yet sent."""
    row = db.execute(
        "SELECT id, context FROM outbox WHERE id > ? AND case_pk = ? AND audience = ?"
        " AND status = 'queued' AND exclude_addr IS NULL AND template != ? AND fold_key IS NULL"
        " AND next_attempt_at <= ?"
        " AND NOT EXISTS (SELECT 1 FROM outbox_sends WHERE outbox_pk = outbox.id)"
        " ORDER BY id DESC LIMIT 1",
        [since, case.pk, Audience.COMMITTEE, OUTCOME_TEMPLATE, to_text(now)],
    ).fetchone()
    return (row[0], json.loads(row[1])) if row else None
