"""#unmerge CASE: undo an earlier #merge of CASE into this case."""

import json

from archive.commands.base import Command, Context, Refused
from archive.record.cases import UnknownCaseError, find_case, record_event, set_case_value
from archive.record.deadlines import resume_deadline
from archive.record.models import CaseState
from archive.workflow.lifecycle import move_case


def run(ctx: Context, args: str) -> str:
    target = args.split()[0] if args else ""
    try:
        other = find_case(ctx.db, target)
    except UnknownCaseError:
        raise Refused(f"{target!r} was not merged into this case") from None
    merged_into = ctx.db.execute("SELECT merged_into FROM cases WHERE id = ?", [other.pk])
    if merged_into.fetchone()[0] != ctx.case.pk:
        raise Refused(f"{other.ref} was not merged into this case (or is separate already)")
    row = ctx.db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = 'merged'"
        " AND json_extract(detail, '$.case') = ? ORDER BY id DESC LIMIT 1",
        [ctx.case.pk, other.ref],
    ).fetchone()
    if row is None:
        raise Refused(f"{other.ref} was not merged into this case")
    detail = json.loads(row[0])
    for table, key in (("messages", "messages"), ("parties", "parties")):
        for pk in detail[key]:
            ctx.db.execute(f"UPDATE {table} SET case_pk = ? WHERE id = ?", [other.pk, pk])
    set_case_value(ctx.db, other, "merged_into", None, ctx.now)
    # The door first: entering the old state must not stop the clocks given back below.
    move_case(
        ctx.db,
        other,
        CaseState(detail["state"]),
        now=ctx.now,
        actor=ctx.actor.email,
        reason=f"unmerged from {ctx.case.ref}",
        message_pk=ctx.message_pk,
        restoring=True,
    )
    for pk in detail.get("deadlines", []):  # its clocks run again where they stopped
        resume_deadline(ctx.db, pk)
    ctx.event("unmerged", {"case": other.ref})
    record_event(
        ctx.db,
        other,
        now=ctx.now,
        actor=ctx.actor.email,
        action="unmerged-from",
        detail={"case": ctx.case.ref},
        message_pk=ctx.message_pk,
    )
    return f"{other.ref} is separate again ({len(detail['messages'])} messages moved back)"


COMMAND = Command("unmerge", "#unmerge CASE", "undo a #merge", run)
