"""The web form's side of the archive: anonymous reports and their private follow-up pages.

A report made through the web form reaches the archive like mail (the same spool and the same
`ingest_message`), but only the form's own code can spool it with transport `form`: an outside
mailer cannot claim it. It names nobody (the reporter's address is empty, or the contact
address they chose to give) and carries the SHA-256 of the follow-up page's secret in
`X-Casebook-Page`; the secret itself is never stored, mailed or logged.

What the committee sends the reporter (`#to-reporter`, updates, the proposed resolution, the
resolution notice...) is queued as for any reporter; a reporter without an address reads it on
that page instead of in a mailbox (`page_mail`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, Party, add_follow_up_page, get_case, get_party
from archive.record.timestamps import to_text

FORM_TRANSPORT = "form"
# The envelope sender and From of every form message: a reserved domain (RFC 2606) that names
# nobody, and never a null sender (that would make the report an automatic reply).
FORM_SENDER = "anonymous@form.invalid"
PAGE_HEADER = "X-Casebook-Page"  # the follow-up page's secret, hashed (read only for `form`)
KIND_HEADER = "X-Casebook-Form"  # "report" or "follow-up"
# Reporter-bound mail as it appears on the page; the leak guard's held and dropped mail never.
PAGE_STATUSES = ("queued", "sent", "failed")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def to_the_minute(moment: datetime) -> datetime:
    """A form report's times are kept to the minute: never finer, in any table or file."""
    return moment.replace(second=0, microsecond=0)


def record_page(db: Database, case: Case, party: Party, page_hash: str, now: datetime) -> None:
    """The report's follow-up page, created to the minute."""
    add_follow_up_page(db, case, party, page_hash, to_text(to_the_minute(now)))


@dataclass(frozen=True)
class Page:
    case: Case
    party: Party


def page_for(db: Database, page_hash: str) -> Page | None:
    """The case and reporter a follow-up page speaks for (after a merge: the case it joined)."""
    row = db.execute(
        "SELECT case_pk, party_pk FROM follow_up_pages WHERE secret_sha256 = ?", [page_hash]
    ).fetchone()
    if row is None:
        return None
    party = get_party(db, row[1])
    return Page(get_case(db, party.case_pk), party)


def has_page(db: Database, party_pk: int | None) -> bool:
    if party_pk is None:
        return False
    row = db.execute("SELECT 1 FROM follow_up_pages WHERE party_pk = ?", [party_pk]).fetchone()
    return row is not None


@dataclass(frozen=True)
class PageMail:
    template: str
    context: dict
    at: str  # when it was queued, to the minute as shown


def page_mail(db: Database, party: Party) -> list[PageMail]:
    """What the committee sent this reporter, oldest first: as a mailbox would hold it."""
    marks = ", ".join("?" for _ in PAGE_STATUSES)
    rows = db.execute(
        "SELECT template, context, created_at FROM outbox WHERE party_pk = ? AND audience = 'party'"
        f" AND status IN ({marks}) ORDER BY id",
        [party.pk, *PAGE_STATUSES],
    )
    return [PageMail(t, json.loads(c), at[:16].replace("T", " ")) for t, c, at in rows]


def form_contact(address: str | None) -> str | None:
    """The contact address a form reporter gave, if any (never the form's own sender)."""
    if not address or address.lower() == FORM_SENDER:
        return None
    return address


def reachable(db: Database, party: Party) -> bool:
    """Whether mail to this party reaches them: an address, or a web-form reporter's follow-up
    page; never after they asked for no further contact."""
    return not party.no_contact and (bool(party.email) or has_page(db, party.pk))
