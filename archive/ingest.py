"""The one entry for every transport: archive a parsed message and act on it, atomically.

`ingest_message` dedupes by Message-ID, threads the message into a case, opens or updates the
case, writes the audit log and queues outgoing mail, all in one transaction, so a crash never
leaves half a case and a redelivered message changes nothing twice.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive import reports
from archive.appeal_confirmation import confirm_appeals
from archive.appeals import appeal_by_references, receive_appeal, record_appeal_followup
from archive.cases import get_case, party_by_token, party_for_address
from archive.clock import to_text
from archive.db import write_transaction
from archive.dsn import dsn_summary
from archive.echoes import echoes_own_mail
from archive.formpages import FORM_TRANSPORT, page_for
from archive.held import hold
from archive.identity import claims_taken_id, find_same_message, reaches_further, with_own_id
from archive.models import IncomingMessage, RouteKind
from archive.outbox import find_by_key, guard_held_since, last_item
from archive.sending import record_mail_event, tell_delivery_problem
from archive.settings import Settings
from archive.store import Binding, IngestResult, store_message
from archive.threads import case_by_references, case_by_tag
from archive.unverified import unverified_word


def ingest_message(
    db: Database,
    msg: IncomingMessage,
    settings: Settings,
    now: datetime,
    *,
    spool_key: str | None = None,
    received_at: datetime | None = None,
) -> IngestResult:
    """Archive `msg` and do what it asks, in one transaction; a copy already archived changes
    nothing (SPEC §2.1: same Message-ID and the same content)."""
    with write_transaction(db):
        row = find_same_message(db, msg)
        if row and reaches_further(row, msg):
            defect = f"first archived as {row[1]} mail; this copy came to an address that acts"
            msg, row = with_own_id(db, msg, defect), None
        if row:
            result = IngestResult(row[0], True, row[1], _case_ref(db, row[2]), row[3])
        else:
            if claims_taken_id(db, msg):
                msg = with_own_id(db, msg)
            before = last_item(db)
            result = _dispatch(db, msg, settings, now)
            held = tuple((pk, template) for pk, template, _ in guard_held_since(db, before))
            result = dataclasses.replace(result, guard_held=held)
        record_delivery(db, msg, now, spool_key, received_at, message_pk=result.message_pk)
        return result


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


def _case_ref(db: Database, case_pk: int | None) -> str | None:
    if case_pk is None:
        return None
    return db.execute("SELECT ref FROM cases WHERE id = ?", [case_pk]).fetchone()[0]


def _dispatch(db: Database, msg: IncomingMessage, settings: Settings, now: datetime):
    if msg.looped:
        return hold(
            db, msg, settings, now, "mail loop: carries casebook's own loop header", kind="loop"
        )
    if msg.transport == FORM_TRANSPORT:
        return _web_form(db, msg, settings, now)
    route = msg.route.kind
    if route is RouteKind.BOUNCE:
        return _bounce(db, msg, settings, now)
    if route is RouteKind.REPLY:
        return _reply_address(db, msg, settings, now)
    if route is RouteKind.LIST:
        return _list_copy(db, msg, settings, now)
    if route in (RouteKind.APPEAL, RouteKind.REPORT) and not msg.automatic:
        appeal = appeal_by_references(db, msg)
        if appeal is not None and _about_appeal(db, msg, appeal, settings, route):
            if _is_council(settings, msg.from_addr):
                from archive.commands.appeal import decide_unlinked

                return decide_unlinked(db, msg, appeal, settings, now)
            return record_appeal_followup(db, msg, appeal, settings, now)
    if route is RouteKind.APPEAL:
        case = case_by_tag(db, msg, settings.case_prefix) or case_by_references(db, msg)
        if case is not None and _is_council(settings, msg.from_addr):
            return _member_mail(db, msg, case, settings, now, via="appeals address")
        return receive_appeal(db, msg, settings, now)
    if route is RouteKind.REPORT:
        return _reports_address(db, msg, settings, now)
    return hold(
        db, msg, settings, now, "not addressed to any address casebook serves", kind="unrouted"
    )


def _web_form(db: Database, msg: IncomingMessage, settings: Settings, now: datetime):
    """The web form's report (always a new case: a subject tag or references in it thread
    nothing) or a reply through a follow-up page (the case that page speaks for)."""
    if msg.form_kind == "report" and msg.form_page:
        return reports.open_report(db, msg, settings, now)
    page = page_for(db, msg.form_page) if msg.form_kind == "follow-up" and msg.form_page else None
    if page is None:
        return hold(db, msg, settings, now, "web form message for no follow-up page", kind="held")
    return reports.record_followup(db, msg, page.case, page.party, settings, now)


def _reports_address(db: Database, msg: IncomingMessage, settings: Settings, now: datetime):
    by_refs = case_by_references(db, msg)
    case = by_refs or case_by_tag(db, msg, settings.case_prefix)
    if msg.automatic:
        if case is None:
            return hold(
                db, msg, settings, now, "automatic reply that belongs to no case", kind="autoreply"
            )
        return reports.record_automatic(db, msg, case, settings, now)
    if case is not None:
        if msg.from_addr and settings.person_for(msg.from_addr):
            return _member_mail(db, msg, case, settings, now, via="reports address")
        party = party_for_address(db, case, msg.from_addr)
        if party is None:
            how = "its references name" if by_refs else "its subject tag names"
            reason = f"{how} {case.ref} but the sender is not a party of the case"
            return hold(db, msg, settings, now, reason, kind="held", case=case)
        if not msg.party_auth.verified:
            # Anyone can write a party's From and a guessable tag: without the party's reply
            # address it counts only with DKIM of the From domain (or a trusted host's stamp).
            return unverified_word(db, msg, case, party, settings, now)
        return reports.record_followup(db, msg, case, party, settings, now)
    if msg.subject_tag:
        return hold(
            db, msg, settings, now, f"subject tag {msg.subject_tag} names no case", kind="held"
        )
    return reports.open_report(db, msg, settings, now)


def _member_mail(db, msg: IncomingMessage, case, settings: Settings, now: datetime, *, via):
    """Mail to the reports or appeals address whose From names a member or council member:
    deliberation only when it is proved to be theirs (their DKIM; in token mode a member
    never writes this way), else held and the committee told (as at a member's reply
    address)."""
    if not msg.auth.verified:
        reason = f"From names a member of the committee or council, but {msg.auth.reason}"
        return hold(db, msg, settings, now, reason, kind="held", case=case)
    return _deliberation(db, msg, case, settings, now, via=via, binding=Binding(None, case))


def _deliberation(db, msg: IncomingMessage, case, settings: Settings, now, *, via, binding):
    """A member's post, archived as deliberation only in a case they are not cut off from."""
    person = settings.person_for(msg.from_addr or "")
    if person is None or person.email.lower() not in case.excluded():
        return reports.record_deliberation(db, msg, case, settings, now, via=via, binding=binding)
    from archive.commands.execute import run_commands

    reason = f"the sender is conflicted or recused in {case.ref}: never its deliberation"
    result = hold(db, msg, settings, now, reason, kind="held", case=case)
    # Its commands are refused as ever (the sender told only that, never about the case).
    ran = run_commands(db, msg, case, settings, now, result.message_pk, binding)
    return replace(result, commands=ran[0], refusal=ran[1]) if ran else result


def _about_appeal(db, msg: IncomingMessage, appeal, settings: Settings, route) -> bool:
    """Whether mail answering appeal mail is the appeal's business rather than its case's:
    a council member's answer when no case is linked (a linked one is the case's); anyone
    else's answer is the council's (never the committee's follow-up, never a new appeal)."""
    if _is_council(settings, msg.from_addr):
        return appeal.case_pk is None
    # a committee member's mail in the thread stays deliberation
    return not (msg.from_addr and settings.person_for(msg.from_addr))


def _is_council(settings: Settings, address: str | None) -> bool:
    return bool(address) and any(p.matches_address(address) for p in settings.council)


def _reply_address(db: Database, msg: IncomingMessage, settings: Settings, now: datetime):
    party = party_by_token(db, msg.route.token or "")
    if party is None and msg.route.reports:
        return _reports_address(db, msg, settings, now)  # a report, whatever else it was sent to
    if party is None:
        return hold(db, msg, settings, now, "unknown or stale reply address", kind="held")
    case = get_case(db, party.case_pk)
    if msg.automatic:
        return reports.record_automatic(db, msg, case, settings, now)
    if party.role in ("member", "council") and echoes_own_mail(db, msg, case):
        # A naive responder on a member's mailbox: never relayed, never answered.
        reason = "casebook's own mail sent back whole"
        return reports.record_automatic(db, msg, case, settings, now, reason=reason)
    if party.role in ("member", "council") and not _still_serving(settings, party.email):
        reason = "reply address of someone no longer on the committee or council"
        return hold(db, msg, settings, now, reason, kind="held", case=case)
    if party.role in ("member", "council") and not _written_by(settings, party, msg):
        reason = f"sent to {party.name or party.email}'s reply address, but not from them"
        return hold(db, msg, settings, now, reason, kind="held", case=case)
    if party.role in ("member", "council"):
        signed = case_by_tag(db, msg, settings.case_prefix) or case_by_references(db, msg)
        return _deliberation(
            db, msg, case, settings, now, via="reply address", binding=Binding(party, signed)
        )
    confirm_appeals(db, msg, case, party, settings, now)  # a yes to "did you send this appeal?"
    return reports.record_followup(db, msg, get_case(db, case.pk), party, settings, now)


def _still_serving(settings: Settings, address: str | None) -> bool:
    """A member, council member or alternate of today's configuration: removed ones' reply
    addresses are dead."""
    return bool(address) and any(p.matches_address(address) for p in settings.everyone)


def _written_by(settings: Settings, party, msg: IncomingMessage) -> bool:
    """A member's reply address relays only that member's own mail (From one of their
    addresses, no Sender of someone else): never a forgery, nor one member as another."""
    person = settings.person_for(msg.from_addr or "")
    if person is None or person.email.lower() != (party.email or "").lower():
        return False
    return msg.sender_header_problem is None


def _list_copy(db: Database, msg: IncomingMessage, settings: Settings, now: datetime):
    case = case_by_references(db, msg) or case_by_tag(db, msg, settings.case_prefix)
    if not msg.historical and not msg.list_proof.verified:
        # Anyone can write to the list address at casebook's intake; only what the list host
        # vouches for is the list's copy (imported history is the operator's own archive).
        reason = f"sent to the list address, {msg.list_proof.reason}"
        return hold(db, msg, settings, now, reason, kind="list-held", case=case)
    if case is None:
        pk = store_message(db, msg, now, kind="list")
        return IngestResult(pk, False, "list")
    if msg.automatic:  # a member's out-of-office answer through the list: no deliberation
        return reports.record_automatic(db, msg, case, settings, now)
    return _deliberation(
        db, msg, case, settings, now, via="committee list", binding=Binding(None, case)
    )


def _bounce(db: Database, msg: IncomingMessage, settings: Settings, now: datetime):
    item = find_by_key(db, msg.bounce_key or "")
    if item is None or item.case_pk is None:
        return hold(
            db, msg, settings, now, "bounce for mail casebook has no record of", kind="bounce"
        )
    case = get_case(db, item.case_pk)
    told = _bounce_recorded(db, case, item.message_id)
    pk = store_message(db, msg, now, kind="bounce", case=case)
    record_mail_event(
        db, item, now, "delivery-failed", message_pk=pk, bounced_message=item.message_id
    )
    if not told:  # one notice per failed item, however many bounces (real or forged) arrive
        tell_delivery_problem(db, item, case, settings, now, "bounced", dsn_summary(msg.raw))
    return IngestResult(pk, False, "bounce", case.ref)


def _bounce_recorded(db: Database, case, message_id: str) -> bool:
    rows = db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = 'delivery-failed'", [case.pk]
    )
    return any(json.loads(row[0]).get("bounced_message") == message_id for row in rows)
