"""Voluntary mediation (enforcement manual, "Mediation"): nobody may be pressured.

The reporter is asked first, the reported person only after the reporter agreed; either may
decline or propose another mediator; the mediator is settled only when both agreed to the
same one; then about two weeks, with reminders to the mediator and the committee only (never
to the parties); the mediator's report goes to the parties to vet and the case returns to
deliberation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.address_grammar import find_addresses
from archive.record.cases import Case, Party, add_party, get_case, parties_of, record_event
from archive.record.deadlines import Deadline, add_deadline, cancel_deadlines
from archive.record.models import CaseState
from archive.record.outbox import Audience, Mail, queue_mail
from archive.record.settings import Settings
from archive.record.timestamps import from_text, human_date, to_text
from archive.workflow.clock_registry import Clock, register
from archive.workflow.lifecycle import move_case

DURATION = timedelta(days=14)
REMINDERS = (timedelta(days=7), timedelta(days=12))
MEDIATOR_RE = re.compile(r"(?im)^\s*mediator\s*:\s*(?P<rest>[^\n]*)")
YES_RE = re.compile(r"(?i)^\s*(yes|i agree|agreed|ok|okay)\b")
NO_RE = re.compile(r"(?i)^\s*(no|i decline|decline|not interested)\b")


@dataclass(frozen=True)
class Mediation:
    pk: int
    case_pk: int
    mediator: str
    mediator_name: str | None
    status: str
    reporter_answer: str | None
    reported_answer: str | None


COLUMNS = "id, case_pk, mediator, mediator_name, status, reporter_answer, reported_answer"


def current_mediation(db: Database, case: Case) -> Mediation | None:
    row = db.execute(
        f"SELECT {COLUMNS} FROM mediations WHERE case_pk = ? AND ended_at IS NULL"
        " ORDER BY id DESC LIMIT 1",
        [case.pk],
    ).fetchone()
    return Mediation(*row) if row else None


def _reachable(db: Database, case: Case, role: str) -> list[Party]:
    return [p for p in parties_of(db, case, role) if p.email and not p.no_contact]


def start_mediation(
    db, settings: Settings, case: Case, mediator: str, name: str | None, by: str, now: datetime
) -> str:
    """Propose mediation: ask the reporter(s) first. Returns what happened, for a transcript."""
    reporters = _reachable(db, case, "reporter")
    if not reporters:
        raise ValueError("the reporter cannot be asked (anonymous or asked for no contact)")
    db.execute(
        "INSERT INTO mediations (case_pk, mediator, mediator_name, status, proposed_by,"
        " started_at) VALUES (?, ?, ?, 'asking-reporter', ?, ?)",
        [case.pk, mediator.lower(), name, by, to_text(now)],
    )
    for party in reporters:
        _invite(db, settings, case, party, mediator, name, now)
    move_case(db, case, CaseState.MEDIATION, now=now, actor=by, reason="mediation proposed")
    return "the reporter is asked first; the reported person only if the reporter agrees"


def _invite(db, settings, case, party, mediator, name, now) -> None:
    # The guard reads the whole of what the member wrote; only the mediator's own identity may
    # show (a member who mediates).
    queue_mail(
        db,
        Mail(
            template="party/mediation_invitation",
            audience=Audience.PARTY,
            party=party,
            case=case,
            shows=mediator,
            context={"case_ref": case.ref, "mediator": name or mediator},
        ),
        now=now,
        settings=settings,
    )


def record_answer(
    db,
    settings: Settings,
    case: Case,
    mediation: Mediation,
    role: str,
    answer: str,
    now: datetime,
    mediator: tuple[str, str | None] | None = None,
) -> str:
    """A party's consent, decline or counter-proposed mediator; settles when both agree."""
    column = "reporter_answer" if role == "reporter" else "reported_answer"
    if mediator is not None:
        # A different mediator: both must agree to this one, starting again with the reporter.
        address, name = mediator
        db.execute(
            "UPDATE mediations SET mediator = ?, mediator_name = ?, reporter_answer = ?,"
            " reported_answer = NULL, status = 'asking-reporter' WHERE id = ?",
            [address.lower(), name, "agreed" if role == "reporter" else None, mediation.pk],
        )
        record_event(db, case, now=now, actor=role, action="mediator-proposed", detail={"by": role})
        if role == "reporter":
            return _ask_reported(db, settings, case, mediation.pk, address, name, now)
        for party in _reachable(db, case, "reporter"):
            _invite(db, settings, case, party, address, name, now)
        return "another mediator was proposed; the reporter is asked again"
    db.execute(f"UPDATE mediations SET {column} = ? WHERE id = ?", [answer, mediation.pk])
    record_event(db, case, now=now, actor=role, action=f"mediation-{answer}")
    if answer == "declined":
        _end(db, case, mediation.pk, "declined", now)
        _committee(
            db,
            settings,
            case,
            now,
            "committee/mediation_update",
            {"what": f"the {role} declined mediation; nobody will press them"},
        )
        return f"the {role} declined; mediation is off"
    fresh = current_mediation(db, case)
    if role == "reporter" and fresh.reported_answer is None:
        return _ask_reported(
            db, settings, case, mediation.pk, fresh.mediator, fresh.mediator_name, now
        )
    if fresh.reporter_answer == "agreed" and fresh.reported_answer == "agreed":
        return _settle(db, settings, case, fresh, now)
    return "recorded"


def _ask_reported(db, settings, case, mediation_pk, mediator, name, now) -> str:
    db.execute("UPDATE mediations SET status = 'asking-reported' WHERE id = ?", [mediation_pk])
    reported = _reachable(db, case, "reported")
    for party in reported:
        _invite(db, settings, case, party, mediator, name, now)
    if not reported:
        return "the reporter agreed; no responsible person with an address to ask (#responsible)"
    return "the reporter agreed; the reported person is asked now"


def _settle(db, settings, case: Case, mediation: Mediation, now: datetime) -> str:
    due = now + DURATION
    db.execute(
        "UPDATE mediations SET status = 'settled', settled_at = ?, due_at = ? WHERE id = ?",
        [to_text(now), to_text(due), mediation.pk],
    )
    mediator = add_party(
        db, case, role="mediator", name=mediation.mediator_name, email=mediation.mediator, now=now
    )
    _brief_mediator_and_parties(db, settings, case, mediation, mediator, due, now)
    for after in REMINDERS:
        add_deadline(db, case, "mediation-reminder", now + after, now, {"mediation": mediation.pk})
    # Past the due date without a report: raised with the committee (never the parties).
    add_deadline(
        db, case, "mediation-reminder", due, now, {"mediation": mediation.pk, "overdue": True}
    )
    record_event(
        db,
        case,
        now=now,
        actor="casebook",
        action="mediation-settled",
        detail={"due": to_text(due)},
    )
    _committee(
        db,
        settings,
        case,
        now,
        "committee/mediation_update",
        {"what": "both parties agreed on the mediator; two weeks start now"},
    )
    return "both parties agreed: the mediator is briefed, two weeks start now"


def _brief_mediator_and_parties(db, settings, case, mediation, mediator: Party, due, now) -> None:
    """Both parties agreed: the mediator learns whom to talk to, the parties who mediates."""
    due_text = human_date(due, settings.zone)
    # Both parties agreed to this mediator: the mediator needs to know whom to talk to.
    parties = [_named(p) for role in ("reporter", "reported") for p in _reachable(db, case, role)]
    queue_mail(
        db,
        Mail(
            template="mediator/brief",
            audience=Audience.PARTY,
            party=mediator,
            case=case,
            context={"case_ref": case.ref, "due": due_text, "parties": parties},
        ),
        now=now,
        settings=settings,
    )
    agreed = {
        "case_ref": case.ref,
        "due": due_text,
        "mediator": mediation.mediator_name or mediation.mediator,
    }
    for role in ("reporter", "reported"):
        for party in _reachable(db, case, role):
            queue_mail(
                db,
                Mail(
                    template="party/mediation_agreed",
                    audience=Audience.PARTY,
                    party=party,
                    case=case,
                    context=agreed,
                    shows=mediation.mediator,
                ),
                now=now,
                settings=settings,
            )


def record_report(
    db, settings: Settings, case: Case, mediation: Mediation, text: str, now: datetime
) -> str:
    db.execute(
        "UPDATE mediations SET report = ?, status = 'reported' WHERE id = ?", [text, mediation.pk]
    )
    _end(db, case, mediation.pk, "reported", now)
    record_event(db, case, now=now, actor="mediator", action="mediation-report")
    for role in ("reporter", "reported"):
        for party in _reachable(db, case, role):
            queue_mail(
                db,
                Mail(
                    template="party/mediation_report",
                    audience=Audience.PARTY,
                    party=party,
                    case=case,
                    context={"case_ref": case.ref, "report": text},
                ),
                now=now,
                settings=settings,
            )
    _committee(
        db,
        settings,
        case,
        now,
        "committee/mediation_update",
        {
            "what": "the mediator's report arrived; it was sent to the parties to vet",
            "report": text,
        },
    )
    _back_to_deliberation(db, case, now, "mediator's report")
    return "report recorded and sent to the parties to vet; the case is back in deliberation"


def _named(party: Party) -> str:
    return f"{party.name} <{party.email}>" if party.name else party.email or "(no address)"


def _end(db, case, mediation_pk, status, now) -> None:
    db.execute(
        "UPDATE mediations SET status = ?, ended_at = ? WHERE id = ?",
        [status, to_text(now), mediation_pk],
    )
    cancel_deadlines(db, case, ("mediation-reminder",), now)
    if status == "declined":
        _back_to_deliberation(db, case, now, "mediation declined")


def _back_to_deliberation(db, case: Case, now: datetime, reason: str) -> None:
    """A mediation that ends returns the case to the committee, if it is still in mediation."""
    if get_case(db, case.pk).state == CaseState.MEDIATION:
        move_case(db, case, CaseState.DELIBERATING, now=now, actor="casebook", reason=reason)


def _committee(db, settings, case, now, template, context) -> None:
    queue_mail(
        db,
        Mail(
            template=template,
            audience=Audience.COMMITTEE,
            case=case,
            context={"case_ref": case.ref, "report": None, **context},
        ),
        now=now,
        settings=settings,
    )


# How the mediator marks a reply as the report (the brief tells them): `#mediation report` or
# "Report:" on its first line, or "report" in the subject. Anything else ("may I have more
# time?") is only shown to the committee, never sent to the parties as the report.
# The mark: `#mediation report` (text may follow on its line), or "Report:" / "Mediation
# report:" (a colon, or the word alone on its line). "Report not ready yet, may I have more
# time?" is a question for the committee, not the report.
REPORT_LINE_RE = re.compile(
    r"(?i)^\s*(?:#\s*mediation[ _-]+report\b\s*[:.!-]?"
    r"|(?:mediation[ _-]+)?report\s*(?::|[.!-]?\s*$))\s*"
)
REPORT_SUBJECT_RE = re.compile(r"(?i)\breport\b")


def report_from_mediator(text: str, subject: str | None) -> str | None:
    """The mediator's report in their reply's new text, or None if they did not mark it so."""
    stripped = text.strip()
    first, _, rest = stripped.partition("\n")
    marker = REPORT_LINE_RE.match(first)
    if marker:
        return "\n".join(t for t in (first[marker.end() :].strip(), rest.strip()) if t) or None
    subject = re.sub(r"(?i)^(?:(?:re|aw|sv|fwd?)\s*:\s*)+", "", subject or "")
    if REPORT_SUBJECT_RE.search(subject) and stripped:
        return stripped
    return None


def answer_from_reply(text: str) -> tuple[str | None, tuple[str, str | None] | None]:
    """A party's own reply: ('agreed'|'declined'|None, a counter-proposed mediator or None)."""
    for line in MEDIATOR_RE.finditer(text):  # `Mediator: Max <max@example.net>`
        found = find_addresses(line.group("rest"), dotted=False)
        if found:
            name = line.group("rest").split(found[0])[0].strip().removesuffix("<").strip()
            return None, (found[0], name or None)
    if YES_RE.match(text):
        return "agreed", None
    if NO_RE.match(text):
        return "declined", None
    return None, None


def fire_mediation_reminder(
    db, settings: Settings, now: datetime, deadline: Deadline, case: Case
) -> bool:
    """Reminders go to the mediator and the committee only: never to the parties."""
    row = db.execute(
        "SELECT due_at FROM mediations WHERE id = ? AND status = 'settled'",
        [deadline.payload.get("mediation")],
    ).fetchone()
    if row is None:
        return False
    due = human_date(from_text(row[0]), settings.zone)
    if deadline.payload.get("overdue"):  # the committee decides what next, not the parties
        _committee(
            db,
            settings,
            case,
            now,
            "committee/mediation_update",
            {"what": f"overdue: no report from the mediator by {due}", "report": None},
        )
        return True
    context = {"case_ref": case.ref, "due": due}
    for party in parties_of(db, case, "mediator"):
        queue_mail(
            db,
            Mail(
                template="mediator/reminder",
                audience=Audience.PARTY,
                party=party,
                case=case,
                context=context,
            ),
            now=now,
            settings=settings,
        )
    _committee(
        db,
        settings,
        case,
        now,
        "committee/mediation_update",
        {"what": f"the mediation is due by {due}", "report": None},
    )
    return True


CLOCKS = register(
    Clock("mediation-reminder", fire_mediation_reminder, chain="mediation", chain_key="mediation"),
)
