"""Who gets an outbox item, decided when it is sent (SPEC §3 conflicts, §6 where mail goes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.cases import Case, get_case
from archive.council import council_holds
from archive.formpages import has_page
from archive.outbox import Audience, OutboxItem
from archive.sending import member_party, party_of
from archive.settings import Person, Settings

# The one mail a no-contact wish lets through: the confirmation that it was heard.
NO_CONTACT_EXEMPT = ("reporter/no_contact_confirmed",)


class Undeliverable(Exception):
    """Nobody may or can receive this item; the reason is recorded."""


@dataclass(frozen=True)
class Copy:
    key: str  # stable per recipient, so a retry skips copies already sent
    to: tuple[str, ...]
    message_id: str
    reply_to: str | None = None
    extra: dict = field(default_factory=dict)


def reply_address(settings: Settings, token: str) -> str:
    local, domain = settings.reports.rsplit("@", 1)
    return f"{local}+{token}@{domain}"


def copy_message_id(item: OutboxItem, recipient: str) -> str:
    """A per-recipient Message-ID derived from the item's, identical on every retry."""
    local, domain = item.message_id.strip("<>").split("@", 1)
    digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:10]
    return f"<{local}.{digest}@{domain}>"


def resolve_copies(
    db: Database, item: OutboxItem, settings: Settings, now: datetime, *, case=None
) -> list[Copy]:
    """The item's copies; `case` is the item's case when the caller has read it already."""
    if case is None and item.case_pk:
        case = get_case(db, item.case_pk)
    if item.audience == Audience.PARTY:
        party = party_of(db, item)
        if party is not None and party.no_contact and item.template not in NO_CONTACT_EXEMPT:
            return []  # they asked for no further contact: honoured by every later mail
        address = item.to_addr or (party.email if party else None)
        if not address and party is not None and has_page(db, party.pk):
            return []  # an anonymous web-form reporter reads it on their follow-up page
        if not address:
            raise Undeliverable("the party has no address")
        reply = reply_address(settings, party.token) if party else None
        return [Copy(address.lower(), (address,), item.message_id, reply)]
    if item.audience == Audience.ADDRESS:
        if not item.to_addr:
            raise Undeliverable("no address")
        # Appeal mail is answered to the appeals address: the council's, not the committee's.
        reply = settings.appeals if item.template.startswith("appellant/") else None
        return [Copy(item.to_addr.lower(), (item.to_addr,), item.message_id, reply)]
    if item.audience == Audience.CHAIR:
        # A notice about members a party's mail names skips them (`exclude`), while anyone is left.
        skip = frozenset((item.exclude or "").lower().split())
        person = chair_for(case, settings, skip=skip) or chair_for(case, settings)
        if person is None:
            raise Undeliverable("every member and council member is conflicted")
        return [_personal_copy(db, item, case, person, settings, now, single=True)]
    if item.audience == Audience.COMMITTEE:
        exclude = (item.exclude or "").lower()
        return [c for c in committee_copies(db, item, case, settings, now) if c.key != exclude]
    if item.audience == Audience.COUNCIL:
        return council_copies(db, item, case, settings, now)
    raise Undeliverable(f"unknown audience {item.audience!r}")


def conflicted_of(case: Case | None) -> set[str]:
    """Members who get nothing about the case: conflicted or recused."""
    return case.excluded() if case else set()


def committee_audience(case: Case | None, settings: Settings) -> list[Person]:
    """The members who may see this case: configured members (or, with none, the council)."""
    conflicted = conflicted_of(case)
    free = [p for p in settings.committee if p.email.lower() not in conflicted]
    return free or list(settings.alternates)


def goes_to_list(case: Case | None, settings: Settings) -> bool:
    """The list only while no member on it is conflicted, and never in token mode."""
    if settings.command_auth == "token" or not settings.members:
        return False
    conflicted = conflicted_of(case)
    return not any(m.email.lower() in conflicted for m in settings.members)


# Committee mail the council already has in its own words while it holds the case.
COUNCIL_HAS_ITS_OWN = frozenset({"committee/deadlock", "committee/appeal_received"})


def committee_copies(
    db: Database, item: OutboxItem, case: Case | None, settings: Settings, now: datetime
) -> list[Copy]:
    """The case's audience: the committee (the list, or each free member); while the
    Executive Council holds the case, the council too, since it decides (the reporter's
    feedback, held mail, follow-ups reach those who act on them)."""
    if goes_to_list(case, settings):
        copies = [Copy("list", (settings.committee_list,), item.message_id)]
    else:
        people = committee_audience(case, settings)
        if not people:
            raise Undeliverable("no member of the committee's audience is free of conflict")
        copies = [_personal_copy(db, item, case, p, settings, now) for p in people]
    if case is None or not council_holds(case) or item.template in COUNCIL_HAS_ITS_OWN:
        return copies
    try:
        council = council_copies(db, item, case, settings, now)
    except Undeliverable:
        return copies  # a wholly conflicted council: the committee's copies still go
    keys = {c.key for c in copies}
    for copy in council:
        if copy.key not in keys:  # a member on both bodies gets one copy
            if copy.message_id == item.message_id:
                copy = replace(copy, message_id=copy_message_id(item, copy.to[0]))
            copies.append(copy)
    return copies


def council_copies(
    db: Database, item: OutboxItem, case: Case | None, settings: Settings, now: datetime
) -> list[Copy]:
    """The council address, unless a council member is conflicted (or in token mode): then
    each of the others, with their own reply address for the case."""
    conflicted = conflicted_of(case)
    token = settings.command_auth == "token" and case is not None
    if not token and not any(p.email.lower() in conflicted for p in settings.council):
        return [Copy("council", (settings.council_address,), item.message_id)]
    people = [p for p in settings.council if p.email.lower() not in conflicted]
    people = people or list(settings.alternates)  # a wholly conflicted council: the alternates
    if not people:
        raise Undeliverable("every council member is conflicted and no alternate is configured")
    return [_personal_copy(db, item, case, p, settings, now, role="council") for p in people]


def chair_for(
    case: Case | None, settings: Settings, *, skip: frozenset[str] = frozenset()
) -> Person | None:
    """The chair, or the next member (then council member) who is not conflicted (nor in
    `skip`)."""
    conflicted = conflicted_of(case) | skip
    ordered = sorted(settings.members, key=lambda m: m.role != "chair")
    ordered += sorted(settings.council, key=lambda m: m.role != "council-chair")
    ordered += list(settings.alternates)
    return next((p for p in ordered if p.email.lower() not in conflicted), None)


def _personal_copy(
    db: Database,
    item: OutboxItem,
    case: Case | None,
    person: Person,
    settings: Settings,
    now: datetime,
    single: bool = False,
    role: str = "member",
) -> Copy:
    reply = None
    if case is not None:
        party = member_party(db, case, person.email, person.name, now, role)
        reply = reply_address(settings, party.token)
    message_id = item.message_id if single else copy_message_id(item, person.email)
    return Copy(
        person.email.lower(), (person.email,), message_id, reply, {"recipient_name": person.name}
    )


def on_page_only(db: Database, item: OutboxItem) -> bool:
    """Mail for an anonymous web-form reporter without a contact address: its only copy is
    the one their follow-up page shows (never withheld: they did not ask for no contact)."""
    if item.audience != Audience.PARTY:
        return False
    party = party_of(db, item)
    if party is None or party.no_contact or item.to_addr or party.email:
        return False
    return has_page(db, party.pk)
