"""Cases, their parties and their audit log: rows in, rows out, no policy."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.timestamps import to_text

CASE_REF_RE = re.compile(r"\b([A-Za-z][A-Za-z0-9]{0,15})-(\d{4})-(\d{3,})\b")


class UnknownCaseError(LookupError):
    """No case has that reference."""


@dataclass(frozen=True)
class Case:
    pk: int
    ref: str
    state: str
    urgent: bool
    opened_at: str
    updated_at: str
    fields: dict
    conflicted: tuple[str, ...]
    recused: tuple[str, ...] = ()
    assignee: str | None = None
    violation: str | None = None

    def excluded(self) -> set[str]:
        """Members who take no part in this case: conflicted or recused."""
        return {a.lower() for a in (*self.conflicted, *self.recused)}


@dataclass(frozen=True)
class Party:
    pk: int
    case_pk: int
    role: str
    name: str | None
    email: str | None
    token: str
    no_contact: bool = False
    consent: str | None = None


def format_case_ref(prefix: str, year: int, seq: int) -> str:
    """`CoC-2026-007`: three digits at least, more when the year needs them."""
    return f"{prefix}-{year}-{seq:03d}"


def find_case_tag(subject: str, prefix: str) -> str | None:
    """The case reference in a subject line (`[CoC-2026-007]`), if any."""
    for match in CASE_REF_RE.finditer(subject or ""):
        if match.group(1).lower() == prefix.lower():
            return format_case_ref(prefix, int(match.group(2)), int(match.group(3)))
    return None


def new_token() -> str:
    """An unguessable reply token: 120 random bits, lower-case base32 (safe in local parts)."""
    import base64  # here, as the other writers' imports: `cases` and `show` start faster
    import secrets

    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


def open_case(db: Database, *, prefix: str, now: datetime, fields: dict) -> Case:
    """Create a case with the next number of `now`'s year; call inside a write transaction."""
    from archive.record.models import CaseState  # here: models' dataclasses cost `cases` ~7 ms

    year = now.year
    row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM cases WHERE year = ?", [year]).fetchone()
    seq = row[0] + 1
    ref = format_case_ref(prefix, year, seq)
    stamp = to_text(now)
    cursor = db.execute(
        "INSERT INTO cases (ref, year, seq, state, opened_at, updated_at, fields) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [ref, year, seq, CaseState.RECEIVED.value, stamp, stamp, json.dumps(fields)],
    )
    return get_case(db, cursor.lastrowid)


def _case_from_row(row) -> Case:
    pk, ref, state, urgent, opened_at, updated_at, fields, conflicted, recused = row[:9]
    return Case(
        pk,
        ref,
        state,
        bool(urgent),
        opened_at,
        updated_at,
        json.loads(fields),
        tuple(json.loads(conflicted)),
        tuple(json.loads(recused)),
        row[9],
        row[10],
    )


CASE_COLUMNS = (
    "id, ref, state, urgent, opened_at, updated_at, fields, conflicted, recused, assignee,"
    " violation"
)


def get_case(db: Database, pk: int) -> Case:
    row = db.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", [pk]).fetchone()
    if row is None:
        raise UnknownCaseError(f"no case #{pk}")
    return _case_from_row(row)


def find_case(db: Database, ref: str) -> Case:
    row = db.execute(
        f"SELECT {CASE_COLUMNS} FROM cases WHERE ref = ? COLLATE NOCASE", [ref.strip()]
    ).fetchone()
    if row is None:
        raise UnknownCaseError(f"no case {ref.strip()!r}")
    return _case_from_row(row)


def list_cases(db: Database, state: str | None = None) -> list[Case]:
    where, params = ("WHERE state = ?", [state]) if state else ("", [])
    rows = db.execute(f"SELECT {CASE_COLUMNS} FROM cases {where} ORDER BY year, seq", params)
    return [_case_from_row(row) for row in rows]


def set_urgent(db: Database, case: Case, urgent: bool, now: datetime) -> None:
    db.execute(
        "UPDATE cases SET urgent = ?, updated_at = ? WHERE id = ?",
        [int(urgent), to_text(now), case.pk],
    )


def set_conflicted(db: Database, case: Case, members: list[str], now: datetime) -> None:
    db.execute(
        "UPDATE cases SET conflicted = ?, updated_at = ? WHERE id = ?",
        [json.dumps(sorted(set(members))), to_text(now), case.pk],
    )


def set_recused(db: Database, case: Case, members: list[str], now: datetime) -> None:
    db.execute(
        "UPDATE cases SET recused = ?, updated_at = ? WHERE id = ?",
        [json.dumps(sorted(set(members))), to_text(now), case.pk],
    )


def set_case_value(db: Database, case: Case, column: str, value, now: datetime) -> None:
    """Set one of the committee's per-case facts (assignee, violation)."""
    if column not in ("assignee", "violation", "merged_into"):
        raise ValueError(column)
    db.execute(
        f"UPDATE cases SET {column} = ?, updated_at = ? WHERE id = ?",
        [value, to_text(now), case.pk],
    )


def set_case_state(db: Database, case: Case, state: str, now: datetime) -> None:
    """The state column alone: `archive.workflow.lifecycle.move_case` is the door that calls it."""
    db.execute(
        "UPDATE cases SET state = ?, updated_at = ? WHERE id = ?", [state, to_text(now), case.pk]
    )


def set_case_fields(db: Database, case: Case, fields: dict, now: datetime | None) -> None:
    """The case's extracted fields; `now` also stamps `updated_at` (None leaves it)."""
    if now is None:
        db.execute("UPDATE cases SET fields = ? WHERE id = ?", [json.dumps(fields), case.pk])
        return
    db.execute(
        "UPDATE cases SET fields = ?, updated_at = ? WHERE id = ?",
        [json.dumps(fields), to_text(now), case.pk],
    )


def case_ref_of(db: Database, case_pk: int | None) -> str | None:
    """A case's reference by its row id, or None when there is no such case."""
    row = db.execute("SELECT ref FROM cases WHERE id = ?", [case_pk]).fetchone()
    return row[0] if row else None


def move_case_rows(db: Database, source: Case, target: Case) -> None:
    """Every message and party of `source` now belongs to `target` (#merge)."""
    db.execute("UPDATE messages SET case_pk = ? WHERE case_pk = ?", [target.pk, source.pk])
    db.execute("UPDATE parties SET case_pk = ? WHERE case_pk = ?", [target.pk, source.pk])


def file_message(db: Database, message_pk: int, case: Case, *, release: bool = False) -> None:
    """A message now belongs to the case; `release` also lifts its hold."""
    if release:
        db.execute("UPDATE messages SET case_pk = ?, held = 0 WHERE id = ?", [case.pk, message_pk])
    else:
        db.execute("UPDATE messages SET case_pk = ? WHERE id = ?", [case.pk, message_pk])


def set_party_value(db: Database, party: Party, column: str, value) -> None:
    """One of a party's own answers: `consent` to a proposal, or a wish for `no_contact`."""
    if column not in ("consent", "no_contact"):
        raise ValueError(column)
    db.execute(f"UPDATE parties SET {column} = ? WHERE id = ?", [value, party.pk])


def add_follow_up_page(
    db: Database, case: Case, party: Party, page_hash: str, created_at: str
) -> None:
    """A web form follow-up page: only the SHA-256 of its secret is kept."""
    db.execute(
        "INSERT OR IGNORE INTO follow_up_pages (secret_sha256, case_pk, party_pk, created_at)"
        " VALUES (?, ?, ?, ?)",
        [page_hash, case.pk, party.pk, created_at],
    )


def add_party(
    db: Database, case: Case, *, role: str, name: str | None, email: str | None, now: datetime
) -> Party:
    cursor = db.execute(
        "INSERT INTO parties (case_pk, role, name, email, token, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [case.pk, role, name, email, new_token(), to_text(now)],
    )
    return get_party(db, cursor.lastrowid)


PARTY_COLUMNS = "id, case_pk, role, name, email, token, no_contact, consent"


def get_party(db: Database, pk: int) -> Party:
    row = db.execute(f"SELECT {PARTY_COLUMNS} FROM parties WHERE id = ?", [pk]).fetchone()
    return Party(*row)


def party_by_token(db: Database, token: str) -> Party | None:
    row = db.execute(
        f"SELECT {PARTY_COLUMNS} FROM parties WHERE token = ?", [token.lower()]
    ).fetchone()
    return Party(*row) if row else None


def parties_of(db: Database, case: Case, role: str | None = None) -> list[Party]:
    sql = f"SELECT {PARTY_COLUMNS} FROM parties WHERE case_pk = ?"
    params: list = [case.pk]
    if role:
        sql += " AND role = ?"
        params.append(role)
    return [Party(*row) for row in db.execute(sql + " ORDER BY id", params)]


def merged_parties(db: Database, case: Case) -> dict[str, set[int]]:
    """For each case merged into this one, the parties it brought (its reporters among them)."""
    merged: dict[str, set[int]] = {}
    rows = db.execute(
        "SELECT detail FROM events WHERE case_pk = ? AND action = 'merged'", [case.pk]
    )
    for (detail,) in rows:
        value = json.loads(detail)
        merged.setdefault(value["case"], set()).update(value["parties"])
    return merged


def own_reporters(db: Database, case: Case) -> list[Party]:
    """The case's own reporters: those of cases merged into it hear under their own number."""
    brought = set().union(*merged_parties(db, case).values())
    return [p for p in parties_of(db, case, "reporter") if p.pk not in brought]


def party_for_address(db: Database, case: Case, address: str | None) -> Party | None:
    if not address:
        return None
    row = db.execute(
        f"SELECT {PARTY_COLUMNS} FROM parties WHERE case_pk = ? AND email = ? COLLATE NOCASE "
        "ORDER BY id LIMIT 1",
        [case.pk, address],
    ).fetchone()
    return Party(*row) if row else None


def record_event(
    db: Database,
    case: Case | None,
    *,
    now: datetime,
    actor: str,
    action: str,
    detail: dict | None = None,
    message_pk: int | None = None,
) -> None:
    """Append one entry to the audit log: who, when, what, through which message."""
    db.execute(
        "INSERT INTO events (case_pk, at, actor, action, detail, message_pk) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            case.pk if case else None,
            to_text(now),
            actor,
            action,
            json.dumps(detail or {}, sort_keys=True),
            message_pk,
        ],
    )
