"""Signals in a report: danger (urgent), conflicts of interest. Pure functions over text."""

from __future__ import annotations

import functools
import re

from archive.models import Conflict, ReportFields
from archive.settings import Person

DANGER_PATTERNS = (
    r"threat(?:en(?:ed|ing|s)?|s)?",
    r"kill(?:ed|ing)?",
    r"weapons?",
    r"guns?",
    r"knife",
    r"hurt (?:me|him|her|them|someone|myself|themselves)",
    r"unsafe",
    r"in danger",
    r"danger(?:ous)?",
    r"stalk(?:s|ed|ing|er)?",
    r"assault(?:ed)?",
    r"violen(?:ce|t)",
    r"suicid(?:e|al)",
    r"self[- ]harm",
    r"emergency",
    r"doxx?(?:ed|ing)?",
    r"followed me",
    r"physical(?:ly)? (?:harm|attack|safety)",
)
DANGER_RE = re.compile(r"(?i)\b(" + "|".join(DANGER_PATTERNS) + r")\b")
NEGATION_RE = re.compile(r"(?i)\b(not|no|never|nobody|without)\b[\w\s]{0,12}$")
ONGOING_WORDS_RE = re.compile(r"(?i)\b(still happening|is ongoing|happening right now|right now)\b")


def find_urgent_reasons(text: str, fields: ReportFields) -> tuple[str, ...]:
    """Why a report looks urgent (danger words, an ongoing incident); empty if it does not."""
    reasons: list[str] = []
    for match in DANGER_RE.finditer(text):
        if NEGATION_RE.search(text[max(0, match.start() - 20) : match.start()]):
            continue
        word = match.group(1).lower()
        if f"mentions “{word}”" not in reasons:
            reasons.append(f"mentions “{word}”")
    if (fields.ongoing or "").lower().startswith("yes"):
        reasons.append("reported as ongoing")
    elif ONGOING_WORDS_RE.search(text):
        reasons.append("described as happening now")
    return tuple(reasons)


def find_conflicts(
    people: tuple[Person, ...],
    *,
    sender: str | None,
    text: str,
    fields: ReportFields,
    original_reporter: str | None = None,
) -> tuple[Conflict, ...]:
    """Members or council members a report involves: by sending it, as witness, or by name."""
    conflicts: list[Conflict] = []
    witnesses = fields.witnesses or ""
    for person in people:
        reason = None
        if sender and person.matches_address(sender):
            reason = "sent the report"
        elif original_reporter and person.matches_address(original_reporter):
            reason = "is the original reporter"
        elif _mentions(person, witnesses):
            reason = "listed as a witness"
        elif _mentions(person, text) or _mentions(person, fields.names or ""):
            reason = "named in the report"
        if reason:
            conflicts.append(Conflict(person.email.lower(), reason))
    return tuple(conflicts)


def _mentions(person: Person, text: str) -> bool:
    """The person's name, address or an alias appears as whole words in `text`."""
    return bool(text) and _person_pattern(person).search(text) is not None


@functools.lru_cache(maxsize=256)
def _person_pattern(person: Person) -> re.Pattern:
    tokens = [t.strip() for t in (person.name, person.email, *person.aliases) if len(t.strip()) > 1]
    alternatives = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    return re.compile(r"(?<![\w.@+-])(?:" + alternatives + r")(?![\w@-]|\.\w)", re.IGNORECASE)
