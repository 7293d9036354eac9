"""Read-only views of the archive for the CLI (`cases`, `show`, `stats`), as plain dicts.

These dicts are the stable `--json` output documented in docs/operators/cli.md (JSON output).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case, parties_of


def case_summary(db: Database, case: Case) -> dict:
    reporters = parties_of(db, case, role="reporter")
    return {
        "id": case.ref,
        "state": case.state,
        "urgent": case.urgent,
        "opened_at": case.opened_at,
        "reporter": reporters[0].email if reporters else None,
        "conflicted": list(case.conflicted),
    }


def case_rows(db: Database, state: str | None = None):
    """(ref, state, urgent, opened_at, conflicted JSON, first reporter's address) of every
    case (in `state`), in case order, in one query read from indexes (m017)."""
    where, params = ("WHERE c.state = ?", [state]) if state else ("", [])
    return db.execute(
        "SELECT c.ref, c.state, c.urgent, c.opened_at, c.conflicted,"
        " (SELECT p.email FROM parties p WHERE p.case_pk = c.id AND p.role = 'reporter'"
        "  ORDER BY p.id LIMIT 1)"
        f" FROM cases c {where} ORDER BY c.year, c.seq",
        params,
    )


def case_summaries(db: Database, state: str | None = None) -> list[dict]:
    """`case_summary` of every case (in `state`), in case order, in one query."""
    return [
        {
            "id": ref,
            "state": state,
            "urgent": bool(urgent),
            "opened_at": opened_at,
            "reporter": reporter,
            "conflicted": json.loads(conflicted) if conflicted != "[]" else [],
        }
        for ref, state, urgent, opened_at, conflicted, reporter in case_rows(db, state)
    ]


def case_detail(db: Database, case: Case) -> dict:
    from archive.workflow.ban_lookup import list_bans  # only `show` needs these
    from archive.workflow.resolutions import votes_of_case

    detail = case_summary(db, case)
    detail["fields"] = case.fields
    detail["parties"] = [
        {
            "role": p.role,
            "name": p.name,
            "email": p.email,
            "no_contact": p.no_contact,
            "consent": p.consent,
        }
        for p in parties_of(db, case)
    ]
    detail["messages"] = [
        {
            "message_id": row[0],
            "from": row[1],
            "subject": row[2],
            "direction": row[3],
            "kind": row[4],
            "at": row[5],
            "held": bool(row[6]),
            "number": row[7],  # the archive's message number, as the log names it
        }
        for row in db.execute(
            "SELECT message_id, from_addr, subject, direction, kind, archived_at, held, id"
            " FROM messages WHERE case_pk = ? ORDER BY archived_at, id",
            [case.pk],
        )
    ]
    detail["events"] = [
        {"at": row[0], "actor": row[1], "action": row[2], "detail": json.loads(row[3])}
        for row in db.execute(
            "SELECT at, actor, action, detail FROM events WHERE case_pk = ? ORDER BY id",
            [case.pk],
        )
    ]
    detail["votes"] = votes_of_case(db, case.pk)
    detail["mediations"] = vettings_of(db, case)
    detail["deadlines"] = [
        {"kind": row[0], "due_at": row[1], "fired_at": row[2], "cancelled_at": row[3]}
        for row in db.execute(
            "SELECT kind, due_at, fired_at, cancelled_at FROM deadlines WHERE case_pk = ?"
            " ORDER BY due_at",
            [case.pk],
        )
    ]
    detail["outbox"] = [
        {"template": row[0], "status": row[1], "created_at": row[2], "sent_at": row[3]}
        for row in db.execute(
            "SELECT template, status, created_at, sent_at FROM outbox WHERE case_pk = ?"
            " ORDER BY id",
            [case.pk],
        )
    ]
    detail["bans"] = list_bans(db, case.pk)
    return detail


def archive_stats(db: Database) -> dict:
    def grouped(sql: str) -> dict:
        return {row[0]: row[1] for row in db.execute(sql)}

    return {
        "messages": db.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
        "cases": grouped("SELECT state, COUNT(*) FROM cases GROUP BY state ORDER BY state"),
        "outbox": grouped("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status"),
        "deadlines": db.execute(
            "SELECT COUNT(*) FROM deadlines WHERE fired_at IS NULL AND cancelled_at IS NULL"
        ).fetchone()[0],
        "list_messages": db.execute("SELECT COUNT(*) FROM messages WHERE kind = 'list'").fetchone()[
            0
        ],
        "held": db.execute("SELECT COUNT(*) FROM messages WHERE held = 1").fetchone()[0],
        "quarantined": db.execute(
            "SELECT COUNT(*) FROM messages WHERE kind = 'quarantined'"
        ).fetchone()[0],
        "deliveries": grouped(
            "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status"
        ),
    }


def vettings_of(db: Database, case: Case) -> list[dict]:
    """Each mediation of the case: its mediator, status, report and every party's vetting of
    it (archive.workflow.mediation writes them), for `casebook show`."""
    shown = []
    for pk, mediator, status, report in db.execute(
        "SELECT id, mediator, status, report FROM mediations WHERE case_pk = ? ORDER BY id",
        [case.pk],
    ).fetchall():
        vettings = [
            {"role": role, "verdict": verdict, "text": text, "at": at}
            for role, verdict, text, at in db.execute(
                "SELECT p.role, v.verdict, v.text, v.vetted_at FROM mediation_vettings v"
                " JOIN parties p ON p.id = v.party_pk WHERE v.mediation_pk = ? ORDER BY v.id",
                [pk],
            )
        ]
        shown.append(
            {"mediator": mediator, "status": status, "report": report, "vettings": vettings}
        )
    return shown
