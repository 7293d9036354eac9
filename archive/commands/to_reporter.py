"""#to-reporter: the rest of the message goes to the reporter, from the committee."""

from archive.arrivals.formpages import reachable
from archive.commands.base import Command, Context, Refused
from archive.record.cases import merged_parties, own_reporters, parties_of
from archive.record.outbox import Audience


def run(ctx: Context, args: str) -> str:
    first = args.split()[0] if args else ""
    source = first if first.startswith(f"{ctx.settings.case_prefix}-") else None
    if source:
        args = args[len(first) :].strip()
    text = "\n".join(t for t in (args, ctx.body) if t).strip()
    if not text:
        raise Refused("#to-reporter needs the message below the command block")
    reporters = reporters_of(ctx, source)
    found = [p for p in reporters if reachable(ctx.db, p)]
    if not found:
        raise Refused("the reporter cannot be reached (anonymous or asked for no contact)")
    for party in found:
        ctx.queue(
            "reporter/message", Audience.PARTY, {"text": text}, party=party, auto_submitted="no"
        )
    ctx.event("message-to-reporter", {"length": len(text)})
    return "sent to the reporter from the committee's address" + ctx.unsent_attachments()


def reporters_of(ctx: Context, source: str | None) -> list:
    """This case's own reporters, or (`#to-reporter CoC-…`) those of a case merged into it:
    reporters of merged cases stay separate people, each written to on their own."""
    if source is None:
        return own_reporters(ctx.db, ctx.case)
    merged = merged_parties(ctx.db, ctx.case)
    if source not in merged:
        raise Refused(f"no case {source} was merged into this one")
    return [p for p in parties_of(ctx.db, ctx.case, "reporter") if p.pk in merged[source]]


COMMAND = Command(
    "to-reporter",
    "#to-reporter [CASE]",
    "send the rest of the message to the reporter (of a merged CASE)",
    run,
)
