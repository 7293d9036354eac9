"""The report fields of the reporting guide, from labelled lines or, failing that, free text."""

from __future__ import annotations

import re

from archive.models import ReportFields

# Label spellings a reporter might use for each field (the acknowledgement's checklist first).
LABELS: dict[str, tuple[str, ...]] = {
    "contact": ("contact", "contact info", "your contact info", "my contact", "reporter"),
    "names": (
        "names",
        "name",
        "name(s)",
        "who",
        "involved",
        "people involved",
        "individuals involved",
        "person involved",
        "reported person",
        "reported",
    ),
    "witnesses": ("witnesses", "witness", "witness(es)", "other witnesses"),
    "when": ("when", "date", "time", "date and time"),
    "where": ("where", "location", "venue", "place"),
    "account": (
        "account",
        "what happened",
        "your account",
        "description",
        "details",
        "incident",
    ),
    "links": ("links", "link", "public record", "record", "records", "url", "urls"),
    "context": ("context", "extra context", "background"),
    "ongoing": ("ongoing", "is it ongoing", "still ongoing", "still happening"),
    "law_enforcement": (
        "law enforcement",
        "police",
        "police notified",
        "agency",
        "law enforcement agency",
    ),
    "other": ("other", "anything else", "other information", "additional information", "notes"),
}
LABEL_TO_FIELD = {label: name for name, labels in LABELS.items() for label in labels}
# The reporting guide's checklist, worded as the guide words it ("If you believe this incident
# is ongoing: no"): a long label is read by how it begins. "when-where" fills both fields.
GUIDE_LABELS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), name)
    for pattern, name in (
        (r"^(?:your )?contact info", "contact"),
        (r"^names?\b.*\bindividuals? involved", "names"),
        (r"^(?:if there were )?(?:any )?other witnesses", "witnesses"),
        (r"^when and where\b", "when-where"),
        (r"^(?:your )?account of what (?:occurred|happened)", "account"),
        (r"^(?:if there is )?(?:a )?publicly available record", "links"),
        (r"^any extra context", "context"),
        (r"^(?:if you believe )?(?:this|the) incident is (?:still )?ongoing", "ongoing"),
        (r"^(?:any )?other information", "other"),
        (r"^(?:which|what) law enforcement", "law_enforcement"),
    )
)
LABEL_RE = re.compile(
    r"^\s*(?:[-*•]\s*|\d+[.)]\s*)?(?P<label>[A-Za-z][A-Za-z ()',/’-]{0,100}?)\s*[:?]\s*"
    r"(?P<value>.*)$"
)
# A quoted or forwarded mail's header block (Outlook's "Sent:"): never the incident's time.
MAIL_HEADER_RE = re.compile(
    r"(?im)^\s*>*\s*(?:from|sent|to|cc|subject|date|gesendet|envoyé|enviado|verzonden|an|von|"
    r"betreff|objet|de|para|asunto)\s*:.*$"
)
URL_RE = re.compile(r"https?://[^\s<>\"')\]]+")
WHEN_RE = re.compile(
    r"(?i)\b(yesterday|today|last (?:night|week|month|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday)|this (?:morning|afternoon|evening|week)|on (?:monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}|"
    r"\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*|"
    r"\d{1,2}(?::\d{2})? ?(?:am|pm)|at \d{1,2}:\d{2})\b"
)
WHERE_RE = re.compile(
    r"(?i)\b(?:on|in|at) (?:the )?((?:#[\w-]+)|(?:[\w-]+ )?(?:mailing list|list|channel|chat|"
    r"forum|issue tracker|pull request|issue|discourse|gitter|slack|discord|zulip|matrix|"
    r"meetup|conference|sprint|workshop|talk|booth|party|dinner|hallway|event))"
)
ONGOING_YES_RE = re.compile(
    r"(?i)\b(still (?:happening|going on|ongoing|continuing)|is ongoing|keeps? happening|"
    r"continues to|right now|every day)\b"
)
LAW_RE = re.compile(r"(?i)\b(police|law enforcement|authorities|reported it to)\b")
NAME_RUN_RE = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\b")
HANDLE_RE = re.compile(r"(?<![\w.])@[A-Za-z][\w-]{1,38}\b")
NOT_NAMES = {
    "code of conduct",
    "conduct committee",
    "executive council",
    "mailing list",
    "pull request",
    "thank you",
    "best regards",
    "kind regards",
}
# A capitalised run naming a place, not a person ("the Jupyter Discourse", "on Project Chat"):
# its last word is a kind of place, or a place's preposition stands before it.
PLACES = (
    "discourse slack gitter discord zulip matrix forum forums chat channel list lists "
    "conference meetup sprint sprints workshop summit github gitlab mastodon twitter irc hub "
    "room server tracker repository repo wiki community office hall hotel center centre venue "
    "booth party dinner event call meeting stream talk"
)
PLACE_WORDS = frozenset(PLACES.split())
PLACE_BEFORE_RE = re.compile(r"(?i)\b(?:on|in|at|via|inside|onto) (?:the |our |a )?$")
# Who saw it, in free text: the people after "in front of" / "witnessed by", or before "saw it"
# / "was there" in the same sentence.
WITNESS_AFTER_RE = re.compile(
    r"(?i)\b(?:in front of|witnessed by|witnesses? (?:were|was|are|is))\b"
)
WITNESS_BEFORE_RE = re.compile(
    r"(?i)\b(?:(?:also )?saw (?:it|this|that|what happened|everything|the whole thing)|"
    r"(?:was|were) (?:there|present)|witnessed (?:it|this|that)|can (?:confirm|back me up))\b"
)
SENTENCE_END_RE = re.compile(r"[.!?\n]")
# Words that open a sentence and so are capitalised, never the first name of a person.
OPENING_WORDS = (
    "The Then Also And But So Yesterday Today Later Everyone Everybody Only Even Both When After "
    "Before Dear Hello Hi Hey Please Last This On In At"
)
OPENERS = frozenset(OPENING_WORDS.split())
MONTHS_AND_DAYS = re.compile(
    r"(?i)^(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
)


def find_labelled_fields(text: str) -> dict[str, str]:
    """`Label: value` lines (a value may run on over the lines below, up to the next label)."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = LABEL_RE.match(line)
        field = field_for_label(match.group("label")) if match else None
        if field:
            current = field
            found.setdefault(field, []).append(match.group("value").strip())
        elif current is not None:
            found[current].append(line.strip())
    fields = {
        name: "\n".join(lines).strip() for name, lines in found.items() if "\n".join(lines).strip()
    }
    both = fields.pop("when-where", None)
    if both:
        fields.setdefault("when", both)
        fields.setdefault("where", both)
    return fields


def field_for_label(label: str) -> str | None:
    """The report field a label names: a short label exactly, the guide's wording by its start."""
    label = " ".join(label.split()).lower().replace("’", "'")
    if label in LABEL_TO_FIELD:
        return LABEL_TO_FIELD[label]
    return next((name for pattern, name in GUIDE_LABELS if pattern.match(label)), None)


def extract_report_fields(text: str, *, sender: str | None) -> ReportFields:
    """Report fields: exact from a filled-in checklist, else by heuristics over free text."""
    labelled = find_labelled_fields(text)
    links = tuple(dict.fromkeys(URL_RE.findall(text)))
    if len(labelled) >= 2:
        return ReportFields(
            contact=labelled.get("contact") or sender,
            names=labelled.get("names"),
            witnesses=labelled.get("witnesses"),
            when=labelled.get("when"),
            where=labelled.get("where"),
            account=labelled.get("account"),
            links=links,
            context=labelled.get("context"),
            ongoing=_normalise_ongoing(labelled.get("ongoing")),
            law_enforcement=labelled.get("law_enforcement"),
            other=labelled.get("other"),
        )
    # Free text; a single labelled line ("Ongoing: no") still counts over the guesses.
    prose = MAIL_HEADER_RE.sub("", text)
    unlabelled = "\n".join(line for line in prose.splitlines() if not _labelled(line))
    one = labelled
    witnesses = _guess_witnesses(prose)
    return ReportFields(
        contact=one.get("contact") or sender,
        names=one.get("names") or _guess_names(text, but=witnesses),
        witnesses=one.get("witnesses") or (", ".join(witnesses) if witnesses else None),
        when=one.get("when") or _first(WHEN_RE, prose),
        where=one.get("where") or _first(WHERE_RE, prose),
        account=one.get("account") or text.strip() or None,
        links=links,
        context=one.get("context"),
        ongoing=_normalise_ongoing(one.get("ongoing"))
        or ("yes (from the text)" if ONGOING_YES_RE.search(unlabelled) else None),
        law_enforcement=one.get("law_enforcement") or _sentence_around(LAW_RE, unlabelled),
        other=one.get("other"),
    )


def _labelled(line: str) -> bool:
    match = LABEL_RE.match(line)
    return bool(match and field_for_label(match.group("label")))


def _normalise_ongoing(value: str | None) -> str | None:
    if value is None:
        return None
    word = value.strip().lower()
    # Whole words: "not sure" is neither "no" nor "yes".
    if re.match(r"(?:yes|y|true)\b", word):
        return "yes"
    if re.match(r"(?:no|n|false)\b", word):
        return "no"
    return value.strip()


def _first(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    if not match:
        return None
    return (match.group(1) or match.group(0)).strip()


def _sentence_around(pattern: re.Pattern, text: str) -> str | None:
    """The sentence (or line) holding the first match, without scanning text twice."""
    match = pattern.search(text)
    if not match:
        return None
    start = max(text.rfind(".", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
    ends = [i for i in (text.find(".", match.end()), text.find("\n", match.end())) if i >= 0]
    return text[start : min(ends) if ends else len(text)].strip()


def _guess_names(text: str, but: tuple[str, ...] = ()) -> str | None:
    """Capitalised name-like word runs and @handles, in order of appearance: people, not
    places, and not the witnesses (`but`)."""
    names: list[str] = []
    for line in text.splitlines():
        names.extend(_people_in(line))
    unique = [name for name in dict.fromkeys(names) if name not in but]
    return ", ".join(unique) if unique else None


def _people_in(text: str, *, sentence_start: bool = True) -> list[str]:
    """The people a piece of text names, in order: runs of two or three capitalised words that
    are not places (a place's name ends where its kind is said: "the Jupyter Discourse Dave
    Jones" is a where, then a who), and @handles. `sentence_start`: whether the text's first
    word opens a sentence (and so is capitalised whatever it is)."""
    people: list[str] = []
    for match in NAME_RUN_RE.finditer(text):
        words = match.group().split()
        before = text[: match.start()].rstrip()
        opens = sentence_start and (not before or before.endswith((".", "!", "?")))
        if words[0] in OPENERS or (opens and len(words) > 2):
            words = words[1:]  # "Yesterday Dave Jones": the sentence's first word is no name
        places = [i for i, word in enumerate(words) if word.lower() in PLACE_WORDS]
        if places:
            words = words[places[-1] + 1 :]
        elif PLACE_BEFORE_RE.search(before + " "):
            continue
        name = " ".join(words[:3])
        if len(words) < 2 or name.lower() in NOT_NAMES or MONTHS_AND_DAYS.match(name):
            continue
        people.append(name)
    people.extend(HANDLE_RE.findall(text))
    return people


def _guess_witnesses(text: str) -> tuple[str, ...]:
    """People a free-text report says saw it: after "in front of" or "witnessed by", or before
    "saw it" or "was there", within the sentence."""
    found: list[str] = []
    for sentence in SENTENCE_END_RE.split(text):
        after = WITNESS_AFTER_RE.search(sentence)
        if after:
            found.extend(_people_in(sentence[after.end() :], sentence_start=False))
        before = WITNESS_BEFORE_RE.search(sentence)
        if before:
            found.extend(_people_in(sentence[: before.start()], sentence_start=False))
    return tuple(dict.fromkeys(found))
