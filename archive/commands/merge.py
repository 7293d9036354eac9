"""#merge CASE|<MESSAGE-ID>: take another case, or a held message, into this case."""

import json

from archive.arrivals.conflicts import unless_none_left
from archive.commands.base import Command, Context, Refused
from archive.record.cases import (
    Case,
    UnknownCaseError,
    file_message,
    find_case,
    move_case_rows,
    record_event,
    set_case_value,
    set_conflicted,
    set_recused,
)
from archive.record.deadlines import cancel_deadline_ids
from archive.record.models import CaseState, Conflict
from archive.workflow.appeals import link_appeal
from archive.workflow.lifecycle import move_case


def run(ctx: Context, args: str) -> str:
    target = args.split()[0] if args else ""
    if not target:
        raise Refused("#merge needs a case (CoC-2026-004) or a held message's <Message-ID>")
    if target.startswith("<"):
        return _merge_held(ctx, target)
    other = _case_to_merge(ctx, target)
    merged_into = ctx.db.execute("SELECT merged_into FROM cases WHERE id = ?", [other.pk])
    if merged_into.fetchone()[0] == ctx.case.pk:
        return f"{other.ref} is already part of this case"  # the same command twice
    messages = [
        r[0] for r in ctx.db.execute("SELECT id FROM messages WHERE case_pk = ?", [other.pk])
    ]
    parties = [r[0] for r in ctx.db.execute("SELECT id FROM parties WHERE case_pk = ?", [other.pk])]
    move_case_rows(ctx.db, other, ctx.case)
    # Whoever may not see either case may not see the merged one.
    set_conflicted(ctx.db, ctx.case, [*ctx.case.conflicted, *other.conflicted], ctx.now)
    set_recused(ctx.db, ctx.case, [*ctx.case.recused, *other.recused], ctx.now)
    stopped = _stop_clocks(ctx, other)
    set_case_value(ctx.db, other, "merged_into", ctx.case.pk, ctx.now)
    move_case(
        ctx.db,
        other,
        CaseState.CLOSED,
        now=ctx.now,
        actor=ctx.actor.email,
        reason=f"merged into {ctx.case.ref}",
        message_pk=ctx.message_pk,
    )
    detail = {
        "case": other.ref,
        "state": other.state,
        "messages": messages,
        "parties": parties,
        "deadlines": stopped,
    }
    ctx.event("merged", detail)
    record_event(
        ctx.db,
        other,
        now=ctx.now,
        actor=ctx.actor.email,
        action="merged-into",
        detail={"case": ctx.case.ref},
        message_pk=ctx.message_pk,
    )
    ctx.reload()
    return f"{other.ref} merged into {ctx.case.ref} ({len(messages)} messages)"


def _case_to_merge(ctx: Context, ref: str) -> Case:
    """The case named, if this member may see it; one answer for "none" and "not yours", so a
    transcript never confirms a case its reader is kept out of."""
    try:
        other = find_case(ctx.db, ref)
    except UnknownCaseError:
        other = None
    if other is None or ctx.actor.email.lower() in other.excluded():
        raise Refused(f"no case {ref} that you may merge")
    if other.pk == ctx.case.pk:
        raise Refused("a case cannot be merged into itself")
    return other


def _stop_clocks(ctx: Context, other: Case) -> list[int]:
    """The merged-away case's pending deadlines stop (its reporter hears from this case now);
    their ids are kept so #unmerge can start them again."""
    rows = ctx.db.execute(
        "SELECT id FROM deadlines WHERE case_pk = ? AND fired_at IS NULL AND cancelled_at IS NULL",
        [other.pk],
    ).fetchall()
    ids = [row[0] for row in rows]
    cancel_deadline_ids(ctx.db, ids, ctx.now)
    return ids


def _merge_held(ctx: Context, message_id: str) -> str:
    # Held in this case or in none: a message held in another case is not this one's to take
    # (its case's audience decides), and the answer is the same as for one that does not exist.
    row = ctx.db.execute(
        "SELECT m.id FROM messages m WHERE m.message_id = ? AND m.held = 1 AND NOT EXISTS"
        " (SELECT 1 FROM events e WHERE e.message_pk = m.id AND e.action = 'message-held'"
        "  AND e.case_pk IS NOT NULL AND e.case_pk != ?)",
        [message_id, ctx.case.pk],
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
    file_message(ctx.db, row[0], ctx.case, release=True)
    ctx.event("held-message-merged", {"message_id": message_id})
    _conflicts_of_held(ctx, row[0])  # the chair is told privately (chair/conflict)
    ctx.reload()
    # Nothing here says whom it names: the member reading this may be one of them.
    return f"held message {message_id} is now part of the case"


def _conflicts_of_held(ctx: Context, message_pk: int) -> list[str]:
    """Whoever the merged message names (as intake found it) is cut off from the case; a
    member's own mail is deliberation and names nobody into a conflict."""
    from_addr, stored = ctx.db.execute(
        "SELECT from_addr, conflicts FROM messages WHERE id = ?", [message_pk]
    ).fetchone()
    if ctx.settings.person_for(from_addr or ""):
        return []
    found = [Conflict(member, reason) for member, reason in json.loads(stored or "[]")]
    why = "in a message merged into the case"
    # Never every free member at once: then the chair and the council decide
    # (archive/arrivals/conflicts)
    return unless_none_left(
        ctx.db, ctx.case, found, ctx.settings, ctx.now, message_pk, why=why, writer=None
    )


COMMAND = Command(
    "merge", "#merge CASE|<MESSAGE-ID>", "merge another case or a held message into this one", run
)
