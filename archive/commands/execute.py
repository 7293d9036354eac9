"""Running a message's commands: who may, all or none, a transcript back, once only."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.commands import COMMANDS
from archive.commands.base import Context, Refused
from archive.commands.outcome import is_query, outcome_entry, tell_outcome, who_must_act
from archive.record.cases import Case, get_case, record_event
from archive.record.models import IncomingMessage
from archive.record.outbox import Audience, Mail, held_among, last_item, queue_mail, to_party
from archive.record.send_results import member_party
from archive.record.settings import Person, Settings
from archive.record.store import Binding
from archive.record.timestamps import to_text
from archive.workflow.council import COUNCIL_ELSEWHERE, COUNCIL_KEYWORDS, DECIDING, council_holds

# What a refused sender is told: the same words whatever the reason, so a forger or a
# conflicted member learns nothing about the case (the audit log has the real reason).
REFUSAL_NOTICE = "commands_refused"


@dataclass(frozen=True)
class Refusal:
    """Why commands were refused: the class an operator's log shows (never the content) and
    the words the audit log keeps."""

    kind: str
    text: str


def authorize(msg: IncomingMessage, case: Case, settings: Settings, binding: Binding):
    """The member entitled to command this case with this message, or the reason why not.

    Council commands (`#appeal`) are the Executive Council's; the others the committee's; a
    message mixing both is refused. A council member (not on the committee) writes as the
    council whatever the keywords: the transcript says which it may not use here
    (`council_may_not`), never the refusal a stranger gets. The same authentication rules
    hold for both.
    """
    if msg.sender_header_problem:
        return None, Refusal("sender-headers", msg.sender_header_problem)
    if msg.from_addr is None:
        return None, Refusal("unusable-from", f"unusable From ({msg.from_problem})")
    known = [COMMANDS[c.keyword] for c in msg.commands.commands if c.keyword in COMMANDS]
    council = bool(known) and all(c.council for c in known)
    if not council and known and _council_only(msg, settings):
        # A council member writes as the council: which keywords it may use here is for the
        # transcript to say (never the refusal a stranger or a forger gets).
        council = True
    if any(c.council for c in known) and not council:
        return None, Refusal(
            "mixed-bodies", "council and committee commands cannot be mixed in one message"
        )
    body = settings.council if council else settings.committee
    person = next((m for m in body if m.matches_address(msg.from_addr)), None)
    if person is None:
        who = "the Executive Council" if council else "the committee"
        return None, Refusal("not-a-member", f"the sender is not a member of {who}")
    party = binding.via_party
    if settings.insecure_from_only:
        pass
    elif settings.command_auth == "token":
        if (
            party is None
            or party.role != ("council" if council else "member")
            or (party.email or "").lower() != (person.email.lower())
        ):
            why = "token mode: not sent to the member's own reply address for this case"
            return None, Refusal("not-via-reply-address", why)
    else:
        if not msg.auth.verified:
            return None, Refusal("not-authenticated", f"not authenticated: {msg.auth.reason}")
        if binding.signed_case is None or binding.signed_case.pk != case.pk:
            why = "the signed subject tag or references do not name this case"
            return None, Refusal("wrong-case", why)
    if person.email.lower() in case.excluded():
        return None, Refusal("conflicted", "the sender is conflicted or recused in this case")
    return person, None


def _council_only(msg: IncomingMessage, settings: Settings) -> bool:
    """The sender is a council member and not a committee member."""
    if any(m.matches_address(msg.from_addr or "") for m in settings.committee):
        return False
    return any(p.matches_address(msg.from_addr or "") for p in settings.council)


def council_may_not(case: Case, keyword: str) -> str | None:
    """Why the Executive Council may not use `keyword` in this case, or None: in a case it
    holds it uses `COUNCIL_KEYWORDS`; elsewhere only its own (`#appeal`) and `#help`."""
    command = COMMANDS.get(keyword)
    if command is None or command.council:
        return None
    if council_holds(case):
        if keyword in COUNCIL_KEYWORDS:
            return None
        usable = ", ".join(f"#{k}" for k in sorted(COUNCIL_KEYWORDS))
        return f"the Executive Council does not use #{keyword}; in a case it holds it uses {usable}"
    if keyword in COUNCIL_ELSEWHERE:
        return None
    return (
        f"the committee has this case (it is {case.state}): the Executive Council uses the"
        " committee's keywords only in a case handed to it, and #appeal on an appeal"
    )


def run_commands(
    db: Database,
    msg: IncomingMessage,
    case: Case,
    settings: Settings,
    now: datetime,
    message_pk: int,
    binding: Binding,
    *,
    tell_others: bool = False,
) -> tuple[str, str | None] | None:
    """Authorize, then run every command or none, then queue the transcript.

    Returns the outcome ("applied" or "refused") with the class of the refusal (`Refusal.kind`
    for a sender not allowed to command, else the command's own: `unknown-command`,
    `chair-only`, `council-may-not`, `council-holds`, `command-refused`), or None if nothing
    ran. With `tell_others` (a command-only mail that is not relayed), the case's audience is
    told what the commands did (`archive/commands/outcome.py`), and that is the author's
    answer too."""
    found = msg.commands
    if not found.commands or msg.historical:
        return None
    # A message that reuses the ID of one whose commands ran is never a second run of them.
    ids = [msg.message_id, msg.claimed_id or msg.message_id]
    if db.execute("SELECT 1 FROM command_runs WHERE message_id IN (?, ?)", ids).fetchone():
        return None
    actor, refusal = authorize(msg, case, settings, binding)
    if actor is None:
        proven = "signed" if msg.auth.verified else None
        proven = proven or ("reply-address" if _own_reply_address(msg, binding) else None)
        _refuse_sender(db, msg, case, settings, now, message_pk, refusal.text, proven)
        outcome, reason = "refused", refusal.kind
    else:
        since = last_item(db)
        reason, results, previews = _run_all_or_none(
            db, msg, case, settings, now, message_pk, actor, folds=tell_others
        )
        outcome = "refused" if reason else "applied"
        if tell_others and not is_query(msg.commands.commands):
            _tell_others(
                db, msg, case, settings, now, actor, (results, previews), since, message_pk
            )
    db.execute(
        "INSERT INTO command_runs (message_id, case_pk, outcome, at) VALUES (?, ?, ?, ?)",
        [msg.message_id, case.pk, outcome, to_text(now)],
    )
    return outcome, reason


def _tell_others(db, msg, case, settings, now, actor: Person, answer, since, message_pk) -> None:
    """The case's audience (the author too) reads what a command-only mail did: at once when
    someone must act on it, else in the case's next mail (archive/commands/outcome.py)."""
    results, previews = answer
    applied = not any(r["status"] == "refused" for r in results)
    at = now.astimezone(settings.zone).strftime("%H:%M")
    entry = outcome_entry(actor.name or actor.email, results, applied, at, previews)
    held = any(r["status"] == "held" for r in results)  # the leak guard: someone must look
    at_once = Audience.COMMITTEE if held else who_must_act(db, message_pk)
    tell_outcome(
        db,
        settings,
        now,
        get_case(db, case.pk),
        entry,
        since=since,
        at_once=at_once if applied else None,
        threading=(msg.message_id, (*msg.references, msg.message_id)),
    )


# Commands that record who and what the case is about run before the rest of a mail's commands
# (which keep the order written): `#send ask-account to reported` needs the person
# `#responsible` names, wherever the member wrote that line.
RECORDS_FIRST = ("responsible", "violation")


def in_working_order(commands: tuple) -> list:
    """The commands as they run: what records the case's facts first, the rest as written."""
    return sorted(commands, key=lambda c: c.keyword not in RECORDS_FIRST)


def _run_in_order(ctx: Context, commands: list) -> tuple[list[tuple[str, str, str]], tuple | None]:
    """Each command in turn until one is refused: the results, and the refusal if any."""
    results = []
    for command in commands:
        ctx.command = command.keyword
        try:
            done = COMMANDS[command.keyword].run(ctx, command.args)
        except Refused as exc:
            return results, (command, str(exc))
        results.append((command.line, "done", done))
    return results, None


def _line_to_move(ctx: Context, commands: list, refused) -> str:
    """Words for a refused command that a later line of the same mail would have let run:
    which line to move above it. Each order is tried and undone (nothing is kept)."""
    at = next(n for n, c in enumerate(commands) if c is refused)
    for later in commands[at + 1 :]:
        order = [*commands[:at], later, *[c for c in commands[at:] if c is not later]]
        trial = Context(
            ctx.db,
            ctx.settings,
            ctx.now,
            get_case(ctx.db, ctx.case.pk),
            ctx.actor,
            ctx.msg,
            ctx.message_pk,
            ctx.text_after,
        )
        ctx.db.execute("SAVEPOINT reorder")
        try:
            _, failed = _run_in_order(trial, order)
        finally:
            ctx.db.execute("ROLLBACK TO SAVEPOINT reorder")
            ctx.db.execute("RELEASE SAVEPOINT reorder")
        if failed is None:
            return f"; move the line `{later.line}` above this one and send again"
    return ""


def _unknown(keyword: str) -> str:
    close = difflib.get_close_matches(keyword, COMMANDS, n=1, cutoff=0.7)
    hint = f"; did you mean #{close[0]}?" if close else "; #help lists the commands"
    return f"unknown command #{keyword}{hint}"


def _run_all_or_none(db, msg, case, settings, now, message_pk, actor: Person, *, folds: bool):
    """None when every command ran, else the class of the refusal; each line's result; and
    the previews of mail its commands send outside the committee.
    With `folds` (a command-only mail whose outcome the case's audience is told), commands
    that ran are answered in that outcome, the author being one of its readers; a query or a
    refusal is answered at once."""
    commands = in_working_order(msg.commands.commands)
    results: list[tuple[str, str, str]] = []
    problems, kind = _refused_before_running(commands, case, actor, settings)
    ctx = Context(db, settings, now, case, actor, msg, message_pk, msg.commands.body)
    failed = None
    if not problems:
        db.execute("SAVEPOINT commands")
        results, failed = _run_in_order(ctx, commands)
        kind = "command-refused" if failed else kind
        if not failed:
            results += [
                ("(leak guard)", "held", f"mail {pk} ({template}) held: see the notice")
                for pk, template in held_among(db, ctx.queued)
            ]
        if failed:
            db.execute("ROLLBACK TO SAVEPOINT commands")
        db.execute("RELEASE SAVEPOINT commands")
        if failed:
            failed = (failed[0], failed[1] + _line_to_move(ctx, commands, failed[0]))
    else:
        failed = problems[0]
    if failed:
        bad = {id(c): why for c, why in (problems or [failed])}
        results = [
            (c.line, "refused", bad[id(c)]) if id(c) in bad else (c.line, "not run", "all or none")
            for c in commands
        ]
    ctx.reload()
    record_event(
        db,
        case,
        now=now,
        actor=actor.email,
        action="commands-refused" if failed else "commands-applied",
        detail={"commands": [c.line for c in commands], "reason": failed[1] if failed else None},
        message_pk=message_pk,
    )
    # their own reply address: a council member's (not under the interim rule) is a council one
    results = [{"line": line, "status": s, "detail": d} for line, s, d in results]
    previews = ctx.previews if not failed else []
    if folds and not failed and not is_query(commands):
        return None, results, previews
    _answer_author(db, msg, ctx, settings, now, results, previews, applied=not failed)
    return (kind if failed else None), results, previews


def _refused_before_running(commands, case: Case, actor: Person, settings: Settings):
    """The commands refused before any runs (unknown, the chair's, the council's own rules),
    and the class of the refusal."""
    problems = [(c, _unknown(c.keyword)) for c in commands if c.keyword not in COMMANDS]
    kind = "unknown-command" if problems else "chair-only"
    problems += [
        (c, "only the chair may do this")
        for c in commands
        if c.keyword in COMMANDS and COMMANDS[c.keyword].chair_only and actor.role != "chair"
    ]
    if actor in settings.council and actor not in settings.committee:
        refused = [(c, council_may_not(case, c.keyword)) for c in commands]
        refused = [(c, why) for c, why in refused if why is not None]
        kind = kind if problems or not refused else "council-may-not"
        problems += refused
    if council_holds(case) and not _is_council(actor, settings):
        kind = kind if problems else "council-holds"
        problems += [
            (c, "the Executive Council has this case; it hands it back with #return")
            for c in commands
            if c.keyword in DECIDING
        ]
    return problems, kind


def _answer_author(db, msg, ctx: Context, settings, now, results, previews, *, applied) -> None:
    """The transcript to the member who sent the commands, at their own reply address."""
    actor = ctx.actor
    role = "council" if settings.members and _is_council(actor, settings) else "member"
    party = member_party(db, ctx.case, actor.email, actor.name, now, role)
    to_party(
        db,
        ctx.case,
        party,
        "committee/command_result",
        {
            "state": ctx.case.state,
            "urgent": ctx.case.urgent,
            "results": results,
            "applied": applied,
            "captured": msg.commands.body if ctx.body_taken else "",
            "previews": previews,
        },
        now=now,
        settings=settings,
        in_reply_to=msg.message_id,
        refs=(*msg.references, msg.message_id),
    )


def _is_council(actor: Person, settings: Settings) -> bool:
    return actor in settings.council and actor not in settings.members


def _token_mode(settings: Settings) -> bool:
    """Commands count by reply address: the refusal must not send the member after DKIM."""
    return settings.command_auth == "token" and not settings.insecure_from_only


def _own_reply_address(msg: IncomingMessage, binding: Binding) -> bool:
    """Sent from a member's address to that member's own reply address for the case (as an
    answer to casebook's mail to them is): only they were given it."""
    party = binding.via_party
    return (
        party is not None
        and party.role in ("member", "council")
        and (party.email or "").lower() == (msg.from_addr or "").lower()
    )


def _refuse_sender(
    db, msg, case, settings, now, message_pk, reason: str, proven: str | None = None
) -> None:
    """The refused sender's notice: the same words whatever the reason; only a sender proven
    to be who their From says (`proven`: "signed" by their domain's DKIM, or through their
    own "reply-address") is not told that someone may be using their address, since that is
    then untrue."""
    record_event(
        db,
        case,
        now=now,
        actor=msg.from_addr or "unknown sender",
        action="commands-refused",
        detail={"reason": reason, "commands": [c.line for c in msg.commands.commands]},
        message_pk=message_pk,
    )
    address = msg.from_addr
    if not address or msg.no_reply_reason:
        return
    # At most one refusal notice a day per address, so casebook cannot be used to flood it.
    since = to_text(now - timedelta(days=1))
    recent = db.execute(
        "SELECT 1 FROM outbox WHERE template = ? AND to_addr = ? AND created_at > ?",
        [f"committee/{REFUSAL_NOTICE}", address, since],
    ).fetchone()
    if recent:
        return
    queue_mail(
        db,
        Mail(
            template=f"committee/{REFUSAL_NOTICE}",
            audience=Audience.ADDRESS,
            to_addr=address,
            context={"token_mode": _token_mode(settings)} | ({"proven": proven} if proven else {}),
            auto_submitted="auto-replied",
        ),
        now=now,
        settings=settings,
    )
