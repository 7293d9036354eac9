"""Reading the ban register (`casebook bans`, `show`): a module of its own, so the read-only
commands do not load the clocks, deadlines and outbox that `archive.workflow.bans` writes with."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

BAN_SELECT = (
    "SELECT b.id, c.ref, b.who, b.email, b.spaces, b.start_at, b.end_at, b.review_at,"
    " b.status, b.unilateral, b.decided_by, b.ended_at FROM bans b"
    " JOIN cases c ON c.id = b.case_pk"
)
BAN_KEYS = (
    "id",
    "case",
    "who",
    "email",
    "spaces",
    "start_at",
    "end_at",
    "review_at",
    "status",
    "unilateral",
    "decided_by",
    "ended_at",
)


def ban_dict(row) -> dict:
    record = dict(zip(BAN_KEYS, row, strict=True))
    record["unilateral"] = bool(record["unilateral"])
    record["permanent"] = record["end_at"] is None
    return record


def list_bans(db: Database, case_pk: int | None = None) -> list[dict]:
    sql, params = BAN_SELECT, []
    if case_pk is not None:
        sql += " WHERE b.case_pk = ?"
        params.append(case_pk)
    return [ban_dict(row) for row in db.execute(sql + " ORDER BY b.start_at, b.id", params)]
