"""#send TEMPLATE to PARTY: a non-resolution template to a party already on the case."""

from archive.cases import parties_of
from archive.catalogue import send_context
from archive.commands.base import Command, Context, Refused
from archive.deadlines import add_deadline
from archive.formpages import reachable
from archive.outbox import Audience

SENDABLE = {
    "missing-information": ("reporter/missing_information", ("reporter", "delegate")),
    "followup-received": ("reporter/followup_received", ("reporter", "delegate")),
    "ask-account": ("reported/ask_account", ("reported",)),
}


def run(ctx: Context, args: str) -> str:
    words = args.split()
    when = None
    if len(words) == 5 and words[3].lower() == "on":
        when = ctx.date(words[4])
        if when <= ctx.now:
            raise Refused("the date is in the past")
        words = words[:3]
    if len(words) != 3 or words[1].lower() != "to":
        raise Refused(f"usage: #send TEMPLATE to PARTY [on DATE]; templates: {', '.join(SENDABLE)}")
    name, role = words[0].lower(), words[2].lower()
    if name not in SENDABLE:
        raise Refused(f"unknown template {name!r}; templates: {', '.join(SENDABLE)}")
    template, roles = SENDABLE[name]
    if role not in roles:
        raise Refused(f"{name} goes to: {', '.join(roles)}")
    parties = [p for p in parties_of(ctx.db, ctx.case, role) if reachable(ctx.db, p)]
    if not parties:
        raise Refused(f"no {role} on this case can be reached")
    if when is not None:
        for party in parties:
            add_deadline(ctx.db, ctx.case, "send", when, ctx.now,
                         {"template": template, "party": party.pk})  # fmt: skip
        ctx.event("template-scheduled", {"template": template, "to": role, "at": when.isoformat()})
        return f"{name} will be sent to the {role} at {when.isoformat()}"
    for party in parties:
        ctx.queue(template, Audience.PARTY, send_context(template, ctx.case.fields), party=party)
    ctx.event("template-sent", {"template": template, "to": role})
    return f"{name} sent to the {role}"


COMMAND = Command(
    "send", "#send TEMPLATE to PARTY [on DATE]", "send a standard template to a party", run
)
