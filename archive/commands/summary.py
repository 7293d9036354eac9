"""#summary: the rest of the message is a summary of an off-list call or chat."""

from archive.commands.base import Command, Context, Refused


def run(ctx: Context, args: str) -> str:
    text = "\n".join(t for t in (args, ctx.body) if t)
    if not text:
        raise Refused("#summary needs the summary below the command block")
    ctx.event("call-summary", {"text": text[:20000]})
    return "call summary stored in the timeline"


COMMAND = Command("summary", "#summary", "store the rest of the message as a call summary", run)
