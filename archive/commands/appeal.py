"""#appeal uphold|modify|overturn TEXT, #appeal extend DATE: the Executive Council's word.

From the council's chair, a decision stands at once; otherwise it stands when a quorum of
council members sent the same one. The appellant and the committee are told.
"""

from archive.appeals import DECISIONS, decide_appeal, extend_appeal, open_appeal_of, vote_on_appeal
from archive.commands.base import Command, Context, Refused
from archive.models import CaseState
from archive.outbox import Audience


def run(ctx: Context, args: str) -> str:
    words = args.split(maxsplit=1)
    verb = words[0].lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    appeal = open_appeal_of(ctx.db, ctx.case)
    if appeal is None:
        raise Refused("there is no open appeal in this case")
    if verb == "extend":
        until = ctx.date(rest.split()[0]) if rest else None
        if until is None or until <= ctx.now:
            raise Refused("#appeal extend needs a future date, e.g. #appeal extend 2026-04-15")
        extend_appeal(ctx.db, ctx.case, appeal, until, ctx.now)
        ctx.event("appeal-extended", {"appeal": appeal.pk, "until": until.isoformat()})
        day = until.astimezone(ctx.settings.zone).date().isoformat()
        if appeal.appellant:
            ctx.queue("appellant/appeal_extended", Audience.ADDRESS, {"until": day},
                      to_addr=appeal.appellant)  # fmt: skip
        return f"the appellant was told the council needs until {day}"
    if verb not in DECISIONS:
        raise Refused("#appeal takes uphold, modify, overturn (with the decision) or extend DATE")
    text = "\n".join(t for t in (rest, ctx.body) if t).strip()
    if not text:
        raise Refused("#appeal needs the decision's text, on its line or below the commands")
    stands = vote_on_appeal(ctx.db, ctx.case, appeal, ctx.actor.email, verb, text,
                            ctx.settings, ctx.now)  # fmt: skip
    ctx.event("appeal-vote", {"appeal": appeal.pk, "decision": verb})
    if stands is None:
        return f"your decision ({verb}) is recorded; it stands when a quorum agrees"
    decide_appeal(ctx.db, ctx.case, appeal, verb, text, ctx.now)
    ctx.event("appeal-decided", {"appeal": appeal.pk, "decision": verb})
    context = {"decision": verb, "text": text}
    if appeal.appellant:
        ctx.queue("appellant/appeal_decision", Audience.ADDRESS, context,
                  to_addr=appeal.appellant, auto_submitted="no")  # fmt: skip
    ctx.queue("committee/appeal_decision", Audience.COMMITTEE, context)
    if verb != "uphold":
        ctx.move_to(CaseState.DELIBERATING, "appeal decided: " + verb)
    elif ctx.case.state == CaseState.APPEALED:  # an appeal of an open case changed no state
        ctx.move_to(CaseState(appeal.previous_state or "resolved"), "appeal upheld")
    return f"the council's decision ({verb}) was sent to the appellant and the committee"


COMMAND = Command(
    "appeal",
    "#appeal uphold|modify|overturn TEXT",
    "the Executive Council decides an appeal (or: #appeal extend DATE)",
    run,
    council=True,
)
