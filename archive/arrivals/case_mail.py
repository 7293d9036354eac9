"""What a report, a follow-up or an automatic reply does to a case (SPEC §3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.conflicts import REPORTER_SIDE, conflicts_of_followup, record_conflicts
from archive.arrivals.formpages import FORM_TRANSPORT, form_contact, record_page
from archive.record.cases import (
    Case,
    Party,
    add_party,
    get_case,
    open_case,
    parties_of,
    record_event,
    set_case_fields,
    set_party_value,
    set_urgent,
)
from archive.record.deadlines import cancel_deadlines
from archive.record.models import CaseState, IncomingMessage
from archive.record.outbox import (
    Audience,
    Mail,
    queue_mail,
    queued_by_fold_key,
    queued_today,
    to_party,
    update_context,
)
from archive.record.settings import Settings
from archive.record.store import Binding, IngestResult, store_message
from archive.record.timestamps import from_text
from archive.workflow.appeals import APPELLANTS, wishes_to_appeal
from archive.workflow.consent import (
    COMMITTEE,
    REPORTED,
    UNCLEAR,
    consent_in,
    contact_meant,
    no_contact_wish,
)
from archive.workflow.ladder import RUNGS
from archive.workflow.lifecycle import move_case
from archive.workflow.report_clocks import start_report_clocks
from archive.workflow.states import is_done

ACK_TEMPLATE = "reporter/ack"
FOLDED_ACK_TEMPLATE = "reporter/ack_folded"
FOLLOWUP_ACK_TEMPLATE = "reporter/followup_received"
HOW_TO_APPEAL = "party/how_to_appeal"
REPORTING_ROLES = ("reporter", "delegate", "affected")  # who reported, for themselves or others
NO_CONTACT_TEMPLATE = "reporter/no_contact_confirmed"
NO_CONTACT_QUESTION = "reporter/no_contact_question"  # whom did they mean?
CONSULT_TEMPLATE = "reporter/proposed_resolution"
FOLD_DELAY = timedelta(hours=1)

# How the committee's notice names who wrote ("More information from the person responsible").
PARTY_WORDS = {"reported": "person responsible", "affected": "affected person"}


def open_report(
    db: Database, msg: IncomingMessage, settings: Settings, now: datetime
) -> IngestResult:
    """A new report: a case, its parties, the audit entries and the mail it causes."""
    fields = msg.report.as_dict()
    if msg.delegate:
        fields["delegate_actions"] = msg.delegate.actions_taken
    via_form = msg.transport == FORM_TRANSPORT
    if via_form:
        fields["contact"] = form_contact(fields.get("contact"))
    case = open_case(db, prefix=settings.case_prefix, now=now, fields=fields)
    pk = store_message(db, msg, now, kind="report", case=case)
    delegate = None
    if via_form:  # nobody's name; the address only if they chose to give one
        reporter = add_party(db, case, role="reporter", name=None, email=fields["contact"], now=now)
        record_page(db, case, reporter, msg.form_page or "", now)
    else:
        reporter, delegate = _add_reporting_parties(db, msg, case, now)
    record_event(
        db,
        case,
        now=now,
        actor="web form" if via_form else msg.from_addr or "unknown sender",
        action="case-opened",
        detail={"via": msg.transport, "delegated": msg.delegate is not None},
        message_pk=pk,
    )
    if msg.historical:
        return IngestResult(pk, False, "report", case.ref)
    start_report_clocks(db, case, settings, now)
    if msg.conflicts:
        # Everyone the report involves is cut off at once (archive/arrivals/conflicts.py).
        record_conflicts(
            db, case, list(msg.conflicts), settings, now, message_pk=pk, actor="intake"
        )
    # Decided first, so the urgent alert can say truthfully whether the reporter was answered.
    acknowledgement = _ack_decision(db, msg, reporter, settings, now)
    if via_form:  # the receipt page acknowledged it; nothing is mailed about the page
        acknowledgement = {"acknowledgement": "form", "ack_reason": None}
    if msg.urgent_reasons:
        context = _committee_context(case, msg, reporter, urgent=True) | acknowledgement
        _alert_urgent(db, msg, case, settings, now, pk, context, in_followup=False)
    # A delegate is answered with their own reply address: their replies are their word.
    answered = delegate if acknowledgement["acknowledgement"] == "delegate" else reporter
    _acknowledge(db, msg, case, answered, settings, now, pk, acknowledgement)
    queue_mail(
        db,
        Mail(
            template="committee/new_case",
            audience=Audience.COMMITTEE,
            case=case,
            context=_committee_context(case, msg, reporter, urgent=bool(msg.urgent_reasons))
            | acknowledgement,
        ),
        now=now,
        settings=settings,
    )
    return IngestResult(pk, False, "report", case.ref)


def _alert_urgent(db, msg, case: Case, settings, now, pk: int, context: dict, *, in_followup):
    """Danger words or "Ongoing: yes": the case is marked urgent and the committee alerted at
    once, for a new report and for a party's follow-up alike (the latter in its thread)."""
    set_urgent(db, case, True, now)
    detail = {"reasons": list(msg.urgent_reasons)} | ({"in": "a follow-up"} if in_followup else {})
    record_event(
        db, case, now=now, actor="intake", action="marked-urgent", detail=detail, message_pk=pk
    )
    thread = {"in_reply_to": msg.message_id, "refs": (*msg.references, msg.message_id)}
    queue_mail(
        db,
        Mail(
            template="committee/urgent",
            audience=Audience.COMMITTEE,
            case=case,
            context=context,
            **(thread if in_followup else {}),
        ),
        now=now,
        settings=settings,
    )


def _raise_urgent(db, msg, case: Case, party: Party, settings, now, pk: int) -> Case:
    """Danger words or "Ongoing: yes" in a party's follow-up: the same alert as a new report."""
    reporters = parties_of(db, case, "reporter")  # the report's reporter, whoever wrote now
    context = _committee_context(case, msg, reporters[0] if reporters else party, urgent=True)
    context["followup_from"] = _written_as(msg, party)
    theirs = msg.report.as_dict()  # every field named; filled from the reporter's mail only
    if party.role not in REPORTER_SIDE:
        theirs = dict.fromkeys(theirs)
    context["fields"] = {**theirs, **{k: v for k, v in case.fields.items() if v}}
    context |= {"acknowledgement": "followup", "ack_reason": None}
    _alert_urgent(db, msg, case, settings, now, pk, context, in_followup=True)
    return get_case(db, case.pk)


def _add_reporting_parties(
    db: Database, msg: IncomingMessage, case: Case, now: datetime
) -> tuple[Party, Party | None]:
    """The reporter, and the delegate who forwarded the report for them (None when not)."""
    sender = msg.from_addr or None
    if msg.delegate:
        reporter = add_party(
            db,
            case,
            role="reporter",
            name=msg.delegate.original_name,
            email=msg.delegate.original_address,
            now=now,
        )
        delegate = add_party(db, case, role="delegate", name=msg.from_name, email=sender, now=now)
        return reporter, delegate
    return add_party(db, case, role="reporter", name=msg.from_name, email=sender, now=now), None


def _committee_context(case: Case, msg: IncomingMessage, reporter: Party, *, urgent: bool) -> dict:
    """What the committee's audience sees of a new report (never sent outside it)."""
    return {
        "case_ref": case.ref,
        "urgent": urgent,
        "urgent_reasons": list(msg.urgent_reasons),
        "fields": msg.report.as_dict(),
        "missing": list(msg.report.missing()),
        "reporter": reporter.email or "anonymous",
        "reporter_name": reporter.name,
        "delegate": (
            {"address": msg.from_addr, "actions_taken": msg.delegate.actions_taken}
            if msg.delegate
            else None
        ),
        "attachments": [a.filename or a.content_type for a in msg.attachments],
        "parts_left_out": msg.parts_left_out,
        "subject": msg.subject,
        "text": msg.text[:20000],
        "conflicted_count": len({c.member for c in msg.conflicts}),
        "via_form": msg.transport == FORM_TRANSPORT,
    }


def _ack_decision(
    db: Database, msg: IncomingMessage, reporter: Party, settings: Settings, now: datetime
) -> dict:
    """Whether and how a new case is acknowledged, as the committee is told it.

    `acknowledgement`: sent, delegate (to the delegate who forwarded it: the original reporter
    hears nothing), folded (past the daily cap), or suppressed, with `ack_reason`."""
    recipient = msg.envelope_from
    reason = msg.no_reply_reason or (None if recipient else "null envelope sender")
    if reason or not recipient:
        return {"acknowledgement": "suppressed", "ack_reason": reason}
    if queued_today(db, ACK_TEMPLATE, recipient, now) >= settings.ack_daily_cap:
        return {"acknowledgement": "folded", "ack_reason": None}
    to_delegate = msg.delegate and recipient.lower() != (reporter.email or "").lower()
    return {"acknowledgement": "delegate" if to_delegate else "sent", "ack_reason": None}


def _acknowledge(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    party: Party,
    settings: Settings,
    now: datetime,
    message_pk: int,
    decision: dict,
) -> None:
    """Every new case is acknowledged, unless RFC 3834 forbids an answer; floods are folded."""
    recipient = msg.envelope_from or ""
    if decision["acknowledgement"] == "form":
        _acknowledged_on_receipt_page(db, case, now, message_pk)
        return
    if decision["acknowledgement"] == "suppressed":
        record_event(
            db,
            case,
            now=now,
            actor="intake",
            action="acknowledgement-suppressed",
            detail={"reason": decision["ack_reason"]},
            message_pk=message_pk,
        )
        return
    if decision["acknowledgement"] == "folded":
        _fold_acknowledgement(db, case, party, recipient, settings, now)
        return
    to_party(
        db,
        case,
        party,
        ACK_TEMPLATE,
        {"missing": _still_to_ask(msg), "urgent": bool(msg.urgent_reasons)},
        now=now,
        settings=settings,
        to_addr=recipient,
        in_reply_to=msg.message_id,
        refs=(*msg.references, msg.message_id),
        auto_submitted="auto-replied",
    )
    record_event(
        db,
        case,
        now=now,
        actor="intake",
        action="acknowledgement-queued",
        message_pk=message_pk,
    )


def _still_to_ask(msg: IncomingMessage) -> list[str]:
    """What the acknowledgement invites the reporter to add: never whether it is still going
    on when the report already said someone is in danger or it is ongoing."""
    missing = msg.report.missing()
    if msg.urgent_reasons:
        return [name for name in missing if name != "ongoing"]
    return list(missing)


def _acknowledged_on_receipt_page(db: Database, case: Case, now: datetime, message_pk: int):
    """The receipt page was the acknowledgement, as a sent ack mail is
    (archive.record.send_results): no "not yet acknowledged" alarm an hour later, no overdue
    acknowledgement in the digest."""
    record_event(
        db,
        case,
        now=now,
        actor="web form",
        action="acknowledged-on-receipt-page",
        message_pk=message_pk,
    )
    cancel_deadlines(db, case, ("ack-watchdog",), now)
    move_case(
        db,
        case,
        CaseState.ACKNOWLEDGED,
        now=now,
        actor="web form",
        reason="acknowledged on the receipt page",
        message_pk=message_pk,
    )


def _fold_acknowledgement(
    db: Database,
    case: Case,
    reporter: Party,
    recipient: str,
    settings: Settings,
    now: datetime,
) -> None:
    """Past the daily cap, one acknowledgement lists every further case from that sender."""
    fold_key = f"ack-fold:{recipient.lower()}"
    queued = queued_by_fold_key(db, fold_key)
    if queued:
        pk, context = queued
        context["case_refs"] = [*context["case_refs"], case.ref]
        update_context(db, pk, context)
    else:
        queue_mail(
            db,
            Mail(
                template=FOLDED_ACK_TEMPLATE,
                audience=Audience.PARTY,
                party=reporter,
                case=case,
                to_addr=recipient,
                context={"case_refs": [case.ref]},
                auto_submitted="auto-replied",
                not_before=now + FOLD_DELAY,
                fold_key=fold_key,
            ),
            now=now,
            settings=settings,
        )
    record_event(db, case, now=now, actor="intake", action="acknowledgement-folded")


def _written_as(msg: IncomingMessage, party: Party) -> str:
    """Who wrote, for the committee: the party's own address (their reply address proved it),
    and the From only beside it when it names someone else (anyone holding one party's reply
    address may put another party's address in From: it is no word of theirs)."""
    if msg.transport == FORM_TRANSPORT:
        return "their follow-up page"
    sender = msg.from_addr or "unknown sender"
    if not party.email or party.email.lower() == sender.lower():
        return sender
    return f"{party.email}, through their reply address; its From said {sender}"


def record_followup(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    party: Party,
    settings: Settings,
    now: datetime,
) -> IngestResult:
    """More from a party: archived in the case, shown to the committee, acknowledged daily."""
    pk = store_message(db, msg, now, kind="followup", case=case)
    # Report fields are the reporter's to give: anyone else's mail is shown as it is.
    added = _merge_fields(db, case, msg, now) if party.role in REPORTER_SIDE else []
    record_event(
        db,
        case,
        now=now,
        actor=party.email or party.role,
        action="followup-received",
        detail={"party": party.role, "fields_added": added},
        message_pk=pk,
    )
    if msg.historical:
        return IngestResult(pk, False, "followup", case.ref)
    # Before anything is queued: whoever it names gets neither it nor anything after.
    case = conflicts_of_followup(db, msg, case, party, settings, now, pk)
    party = _contact_again(db, msg, case, party, now, pk)
    feedback = _record_feedback(db, msg, case, party, settings, now, pk)
    mediation = _mediation_reply(db, msg, case, party, settings, now, pk)
    if msg.urgent_reasons and not case.urgent:
        case = _raise_urgent(db, msg, case, party, settings, now, pk)
    _show_followup(
        db, msg, case, party, settings, now, added=added, feedback=feedback, mediation=mediation
    )
    if _told_how_to_appeal(db, msg, case, party, settings, now):
        pass  # that answer is their receipt too
    elif not msg.no_reply_reason and _followup_ack_due(db, case, party, settings, now):
        to_party(
            db,
            case,
            party,
            FOLLOWUP_ACK_TEMPLATE,
            {"for_reporter": party.role in REPORTING_ROLES},
            now=now,
            settings=settings,
            in_reply_to=msg.message_id,
            refs=(*msg.references, msg.message_id),
            auto_submitted="auto-replied",
        )
    return IngestResult(pk, False, "followup", case.ref)


def _show_followup(
    db, msg, case: Case, party: Party, settings, now, *, added, feedback, mediation=None
) -> None:
    """The committee sees a party's follow-up: who wrote it, what it added, its text."""
    queue_mail(
        db,
        Mail(
            template="committee/followup",
            audience=Audience.COMMITTEE,
            case=case,
            context={
                "case_ref": case.ref,
                "party": PARTY_WORDS.get(party.role, party.role),
                "from": _written_as(msg, party),
                "fields_added": added,
                "feedback": feedback,
                "mediation": mediation,
                "text": msg.text[:20000],
                "attachments": [a.filename or a.content_type for a in msg.attachments],
                "parts_left_out": msg.parts_left_out,
            },
        ),
        now=now,
        settings=settings,
    )


def _record_feedback(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    party: Party,
    settings: Settings,
    now: datetime,
    pk: int,
) -> dict | None:
    """A reporter's answer to #consult: recorded for the record (the committee need not follow
    it); an explicit yes or no is their consent, and a wish for no further contact is honoured
    by every later mail."""
    if party.role not in REPORTING_ROLES:
        return None
    text = msg.authored  # their own new words: the quoted proposal holds the same words
    consulted = db.execute(
        "SELECT resolution FROM proposals WHERE case_pk = ? AND status = 'open'"
        " AND consulted_at IS NOT NULL",
        [case.pk],
    ).fetchone()
    # A yes or no is consent only in answer to the proposal: "Yes, that was me" to the request
    # to confirm an unproven message, or "Yes, twice on Sunday" to a #to-reporter question,
    # says nothing of it. Feedback then, and the committee confirms (#consult asks again).
    answering = bool(consulted) and not _answers_another_mail(db, msg, case, party)
    # The apology request's mail offers "no further contact with the person involved".
    invited = answering and RUNGS[consulted[0]].needs_consent
    wishes = _no_contact_wish(db, msg, case, party, settings, now, pk, invited=invited)
    if not consulted:
        return wishes or None
    consent = consent_in(text) if answering else None
    if consent:
        set_party_value(db, party, "consent", consent)
        wishes["consent"] = consent
    else:
        wishes["unclear"] = True  # feedback, not consent: the committee confirms with them
    # Their own words too, for the Executive Council's brief (archive/workflow/case_brief.py).
    record_event(
        db,
        case,
        now=now,
        actor=party.email or party.role,
        action="feedback-received",
        detail={**wishes, "words": text[:2000]},
        message_pk=pk,
    )
    return {"received": True, **wishes}


def _no_contact_wish(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    party: Party,
    settings: Settings,
    now: datetime,
    pk: int,
    *,
    invited: bool,
) -> dict:
    """A wish for no further contact, told apart: with the committee (honoured by every later
    mail), with the person reported (the manual's apology clause: recorded for the committee,
    the party still hears from it), or unsaid (they are asked which, and cut off only if they
    say so). What the committee's notice says of it."""
    if party.no_contact:
        return {}
    parent = _parent_template(db, msg, case, party)
    meant = None
    # The answer to the question: a reply to it, or (a web-form reporter's page threads
    # nothing) a fresh message while it is open, when it says which.
    if parent == NO_CONTACT_QUESTION or (parent is None and _asked_which(db, case, party)):
        meant = contact_meant(msg.authored)
        if meant is None and parent == NO_CONTACT_QUESTION:
            return {"no_contact_unclear": True}
    meant = meant or no_contact_wish(msg.authored, invited=invited)
    if meant == COMMITTEE:
        _record_no_contact(db, case, party, settings, now, pk)
        return {"no_contact": True}
    if meant == REPORTED:
        record_event(
            db,
            case,
            now=now,
            actor=party.email or party.role,
            action="no-contact-with-reported",
            message_pk=pk,
        )
        return {"no_contact_with_reported": True}
    if meant == UNCLEAR:
        return {"no_contact_asked": _ask_which_contact(db, case, party, settings, now, pk)}
    return {}


def _asked_which(db: Database, case: Case, party: Party) -> bool:
    """The party was asked whom they want no contact with and has not said since."""
    row = db.execute(
        "SELECT action FROM events WHERE case_pk = ? AND actor = ? AND action IN"
        " ('no-contact-unclear', 'no-contact-requested', 'no-contact-with-reported')"
        " ORDER BY id DESC LIMIT 1",
        [case.pk, party.email or party.role],
    ).fetchone()
    return row is not None and row[0] == "no-contact-unclear"


def _ask_which_contact(db, case: Case, party: Party, settings: Settings, now, pk: int) -> bool:
    """Ask the party whom they want no further contact with (at most once a day): whether it
    was asked now."""
    row = db.execute(
        "SELECT MAX(created_at) FROM outbox WHERE case_pk = ? AND template = ? AND party_pk = ?",
        [case.pk, NO_CONTACT_QUESTION, party.pk],
    ).fetchone()
    if row[0] is not None and from_text(row[0]) > now - timedelta(days=1):
        return False
    to_party(db, case, party, NO_CONTACT_QUESTION, now=now, settings=settings)
    record_event(
        db,
        case,
        now=now,
        actor=party.email or party.role,
        action="no-contact-unclear",
        message_pk=pk,
    )
    return True


def _parent_template(db: Database, msg: IncomingMessage, case: Case, party: Party) -> str | None:
    """The template of the mail this one answers (In-Reply-To, else its last reference), when
    casebook sent it to this party in this case."""
    parent = msg.in_reply_to or (msg.references[-1] if msg.references else None)
    if not parent:
        return None
    row = db.execute(
        "SELECT template FROM outbox WHERE case_pk = ? AND party_pk = ? AND message_id = ?",
        [case.pk, party.pk, parent],
    ).fetchone()
    return row[0] if row else None


def _answers_another_mail(db: Database, msg: IncomingMessage, case: Case, party: Party) -> bool:
    """It answers a mail casebook sent this party in this case other than the proposal: the
    request to confirm an unproven message, a #to-reporter question, a receipt. A fresh mail,
    or one answering the proposal, is not."""
    return _parent_template(db, msg, case, party) not in (None, CONSULT_TEMPLATE)


def _contact_again(db, msg: IncomingMessage, case: Case, party: Party, now, pk: int) -> Party:
    """The no-contact confirmation says "if you change your mind, reply to this message": a
    reply to it through the party's own reply address lifts the wish (a new wish in that very
    reply is honoured again right after)."""
    if not party.no_contact or _parent_template(db, msg, case, party) != NO_CONTACT_TEMPLATE:
        return party
    set_party_value(db, party, "no_contact", 0)
    record_event(
        db,
        case,
        now=now,
        actor=party.email or party.role,
        action="no-contact-withdrawn",
        message_pk=pk,
    )
    return replace(party, no_contact=False)


def _record_no_contact(db, case: Case, party: Party, settings: Settings, now, pk: int) -> None:
    """Honoured by every later mail; confirmed back to them once, so they know it was heard."""
    to_party(db, case, party, NO_CONTACT_TEMPLATE, now=now, settings=settings)
    set_party_value(db, party, "no_contact", 1)
    record_event(
        db,
        case,
        now=now,
        actor=party.email or party.role,
        action="no-contact-requested",
        message_pk=pk,
    )


def _mediation_reply(
    db, msg: IncomingMessage, case: Case, party: Party, settings, now, pk: int
) -> dict | None:
    """A party's answer to a mediation invitation, the mediator's report, or a party's vetting
    of it: what casebook made of it, for the committee's notice."""
    from archive.workflow.mediation import answer_reply

    return answer_reply(
        db,
        settings,
        case,
        party,
        text=msg.authored or msg.text,
        subject=msg.subject,
        parent=_parent_template(db, msg, case, party),
        message_pk=pk,
        now=now,
    )


def _told_how_to_appeal(db, msg: IncomingMessage, case: Case, party: Party, settings, now) -> bool:
    """A party who answers the committee's decision by speaking of an appeal is told how to
    appeal (to the Executive Council, at the appeals address): at most once per
    `followup_ack_interval`, never to an automatic reply."""
    if msg.no_reply_reason or party.role not in APPELLANTS or not is_done(case.state):
        return False
    if not wishes_to_appeal(msg.authored):
        return False
    if not _followup_ack_due(db, case, party, settings, now, HOW_TO_APPEAL):
        return True  # told already today: no second answer, and no plain receipt either
    to_party(
        db,
        case,
        party,
        HOW_TO_APPEAL,
        now=now,
        settings=settings,
        in_reply_to=msg.message_id,
        refs=(*msg.references, msg.message_id),
        auto_submitted="auto-replied",
    )
    return True


def _followup_ack_due(
    db: Database,
    case: Case,
    party: Party,
    settings: Settings,
    now: datetime,
    template: str = FOLLOWUP_ACK_TEMPLATE,
) -> bool:
    """At most one "we received your message" (or `template`) per interval for each party of
    the case: the reporter's acknowledgement does not leave the reported person's first answer
    unanswered."""
    row = db.execute(
        "SELECT MAX(created_at) FROM outbox WHERE case_pk = ? AND template = ? AND party_pk = ?",
        [case.pk, template, party.pk],
    ).fetchone()
    return row[0] is None or from_text(row[0]) <= now - settings.followup_ack_interval


def _merge_fields(db: Database, case: Case, msg: IncomingMessage, now: datetime) -> list[str]:
    """Fields the case lacked that a follow-up supplies (labelled lines, links)."""
    fields = dict(case.fields)
    added = []
    for name, value in msg.report.as_dict().items():
        if name in ("contact",) or not value:
            continue
        if name == "links":
            new_links = [link for link in value if link not in fields.get("links", [])]
            if new_links:
                fields["links"] = [*fields.get("links", []), *new_links]
                added.append(name)
        elif not fields.get(name):
            fields[name] = value
            added.append(name)
    if added:
        set_case_fields(db, case, fields, now)
    return added


def record_automatic(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    settings: Settings,
    now: datetime,
    *,
    reason: str | None = None,
) -> IngestResult:
    """An auto-reply or bounce in a case's thread: archived and shown, never answered (nor
    relayed); `reason`: why it counts as automatic, when its headers do not say."""
    pk = store_message(db, msg, now, kind="autoreply", case=case)
    record_event(
        db,
        case,
        now=now,
        actor=msg.from_addr or "mailer-daemon",
        action="automatic-reply-received",
        detail={"reason": reason or msg.no_reply_reason},
        message_pk=pk,
    )
    return IngestResult(pk, False, "autoreply", case.ref)


def record_deliberation(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    settings: Settings,
    now: datetime,
    *,
    via: str,
    binding: Binding,
) -> IngestResult:
    """A committee post in a case thread: part of the record; its commands run."""
    from archive.commands.execute import run_commands

    pk = store_message(db, msg, now, kind="deliberation", case=case)
    record_event(
        db,
        case,
        now=now,
        actor=msg.from_addr or "unknown sender",
        action="deliberation-posted",
        detail={"via": via},
        message_pk=pk,
    )
    party = binding.via_party
    relays = party is not None and party.role == "member" and not msg.historical  # not council
    # Mail that only commands is answered, not relayed: the others get one line (its outcome).
    command_only = bool(msg.commands.commands) and not msg.commands.body.strip()
    if relays and not command_only:
        _relay_to_audience(db, msg, case, party, settings, now)
    tell = relays and command_only and (party.email or "").lower() not in case.excluded()
    ran = run_commands(db, msg, case, settings, now, pk, binding, tell_others=tell)
    commands, refusal = ran if ran else (None, None)
    return IngestResult(pk, False, "deliberation", case.ref, commands=commands, refusal=refusal)


def _relay_to_audience(
    db: Database, msg: IncomingMessage, case: Case, party: Party, settings: Settings, now
) -> None:
    """A member wrote to their reply address: the rest of the audience gets it, like a list.

    From is rewritten to "Name via casebook" at the committee's address (as Mailman does), so
    receivers enforcing DMARC accept it; a conflicted member is never among the audience.
    """
    if (party.email or "").lower() in case.excluded():
        return
    queue_mail(
        db,
        Mail(
            template="committee/relay",
            audience=Audience.COMMITTEE,
            case=case,
            context={
                "case_ref": case.ref,
                "author": party.name or party.email,
                "subject": msg.subject,
                "text": msg.text[:50000],
            },
            from_name=f"{party.name or party.email} via casebook",
            exclude=party.email,
            in_reply_to=msg.message_id,
            refs=(*msg.references, msg.message_id),
        ),
        now=now,
        settings=settings,
    )
