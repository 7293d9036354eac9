"""Conflicts checked again when the configured members, council or aliases change (SPEC §3)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.conflicts import REPORTER_SIDE, add_conflicts
from archive.record.cases import get_case
from archive.record.db import write_transaction
from archive.record.models import CaseState
from archive.record.settings import Settings
from intake.parse import parse_message

META_KEY = "people_fingerprint"
CLOSED = (CaseState.CLOSED.value,)


def people_fingerprint(settings: Settings) -> str:
    people = [
        [p.name, p.email.lower(), sorted(a.lower() for a in p.aliases)]
        for p in (*settings.members, *settings.council)
    ]
    return hashlib.sha256(json.dumps(people, sort_keys=True).encode()).hexdigest()


def recheck_conflicts(db: Database, settings: Settings, now: datetime) -> list[str]:
    """If the people changed since the last run, read every open case's messages again.

    Returns the references of cases that gained a conflict. The first run only records the
    fingerprint: conflicts were checked when those reports arrived.
    """
    fingerprint = people_fingerprint(settings)
    row = db.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]).fetchone()
    if row and row[0] == fingerprint:
        return []
    changed = []
    if row:
        reports = db.execute(
            "SELECT m.id, m.raw, m.case_pk, m.kind, COALESCE((SELECT d.envelope_from"
            " FROM deliveries d WHERE d.message_pk = m.id ORDER BY d.id LIMIT 1), m.from_addr, '')"
            " FROM messages m JOIN cases c ON c.id = m.case_pk"
            # reports, follow-ups, and held messages #merge took in
            " WHERE (m.kind IN ('report', 'followup')"
            " OR (m.held_reason IS NOT NULL AND m.held = 0)) AND c.state NOT IN (?) ORDER BY c.id",
            list(CLOSED),
        ).fetchall()
        for pk, raw, case_pk, kind, envelope_from in reports:
            if kind == "followup" and not _reporter_side(db, pk):
                continue  # another party's names conflict nobody (archive/arrivals/conflicts.py)
            msg = parse_message(
                raw,
                envelope_from=envelope_from,
                envelope_to=(settings.reports,),
                settings=settings,
                loop_id="",
            )
            if kind != "report" and settings.person_for(msg.from_addr or ""):
                continue  # a member's own mail: deliberation names nobody into a conflict
            found = [(c.member, c.reason) for c in msg.conflicts]
            with write_transaction(db):
                case = get_case(db, case_pk)
                if add_conflicts(db, case, found, settings, now, why="members changed"):
                    changed.append(case.ref)
    with write_transaction(db):
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [META_KEY, fingerprint],
        )
    return changed


def _reporter_side(db: Database, message_pk: int) -> bool:
    """Whether the reporter or their delegate wrote this follow-up (its audit entry says)."""
    row = db.execute(
        "SELECT json_extract(detail, '$.party') FROM events"
        " WHERE message_pk = ? AND action = 'followup-received' LIMIT 1",
        [message_pk],
    ).fetchone()
    return bool(row) and row[0] in REPORTER_SIDE
