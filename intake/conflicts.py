"""Conflicts of interest: which members a message involves (SPEC §3). Pure.

A member is involved by sending it, as the original reporter of a forward, as a witness, or
by being named (full name, address or alias) anywhere in it: see `wholetext` for what is
read and `mentions` for how a name is found.
"""

from __future__ import annotations

from archive.record.models import Conflict, ReportFields
from archive.record.settings import Person
from intake.mentions import fold_text, mentions


def find_conflicts(
    people: tuple[Person, ...],
    *,
    sender: str | None,
    text: str,
    fields: ReportFields,
    original_reporter: str | None = None,
) -> tuple[Conflict, ...]:
    """Members or council members `text` involves: by sending it, as witness, or by name."""
    witnesses = fold_text(fields.witnesses or "")
    said, names = fold_text(text), fold_text(fields.names or "")
    conflicts: list[Conflict] = []
    for person in people:
        reason = None
        if sender and person.matches_address(sender):
            reason = "sent the report"
        elif original_reporter and person.matches_address(original_reporter):
            reason = "is the original reporter"
        elif mentions(person, witnesses):
            reason = "listed as a witness"
        elif mentions(person, said) or mentions(person, names):
            reason = "named in the report"
        if reason:
            line = naming_line(person, text) if reason == "named in the report" else ""
            conflicts.append(Conflict(person.email.lower(), reason, line))
    return tuple(conflicts)


def naming_line(person: Person, text: str) -> str:
    """The first line of `text` that names the person (shortened), or "" when only a name
    wrapped over lines or a field does."""
    for line in text.splitlines():
        if mentions(person, fold_text(line)):
            line = " ".join(line.split())
            return line if len(line) <= 200 else line[:199] + "…"
    return ""
