"""The manual's ladder of resolutions, proposals and their tallies (pure rules and rows)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.address_grammar import bracketed_address
from archive.clock import to_text
from archive.durations import is_days, parse_days
from archive.ladder import DURATION, RUNGS, VENUE


@dataclass(frozen=True)
class Proposal:
    pk: int
    case_pk: int
    resolution: str
    args: str
    text: str
    proposed_by: str
    proposed_at: str
    status: str
    consulted_at: str | None
    enacted_at: str | None


def check_resolution(resolution: str, args: str) -> str | None:
    """Why `#propose RESOLUTION ARGS` is malformed, or None (the row's `args` say what it takes)."""
    row = RUNGS.get(resolution)
    if row is None:
        return f"unknown resolution {resolution!r}; the ladder is: {', '.join(RUNGS)}"
    words, spec = args.split(), row.args.split()
    if spec == [VENUE] and (len(words) != 1 or bracketed_address(words[0]) is None):
        return f"{resolution} needs the venue's address, e.g. users@lists.example.org"
    if spec == [DURATION, "SPACES"] and (len(words) < 2 or not is_days(words[0])):
        why = f" ({_duration_problem(words[0])})" if words and not is_days(words[0]) else ""
        return f"{resolution} needs a duration and the spaces, e.g. 30d mailing-lists,chat{why}"
    if spec == ["SPACES"] and not words:
        return f"{resolution} needs the spaces, e.g. all"
    if spec == [f"[{DURATION}]"] and words and not is_days(words[0]):
        return f"{resolution} takes an optional duration, e.g. 14d ({_duration_problem(words[0])})"
    return None


# The statement a resolution's mail carries is only what the proposer marked: from a line
# starting `Statement:` (text may follow on it) to a line `End of statement`. Everything else
# in their mail (a greeting, "Thanks all, let's discuss Monday") is for the committee only.
STATEMENT_START_RE = re.compile(r"(?i)^\s*statement\s*:\s*(?P<rest>.*?)\s*$")
STATEMENT_END_RE = re.compile(r"(?i)^\s*end\s+of\s+(?:the\s+)?statement\s*[.!:]?\s*$")
HOW_TO_MARK = (
    "put a line 'Statement:' before what they will read and a line 'End of statement' after"
    " it; the rest of your mail stays with the committee"
)


def marked_statement(text: str) -> tuple[str, bool]:
    """The statement marked in the text below `#propose`, and whether it was closed by its
    end line. ("", True) when the text marks none (then none of it is a statement)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if STATEMENT_START_RE.match(line)), None)
    if start is None:
        return "", True
    first = STATEMENT_START_RE.match(lines[start]).group("rest")
    kept = [first] if first else []
    for line in lines[start + 1 :]:
        if STATEMENT_END_RE.match(line):
            return "\n".join(kept).strip(), True
        kept.append(line.rstrip())
    return "\n".join(kept).strip(), False


def statement_problem(resolution: str, text: str) -> str | None:
    """Why the text below `#propose RESOLUTION` cannot give its mail a statement, or None."""
    row = RUNGS[resolution]
    if not (row.to_responsible or row.to_venue):
        return None  # nobody outside the committee reads a statement of it
    statement, closed = marked_statement(text)
    if not closed:
        return (
            "the statement has a 'Statement:' line but no line 'End of statement' after it:"
            " add one where the statement ends (what follows stays with the committee)"
        )
    if text.strip() and not statement:
        reader = "the venue" if row.to_venue else "the person responsible"
        return (
            f"nothing below #propose is marked as the statement {reader} will read: {HOW_TO_MARK}"
        )
    return None


def _duration_problem(text: str) -> str:
    try:
        parse_days(text)
    except ValueError as exc:
        return str(exc)
    return ""


COLUMNS = (
    "id, case_pk, resolution, args, text, proposed_by, proposed_at, status, consulted_at,"
    " enacted_at"
)


def open_proposal(db: Database, case_pk: int) -> Proposal | None:
    row = db.execute(
        f"SELECT {COLUMNS} FROM proposals WHERE case_pk = ? AND status = 'open'"
        " ORDER BY id DESC LIMIT 1",
        [case_pk],
    ).fetchone()
    return Proposal(*row) if row else None


def add_proposal(
    db: Database, case_pk: int, resolution: str, args: str, text: str, by: str, now: datetime
) -> Proposal:
    db.execute(
        "UPDATE proposals SET status = 'superseded' WHERE case_pk = ? AND status = 'open'",
        [case_pk],
    )
    cursor = db.execute(
        "INSERT INTO proposals (case_pk, resolution, args, text, proposed_by, proposed_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [case_pk, resolution, args, text, by, to_text(now)],
    )
    row = db.execute(f"SELECT {COLUMNS} FROM proposals WHERE id = ?", [cursor.lastrowid])
    return Proposal(*row.fetchone())


def cast_vote(
    db: Database, proposal: Proposal, member: str, vote: str, reason: str | None, now: datetime
) -> None:
    db.execute(
        "INSERT INTO votes (proposal_pk, member, vote, reason, at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (proposal_pk, member) DO UPDATE SET vote = excluded.vote,"
        " reason = excluded.reason, at = excluded.at",
        [proposal.pk, member.lower(), vote, reason, to_text(now)],
    )


def tally(db: Database, proposal: Proposal) -> dict[str, str]:
    rows = db.execute("SELECT member, vote FROM votes WHERE proposal_pk = ?", [proposal.pk])
    return {member: vote for member, vote in rows}


def has_consensus(votes: dict[str, str], voters: list[str]) -> bool:
    """Every member taking part agreed or abstained, and at least one agreed."""
    if not voters:
        return False
    cast = [votes.get(v.lower()) for v in voters]
    return all(v in ("agree", "abstain") for v in cast) and "agree" in cast


def mark_proposal(db: Database, proposal: Proposal, column: str, now: datetime) -> None:
    if column not in ("consulted_at", "enacted_at"):
        raise ValueError(column)
    status = ", status = 'enacted'" if column == "enacted_at" else ""
    db.execute(
        f"UPDATE proposals SET {column} = ?{status} WHERE id = ?", [to_text(now), proposal.pk]
    )


def votes_of_case(db: Database, case_pk: int) -> list[dict]:
    rows = db.execute(
        "SELECT p.id, p.resolution, p.status, v.member, v.vote, v.reason, v.at"
        " FROM proposals p LEFT JOIN votes v ON v.proposal_pk = p.id WHERE p.case_pk = ?"
        " ORDER BY p.id, v.at",
        [case_pk],
    )
    return [
        {"proposal": r[0], "resolution": r[1], "status": r[2], "member": r[3], "vote": r[4],
         "reason": r[5], "at": r[6]}
        for r in rows
        if r[3] is not None
    ]  # fmt: skip
