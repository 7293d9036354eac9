"""Voluntary mediation (enforcement manual, "Mediation"): nobody may be pressured.

The committee's candidate mediator is asked first ("find a candidate who can serve"), then the
reporter, the reported person only after the reporter agreed; anyone may decline, and either
party may propose another mediator (in a `Mediator:` line or in plain words with an address),
who is asked once both parties agreed to them. The mediator is settled only when all three
agreed; then about two weeks (`#mediation extend` gives more), with reminders to the mediator
and the committee only (never to the parties); the mediator's report goes to the parties to
vet, each party's vetting is kept with it, and the case returns to deliberation. When the
committee decides the case, the parties and the mediator are told.
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
from archive.record.outbox import Audience, Mail, queue_mail, to_case_audience, to_party
from archive.record.settings import Settings
from archive.record.timestamps import from_text, human_date, to_text
from archive.workflow.clock_registry import Clock, register
from archive.workflow.lifecycle import move_case

DURATION = timedelta(days=14)
REMINDERS = (timedelta(days=7), timedelta(days=12))
BEFORE_DUE = timedelta(days=2)  # after an extension: one reminder this long before the date
INVITATION = "party/mediation_invitation"
CANDIDATE = "mediator/invitation"
UNCLEAR = "party/mediation_unclear"
VET = "party/mediation_report"
# The mail an answer to mediation replies to: the invitations, the question about an unclear
# answer, and the request to write again through the reply address (archive/arrivals/unverified.py).
ANSWERED = (INVITATION, UNCLEAR, CANDIDATE, "party/confirm_message")
MEDIATOR_RE = re.compile(r"(?im)^\s*mediator\s*:\s*(?P<rest>[^\n]*)")
YES_RE = re.compile(r"(?i)^\s*(yes|i agree|agreed|ok|okay|sure|(i am |i'?d be )?happy to)\b")
NO_RE = re.compile(r"(?i)^\s*(no|i decline|decline|not interested|i can'?t|i cannot)\b")
# A counter-proposal in plain words names someone before their address: the last run of two or
# more capitalised words ("could it be Nora Neutral instead? nora@example.net").
NAME_RUN_RE = re.compile(r"\b[A-Z][\w'-]+(?:[ \t]+[A-Z][\w'-]+)+")
# Words that ask for someone else: with an address they propose them (an address alone, as in a
# signature, proposes nobody); without one, the party is asked for it, nothing is guessed.
SOMEONE_ELSE_RE = re.compile(
    r"(?i)\b(someone else|somebody else|another|different|instead|rather|prefer|suggest"
    r"|propose|how about|what about|could it be|would it be|mediator)\b"
)
ROLES = ("reporter", "reported", "mediator")


@dataclass(frozen=True)
class Mediation:
    pk: int
    case_pk: int
    mediator: str
    mediator_name: str | None
    status: str
    reporter_answer: str | None
    reported_answer: str | None
    mediator_answer: str | None = None
    due_at: str | None = None

    def answer(self, role: str) -> str | None:
        return {
            "reporter": self.reporter_answer,
            "reported": self.reported_answer,
            "mediator": self.mediator_answer,
        }[role]


COLUMNS = (
    "id, case_pk, mediator, mediator_name, status, reporter_answer, reported_answer,"
    " mediator_answer, due_at"
)


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
    """Propose mediation: ask the candidate mediator first. Returns what happened, for a
    transcript."""
    if not _reachable(db, case, "reporter"):
        raise ValueError("the reporter cannot be asked (anonymous or asked for no contact)")
    db.execute(
        "INSERT INTO mediations (case_pk, mediator, mediator_name, status, proposed_by,"
        " started_at) VALUES (?, ?, ?, 'asking-mediator', ?, ?)",
        [case.pk, mediator.lower(), name, by, to_text(now)],
    )
    _ask(db, settings, case, current_mediation(db, case), "mediator", now)
    move_case(db, case, CaseState.MEDIATION, now=now, actor=by, reason="mediation proposed")
    return (
        "the candidate mediator is asked first; then the reporter, and the reported person"
        " only if the reporter agrees"
    )


def _mediator_party(db, case: Case, address: str, name: str | None, now: datetime) -> Party:
    """The candidate's party row (their own reply address), made when they are first asked."""
    for party in parties_of(db, case, "mediator"):
        if party.email and party.email.lower() == address.lower():
            return party
    return add_party(db, case, role="mediator", name=name, email=address.lower(), now=now)


def _ask(db, settings, case: Case, mediation: Mediation, role: str, now: datetime) -> str:
    """Ask `role` whether they agree to this mediation (and this mediator)."""
    db.execute("UPDATE mediations SET status = ? WHERE id = ?", [f"asking-{role}", mediation.pk])
    mediator, name = mediation.mediator, mediation.mediator_name
    if role == "mediator":
        party = _mediator_party(db, case, mediator, name, now)
        to_party(db, case, party, CANDIDATE, now=now, settings=settings, shows=mediator)
        return "the candidate mediator is asked whether they can serve"
    asked = _reachable(db, case, role)
    for party in asked:
        _invite(db, settings, case, party, mediator, name, now)
    if role == "reporter":
        return "the reporter is asked"
    if not asked:
        return "no responsible person with an address to ask (#responsible)"
    return "the reported person is asked now"


def _invite(db, settings, case, party, mediator, name, now) -> None:
    # The guard reads the whole of what the member wrote; only the mediator's own identity may
    # show (a member who mediates).
    to_party(
        db,
        case,
        party,
        INVITATION,
        {"mediator": name or mediator},
        now=now,
        settings=settings,
        shows=mediator,
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
    """A consent, decline or counter-proposed mediator; settles when all three agree."""
    if mediator is not None and mediator[0].lower() == mediation.mediator:
        mediator, answer = None, "agreed"  # "Mediator: Max" when Max is the one asked
    if mediator is not None:
        # A different mediator: the one who proposed them agreed to them; the other party is
        # asked, and the new candidate once both parties agreed.
        address, name = mediator
        _release_candidate(db, settings, case, mediation, now)
        db.execute(
            "UPDATE mediations SET mediator = ?, mediator_name = ?, reporter_answer = ?,"
            " reported_answer = ?, mediator_answer = NULL WHERE id = ?",
            [
                address.lower(),
                name,
                "agreed" if role == "reporter" else None,
                "agreed" if role == "reported" else None,
                mediation.pk,
            ],
        )
        record_event(db, case, now=now, actor=role, action="mediator-proposed", detail={"by": role})
        done = _advance(db, settings, case, current_mediation(db, case), now)
        return f"another mediator was proposed: {done}"
    column = f"{role}_answer"
    db.execute(f"UPDATE mediations SET {column} = ? WHERE id = ?", [answer, mediation.pk])
    record_event(db, case, now=now, actor=role, action=f"mediation-{answer}")
    if answer == "declined":
        if role != "mediator":
            _release_candidate(db, settings, case, mediation, now)
        _end(db, case, mediation.pk, "declined", now)
        what = (
            "the candidate mediator declined; #mediation propose another, if the committee wishes"
            if role == "mediator"
            else f"the {role} declined mediation; nobody will press them"
        )
        _committee(db, settings, case, now, "committee/mediation_update", {"what": what})
        return f"the {role} declined; mediation is off"
    return _advance(db, settings, case, current_mediation(db, case), now)


def _release_candidate(db, settings, case: Case, mediation: Mediation, now: datetime) -> None:
    """A candidate who agreed and is no longer needed (a party declined, or chose someone
    else) is told so, and waits for no brief."""
    if mediation.mediator_answer != "agreed":
        return
    party = _mediator_party(db, case, mediation.mediator, mediation.mediator_name, now)
    if not party.no_contact:
        to_party(db, case, party, "mediator/not_needed", now=now, settings=settings)


def _advance(db, settings, case: Case, mediation: Mediation, now: datetime) -> str:
    """The next one to ask (the parties in order, then a mediator not yet asked), or settle."""
    waiting = [role for role in ROLES if mediation.answer(role) != "agreed"]
    if not waiting:
        return _settle(db, settings, case, mediation, now)
    if mediation.status == f"asking-{waiting[0]}":
        return f"recorded; the {waiting[0]} has still to answer"
    return _ask(db, settings, case, mediation, waiting[0], now)


def _settle(db, settings, case: Case, mediation: Mediation, now: datetime) -> str:
    due = now + DURATION
    db.execute(
        "UPDATE mediations SET status = 'settled', settled_at = ?, due_at = ? WHERE id = ?",
        [to_text(now), to_text(due), mediation.pk],
    )
    _tell_settled(db, settings, case, mediation, due, now)
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


def _tell_settled(db, settings, case: Case, mediation: Mediation, due: datetime, now) -> None:
    """The mediator is briefed and both parties learn the mediator and the date."""
    mediator = _mediator_party(db, case, mediation.mediator, mediation.mediator_name, now)
    due_text = human_date(due, settings.zone)
    # Both parties agreed to this mediator: the mediator needs to know whom to talk to.
    parties = [_named(p) for role in ("reporter", "reported") for p in _reachable(db, case, role)]
    to_party(
        db,
        case,
        mediator,
        "mediator/brief",
        {"due": due_text, "parties": parties},
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


def extend_mediation(
    db, settings: Settings, case: Case, mediation: Mediation, until: datetime, now: datetime
) -> str:
    """`#mediation extend`: a new due date; the reminders follow it, and the mediator and the
    parties (who were given the first date) are told the new one."""
    db.execute("UPDATE mediations SET due_at = ? WHERE id = ?", [to_text(until), mediation.pk])
    cancel_deadlines(db, case, ("mediation-reminder",), now)
    if until - BEFORE_DUE > now:
        add_deadline(
            db, case, "mediation-reminder", until - BEFORE_DUE, now, {"mediation": mediation.pk}
        )
    add_deadline(
        db, case, "mediation-reminder", until, now, {"mediation": mediation.pk, "overdue": True}
    )
    record_event(
        db,
        case,
        now=now,
        actor="committee",
        action="mediation-extended",
        detail={"due": to_text(until)},
    )
    due = human_date(until, settings.zone)
    mediator = _mediator_party(db, case, mediation.mediator, mediation.mediator_name, now)
    to_party(db, case, mediator, "mediator/extended", {"due": due}, now=now, settings=settings)
    for role in ("reporter", "reported"):
        for party in _reachable(db, case, role):
            to_party(
                db,
                case,
                party,
                "party/mediation_extended",
                {"due": due, "mediator": mediation.mediator_name or mediation.mediator},
                now=now,
                settings=settings,
                shows=mediation.mediator,
            )
    return f"the mediation is now due by {due}; the mediator and both parties are told"


def record_report(
    db, settings: Settings, case: Case, mediation: Mediation, text: str, now: datetime
) -> str:
    """The report goes to the parties to vet; the case returns to the committee, which has the
    report once: as the notice of the mediator's mail, or in the member's own post of
    `#mediation report` (never again in an update of its own)."""
    db.execute(
        "UPDATE mediations SET report = ?, status = 'reported' WHERE id = ?", [text, mediation.pk]
    )
    _end(db, case, mediation.pk, "reported", now)
    record_event(db, case, now=now, actor="mediator", action="mediation-report")
    for role in ("reporter", "reported"):
        for party in _reachable(db, case, role):
            to_party(db, case, party, VET, {"report": text}, now=now, settings=settings)
    _back_to_deliberation(db, case, now, "mediator's report")
    return "report recorded and sent to the parties to vet; the case is back in deliberation"


def reported_mediation(db: Database, case: Case) -> Mediation | None:
    """The case's last mediation that ended with the mediator's report."""
    row = db.execute(
        f"SELECT {COLUMNS} FROM mediations WHERE case_pk = ? AND status = 'reported'"
        " ORDER BY id DESC LIMIT 1",
        [case.pk],
    ).fetchone()
    return Mediation(*row) if row else None


# A vetting that only confirms: a short yes, with no word that corrects anything.
CONFIRM_RE = re.compile(
    r"(?i)^\s*(yes|ok|okay|fine|correct|agreed|i agree|accurate|all good|looks (good|right|fine"
    r"|accurate|correct)|that'?s (right|correct|accurate|fine)|it'?s (right|correct|accurate|fine)"
    r"|no corrections?|nothing to (add|correct|change))\b"
)
NO_CORRECTION_RE = re.compile(r"(?i)\b(no corrections?|nothing to (add|correct|change))\b")
CORRECTING_RE = re.compile(
    r"(?i)\b(but|however|except|wrong|incorrect|untrue|inaccurate|not (true|what|right|correct"
    r"|accurate|quite)|didn'?t|did not|never|correction|actually|missing|left out|disagree)\b"
)


def vetting_verdict(text: str) -> str:
    """`confirmed` for a plain "yes, that is right"; anything more is `corrections`."""
    rest = NO_CORRECTION_RE.sub("", text)
    if CONFIRM_RE.match(text) and not CORRECTING_RE.search(rest) and len(text) < 300:
        return "confirmed"
    return "corrections"


def record_vetting(
    db,
    case: Case,
    mediation: Mediation,
    party: Party,
    text: str,
    message_pk: int | None,
    now: datetime,
) -> dict:
    """A party's vetting of the report, kept with it (their corrections word for word)."""
    verdict = vetting_verdict(text)
    db.execute(
        "INSERT INTO mediation_vettings (mediation_pk, party_pk, verdict, text, message_pk,"
        " vetted_at) VALUES (?, ?, ?, ?, ?, ?)",
        [mediation.pk, party.pk, verdict, text, message_pk, to_text(now)],
    )
    record_event(
        db,
        case,
        now=now,
        actor=party.email or party.role,
        action="mediation-vetted",
        detail={"party": party.role, "verdict": verdict},
        message_pk=message_pk,
    )
    vetted = {
        row[0]
        for row in db.execute(
            "SELECT party_pk FROM mediation_vettings WHERE mediation_pk = ?", [mediation.pk]
        )
    }
    asked = {p.pk for role in ("reporter", "reported") for p in _reachable(db, case, role)}
    report = db.execute("SELECT report FROM mediations WHERE id = ?", [mediation.pk]).fetchone()
    return {"verdict": verdict, "all_vetted": asked <= vetted, "report": report[0]}


def tell_decision(
    db,
    settings: Settings,
    case: Case,
    now: datetime,
    *,
    done: str,
    told: frozenset[str] = frozenset(),
) -> None:
    """The committee decided a case that was mediated: the parties not told already (`told`:
    the roles its resolution mail reached) and the mediator hear that it decided."""
    row = db.execute(
        f"SELECT {COLUMNS} FROM mediations WHERE case_pk = ? AND settled_at IS NOT NULL"
        " ORDER BY id DESC LIMIT 1",
        [case.pk],
    ).fetchone()
    if row is None:
        return
    mediation = Mediation(*row)
    reported = mediation.status == "reported"
    if mediation.status == "settled":  # decided before any report: the mediation is over
        _end(db, case, mediation.pk, "overtaken", now)
    context = {"case_ref": case.ref, "done": done, "reported": reported}
    for role in ("reporter", "reported"):
        if role in told:
            continue
        for party in _reachable(db, case, role):
            queue_mail(
                db,
                Mail(
                    template="party/mediation_decided",
                    audience=Audience.PARTY,
                    party=party,
                    case=case,
                    context=context,
                ),
                now=now,
                settings=settings,
            )
    _tell_mediator_decided(db, settings, case, mediation, reported, now)
    record_event(
        db,
        case,
        now=now,
        actor="casebook",
        action="mediation-decision-told",
        detail={"told": sorted({"reporter", "reported", "mediator"} - set(told))},
    )


def _tell_mediator_decided(
    db, settings, case: Case, mediation: Mediation, reported: bool, now: datetime
) -> None:
    """The mediator hears once that the committee decided, never what."""
    told_before = db.execute(
        "SELECT 1 FROM events WHERE case_pk = ? AND action = 'mediation-decision-told'",
        [case.pk],
    ).fetchone()
    for party in [] if told_before else parties_of(db, case, "mediator"):
        if party.email == mediation.mediator and not party.no_contact:
            to_party(
                db,
                case,
                party,
                "mediator/decided",
                {"reported": reported},
                now=now,
                settings=settings,
            )


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
    to_case_audience(db, case, template, {"report": None, **context}, now=now, settings=settings)


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


def answer_from_reply(
    text: str,
    ignore: frozenset[str] = frozenset(),
    *,
    asked_for_one: bool = False,
) -> tuple[str | None, tuple[str, str | None] | None]:
    """A party's own reply: ('agreed'|'declined'|None, a counter-proposed mediator or None).

    Another mediator is a `Mediator: NAME <ADDRESS>` line or, in plain words, any address but
    those in `ignore` (the candidate's, the party's own): "could it be Nora Neutral instead?
    nora@example.net" proposes Nora Neutral; an address alone does only `asked_for_one` (in
    answer to the question that asked for a name and address)."""
    for line in MEDIATOR_RE.finditer(text):  # `Mediator: Max <max@example.net>`
        found = find_addresses(line.group("rest"), dotted=False)
        if found:
            name = line.group("rest").split(found[0])[0].strip().removesuffix("<").strip()
            return None, (found[0], name or None)
    for address in find_addresses(text) if asked_for_one or SOMEONE_ELSE_RE.search(text) else ():
        if address.lower() not in ignore:
            return None, (address, _name_before(text, address))
    if YES_RE.match(text):
        return "agreed", None
    if NO_RE.match(text):
        return "declined", None
    return None, None


def _name_before(text: str, address: str) -> str | None:
    """The last run of capitalised words before the address, in its paragraph ("Nora
    Neutral"), or None."""
    before = text[: text.find(address)].rsplit("\n\n", 1)[-1]
    runs = NAME_RUN_RE.findall(before)
    return runs[-1].strip() if runs else None


def answer_reply(
    db,
    settings: Settings,
    case: Case,
    party: Party,
    *,
    text: str,
    subject: str | None,
    parent: str | None,
    message_pk: int | None,
    now: datetime,
) -> dict | None:
    """A party's or the mediator's own mail while a mediation is asked, under way or being
    vetted: what casebook made of it, for the committee's notice of that mail (None: nothing
    of mediation)."""
    mediation = current_mediation(db, case)
    if party.role == "mediator" and mediation and mediation.status == "settled":
        if party.email != mediation.mediator:
            return None
        # Only a reply the mediator marks as the report is one (the committee sees the rest).
        report = report_from_mediator(text, subject)
        if not report:
            return None
        record_report(db, settings, case, mediation, report, now)
        return {"report": True}
    if mediation and mediation.status == f"asking-{party.role}":
        if party.role == "mediator" and party.email != mediation.mediator:
            return None
        if parent is not None and parent not in ANSWERED:
            return None  # "Yes" to another mail (a #to-reporter question) is no consent
        return _answer(db, settings, case, party, mediation, text, parent, now)
    vetted = reported_mediation(db, case)
    if vetted and parent == VET and party.role in ("reporter", "reported"):
        return {"vetting": record_vetting(db, case, vetted, party, text, message_pk, now)}
    return None


def _answer(
    db,
    settings,
    case: Case,
    party: Party,
    mediation: Mediation,
    text: str,
    parent: str | None,
    now: datetime,
) -> dict | None:
    answer, mediator = answer_from_reply(
        text, _known_addresses(db, settings, case, mediation), asked_for_one=parent == UNCLEAR
    )
    if party.role == "mediator" and mediator:  # "I can't, but ask Nora": theirs to suggest
        answer, mediator = None, None
    if answer or mediator:
        done = record_answer(
            db,
            settings,
            get_case(db, case.pk),
            mediation,
            party.role,
            answer or "",
            now,
            mediator=mediator,
        )
        return {
            "answer": answer or "another mediator",
            "done": done,
            "mediator": _named_address(*mediator) if mediator else None,
        }
    if parent not in (INVITATION, UNCLEAR, CANDIDATE):
        return None  # not an answer to the invitation: the committee reads it as it is
    if party.role != "mediator" and parent == INVITATION:
        # Neither yes, no nor an address: asked once what they meant, never guessed.
        to_party(
            db,
            case,
            party,
            UNCLEAR,
            {
                "someone_else": bool(SOMEONE_ELSE_RE.search(text)),
                "mediator": mediation.mediator_name or mediation.mediator,
            },
            now=now,
            settings=settings,
            shows=mediation.mediator,
        )
        return {"unclear": True, "asked": True}
    return {"unclear": True, "asked": False}


def _known_addresses(db, settings: Settings, case: Case, mediation: Mediation) -> frozenset[str]:
    """Addresses a reply may carry that propose nobody: the candidate's, the case's people,
    casebook's own (reply addresses among them)."""
    ours = (
        settings.reports,
        settings.appeals,
        settings.committee_list,
        settings.council_address,
        settings.core_team,
        settings.bounces,
    )
    local, _, domain = settings.reports.lower().partition("@")
    tokens = {
        a.lower()
        for (a,) in db.execute(
            "SELECT ? || '+' || token || '@' || ? FROM parties WHERE case_pk = ?",
            [local, domain, case.pk],
        )
    }
    people = {p.email.lower() for p in parties_of(db, case) if p.email}
    return frozenset({mediation.mediator, *people, *tokens, *(a.lower() for a in ours if a)})


def _named_address(address: str, name: str | None) -> str:
    return f"{name} <{address}>" if name else address


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
    mediator = db.execute(
        "SELECT mediator FROM mediations WHERE id = ?", [deadline.payload.get("mediation")]
    ).fetchone()[0]
    for party in parties_of(db, case, "mediator"):
        if party.email != mediator:
            continue  # a candidate who declined, or one the parties passed over
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
