"""An appeal in a party's name that was not proved to be theirs, confirmed by the party.

The appeal arrived unlinked (archive.workflow.appeals.appeal_case) and the party was asked,
with their reply address, whether they sent it (archive.arrivals.unverified). Their "yes"
through that address, in answer to the request, links the appeal to their case: the case
moves to `appealed` if the committee had finished with it, the party is acknowledged at the
address the case holds and the council hears that the appeal is now the party's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.unverified import CONFIRM_TEMPLATE
from archive.record.cases import Case, Party, get_case, record_event
from archive.record.models import IncomingMessage
from archive.record.outbox import Audience, Mail, queue_mail
from archive.record.settings import Settings
from archive.record.timestamps import from_text, human_date
from archive.workflow.appeal_requests import appeals_asked_in
from archive.workflow.appeals import get_appeal, link_appeal
from archive.workflow.consent import consent_in

PARTY = {"reported": "the person responsible", "reporter": "the reporter"}


def confirm_appeals(
    db: Database, msg: IncomingMessage, case: Case, party: Party, settings: Settings, now
) -> list[int]:
    """The appeals this reply (to the party's own reply address) confirms; each linked."""
    if msg.automatic or msg.historical or consent_in(msg.authored or msg.text) != "agreed":
        return []
    requests = _requests_answered(db, msg, case, party)
    if not requests:
        return []
    confirmed = _pending_appeals(db, case, party, requests)
    for appeal_pk in confirmed:
        _link(db, msg, case, party, appeal_pk, settings, now)
    return confirmed


def _requests_answered(db: Database, msg: IncomingMessage, case: Case, party: Party) -> set[str]:
    """The requests about an appeal, sent to this party in this case, that the reply answers
    (a yes to a request about a follow-up is no yes to an appeal it never mentioned)."""
    refs = [*msg.references, *([msg.in_reply_to] if msg.in_reply_to else [])]
    if not refs:
        return set()
    marks = ",".join("?" * len(refs))
    rows = db.execute(
        f"SELECT message_id, context FROM outbox WHERE template = ? AND case_pk = ?"
        f" AND party_pk = ? AND message_id IN ({marks})",
        [CONFIRM_TEMPLATE, case.pk, party.pk, *refs],
    ).fetchall()
    return {mid for mid, context in rows if json.loads(context or "{}").get("appeal")}


def _pending_appeals(db: Database, case: Case, party: Party, requests: set[str]) -> list[int]:
    """Unverified appeals naming this party that one of these requests asked about, still
    unlinked and undecided (one that came after the day's request is asked about by a later
    request of its own: archive.workflow.appeal_requests)."""
    rows = db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = 'unverified-word'", [case.pk]
    ).fetchall()
    found = []
    for (detail,) in rows:
        wish = json.loads(detail or "{}")
        if wish.get("party") != party.pk or not wish.get("appeal"):
            continue
        if wish.get("request") not in requests:
            continue
        if _still_open(db, wish["appeal"]) and wish["appeal"] not in found:
            found.append(wish["appeal"])
    return [
        *found,
        *(
            pk
            for pk in appeals_asked_in(db, case, party, requests)
            if pk not in found and _still_open(db, pk)
        ),
    ]


def _still_open(db: Database, appeal_pk: int) -> bool:
    appeal = get_appeal(db, appeal_pk)
    return appeal.case_pk is None and appeal.status != "decided"


def _link(db, msg: IncomingMessage, case: Case, party: Party, appeal_pk: int, settings, now):
    actor = party.email or party.role
    link_appeal(
        db, case, appeal_pk, now, by=actor, reason="appeal confirmed by the party", proved=True
    )
    record_event(
        db,
        case,
        now=now,
        actor=actor,
        action="appeal-confirmed",
        detail={"appeal": appeal_pk, "by_party": True},
    )
    case = get_case(db, case.pk)
    due = human_date(from_text(get_appeal(db, appeal_pk).due_at), settings.zone)
    queue_mail(
        db,
        Mail(
            template="appellant/appeal_ack",
            audience=Audience.ADDRESS,
            to_addr=party.email,
            case=case,
            context={"case_ref": case.ref, "due": due},
            auto_submitted="auto-replied",
        ),
        now=now,
        settings=settings,
    )
    text = f"The appellant ({PARTY.get(party.role, party.role)}) confirmed this appeal through "
    text += f"the reply address casebook gave them; it now belongs to case {case.ref}."
    queue_mail(
        db,
        Mail(
            template="council/appeal_followup",
            audience=Audience.COUNCIL,
            case=case,
            context={"case_ref": case.ref, "appeal": appeal_pk, "from": actor, "text": text},
            in_reply_to=msg.message_id,
        ),
        now=now,
        settings=settings,
    )
