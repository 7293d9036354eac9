"""#release ID: a mail the leak guard held goes out after all (a member has read it)."""

from archive.commands.base import Command, Context, Refused
from archive.record.outbox import held_item, release_held
from archive.workflow.enactment import release_enactment


def item_of(ctx: Context, args: str, keyword: str) -> tuple[int, str, str]:
    """The held item named by `args` in this case: (id, template, status)."""
    text = args.strip().lstrip("#")
    if not text.isdigit():
        raise Refused(f"#{keyword} needs the number of a held mail (as the notice gives it)")
    found = held_item(ctx.db, ctx.case, int(text))
    if found is None:
        raise Refused(f"this case has no held mail {text}")
    return int(text), *found


def run(ctx: Context, args: str) -> str:
    pk, template, status = item_of(ctx, args, "release")
    if status != "held":
        return f"no change: mail {pk} ({template}) is no longer held ({status})"
    # A resolution's held mail leaves whole, and its enactment completes when it does.
    enacted = release_enactment(
        ctx.db,
        ctx.settings,
        ctx.now,
        ctx.case,
        pk,
        actor=ctx.actor.email,
        message_pk=ctx.message_pk,
        queued=ctx.queued,
    )
    if enacted is None:
        release_held(ctx.db, pk, ctx.actor.email, ctx.now)
        enacted = True, "released: it goes out as it is"
    vouched, done = enacted
    if vouched:
        ctx.event("mail-released", {"item": pk, "template": template})
    ctx.reload()
    return f"mail {pk} ({template}) {done}"


COMMAND = Command(
    "release", "#release ID", "send a mail the leak guard held, as it is (ID from the notice)", run
)
