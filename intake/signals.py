"""Signals in a report: danger and ongoing incidents (urgent). Pure functions over text."""

from __future__ import annotations

import re

from archive.record.models import ReportFields

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


GUIDE_QUESTION_RE = re.compile(r"(?i)if you believe (?:this|the) incident is ongoing")


def _without_guide_question(text: str) -> str:
    """The guide's own question ("If you believe this incident is ongoing") is no answer."""
    return GUIDE_QUESTION_RE.sub("", text)


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
    elif fields.ongoing is None and ONGOING_WORDS_RE.search(_without_guide_question(text)):
        reasons.append("described as happening now")
    return tuple(reasons)
