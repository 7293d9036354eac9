"""The durable outbox: mail is queued in the transaction that causes it and sent from here.

The archive only stores what to send, to whom (an audience resolved when it is sent) and the
fields its template may show; rendering and delivery are the mailer's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.formpages import FORM_SENDER, has_page
from archive.outgoing.catalogue import READERS, fit_context
from archive.outgoing.catalogue import template as catalogued
from archive.outgoing.leaks import case_secrets, case_sources, find_leaks
from archive.record.cases import Case, Party, get_case, new_token, record_event
from archive.record.db import write_transaction
from archive.record.settings import Settings
from archive.record.timestamps import to_text
from archive.workflow.ladder import resolution_templates

# A member's command-only mails, told to the case's audience in one mail per case (see
# archive/commands/outcome.py); its entries ride along in the case's next notice (`folded`).
OUTCOME_TEMPLATE = "committee/command_outcome"


def outcome_fold_key(case_pk: int) -> str:
    return f"outcomes:{case_pk}"


class Audience:
    PARTY = "party"  # one party of the case, with their reply address
    ADDRESS = "address"  # one plain address (e.g. the envelope sender of an ack)
    COMMITTEE = "committee"  # the case's audience: the list, or each non-conflicted member
    CHAIR = "chair"  # the chair, or the next member if the chair is conflicted
    COUNCIL = "council"  # the council address, or each non-conflicted council member


@dataclass(frozen=True)
class OutboxItem:
    pk: int
    message_id: str
    case_pk: int | None
    template: str
    audience: str
    to_addr: str | None
    party_pk: int | None
    context: dict
    in_reply_to: str | None
    refs: tuple[str, ...]
    auto_submitted: str
    attempts: int
    queued_at: str  # first queued, or queued again by `casebook outbox retry`: give-up counts
    from_name: str | None = None  # a relayed member's "Name via casebook"
    exclude: str | None = None  # the member a relay skips: its author

    @property
    def key(self) -> str:
        """The random part of the Message-ID; also the bounce address's tag."""
        return self.message_id.strip("<>").split("@", 1)[0]


def make_message_id(domain: str) -> str:
    return f"<cb-{new_token()}@{domain}>"


@dataclass(frozen=True)
class Mail:
    """One mail to queue: its template and audience, the fields it may show, how it threads.

    `shows` is an address whose own name and address the mail may carry (a mediator's);
    `exclude` an address the audience leaves out; `not_before` holds it back until then.
    """

    template: str
    audience: str
    context: dict
    case: Case | None = None
    party: Party | None = None
    to_addr: str | None = None
    in_reply_to: str | None = None
    refs: tuple[str, ...] = ()
    auto_submitted: str = "auto-generated"
    not_before: datetime | None = None
    fold_key: str | None = None
    from_name: str | None = None
    exclude: str | None = None
    actor: str | None = None
    shows: str | None = None


def queue_mail(db: Database, mail: Mail, *, now: datetime, settings: Settings) -> str:
    """Queue one mail; returns its Message-ID. Call inside the causing write transaction.

    The context is kept to the fields the catalogue lets the template show. Mail for someone
    outside the committee passes the leak guard first: a hit holds it and tells the committee.
    """
    spec = catalogued(mail.template)
    context = fit_context(mail.template, mail.context)
    hits = _leaks_in(db, mail, context, spec, settings) if spec.outside else []
    matched = [f"{h.what} in {h.field}" for h in hits]
    if mail.case is not None and mail.audience == Audience.COMMITTEE:
        folds = not (mail.fold_key or mail.exclude) and mail.template != OUTCOME_TEMPLATE
        folded = _take_waiting_outcomes(db, mail.case.pk, now) if folds else []
        context = {**context, "folded": folded} if folded else context
    message_id = make_message_id(settings.domain)
    cursor = db.execute(
        "INSERT INTO outbox (message_id, case_pk, template, audience, to_addr, party_pk, context,"
        " in_reply_to, refs, auto_submitted, fold_key, next_attempt_at, created_at, status,"
        " last_error, from_name, exclude_addr, queued_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            message_id,
            mail.case.pk if mail.case else None,
            mail.template,
            mail.audience,
            mail.to_addr,
            mail.party.pk if mail.party else None,
            json.dumps(context, sort_keys=True),
            mail.in_reply_to,
            json.dumps(list(mail.refs)),
            mail.auto_submitted,
            mail.fold_key if not hits else None,
            to_text(mail.not_before or now),
            to_text(now),
            "held" if hits else "queued",
            "held by the leak guard: " + "; ".join(matched) if hits else None,
            mail.from_name,
            mail.exclude.lower() if mail.exclude else None,
            mail.actor,
        ],
    )
    if hits and mail.case is not None:  # a caseless mail is never case material: the row says it
        _tell_held(db, now, settings, mail.case, spec, cursor.lastrowid, hits, matched, mail.actor)
    return message_id


def _leaks_in(db, mail: Mail, context: dict, spec, settings: Settings) -> list:
    """What the leak guard finds in a mail for a reader outside the committee."""
    party = mail.party
    readers = {a.lower() for a in (mail.to_addr, party.email if party else None, mail.shows) if a}
    if party is not None and has_page(db, party.pk):  # the form reporter's own reports
        readers.add(FORM_SENDER)
    return find_leaks(
        context,
        case_secrets(db, mail.case, settings),
        readers,
        spec.signed,
        case_sources(db, mail.case, settings.core_team),
    )


def _tell_held(db, now, settings, case, spec, pk: int, hits, matched, actor) -> None:
    """The leak guard held a mail: the audit log and the committee learn what matched."""
    record_event(
        db,
        case,
        now=now,
        actor=actor or "leak-guard",
        action="mail-held",
        detail={"item": pk, "template": spec.name, "matched": matched},
    )
    queue_mail(
        db,
        Mail(
            template="committee/mail_held",
            audience=Audience.COMMITTEE,
            case=case,
            context={
                "case_ref": case.ref,
                "item": pk,
                "template": spec.name,
                "reader": READERS[spec.reader],
                "queued_by": actor,
                "hits": [{"what": h.what, "text": h.text, "in": h.field} for h in hits],
                # a resolution's own mail (at #enact, not one member's #ban): its #release and
                # #drop carry the enactment with them
                "resolution": case.state == "enacting"
                and spec.name in {*resolution_templates(), "core/ban_notice"},
            },
        ),
        now=now,
        settings=settings,
    )


def _take_waiting_outcomes(db: Database, case_pk: int, now: datetime) -> list[dict]:
    """The command outcomes waiting for the hour's end, taken into a notice to the whole case
    audience (its `folded` lines) instead of a mail of their own. Outcomes due now (someone
    must act on one) are left to go as they are, first."""
    row = db.execute(
        "SELECT id, context FROM outbox WHERE fold_key = ? AND status = 'queued'"
        " AND next_attempt_at > ? AND NOT EXISTS"
        " (SELECT 1 FROM outbox_sends WHERE outbox_pk = outbox.id)",
        [outcome_fold_key(case_pk), to_text(now)],
    ).fetchone()
    if row is None:
        return []
    db.execute("UPDATE outbox SET status = 'folded', fold_key = NULL WHERE id = ?", [row[0]])
    return json.loads(row[1])["items"]


def queued_by_fold_key(db: Database, fold_key: str) -> tuple[int, dict] | None:
    """The queued item that more may be folded into. One whose first copies have gone (the
    rest wait for a retry) takes no more: its key is let go, so the caller queues a new item,
    and what is folded in from now on reaches the recipients who already have the first."""
    row = db.execute(
        "SELECT id, context, EXISTS (SELECT 1 FROM outbox_sends WHERE outbox_pk = outbox.id)"
        " FROM outbox WHERE fold_key = ? AND status = 'queued'",
        [fold_key],
    ).fetchone()
    if row is None:
        return None
    if row[2]:
        db.execute("UPDATE outbox SET fold_key = NULL WHERE id = ?", [row[0]])
        return None
    return row[0], json.loads(row[1])


def queued_today(db: Database, template: str, address: str, now: datetime) -> int:
    """How many `template` mails were queued for `address` in the day before `now` (a daily
    cap's count)."""
    row = db.execute(
        "SELECT COUNT(*) FROM outbox WHERE template = ? AND to_addr = ? COLLATE NOCASE"
        " AND created_at > ?",
        [template, address, to_text(now - timedelta(days=1))],
    ).fetchone()
    return row[0]


def update_context(db: Database, pk: int, context: dict) -> None:
    db.execute(
        "UPDATE outbox SET context = ? WHERE id = ?", [json.dumps(context, sort_keys=True), pk]
    )


OUTBOX_COLUMNS = (
    "id, message_id, case_pk, template, audience, to_addr, party_pk, context, in_reply_to, refs,"
    " auto_submitted, attempts, COALESCE(requeued_at, created_at), from_name, exclude_addr"
)


def _item(row) -> OutboxItem:
    values = list(row)
    values[7] = json.loads(values[7])
    values[9] = tuple(json.loads(values[9]))
    return OutboxItem(*values)


def due_mail(db: Database, now: datetime, limit: int = 100) -> list[OutboxItem]:
    rows = db.execute(
        f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?"
        " ORDER BY next_attempt_at, id LIMIT ?",
        [to_text(now), limit],
    )
    return [_item(row) for row in rows]


def find_by_key(db: Database, key: str) -> OutboxItem | None:
    """The outbox row a bounce address's tag names, if any."""
    row = db.execute(
        f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE message_id LIKE ? ESCAPE '\\'",
        ["<" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "@%"],
    ).fetchone()
    return _item(row) if row else None


def sent_copies(db: Database, item: OutboxItem) -> set[str]:
    rows = db.execute("SELECT recipient FROM outbox_sends WHERE outbox_pk = ?", [item.pk])
    return {row[0] for row in rows}


def record_copy_sent(
    db: Database, item: OutboxItem, recipient: str, message_id: str, now: datetime
) -> None:
    db.execute(
        "INSERT OR IGNORE INTO outbox_sends (outbox_pk, recipient, message_id, sent_at)"
        " VALUES (?, ?, ?, ?)",
        [item.pk, recipient.lower(), message_id, to_text(now)],
    )


def mark_sent(db: Database, item: OutboxItem, now: datetime) -> None:
    db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
        [to_text(now), item.pk],
    )


def mark_retry(db: Database, item: OutboxItem, error: str, retry_at: datetime) -> None:
    db.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
        " WHERE id = ?",
        [error[:500], to_text(retry_at), item.pk],
    )


def mark_failed(db: Database, item: OutboxItem, error: str) -> None:
    db.execute(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
        [error[:500], item.pk],
    )


def retry_delay(schedule: tuple[timedelta, ...], attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: the schedule's step, its last step repeating."""
    return schedule[min(attempts, len(schedule) - 1)]


def held_item(db: Database, case: Case, pk: int) -> tuple[str, str] | None:
    """The template and status of outbox item `pk` of this case (None for another case's)."""
    row = db.execute(
        "SELECT template, status FROM outbox WHERE id = ? AND case_pk = ?", [pk, case.pk]
    ).fetchone()
    return (row[0], row[1]) if row else None


def release_held(db: Database, pk: int, actor: str, now: datetime) -> None:
    """A member vouched for a held mail: it goes out on the next sweep, past the guard."""
    db.execute(
        "UPDATE outbox SET status = 'queued', released_by = ?, last_error = NULL,"
        " next_attempt_at = ? WHERE id = ? AND status = 'held'",
        [actor, to_text(now), pk],
    )


def hold_with(db: Database, pk: int, held: list[int]) -> None:
    """Queued mail that must not leave before held mail `held` does (a resolution leaves
    whole): held too, with the reason `#release` of those lifts it by."""
    db.execute(
        "UPDATE outbox SET status = 'held', last_error = ? WHERE id = ? AND status = 'queued'",
        [f"{WAITS_WITH_HELD} {', '.join(map(str, held))}: a resolution leaves whole", pk],
    )


def drop_held(db: Database, pk: int) -> None:
    db.execute("UPDATE outbox SET status = 'dropped' WHERE id = ? AND status = 'held'", [pk])


def last_item(db: Database) -> int:
    """The newest outbox item's number (0 for none): mail queued later has higher ones."""
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]


def guard_held_since(db: Database, after: int) -> list[tuple[int, str, str | None]]:
    """Mail queued after item `after` that the leak guard held: (item, template, case)."""
    rows = db.execute(
        "SELECT o.id, o.template, c.ref FROM outbox o LEFT JOIN cases c ON c.id = o.case_pk"
        " WHERE o.id > ? AND o.status = 'held' ORDER BY o.id",
        [after],
    )
    return [(row[0], row[1], row[2]) for row in rows]


# A resolution's mail held only because the guard held another of its mails: it leaves whole.
WAITS_WITH_HELD = "waits with held mail"


def held_among(db: Database, message_ids: list[str]) -> list[tuple[int, str]]:
    """Which of these just-queued mails the leak guard held: (item, template)."""
    if not message_ids:
        return []
    marks = ",".join("?" * len(message_ids))
    rows = db.execute(
        f"SELECT id, template FROM outbox WHERE status = 'held' AND message_id IN ({marks})"
        " AND COALESCE(last_error, '') NOT LIKE ?",
        [*message_ids, WAITS_WITH_HELD + "%"],
    )
    return [(row[0], row[1]) for row in rows]


class NotRetryable(Exception):
    """An outbox item that does not exist or has not failed."""


def list_outbox(db: Database, *, failed_only: bool = False) -> list[dict]:
    """Mail waiting, held by the leak guard or failed (`casebook outbox`), oldest first; no
    recipient addresses."""
    statuses = ("failed",) if failed_only else ("queued", "held", "failed")
    rows = db.execute(
        "SELECT o.id, c.ref, o.template, o.audience, o.status, o.attempts, o.next_attempt_at,"
        " o.last_error, o.message_id, o.created_at FROM outbox o"
        " LEFT JOIN cases c ON c.id = o.case_pk"
        f" WHERE o.status IN ({', '.join('?' for _ in statuses)}) ORDER BY o.id",
        list(statuses),
    )
    keys = (
        "id",
        "case",
        "template",
        "audience",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "message_id",
        "created_at",
    )
    items = [dict(zip(keys, row, strict=True)) for row in rows]
    for item in items:
        if item["state"] == "failed":
            item["next_attempt_at"] = None  # nothing is tried again until `outbox retry`
    return items


def requeue_failed(db: Database, pks: list[int] | None, now: datetime) -> list[dict]:
    """Failed items (`pks`, or every failed one for None) queued again, due now, with the same
    Message-IDs (copies already sent are skipped), each in its case's audit log; all or none."""
    with write_transaction(db):
        return _requeue(db, pks, now)


def _requeue(db: Database, pks: list[int] | None, now: datetime) -> list[dict]:
    if pks is None:
        pks = [row[0] for row in db.execute("SELECT id FROM outbox WHERE status = 'failed'")]
    requeued = []
    for pk in pks:
        row = db.execute(
            "SELECT status, case_pk, template, message_id, attempts, last_error FROM outbox"
            " WHERE id = ?",
            [pk],
        ).fetchone()
        if row is None:
            raise NotRetryable(f"no outbox item {pk} (`casebook outbox --failed` lists them)")
        status, case_pk, template, message_id, attempts, last_error = row
        if status != "failed":
            raise NotRetryable(
                f"outbox item {pk} is {status}, not failed; only failed mail is sent again"
            )
        db.execute(
            "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = ?,"
            " requeued_at = ? WHERE id = ?",
            [to_text(now), to_text(now), pk],
        )
        detail = {
            "outbox_id": pk,
            "template": template,
            "message_id": message_id,
            "attempts": attempts,
            "last_error": (last_error or "")[:300],
        }
        case = get_case(db, case_pk) if case_pk else None
        record_event(db, case, now=now, actor="operator", action="mail-requeued", detail=detail)
        requeued.append({"id": pk, "case": case.ref if case else None, "template": template})
    return requeued


def send_now(db: Database, pk: int, now: datetime) -> None:
    """A queued mail that waited (a folded outcome) is due at once."""
    db.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", [to_text(now), pk])


def to_case_audience(
    db: Database, case: Case, template: str, context: dict, *, now: datetime, settings: Settings
) -> str:
    """A notice about the case to its audience (the committee, and the council while it holds
    the case), with the case's reference; its Message-ID."""
    context = {"case_ref": case.ref, **context}
    return queue_mail(
        db, Mail(template, Audience.COMMITTEE, context, case=case), now=now, settings=settings
    )


def to_party(
    db: Database,
    case: Case,
    party: Party,
    template: str,
    context: dict | None = None,
    *,
    now: datetime,
    settings: Settings,
    **more,
) -> str:
    """A mail about the case to one of its parties (at the address the case holds, with their
    reply address), with the case's reference; its Message-ID."""
    context = {"case_ref": case.ref, **(context or {})}
    return queue_mail(
        db,
        Mail(template, Audience.PARTY, context, case=case, party=party, **more),
        now=now,
        settings=settings,
    )
