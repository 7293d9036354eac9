"""#appeal uphold|modify|overturn TEXT, #appeal extend DATE: the Executive Council's word.

From the council's chair, a decision stands at once; otherwise it stands when a quorum of
council members sent the same one. The appellant and the committee are told, in the appeal's
own thread. An appeal not yet linked to a case is decided the same way (`decide_unlinked`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from archive.commands.base import Command, Context, Refused
from archive.record.cases import Case, record_event
from archive.record.models import CaseState, IncomingMessage
from archive.record.outbox import Audience, Mail, queue_mail
from archive.record.settings import Person, Settings
from archive.record.store import IngestResult, store_message
from archive.record.timestamps import parse_date
from archive.workflow.appeals import (
    DECISIONS,
    Appeal,
    appeal_message_id,
    decide_appeal,
    extend_appeal,
    open_appeal_of,
    vote_on_appeal,
)

Queue = Callable[..., str]


def run(ctx: Context, args: str) -> str:
    appeal = open_appeal_of(ctx.db, ctx.case)
    if appeal is None:
        raise Refused("there is no open appeal in this case")
    outcome = apply(
        ctx.db,
        ctx.settings,
        ctx.now,
        ctx.case,
        appeal,
        ctx.actor,
        args,
        ctx.body,
        ctx.queue,
        ctx.event,
    )
    if outcome in DECISIONS:
        if outcome != "uphold":
            ctx.move_to(CaseState.DELIBERATING, "appeal decided: " + outcome)
        elif ctx.case.state == CaseState.APPEALED:  # an appeal of an open case changed no state
            ctx.move_to(CaseState(appeal.previous_state or "resolved"), "appeal upheld")
        return f"the council's decision ({outcome}) was sent to the appellant and the committee"
    return outcome


def apply(
    db,
    settings: Settings,
    now: datetime,
    case: Case | None,
    appeal: Appeal,
    actor: Person,
    args: str,
    body: str,
    queue: Queue,
    event,
) -> str:
    """Extend or vote; the decision's name when it now stands, else what was done."""
    words = args.split(maxsplit=1)
    verb = words[0].lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    if verb == "extend":
        return _extend(db, settings, now, case, appeal, rest, queue, event)
    if verb not in DECISIONS:
        raise Refused("#appeal takes uphold, modify, overturn (with the decision) or extend DATE")
    text = "\n".join(t for t in (rest, body) if t).strip()
    if not text:
        raise Refused("#appeal needs the decision's text, on its line or below the commands")
    stands = vote_on_appeal(db, case, appeal, actor.email, verb, text, settings, now)
    event("appeal-vote", {"appeal": appeal.pk, "decision": verb})
    if stands is None:
        return f"your decision ({verb}) is recorded; it stands when a quorum agrees"
    decide_appeal(db, case, appeal, verb, text, now)
    event("appeal-decided", {"appeal": appeal.pk, "decision": verb})
    context = {"decision": verb, "text": text}
    if appeal.appellant:
        thread = appeal_message_id(db, appeal)
        queue(
            "appellant/appeal_decision",
            Audience.ADDRESS,
            context,
            to_addr=appeal.appellant,
            auto_submitted="no",
            in_reply_to=thread,
            refs=(thread,) if thread else (),
        )
    queue("committee/appeal_decision", Audience.COMMITTEE, context)
    return verb


def _extend(db, settings: Settings, now, case, appeal: Appeal, rest: str, queue, event) -> str:
    """`#appeal extend DATE`: the council needs longer; the appellant is told until when."""
    try:
        until = parse_date(rest.split()[0], settings.zone) if rest else None
    except ValueError:
        until = None
    if until is None or until <= now:
        raise Refused("#appeal extend needs a future date, e.g. #appeal extend 2026-04-15")
    extend_appeal(db, case, appeal, until, now)
    event("appeal-extended", {"appeal": appeal.pk, "until": until.isoformat()})
    day = until.astimezone(settings.zone).date().isoformat()
    if appeal.appellant:
        thread = appeal_message_id(db, appeal)
        queue(
            "appellant/appeal_extended",
            Audience.ADDRESS,
            {"until": day},
            to_addr=appeal.appellant,
            in_reply_to=thread,
            refs=(thread,) if thread else (),
        )
    return f"the appellant was told the council needs until {day}"


def decide_unlinked(
    db, msg: IncomingMessage, appeal: Appeal, settings: Settings, now: datetime
) -> IngestResult:
    """A council member answers the notice of an appeal no case is linked to (as the notice
    asks): the mail is the council's word on that appeal, never a new report."""
    pk = store_message(db, msg, now, kind="deliberation")
    found = msg.commands.commands
    if not found or msg.historical:
        return IngestResult(pk, False, "deliberation", None)
    person = next((p for p in settings.council if p.matches_address(msg.from_addr or "")), None)
    if (
        person is None
        or msg.sender_header_problem
        or not (settings.insecure_from_only or msg.auth.verified)
    ):
        record_event(
            db,
            None,
            now=now,
            actor=msg.from_addr or "unknown sender",
            action="commands-refused",
            detail={"appeal": appeal.pk},
            message_pk=pk,
        )
        why = "not-a-member" if person is None else "not-authenticated"
        return IngestResult(pk, False, "deliberation", None, commands="refused", refusal=why)
    results, applied = _run_unlinked(db, msg, appeal, person, settings, now, pk)
    _reply_unlinked(db, msg, appeal, person, settings, now, results, applied)
    return IngestResult(
        pk,
        False,
        "deliberation",
        None,
        commands="applied" if applied else "refused",
        refusal=None if applied else "command-refused",
    )


def _run_unlinked(db, msg, appeal: Appeal, person: Person, settings, now, pk: int):
    """The council member's commands on an unlinked appeal, all or none: only #appeal, and
    only while the appeal is undecided. Returns each line's result and whether all ran."""
    found = msg.commands.commands
    results, applied = [], True

    def queue(template, audience, context, **options):
        return queue_mail(
            db,
            Mail(
                template=template,
                audience=audience,
                context={"case_ref": None, **context},
                actor=person.email,
                **options,
            ),
            now=now,
            settings=settings,
        )

    def event(action, detail):
        record_event(
            db, None, now=now, actor=person.email, action=action, detail=detail, message_pk=pk
        )

    db.execute("SAVEPOINT unlinked_appeal")
    for command in found:
        try:
            if command.keyword != "appeal":
                raise Refused("an appeal not linked to a case takes only #appeal")
            if appeal.status == "decided":
                raise Refused("the appeal was decided already")
            done = apply(
                db,
                settings,
                now,
                None,
                appeal,
                person,
                command.args,
                msg.commands.body,
                queue,
                event,
            )
            results.append({"line": command.line, "status": "done", "detail": done})
        except Refused as exc:
            results = [
                {
                    "line": c.line,
                    "status": "refused" if c is command else "not run",
                    "detail": str(exc) if c is command else "all or none",
                }
                for c in found
            ]
            applied = False
            break
    if not applied:
        db.execute("ROLLBACK TO SAVEPOINT unlinked_appeal")
    db.execute("RELEASE SAVEPOINT unlinked_appeal")
    return results, applied


def _reply_unlinked(db, msg, appeal: Appeal, person: Person, settings, now, results, applied):
    """The council member is told, line by line, what their commands did."""
    queue_mail(
        db,
        Mail(
            template="committee/command_result",
            audience=Audience.ADDRESS,
            to_addr=person.email,
            context={
                "case_ref": f"appeal {appeal.pk} (no case)",
                "state": appeal.status,
                "urgent": False,
                "results": results,
                "applied": applied,
            },
            in_reply_to=msg.message_id,
            refs=(*msg.references, msg.message_id),
        ),
        now=now,
        settings=settings,
    )


COMMAND = Command(
    "appeal",
    "#appeal uphold|modify|overturn TEXT",
    "the Executive Council decides an appeal (or: #appeal extend DATE)",
    run,
    council=True,
)
