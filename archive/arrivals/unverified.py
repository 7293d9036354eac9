"""A party's word that is not proved to be theirs (issue 18 §1).

Mail whose From names a party of a case, but which came neither through the reply address
casebook gave that party nor with a DKIM signature (or a trusted host's stamp) of the From
domain, is anybody's: the party's address and the case tag are known to the person reported.
It is archived for the committee to read (held: nobody's consent, feedback, no-contact wish,
mediation answer or appeal), and the party is asked, at the address the case holds and with
their own reply address, to write again through it. The request says nothing of what the
unverified message said, and goes at most once a day per party, so nobody can use casebook to
flood a reporter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.held import hold
from archive.record.cases import Case, Party, record_event
from archive.record.models import IncomingMessage
from archive.record.outbox import to_party
from archive.record.settings import Settings
from archive.record.store import IngestResult
from archive.record.timestamps import to_text

CONFIRM_TEMPLATE = "party/confirm_message"
CONFIRM_INTERVAL = timedelta(days=1)
ROLE_WORDS = {"reported": "person responsible", "affected": "affected person"}


def unverified_word(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    party: Party,
    settings: Settings,
    now: datetime,
) -> IngestResult:
    """Held for the committee, marked unverified and why; the party asked to confirm."""
    who = ROLE_WORDS.get(party.role, party.role)
    then = (
        "; they were asked to confirm through their reply address"
        if will_ask(db, msg, case, party, now)
        else ""
    )
    reason = f"unverified: From names the {who} of {case.ref}, but {msg.party_auth.reason}{then}"
    result = hold(db, msg, settings, now, reason, kind="held", case=case)
    ask_about(db, msg, case, party, settings, now, result.message_pk)
    return result


def ask_about(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    party: Party,
    settings: Settings,
    now: datetime,
    message_pk: int,
    *,
    appeal_pk: int | None = None,
) -> str | None:
    """The audit log records the unproven word (an appeal's with the request that asked about
    it, so that the party's yes to that request, and only to it, can link it); the party is
    asked to confirm, unless asked in the last day. Returns the request's Message-ID, if one
    went."""
    request = None
    if will_ask(db, msg, case, party, now):
        request = ask_to_confirm(db, case, party, settings, now, appeal=appeal_pk is not None)
    detail = {
        "party": party.pk,
        "role": party.role,
        "message_id": msg.message_id,
        "reason": msg.party_auth.reason,
        "appeal": appeal_pk,
        "request": request,
    }
    record_event(
        db,
        case,
        now=now,
        actor="intake",
        action="unverified-word",
        detail=detail,
        message_pk=message_pk,
    )
    return request


def will_ask(db: Database, msg: IncomingMessage, case: Case, party: Party, now: datetime) -> bool:
    """Whether an unproven `msg` in `party`'s name gets them a request to confirm: they may be
    asked today, and the message itself is not one casebook must never answer."""
    return may_ask(db, case, party, now) and not msg.no_reply_reason


def may_ask(db: Database, case: Case, party: Party, now: datetime) -> bool:
    """A party with an address who has not asked for no contact, not asked in the last day
    (never a member's or council member's own party row: their reply address is theirs)."""
    if not askable(party):
        return False
    row = db.execute(
        "SELECT 1 FROM outbox WHERE template = ? AND case_pk = ? AND party_pk = ?"
        " AND created_at > ?",
        [CONFIRM_TEMPLATE, case.pk, party.pk, to_text(now - CONFIRM_INTERVAL)],
    ).fetchone()
    return row is None


def askable(party: Party) -> bool:
    """A party who may ever be asked: with an address, no no-contact wish, not a member's or
    council member's own party row."""
    return bool(party.email) and not party.no_contact and party.role not in ("member", "council")


def ask_to_confirm(
    db: Database, case: Case, party: Party, settings: Settings, now: datetime, *, appeal: bool
) -> str:
    """Queues the request; returns its Message-ID (the party's answer refers to it)."""
    return to_party(
        db,
        case,
        party,
        CONFIRM_TEMPLATE,
        {"reporter": party.role == "reporter", "appeal": appeal},
        now=now,
        settings=settings,
        auto_submitted="auto-replied",
    )
