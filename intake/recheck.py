"""Conflicts checked again when the configured members, council or aliases change (SPEC §3)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.arrivals.conflicts import add_conflicts, messages_to_recheck
from archive.record.cases import get_case
from archive.record.db import read_meta, write_meta, write_transaction
from archive.record.settings import Settings
from intake.parse import parse_message

META_KEY = "people_fingerprint"


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
    known = read_meta(db, META_KEY)
    if known == fingerprint:
        return []
    changed = []
    if known is not None:
        for _, raw, case_pk, kind, envelope_from in messages_to_recheck(db):
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
        write_meta(db, META_KEY, fingerprint)
    return changed
