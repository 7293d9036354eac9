"""Deadlines: rows created with the event that starts them, cancelled by the events that end
them, fired once by the sweep (`fire_due`), however late the sweep comes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case
from archive.record.timestamps import from_text, to_text

# A deadline fired this long after it was due is "late": the committee is told.
LATE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Deadline:
    pk: int
    case_pk: int | None
    kind: str
    due_at: str
    payload: dict

    def lateness(self, now: datetime) -> timedelta:
        return now - from_text(self.due_at)


def add_deadline(
    db: Database,
    case: Case | None,
    kind: str,
    due_at: datetime,
    now: datetime,
    payload: dict | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO deadlines (case_pk, kind, due_at, created_at, payload) VALUES (?, ?, ?, ?, ?)",
        [
            case.pk if case else None,
            kind,
            to_text(due_at),
            to_text(now),
            json.dumps(payload or {}, sort_keys=True),
        ],
    )
    return cursor.lastrowid


def cancel_deadlines(
    db: Database, case: Case, kinds: tuple[str, ...], now: datetime, **payload_match
) -> int:
    """Cancel the case's pending deadlines of these kinds (optionally matching payload keys)."""
    pending = pending_deadlines(db, case, kinds)
    cancelled = 0
    for deadline in pending:
        if all(deadline.payload.get(k) == v for k, v in payload_match.items()):
            db.execute(
                "UPDATE deadlines SET cancelled_at = ? WHERE id = ?", [to_text(now), deadline.pk]
            )
            cancelled += 1
    return cancelled


def cancel_deadline_ids(db: Database, ids: list[int], now: datetime) -> None:
    """Cancel these deadlines (#merge stops the merged-away case's clocks)."""
    db.execute(
        f"UPDATE deadlines SET cancelled_at = ? WHERE id IN ({','.join('?' * len(ids))})",
        [to_text(now), *ids],
    )


def resume_deadline(db: Database, pk: int) -> None:
    """A cancelled deadline runs again where it stopped (#unmerge)."""
    db.execute("UPDATE deadlines SET cancelled_at = NULL WHERE id = ?", [pk])


def cancel_by_payload(db: Database, kinds: tuple[str, ...], key: str, value, now: datetime) -> None:
    """Cancel pending deadlines of these kinds whose payload's `key` is `value`, linked to a
    case or not (an appeal's clocks run before the appeal has a case)."""
    db.execute(
        f"UPDATE deadlines SET cancelled_at = ? WHERE fired_at IS NULL AND cancelled_at IS NULL"
        f" AND kind IN ({','.join('?' * len(kinds))}) AND {_payload(key)} = ?",
        [to_text(now), *kinds, value],
    )


def adopt_deadlines(db: Database, case: Case, kinds: tuple[str, ...], key: str, value) -> None:
    """Pending deadlines of no case, of these kinds, whose payload's `key` is `value`, now
    belong to the case."""
    db.execute(
        f"UPDATE deadlines SET case_pk = ? WHERE case_pk IS NULL AND fired_at IS NULL"
        f" AND cancelled_at IS NULL AND kind IN ({','.join('?' * len(kinds))})"
        f" AND {_payload(key)} = ?",
        [case.pk, *kinds, value],
    )


def _payload(key: str) -> str:
    """The SQL for one key of a deadline's payload (a name from our code, never from mail)."""
    if not key.isidentifier():
        raise ValueError(key)
    return f"json_extract(payload, '$.{key}')"


def pending_deadlines(db: Database, case: Case, kinds: tuple[str, ...] = ()) -> list[Deadline]:
    sql = (
        "SELECT id, case_pk, kind, due_at, payload FROM deadlines WHERE case_pk = ?"
        " AND fired_at IS NULL AND cancelled_at IS NULL"
    )
    params: list = [case.pk]
    if kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        params += list(kinds)
    rows = db.execute(sql + " ORDER BY due_at", params)
    return [Deadline(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def due_deadlines(db: Database, now: datetime, limit: int = 200) -> list[Deadline]:
    rows = db.execute(
        "SELECT id, case_pk, kind, due_at, payload FROM deadlines WHERE fired_at IS NULL"
        " AND cancelled_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?",
        [to_text(now), limit],
    )
    return [Deadline(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def claim_deadline(db: Database, deadline: Deadline, now: datetime) -> bool:
    """Mark it fired; False if another sweep fired (or someone cancelled) it first."""
    cursor = db.execute(
        "UPDATE deadlines SET fired_at = ? WHERE id = ? AND fired_at IS NULL"
        " AND cancelled_at IS NULL",
        [to_text(now), deadline.pk],
    )
    return cursor.rowcount == 1
