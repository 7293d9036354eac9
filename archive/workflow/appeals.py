"""Appeals to the Executive Council (SPEC §4; reporting guide, "Appealing").

An appeal is linked to its case by subject tag, references, or the appellant being a party;
it is acknowledged at once (generically unless the sender is a party of the case, so a
stranger quoting a tag learns nothing), sent to the council (its non-conflicted members one
by one when one is conflicted), reminded at 7 and 12 days, and decided by the council's
chair or a quorum with `#appeal uphold|modify|overturn TEXT`; `#appeal extend DATE` tells
the appellant more time is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.threads import case_by_references, case_by_tag
from archive.arrivals.unverified import ask_about
from archive.record.cases import (
    Case,
    Party,
    file_message,
    get_case,
    party_for_address,
    record_event,
)
from archive.record.deadlines import Deadline, add_deadline, adopt_deadlines, cancel_by_payload
from archive.record.models import CaseState, IncomingMessage
from archive.record.outbox import Audience, Mail, queue_mail, queued_today
from archive.record.settings import Settings
from archive.record.store import IngestResult, store_message
from archive.record.timestamps import from_text, human_date, to_text
from archive.workflow.appeal_requests import ask_later
from archive.workflow.case_brief import case_brief
from archive.workflow.clock_registry import Clock, register
from archive.workflow.lifecycle import move_case
from archive.workflow.states import is_done

REMINDERS = (timedelta(days=7), timedelta(days=12))
DECISIONS = ("uphold", "modify", "overturn")
# A party's own words about appealing ("I want to appeal", "how do I appeal?"), in English and
# the languages the guide's readers most write: the committee answers with how to appeal.
APPEAL_WISH_RE = re.compile(
    r"(?i)\b(appeal(s|ing|ed)?|einspruch|widerspruch|berufung|faire appel|recours|apelar|"
    r"apelaci[oó]n|recurrir|recorrer|ricorso|bezwaar)\b"
)


def wishes_to_appeal(text: str) -> bool:
    """Whether a party's own words speak of appealing."""
    return APPEAL_WISH_RE.search(text) is not None


@dataclass(frozen=True)
class Appeal:
    pk: int
    case_pk: int | None
    appellant: str | None
    received_at: str
    due_at: str
    status: str
    previous_state: str | None


COLUMNS = "id, case_pk, appellant, received_at, due_at, status, previous_state"


def open_appeal_of(db: Database, case: Case) -> Appeal | None:
    row = db.execute(
        f"SELECT {COLUMNS} FROM appeals WHERE case_pk = ? AND status != 'decided'"
        " ORDER BY id DESC LIMIT 1",
        [case.pk],
    ).fetchone()
    return Appeal(*row) if row else None


def blocking_appeal_of(db: Database, case: Case) -> Appeal | None:
    """The open appeal the council decides before the committee may resolve or close the case:
    not one that a stranger (no appellant of the case) sent quoting its tag, which is linked
    for the council to read but flips nothing (appeal_case), pausing nothing either."""
    rows = db.execute(
        f"SELECT {COLUMNS} FROM appeals WHERE case_pk = ? AND status != 'decided' ORDER BY id DESC",
        [case.pk],
    ).fetchall()
    for row in rows:
        appeal = Appeal(*row)
        stranger = db.execute(
            "SELECT 1 FROM events WHERE case_pk = ? AND action = 'appeal-received'"
            " AND json_extract(detail, '$.appeal') = ?"
            " AND json_extract(detail, '$.by_party') = 0",
            [case.pk, appeal.pk],
        ).fetchone()
        if stranger is None:
            return appeal
    return None


APPELLANTS = ("reporter", "reported", "delegate")


def _case_of_appellant(db: Database, address: str | None) -> Case | None:
    if not address:
        return None
    row = db.execute(
        "SELECT case_pk FROM parties WHERE email = ? COLLATE NOCASE AND role IN"
        " ('reporter', 'reported', 'delegate') ORDER BY id DESC LIMIT 1",
        [address],
    ).fetchone()
    return get_case(db, row[0]) if row else None


def appeal_case(
    db: Database, msg: IncomingMessage, settings: Settings
) -> tuple[Case | None, bool, tuple[Case, Party] | None]:
    """The case an appeal is linked to, whether its sender is proved a party of it, and the
    case and party its From names without proof (issue 18: a From alone is forged in a
    minute; such an appeal stays unlinked, and the party is asked to confirm)."""
    tagged = case_by_tag(db, msg, settings.case_prefix) or case_by_references(db, msg)
    case = tagged or _case_of_appellant(db, msg.from_addr)
    party = party_for_address(db, case, msg.from_addr) if case else None
    if party is None or party.role not in APPELLANTS:
        return tagged, False, None  # a stranger quoting a tag: linked, but flips nothing
    if msg.party_auth.verified:
        return case, True, None
    if msg.automatic or msg.historical:
        return case, False, None
    return None, False, (case, party)


def party_address(db: Database, case: Case, address: str | None) -> str | None:
    """The address the case holds for the party writing from `address`."""
    row = db.execute(
        "SELECT email FROM parties WHERE case_pk = ? AND email = ? COLLATE NOCASE",
        [case.pk, address],
    ).fetchone()
    return row[0] if row else None


def receive_appeal(
    db: Database, msg: IncomingMessage, settings: Settings, now: datetime
) -> IngestResult:
    """Mail to the appeals address: linked, acknowledged, sent to the council, clocks started."""
    case, is_party, unproven = appeal_case(db, msg, settings)
    pk = store_message(db, msg, now, kind="appeal", case=case)
    if msg.automatic or msg.historical:
        return IngestResult(pk, False, "appeal", case.ref if case else None)
    due = now + settings.appeal_due
    appeal_pk = _insert_appeal(db, case, pk, msg.from_addr, now, due)
    if unproven is not None:  # linked only once the party confirms through their reply address
        _ask_party(db, msg, unproven, settings, now, pk, appeal_pk)
    if case is not None:
        _appeal_on_case(db, msg, case, appeal_pk, is_party, due, settings, now, pk)
    start_appeal_clocks(db, case, appeal_pk, now, due, now)  # linked or not: two weeks
    if not msg.no_reply_reason and msg.envelope_from:
        _acknowledge(db, msg, case if is_party else None, due, settings, now)
    queue_mail(
        db,
        Mail(
            template="council/appeal",
            audience=Audience.COUNCIL,
            case=case,
            context={
                "case_ref": case.ref if case else None,
                "appeal": appeal_pk,
                "appellant": msg.from_addr or "unknown",
                "by_party": is_party,
                "subject": msg.subject,
                "text": msg.text[:20000],
                "due": human_date(due, settings.zone),
                # The facts only for a party's appeal: a stranger quoting a tag is
                # shown to the council as the words they sent, nothing more.
                "brief": case_brief(db, case) if case and is_party else None,
            },
            in_reply_to=msg.message_id,
        ),
        now=now,
        settings=settings,
    )
    return IngestResult(pk, False, "appeal", case.ref if case else None)


def _appeal_on_case(
    db,
    msg: IncomingMessage,
    case: Case,
    appeal_pk: int,
    is_party: bool,
    due,
    settings: Settings,
    now: datetime,
    pk: int,
) -> None:
    """The appeal in its case's record; a party's appeal tells the committee, and moves a
    decided case to the council."""
    record_event(
        db,
        case,
        now=now,
        actor=msg.from_addr or "unknown sender",
        action="appeal-received",
        detail={"appeal": appeal_pk, "by_party": is_party},
        message_pk=pk,
    )
    if is_party:  # the committee learns its decision is appealed; never a stranger's word
        told = {"case_ref": case.ref, "due": human_date(due, settings.zone)}
        queue_mail(
            db,
            Mail(
                template="committee/appeal_received",
                audience=Audience.COMMITTEE,
                case=case,
                context=told,
            ),
            now=now,
            settings=settings,
        )
    if is_party and is_done(case.state):  # never on a stranger's word
        move_case(
            db,
            case,
            CaseState.APPEALED,
            now=now,
            actor=msg.from_addr or "appellant",
            reason="appeal",
            message_pk=pk,
        )


def _insert_appeal(db, case: Case | None, pk: int, appellant, now: datetime, due: datetime) -> int:
    """The appeal's row, with the state its case was in (a decided appeal may return to it)."""
    cursor = db.execute(
        "INSERT INTO appeals (case_pk, message_pk, appellant, received_at, due_at, previous_state)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            case.pk if case else None,
            pk,
            appellant,
            to_text(now),
            to_text(due),
            case.state if case else None,
        ],
    )
    return cursor.lastrowid


def _ask_party(
    db, msg: IncomingMessage, unproven: tuple[Case, Party], settings, now, pk: int, appeal_pk: int
) -> None:
    """The party is asked whether the appeal is theirs: now, or once the day's request (spent
    on something else) is a day old."""
    if ask_about(db, msg, *unproven, settings, now, pk, appeal_pk=appeal_pk) is None:
        ask_later(db, msg, *unproven, now)


def _acknowledge(db, msg: IncomingMessage, party_case: Case | None, due, settings, now) -> None:
    """To the address the case holds when a proved party appealed; else, generically (no case
    named), to the envelope sender."""
    template = "appellant/appeal_ack" if party_case else "appellant/appeal_ack_generic"
    to_addr = party_address(db, party_case, msg.from_addr) if party_case else msg.envelope_from
    if not party_case and queued_today(db, template, to_addr, now) >= settings.ack_daily_cap:
        return  # anyone can forge an envelope: no address is mailed once per forgery
    queue_mail(
        db,
        Mail(
            template=template,
            audience=Audience.ADDRESS,
            to_addr=to_addr,
            case=party_case,
            context={
                "case_ref": party_case.ref if party_case else None,
                "due": human_date(due, settings.zone),
            },
            in_reply_to=msg.message_id,
            refs=(*msg.references, msg.message_id),
            auto_submitted="auto-replied",
        ),
        now=now,
        settings=settings,
    )


def start_appeal_clocks(
    db: Database,
    case: Case | None,
    appeal_pk: int,
    received: datetime,
    due: datetime,
    now: datetime,
) -> None:
    for after in REMINDERS:
        add_deadline(db, case, "appeal-reminder", received + after, now, {"appeal": appeal_pk})
    add_deadline(db, case, "appeal-due", due, now, {"appeal": appeal_pk})


def link_appeal(
    db: Database,
    case: Case,
    appeal_pk: int,
    now: datetime,
    *,
    by: str = "committee",
    reason: str = "appeal linked by #merge",
    proved: bool = False,
) -> None:
    """An appeal that arrived unlinked now belongs to `case` (a member's #merge, or the party's
    confirmation: `proved`): its clocks, running since it arrived, go with it; a stranger's
    appeal never flips the case, nor one whose From named a party without proof."""
    appellant = db.execute("SELECT appellant FROM appeals WHERE id = ?", [appeal_pk]).fetchone()[0]
    db.execute(
        "UPDATE appeals SET case_pk = ?, previous_state = ? WHERE id = ?",
        [case.pk, case.state, appeal_pk],
    )
    message = db.execute("SELECT message_pk FROM appeals WHERE id = ?", [appeal_pk]).fetchone()
    if message and message[0] is not None:
        file_message(db, message[0], case)
    party = _case_of_appellant(db, appellant) == case
    if is_done(case.state) and party and (proved or not _unproven(db, appeal_pk)):
        move_case(db, case, CaseState.APPEALED, now=now, actor=by, reason=reason)
    adopt_deadlines(db, case, ("appeal-reminder", "appeal-due"), "appeal", appeal_pk)


def _unproven(db: Database, appeal_pk: int) -> bool:
    """Its From named a party, but nothing proved it was theirs (archive.arrivals.unverified)."""
    row = db.execute(
        "SELECT 1 FROM events WHERE action = 'unverified-word'"
        " AND json_extract(detail, '$.appeal') = ?",
        [appeal_pk],
    ).fetchone()
    return row is not None


def vote_on_appeal(
    db: Database,
    case: Case | None,
    appeal: Appeal,
    member: str,
    decision: str,
    text: str,
    settings: Settings,
    now: datetime,
) -> str | None:
    """Record a council member's decision; the decision if it now stands, else None."""
    db.execute(
        "INSERT INTO appeal_votes (appeal_pk, member, decision, text, at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (appeal_pk, member) DO UPDATE SET decision = excluded.decision,"
        " text = excluded.text, at = excluded.at",
        [appeal.pk, member.lower(), decision, text, to_text(now)],
    )
    chair = settings.council_chair
    if chair and chair.email.lower() == member.lower():
        return decision
    excluded = case.excluded() if case else set()
    free = [p for p in settings.council if p.email.lower() not in excluded]
    quorum = settings.appeal_quorum or (len(free) // 2 + 1)
    same = db.execute(
        "SELECT COUNT(*) FROM appeal_votes WHERE appeal_pk = ? AND decision = ?",
        [appeal.pk, decision],
    ).fetchone()[0]
    return decision if same >= quorum else None


def decide_appeal(
    db: Database, case: Case | None, appeal: Appeal, decision: str, text: str, now: datetime
) -> None:
    db.execute(
        "UPDATE appeals SET status = 'decided', decision = ?, decision_text = ?, decided_at = ?"
        " WHERE id = ?",
        [decision, text, to_text(now), appeal.pk],
    )
    cancel_appeal_clocks(db, appeal, ("appeal-reminder", "appeal-due"), now)


def extend_appeal(db: Database, case: Case | None, appeal: Appeal, until: datetime, now) -> None:
    db.execute(
        "UPDATE appeals SET status = 'extended', due_at = ? WHERE id = ?",
        [to_text(until), appeal.pk],
    )
    cancel_appeal_clocks(db, appeal, ("appeal-due",), now)
    add_deadline(db, case, "appeal-due", until, now, {"appeal": appeal.pk})


def cancel_appeal_clocks(db: Database, appeal: Appeal, kinds: tuple[str, ...], now) -> None:
    """The appeal's pending clocks, linked to a case or not."""
    cancel_by_payload(db, kinds, "appeal", appeal.pk, now)


def get_appeal(db: Database, pk: int) -> Appeal:
    return Appeal(*db.execute(f"SELECT {COLUMNS} FROM appeals WHERE id = ?", [pk]).fetchone())


def appeal_message_id(db: Database, appeal: Appeal) -> str | None:
    """The appeal's own Message-ID: what every appeal mail answers, to keep one thread."""
    row = db.execute(
        "SELECT m.message_id FROM appeals a JOIN messages m ON m.id = a.message_pk WHERE a.id = ?",
        [appeal.pk],
    ).fetchone()
    return row[0] if row else None


def appeal_by_references(db: Database, msg: IncomingMessage) -> Appeal | None:
    """The appeal a message answers: its references name the appeal itself, or mail casebook
    sent about it (the acknowledgement, the council's notice, the decision), all of which
    answer the appeal's own message."""
    for ref in reversed((*msg.references, *([msg.in_reply_to] if msg.in_reply_to else []))):
        row = db.execute(
            "SELECT a.id FROM appeals a JOIN messages m ON m.id = a.message_pk"
            " WHERE m.message_id = ? OR m.message_id IN (SELECT in_reply_to FROM outbox"
            "  WHERE message_id = ? AND (template LIKE 'appellant/%' OR template LIKE"
            "  'council/appeal%')) OR m.message_id IN (SELECT in_reply_to FROM messages"
            "  WHERE message_id = ? AND direction = 'out' AND (kind LIKE 'appellant/%'"
            "  OR kind LIKE 'council/appeal%')) ORDER BY a.id DESC LIMIT 1",
            [ref, ref, ref],
        ).fetchone()
        if row:
            return get_appeal(db, row[0])
    return None


def record_appeal_followup(
    db: Database, msg: IncomingMessage, appeal: Appeal, settings: Settings, now: datetime
) -> IngestResult:
    """The appellant (or anyone) answering appeal mail: it is the council's, not the
    committee's, and it is no new appeal."""
    case = get_case(db, appeal.case_pk) if appeal.case_pk else None
    pk = store_message(db, msg, now, kind="appeal-followup", case=case)
    if case is not None:
        record_event(
            db,
            case,
            now=now,
            actor=msg.from_addr or "unknown sender",
            action="appeal-followup",
            detail={"appeal": appeal.pk},
            message_pk=pk,
        )
    if not (msg.automatic or msg.historical):
        queue_mail(
            db,
            Mail(
                template="council/appeal_followup",
                audience=Audience.COUNCIL,
                case=case,
                context={
                    "case_ref": case.ref if case else None,
                    "appeal": appeal.pk,
                    "from": msg.from_addr or "unknown sender",
                    "text": msg.text[:20000],
                },
                in_reply_to=msg.message_id,
                refs=(*msg.references, msg.message_id),
            ),
            now=now,
            settings=settings,
        )
    return IngestResult(pk, False, "appeal", case.ref if case else None)


def _open_appeal(db, deadline: Deadline):
    row = db.execute(
        "SELECT id, due_at, status FROM appeals WHERE id = ?", [deadline.payload.get("appeal")]
    ).fetchone()
    return row if row and row[2] != "decided" else None


def _due_context(case: Case | None, appeal, settings: Settings) -> dict:
    return {
        "case_ref": case.ref if case else None,
        "due": human_date(from_text(appeal[1]), settings.zone),
    }


def _appeal_thread(db, appeal_pk: int) -> dict:
    """Appeal mail answers the appeal's own message, so the council's thread stays one."""
    thread = appeal_message_id(db, get_appeal(db, appeal_pk))
    return {"in_reply_to": thread, "refs": (thread,)} if thread else {}


def _remind_council(db, settings: Settings, now: datetime, case: Case, appeal, template: str):
    """An open appeal's reminder or overdue notice to the council, in the appeal's thread."""
    queue_mail(
        db,
        Mail(
            template=template,
            audience=Audience.COUNCIL,
            case=case,
            **_appeal_thread(db, appeal[0]),
            context=_due_context(case, appeal, settings),
        ),
        now=now,
        settings=settings,
    )


def fire_appeal_reminder(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    appeal = _open_appeal(db, deadline)
    if appeal is None:
        return False
    _remind_council(db, settings, now, case, appeal, "council/appeal_reminder")
    return True


def fire_appeal_due(db, settings: Settings, now: datetime, deadline: Deadline, case: Case) -> bool:
    appeal = _open_appeal(db, deadline)
    if appeal is None:
        return False
    record_event(
        db, case, now=now, actor="clock", action="appeal-overdue", detail={"appeal": appeal[0]}
    )
    _remind_council(db, settings, now, case, appeal, "council/appeal_overdue")
    return True


# The 7- and 12-day reminders and the due date are one chain: after downtime only the
# latest that came due is sent ("overdue" makes the reminders stale).
CLOCKS = register(
    Clock("appeal-reminder", fire_appeal_reminder, chain="appeal", chain_key="appeal"),
    Clock("appeal-due", fire_appeal_due, chain="appeal", chain_key="appeal"),
)
