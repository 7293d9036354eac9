"""#note TEXT: a note in the case timeline (internal: never sent outside the committee)."""

from archive.commands.base import Command, Context, Refused


def run(ctx: Context, args: str) -> str:
    text = args or ctx.body
    if not text:
        raise Refused("#note needs text, on its line or below the commands")
    ctx.event("note", {"text": text[:5000]})
    return "noted in the timeline"


COMMAND = Command("note", "#note TEXT", "add a note to the case timeline", run)
