"""Conflicts a message brings into a case, and who is told (SPEC §3).

The report itself, and a forward a delegate sends, conflicts every member it involves at once.
A follow-up conflicts the members it names only when the reporter's side wrote it (the reporter
or their delegate: they may be naming a member who was involved), and only while someone of
the committee is left free; the person reported, a witness, a mediator or anyone else cannot
choose who judges the case: the members their mail names are only reported to the chair.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.cases import Case, Party, get_case, record_event, set_conflicted
from archive.models import Conflict, IncomingMessage
from archive.outbox import Audience, queue_mail
from archive.settings import Settings

# The parties whose follow-ups still cut a member they name off at once.
REPORTER_SIDE = frozenset({"reporter", "delegate"})
WHY_FOLLOWUP = "in a follow-up"


def left_free(settings: Settings, case: Case, new: set[str]) -> list[str]:
    """Members of the committee still free once `new` members are conflicted too. Pure."""
    out = case.excluded() | {m.lower() for m in new}
    return [p.email.lower() for p in settings.committee if p.email.lower() not in out]


def conflicts_of_followup(
    db: Database, msg: IncomingMessage, case: Case, party: Party, settings: Settings, now, pk: int
) -> Case:
    """The case after what a party's follow-up says about members (before it is distributed).

    A member's own mail is deliberation, and deliberation never creates a conflict."""
    if settings.person_for(msg.from_addr or "") or not msg.conflicts:
        return case
    new = _unrecorded(case, msg.conflicts)
    if not new:
        return case
    if party.role not in REPORTER_SIDE:
        _tell(db, case, new, settings, now, pk, kind="named", party=party.role)
        return case
    if _record_unless_none_left(db, case, new, settings, now, pk, WHY_FOLLOWUP, party.role):
        return get_case(db, case.pk)
    return case


def unless_none_left(
    db: Database, case: Case, found: list[Conflict], settings: Settings, now, pk: int, *,
    why: str, writer: str | None,
) -> list[str]:  # fmt: skip
    """The conflicts one message brings, recorded, unless they would leave no member of the
    committee free: then none is, and the chair and the council are told. Returns the
    addresses recorded."""
    new = _unrecorded(case, found)
    return _record_unless_none_left(db, case, new, settings, now, pk, why, writer)


def _unrecorded(case: Case, found) -> list[Conflict]:
    """The conflicts in `found` that the case has not recorded yet (the one filter). Pure."""
    known = {m.lower() for m in case.conflicted}
    return [c for c in found if c.member.lower() not in known]


def _record_unless_none_left(db, case, new: list[Conflict], settings, now, pk, why, writer):
    if not new:
        return []
    if not left_free(settings, case, {c.member for c in new}):
        _tell(db, case, new, settings, now, pk, kind="not-applied", party=writer)
        return []
    return record_conflicts(db, case, new, settings, now, message_pk=pk, why=why)


def _tell(db, case: Case, found: list[Conflict], settings, now, pk: int, *, kind, party) -> None:
    """Members a follow-up names, left free: an audit entry; the chair (or the next free
    member it does not name) told privately, and the council too when it names everyone."""
    named = sorted({c.member.lower() for c in found})
    action = "members-named" if kind == "named" else "conflicts-not-applied"
    record_event(db, case, now=now, actor="casebook", action=action,
                 detail={"members": named, "party": party}, message_pk=pk)  # fmt: skip
    context = {
        "case_ref": case.ref,
        "kind": kind,
        "party": party,
        "conflicts": [
            conflict_entry(settings, c.member, _in_message(c.reason), c.line) for c in found
        ],
    }
    skip = " ".join(named) if kind == "named" else None
    queue_mail(db, now=now, settings=settings, template="chair/conflict",
               audience=Audience.CHAIR, case=case, context=context, exclude=skip)  # fmt: skip
    if kind == "not-applied" and settings.council:
        queue_mail(db, now=now, settings=settings, template="council/conflict_not_applied",
                   audience=Audience.COUNCIL, case=case, context=context)  # fmt: skip


def _in_message(reason: str) -> str:
    return "named in the message" if reason == "named in the report" else reason


def conflict_entry(settings: Settings, member: str, reason: str, line: str = "") -> dict:
    """One member's line in a `chair/conflict` notice."""
    person = settings.person_for(member)
    return {"member": member, "name": person.name if person else member, "reason": reason,
            "line": line}  # fmt: skip


def add_conflicts(
    db: Database,
    case: Case,
    conflicts: list[tuple[str, str]],
    settings: Settings,
    now: datetime,
    *,
    why: str,
    message_pk: int | None = None,
) -> list[str]:
    """Members newly found conflicted in an open case: recorded, and the chair told privately.

    Returns the addresses that were new; conflicts already recorded change nothing.
    """
    new = _unrecorded(case, [Conflict(member, reason) for member, reason in conflicts])
    return record_conflicts(db, case, new, settings, now, message_pk=message_pk, why=why)


def record_conflicts(
    db: Database,
    case: Case,
    new: list[Conflict],
    settings: Settings,
    now: datetime,
    *,
    message_pk: int | None,
    why: str | None = None,
    actor: str = "casebook",
) -> list[str]:
    """`new` conflicts (none recorded yet) recorded, each in the audit log, and the chair told
    privately (with the line that named them, when one did); `why`, when they came after the
    report. Returns their addresses."""
    if not new:
        return []
    known = [member.lower() for member in case.conflicted]
    set_conflicted(db, case, [*known, *(c.member.lower() for c in new)], now)
    reasons = [f"{c.reason} ({why})" if why else c.reason for c in new]
    for c, reason in zip(new, reasons, strict=True):
        record_event(db, case, now=now, actor=actor, action="conflict-detected",
                     detail={"member": c.member.lower(), "reason": reason},
                     message_pk=message_pk)  # fmt: skip
    context = {
        "case_ref": case.ref,
        "kind": "applied",
        "party": None,
        "conflicts": [
            conflict_entry(settings, c.member.lower(), reason, c.line)
            for c, reason in zip(new, reasons, strict=True)
        ],
    }
    queue_mail(db, now=now, settings=settings, template="chair/conflict",
               audience=Audience.CHAIR, case=get_case(db, case.pk), context=context)  # fmt: skip
    return [c.member.lower() for c in new]
