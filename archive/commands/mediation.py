"""#mediation propose|agree|decline|mediator|extend|report: voluntary mediation, step by step."""

from datetime import datetime

from archive.commands.base import Command, Context, Refused
from archive.record.address_grammar import split_address
from archive.record.durations import parse_days
from archive.record.timestamps import from_text
from archive.workflow.mediation import (
    ROLES,
    current_mediation,
    extend_mediation,
    record_answer,
    record_report,
    start_mediation,
)

PARTIES = ("reporter", "reported")


def run(ctx: Context, args: str) -> str:
    words = args.split(maxsplit=1)
    verb = words[0].lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    mediation = current_mediation(ctx.db, ctx.case)
    if verb == "propose":
        return _propose(ctx, rest, mediation)
    if mediation is None:
        raise Refused("no mediation is under way; #mediation propose MEDIATOR first")
    if verb in ("agree", "decline"):
        role = rest.split()[0].lower() if rest else ""
        if role not in ROLES:
            raise Refused(f"#mediation {verb} takes reporter, reported or mediator")
        answer = "agreed" if verb == "agree" else "declined"
        done = record_answer(ctx.db, ctx.settings, ctx.case, mediation, role, answer, ctx.now)
    elif verb == "mediator":
        parts = rest.split(maxsplit=1)
        if len(parts) < 2 or parts[0].lower() not in PARTIES:
            raise Refused("usage: #mediation mediator reporter|reported ADDRESS [NAME]")
        address, name = _mediator(parts[1])
        done = record_answer(
            ctx.db,
            ctx.settings,
            ctx.case,
            mediation,
            parts[0].lower(),
            "",
            ctx.now,
            mediator=(address, name),
        )
    elif verb == "extend":
        if mediation.status != "settled":
            raise Refused("#mediation extend needs a settled mediation (its clock runs then)")
        done = extend_mediation(
            ctx.db,
            ctx.settings,
            ctx.case,
            mediation,
            _new_due(ctx, rest, from_text(mediation.due_at)),
            ctx.now,
        )
    elif verb == "report":
        text = "\n".join(t for t in (rest, ctx.body) if t).strip()
        if not text or mediation.status != "settled":
            raise Refused("#mediation report needs a settled mediation and the report below")
        done = record_report(ctx.db, ctx.settings, ctx.case, mediation, text, ctx.now)
    else:
        raise Refused("#mediation takes propose, agree, decline, mediator, extend or report")
    ctx.reload()
    return done


def _new_due(ctx: Context, text: str, due: datetime) -> datetime:
    """`7d`/`2w` more than the date it had, or `until DATE`/`DATE`: a date still to come."""
    words = text.split()
    if words and words[0].lower() in ("until", "to", "by"):
        words = words[1:]
    if len(words) != 1:
        raise Refused("usage: #mediation extend DURATION (e.g. 7d, 2w) or #mediation extend DATE")
    try:
        until = due + parse_days(words[0])
    except ValueError:
        until = ctx.date(words[0])
    if until <= ctx.now:
        raise Refused(f"{words[0]!r} is not in the future")
    return until


def _mediator(text: str) -> tuple[str, str | None]:
    address, name = split_address(text)
    if address is None:
        raise Refused("give the mediator's address, e.g. #mediation propose Max <max@example.net>")
    return address, name or None


COMMAND = Command(
    "mediation",
    "#mediation propose|agree|decline|mediator|extend|report",
    "voluntary mediation: propose MEDIATOR, agree/decline PARTY|mediator, mediator PARTY ADDRESS,"
    " extend DURATION|DATE, report",
    run,
)


def _propose(ctx: Context, rest: str, mediation) -> str:
    """`#mediation propose MEDIATOR`: the candidate mediator is asked first."""
    if mediation is not None:
        raise Refused("a mediation is already under way in this case")
    address, name = _mediator(rest)
    try:
        done = start_mediation(
            ctx.db, ctx.settings, ctx.case, address, name, ctx.actor.email.lower(), ctx.now
        )
    except ValueError as exc:
        raise Refused(str(exc)) from None
    ctx.event("mediation-proposed", {"mediator": address})
    ctx.reload()
    return done
