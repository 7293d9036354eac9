"""#to-reporter: the rest of the message goes to the reporter, from the committee."""

from archive.cases import parties_of
from archive.commands.base import Command, Context, Refused
from archive.outbox import Audience


def run(ctx: Context, args: str) -> str:
    text = "\n".join(t for t in (args, ctx.body) if t).strip()
    if not text:
        raise Refused("#to-reporter needs the message below the command block")
    reporters = parties_of(ctx.db, ctx.case, "reporter")
    reachable = [p for p in reporters if p.email and not p.no_contact]
    if not reachable:
        raise Refused("the reporter cannot be reached (anonymous or asked for no contact)")
    for party in reachable:
        ctx.queue("reporter/message", Audience.PARTY, {"text": text}, party=party,
                  auto_submitted="no")  # fmt: skip
    ctx.event("message-to-reporter", {"length": len(text)})
    return "sent to the reporter from the committee's address"


COMMAND = Command(
    "to-reporter", "#to-reporter", "send the rest of the message to the reporter", run
)
