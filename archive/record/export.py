"""Exporting a case thread as mbox for a justified Executive Council request (manual: the list
is available to council members "upon justified request"); refused for a conflicted requester
and always written to the audit log."""

from __future__ import annotations

import mailbox
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, record_event
from archive.record.db import write_transaction
from archive.record.private_files import create_private_file
from archive.record.settings import Settings


class ExportRefused(Exception):
    """The requester may not have this case; the message says why."""


def export_case(
    db: Database,
    case: Case,
    settings: Settings,
    *,
    requester: str,
    reason: str,
    target: Path,
    now: datetime,
) -> int:
    """Write the case's messages (in and out, oldest first) to a new mbox; their count."""
    person = next((p for p in settings.council if p.matches_address(requester)), None)
    if person is None:  # refused requests are logged too: someone asked for this case
        with write_transaction(db):
            record_event(
                db,
                case,
                now=now,
                actor=requester,
                action="export-refused",
                detail={"reason": reason, "why": "not on the council"},
            )
        raise ExportRefused(f"{requester} is not a member of the Executive Council")
    if person.email.lower() in case.excluded():
        with write_transaction(db):
            record_event(
                db,
                case,
                now=now,
                actor=person.email,
                action="export-refused",
                detail={"reason": reason, "why": "conflicted"},
            )
        raise ExportRefused(f"{person.name} is conflicted in {case.ref}")
    if not reason.strip():
        raise ExportRefused("a justified request needs a reason")
    rows = db.execute(
        "SELECT raw FROM messages WHERE case_pk = ? ORDER BY archived_at, id", [case.pk]
    ).fetchall()
    write_mbox(target, [raw for (raw,) in rows])
    with write_transaction(db):
        detail = {"reason": reason, "messages": len(rows), "file": str(target)}
        record_event(db, case, now=now, actor=person.email, action="exported", detail=detail)
    return len(rows)


def write_mbox(target: Path, messages: list[bytes]) -> None:
    """A new mbox file, 0600 from its first byte; refused if `target` exists."""
    try:
        os.close(create_private_file(target))
    except FileExistsError:
        raise ExportRefused(f"{target} exists; choose a new file") from None
    # The file is new and ours alone, so no dot-lock (which mailbox would create 0666 - umask).
    box = mailbox.mbox(str(target), create=False)
    try:
        for raw in messages:
            box.add(raw)
        box.flush()
    finally:
        box.close()
