"""What the Executive Council reads to decide a case: the account, the finding, the proposals
with their objections, the reporter's feedback, unilateral actions and mediation.

Read from the record; the escalation, the appeal and the resolution report carry it, so the
council decides with the facts instead of asking for the record. The council is inside the
committee's circle (a conflicted council member gets none of these notices), so names stay.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.bans import who_text
from archive.cases import Case, parties_of

LONGEST = 3000  # characters of one passage (an account, a statement, feedback) in a brief


def case_brief(db: Database, case: Case) -> dict:
    """The case as the council needs it, in plain values for a template."""
    fields = case.fields
    return {
        "account": _cut(fields.get("account")),
        "when": fields.get("when"),
        "where": fields.get("where"),
        "responsible": [who_text(p.name, p.email) for p in parties_of(db, case, "reported")],
        "finding": case.violation,
        "proposals": _proposals(db, case),
        "feedback": _feedback(db, case),
        "unilateral": _events(db, case, "unilateral-action", "action"),
        "mediation": _mediations(db, case),
    }


def _proposals(db: Database, case: Case) -> list[dict]:
    rows = db.execute(
        "SELECT id, resolution, args, text, status FROM proposals WHERE case_pk = ? ORDER BY id",
        [case.pk],
    ).fetchall()
    proposals = []
    for pk, resolution, args, text, status in rows:
        objections = db.execute(
            "SELECT member, reason FROM votes WHERE proposal_pk = ? AND vote = 'object'"
            " ORDER BY at",
            [pk],
        ).fetchall()
        proposals.append({
            "resolution": f"{resolution} {args}".strip(),
            "status": status,
            "statement": _cut(text),
            "objections": [f"{member}: {reason or '(no reason given)'}"
                           for member, reason in objections],
        })  # fmt: skip
    return proposals


def _feedback(db: Database, case: Case) -> list[str]:
    """The reporter's answers to #consult: their words where the record keeps them, and what
    they said of consent."""
    found = []
    for raw in _details(db, case, "feedback-received"):
        said = []
        if raw.get("consent"):
            said.append(f"consent: {raw['consent']}")
        if raw.get("no_contact"):
            said.append("asked for no further contact")
        words = _cut(raw.get("words"))
        found.append(" - ".join(filter(None, [", ".join(said) or None, words])) or "received")
    return found


def _mediations(db: Database, case: Case) -> list[str]:
    rows = db.execute(
        "SELECT mediator_name, mediator, status, report FROM mediations WHERE case_pk = ?"
        " ORDER BY id",
        [case.pk],
    ).fetchall()
    return [
        f"{who_text(name, address)}: {status}" + (f"; report: {_cut(report)}" if report else "")
        for name, address, status, report in rows
    ]


def _events(db: Database, case: Case, action: str, key: str) -> list[str]:
    return [_cut(detail.get(key)) or "" for detail in _details(db, case, action)]


def _details(db: Database, case: Case, action: str) -> list[dict]:
    rows = db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = ? ORDER BY id", [case.pk, action]
    ).fetchall()
    return [json.loads(row[0]) if row[0] else {} for row in rows]


def _cut(text: str | None) -> str | None:
    if not text:
        return None
    text = text.strip()
    return text if len(text) <= LONGEST else text[:LONGEST].rstrip() + " […]"
