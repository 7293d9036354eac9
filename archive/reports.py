"""What a report, a follow-up or an automatic reply does to a case (SPEC §3)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.appeals import APPELLANTS, wishes_to_appeal
from archive.cases import (
    Case,
    Party,
    add_party,
    get_case,
    open_case,
    parties_of,
    record_event,
    set_urgent,
)
from archive.clock import from_text, to_text
from archive.conflicts import REPORTER_SIDE, conflicts_of_followup, record_conflicts
from archive.consent import asks_no_contact, consent_in
from archive.deadlines import cancel_deadlines
from archive.formpages import FORM_TRANSPORT, form_contact, record_page
from archive.lifecycle import move_case
from archive.models import CaseState, IncomingMessage
from archive.outbox import (
    Audience,
    queue_mail,
    queued_by_fold_key,
    queued_today,
    update_context,
)
from archive.report_clocks import start_report_clocks
from archive.settings import Settings
from archive.states import is_done
from archive.store import Binding, IngestResult, store_message

ACK_TEMPLATE = "reporter/ack"
FOLDED_ACK_TEMPLATE = "reporter/ack_folded"
FOLLOWUP_ACK_TEMPLATE = "reporter/followup_received"
HOW_TO_APPEAL = "party/how_to_appeal"
REPORTING_ROLES = ("reporter", "delegate", "affected")  # who reported, for themselves or others
NO_CONTACT_TEMPLATE = "reporter/no_contact_confirmed"
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
        reporter = add_party(db, case, role="reporter", name=None, email=fields["contact"],
                             now=now)  # fmt: skip
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
        # Everyone the report involves is cut off at once (archive/conflicts.py).
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
        now=now,
        settings=settings,
        template="committee/new_case",
        audience=Audience.COMMITTEE,
        case=case,
        context=_committee_context(case, msg, reporter, urgent=bool(msg.urgent_reasons))
        | acknowledgement,
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
        now=now,
        settings=settings,
        template="committee/urgent",
        audience=Audience.COMMITTEE,
        case=case,
        context=context,
        **(thread if in_followup else {}),
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
        record_event(db, case, now=now, actor="web form", action="acknowledged-on-receipt-page",
                     message_pk=message_pk)  # fmt: skip
        # The receipt page was the acknowledgement, as a sent ack mail is (archive.sending):
        # no "not yet acknowledged" alarm an hour later, no overdue acknowledgement in the digest.
        cancel_deadlines(db, case, ("ack-watchdog",), now)
        move_case(db, case, CaseState.ACKNOWLEDGED, now=now, actor="web form",
                  reason="acknowledged on the receipt page", message_pk=message_pk)  # fmt: skip
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
    queue_mail(
        db,
        now=now,
        settings=settings,
        template=ACK_TEMPLATE,
        audience=Audience.PARTY,
        party=party,
        case=case,
        to_addr=recipient,
        context={
            "case_ref": case.ref,
            "missing": _still_to_ask(msg),
            "urgent": bool(msg.urgent_reasons),
        },
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
            now=now,
            settings=settings,
            template=FOLDED_ACK_TEMPLATE,
            audience=Audience.PARTY,
            party=reporter,
            case=case,
            to_addr=recipient,
            context={"case_refs": [case.ref]},
            auto_submitted="auto-replied",
            not_before=now + FOLD_DELAY,
            fold_key=fold_key,
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
    _mediation_reply(db, msg, case, party, settings, now)
    if msg.urgent_reasons and not case.urgent:
        case = _raise_urgent(db, msg, case, party, settings, now, pk)
    queue_mail(
        db,
        now=now,
        settings=settings,
        template="committee/followup",
        audience=Audience.COMMITTEE,
        case=case,
        context={
            "case_ref": case.ref,
            "party": PARTY_WORDS.get(party.role, party.role),
            "from": _written_as(msg, party),
            "fields_added": added,
            "feedback": feedback,
            "text": msg.text[:20000],
            "attachments": [a.filename or a.content_type for a in msg.attachments],
            "parts_left_out": msg.parts_left_out,
        },
    )
    if _told_how_to_appeal(db, msg, case, party, settings, now):
        pass  # that answer is their receipt too
    elif not msg.no_reply_reason and _followup_ack_due(db, case, party, settings, now):
        queue_mail(
            db,
            now=now,
            settings=settings,
            template=FOLLOWUP_ACK_TEMPLATE,
            audience=Audience.PARTY,
            party=party,
            case=case,
            # Only those who reported are pointed to the police: not a witness or the person
            # reported, for whom that line in every receipt reads as a threat.
            context={"case_ref": case.ref, "for_reporter": party.role in REPORTING_ROLES},
            in_reply_to=msg.message_id,
            refs=(*msg.references, msg.message_id),
            auto_submitted="auto-replied",
        )
    return IngestResult(pk, False, "followup", case.ref)


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
    wishes: dict = {}
    consulted = db.execute(
        "SELECT 1 FROM proposals WHERE case_pk = ? AND status = 'open'"
        " AND consulted_at IS NOT NULL",
        [case.pk],
    ).fetchone()
    # A yes or no is consent only in answer to the proposal: "Yes, that was me" to the request
    # to confirm an unproven message, or "Yes, twice on Sunday" to a #to-reporter question,
    # says nothing of it. Feedback then, and the committee confirms (#consult asks again).
    answering = bool(consulted) and not _answers_another_mail(db, msg, case, party)
    if asks_no_contact(text, answering_proposal=answering) and not party.no_contact:
        _record_no_contact(db, case, party, settings, now, pk)
        wishes["no_contact"] = True
    if not consulted:
        return wishes or None
    consent = consent_in(text) if answering else None
    if consent:
        db.execute("UPDATE parties SET consent = ? WHERE id = ?", [consent, party.pk])
        wishes["consent"] = consent
    else:
        wishes["unclear"] = True  # feedback, not consent: the committee confirms with them
    # Their own words too, for the Executive Council's brief (archive/case_brief.py).
    record_event(db, case, now=now, actor=party.email or party.role, action="feedback-received",
                 detail={**wishes, "words": text[:2000]}, message_pk=pk)  # fmt: skip
    return {"received": True, **wishes}


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
    db.execute("UPDATE parties SET no_contact = 0 WHERE id = ?", [party.pk])
    record_event(db, case, now=now, actor=party.email or party.role,
                 action="no-contact-withdrawn", message_pk=pk)  # fmt: skip
    return replace(party, no_contact=False)


def _record_no_contact(db, case: Case, party: Party, settings: Settings, now, pk: int) -> None:
    """Honoured by every later mail; confirmed back to them once, so they know it was heard."""
    queue_mail(
        db,
        now=now,
        settings=settings,
        template=NO_CONTACT_TEMPLATE,
        audience=Audience.PARTY,
        party=party,
        case=case,
        context={"case_ref": case.ref},
    )
    db.execute("UPDATE parties SET no_contact = 1 WHERE id = ?", [party.pk])
    record_event(db, case, now=now, actor=party.email or party.role,
                 action="no-contact-requested", message_pk=pk)  # fmt: skip


def _mediation_reply(db, msg: IncomingMessage, case: Case, party: Party, settings, now) -> None:
    """A party's own answer to a mediation invitation, or the mediator's report."""
    from archive.mediation import (
        answer_from_reply,
        current_mediation,
        record_answer,
        record_report,
        report_from_mediator,
    )

    mediation = current_mediation(db, case)
    if mediation is None:
        return
    text = msg.commands.body or msg.authored or msg.text
    if party.role == "mediator" and mediation.status == "settled":
        # Only a reply the mediator marks as the report is one (the committee sees the rest).
        report = report_from_mediator(msg.authored or msg.text, msg.subject)
        if report:
            record_report(db, settings, case, mediation, report, now)
        return
    asking = {"asking-reporter": "reporter", "asking-reported": "reported"}.get(mediation.status)
    if party.role != asking:
        return
    answer, mediator = answer_from_reply(text)
    if answer or mediator:
        record_answer(db, settings, get_case(db, case.pk), mediation, party.role, answer or "",
                      now, mediator=mediator)  # fmt: skip


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
    queue_mail(db, now=now, settings=settings, template=HOW_TO_APPEAL, audience=Audience.PARTY,
               party=party, case=case, context={"case_ref": case.ref},
               in_reply_to=msg.message_id, refs=(*msg.references, msg.message_id),
               auto_submitted="auto-replied")  # fmt: skip
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
        db.execute(
            "UPDATE cases SET fields = ?, updated_at = ? WHERE id = ?",
            [json.dumps(fields), to_text(now), case.pk],
        )
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
        now=now,
        settings=settings,
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
    )
