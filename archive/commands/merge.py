"""#merge CASE|<MESSAGE-ID>: take another case, or a held message, into this case."""

import json

from archive.appeals import link_appeal
from archive.cases import UnknownCaseError, find_case, record_event, set_case_value, set_state
from archive.commands.base import Command, Context, Refused
from archive.models import CaseState


def run(ctx: Context, args: str) -> str:
    target = args.split()[0] if args else ""
    if not target:
        raise Refused("#merge needs a case (CoC-2026-004) or a held message's <Message-ID>")
    if target.startswith("<"):
        return _merge_held(ctx, target)
    try:
        other = find_case(ctx.db, target)
    except UnknownCaseError:
        raise Refused(f"no case {target}") from None
    if other.pk == ctx.case.pk:
        raise Refused("a case cannot be merged into itself")
    if ctx.actor.email.lower() in other.excluded():
        raise Refused(f"you are conflicted or recused in {other.ref}")
    messages = [
        r[0] for r in ctx.db.execute("SELECT id FROM messages WHERE case_pk = ?", [other.pk])
    ]
    parties = [r[0] for r in ctx.db.execute("SELECT id FROM parties WHERE case_pk = ?", [other.pk])]
    ctx.db.execute("UPDATE messages SET case_pk = ? WHERE case_pk = ?", [ctx.case.pk, other.pk])
    ctx.db.execute("UPDATE parties SET case_pk = ? WHERE case_pk = ?", [ctx.case.pk, other.pk])
    conflicted = sorted({*ctx.case.conflicted, *other.conflicted})
    ctx.db.execute(
        "UPDATE cases SET conflicted = ? WHERE id = ?", [json.dumps(conflicted), ctx.case.pk]
    )
    set_case_value(ctx.db, other, "merged_into", ctx.case.pk, ctx.now)
    set_state(ctx.db, other, CaseState.CLOSED, ctx.now)
    detail = {"case": other.ref, "state": other.state, "messages": messages, "parties": parties}
    ctx.event("merged", detail)
    record_event(ctx.db, other, now=ctx.now, actor=ctx.actor.email, action="merged-into",
                 detail={"case": ctx.case.ref}, message_pk=ctx.message_pk)  # fmt: skip
    ctx.reload()
    return f"{other.ref} merged into {ctx.case.ref} ({len(messages)} messages)"


def _merge_held(ctx: Context, message_id: str) -> str:
    row = ctx.db.execute(
        "SELECT id FROM messages WHERE message_id = ? AND held = 1", [message_id]
    ).fetchone()
    if row is None:
        appeal = ctx.db.execute(
            "SELECT a.id FROM appeals a JOIN messages m ON m.id = a.message_pk"
            " WHERE m.message_id = ? AND a.case_pk IS NULL",
            [message_id],
        ).fetchone()
        if appeal is None:
            raise Refused(f"no held message or unlinked appeal {message_id}")
        link_appeal(ctx.db, ctx.case, appeal[0], ctx.now)
        ctx.event("appeal-linked", {"appeal": appeal[0], "message_id": message_id})
        ctx.reload()
        return f"the appeal {message_id} now belongs to this case; the council's clocks run"
    ctx.db.execute("UPDATE messages SET case_pk = ?, held = 0 WHERE id = ?", [ctx.case.pk, row[0]])
    ctx.event("held-message-merged", {"message_id": message_id})
    return f"held message {message_id} is now part of the case"


COMMAND = Command(
    "merge", "#merge CASE|<MESSAGE-ID>", "merge another case or a held message into this one", run
)
