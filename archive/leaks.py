"""The outbound leak guard: mail for someone outside the committee must not name the people
the committee protects.

Before such a mail is queued, every field its template may show (but the chair's signature)
is searched for the case's confidential identities: the names and addresses of its reporters
and witnesses (in mail not to them), of every member and council member, the lines of its
internal notes and of what its reporters wrote. A hit holds the mail; the committee is told
what matched and releases it with `#release ID` or drops it with `#drop ID`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.cases import Case, own_reporters, parties_of
from archive.folding import fold_text
from archive.settings import Settings

CONFIDENTIAL_ROLES = {
    "reporter": "a reporter's",
    "delegate": "a reporter's",
    "witness": "a witness's",
}
MIN_NAME = 3  # shorter names ("Al") would match ordinary words
RUN = 7  # this many words in a row from a note or a report is a passage of it
WITNESS_SPLIT = re.compile(r"[,;\n]|\band\b|&")


@dataclass(frozen=True)
class Secret:
    what: str  # "a reporter's name", "a member's address", "an internal note"
    text: str
    # Who may read it: the person it is about, or the reporters who named a witness.
    owners: frozenset[str] = frozenset()
    kind: str = "name"  # name (whole words), address, passage (RUN words in a row)


@dataclass(frozen=True)
class Hit:
    what: str
    text: str
    field: str


def fold(text: str) -> str:
    """Text as the guard compares it: `fold_text`, with every format character dropped and
    every run of spaces and line breaks one space."""
    folded = fold_text(text)
    if not folded.isascii():
        folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return " ".join(folded.split())


def strings(value, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a field's value, with the field it came from."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from strings(inner, path)
            if isinstance(key, str):
                yield path, key
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from strings(inner, path)


def _pattern(secret: Secret) -> re.Pattern | None:
    folded = fold(secret.text)
    if secret.kind == "name":
        if len(folded) < MIN_NAME:
            return None
        words = re.findall(r"\w+", folded)
        # "Rita Canaryname", "Rita-Canaryname", "rita.canaryname", "RitaCanaryname"
        forms = [r"\W*".join(words)]
        if len(words) > 1:  # "Canaryname, Rita" as lists and forms write it
            forms.append(r"\W*".join([words[-1], *words[:-1]]))
        return re.compile(r"(?<!\w)(?:" + "|".join(forms) + r")(?!\w)")
    if secret.kind == "address":
        return (
            re.compile(r"(?<![\w.+-])" + re.escape(folded) + r"(?!\.?[\w-])")
            if "@" in folded
            else None
        )
    return None


def runs(folded: str) -> set[tuple[str, ...]]:
    """Every RUN words in a row (punctuation aside): a passage is found by any one of them."""
    words = re.findall(r"\w+", folded)
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def find_leaks(
    context: dict, secrets: Iterable[Secret], readers: set[str], skip: frozenset[str]
) -> list[Hit]:
    """What in `context` (but the fields in `skip`) names a secret not about one of `readers`."""
    texts = [(name, fold(text)) for key, value in context.items() if key not in skip
             for name, text in strings(value, key)]  # fmt: skip
    passages = [(name, runs(text)) for name, text in texts]
    hits: dict[tuple[str, str], Hit] = {}
    for secret in secrets:
        if secret.owners & readers:
            continue
        if secret.kind == "passage":
            found = runs(fold(secret.text))
            shared = next(((name, seen & found) for name, seen in passages if seen & found), None)
            if shared is not None:
                words = " ".join(min(shared[1]))
                hits.setdefault((secret.what, words), Hit(secret.what, words, shared[0]))
            continue
        pattern = _pattern(secret)
        if pattern is None:
            continue
        for field, text in texts:
            if pattern.search(text):
                hits.setdefault(
                    (secret.what, fold(secret.text)), Hit(secret.what, secret.text, field)
                )
                break
    return list(hits.values())


def case_secrets(db: Database, case: Case | None, settings: Settings) -> list[Secret]:
    """The identities and passages of a case that never leave the committee."""
    secrets = []
    for person in settings.everyone:
        secrets += _person(person.name, person.email, "a member's")
        for alias in person.aliases:  # another address, or a name they go by
            secrets += _person(None if "@" in alias else alias, alias if "@" in alias else None,
                               "a member's", owner=person.email)  # fmt: skip
    if case is None:
        return secrets
    for party in parties_of(db, case):  # the merged cases' parties among them
        whose = CONFIDENTIAL_ROLES.get(party.role)
        if whose:
            secrets += _person(party.name, party.email, whose)
    named_by = frozenset(p.email.lower() for p in own_reporters(db, case) if p.email)
    for name in _witness_names(case.fields.get("witnesses")):
        secrets.append(Secret("a witness's name", name, named_by))
    rows = db.execute("SELECT detail FROM events WHERE case_pk = ? AND action = 'note'", [case.pk])
    for (detail,) in rows:
        secrets += _passage(json.loads(detail).get("text") or "", "an internal note", None)
    reporters = {
        p.email.lower() for p in parties_of(db, case) if p.email and p.role in CONFIDENTIAL_ROLES
    }
    if reporters:
        marks = ",".join("?" * len(reporters))
        rows = db.execute(
            "SELECT from_addr, body_text FROM messages WHERE case_pk = ? AND direction = 'in'"
            f" AND lower(from_addr) IN ({marks})",
            [case.pk, *sorted(reporters)],
        )
        for sender, body in rows:
            secrets += _passage(body or "", "what a reporter wrote", sender)
    return secrets


def _person(
    name: str | None, email: str | None, whose: str, owner: str | None = None
) -> list[Secret]:
    owners = frozenset(a.lower() for a in (email, owner) if a)
    found = []
    if name and name.strip():
        found.append(Secret(f"{whose} name", " ".join(name.split()), owners))
    if email:
        found.append(Secret(f"{whose} address", email, owners, "address"))
    return found


def _witness_names(value) -> list[str]:
    if not isinstance(value, str):
        return []
    names = (" ".join(part.split()) for part in WITNESS_SPLIT.split(value))
    return [name for name in names if len(name) >= MIN_NAME and " " in name]


def _passage(text: str, what: str, owner: str | None) -> list[Secret]:
    """A note or a report as a passage, without the lines it quotes from others."""
    own = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    owners = frozenset({owner.lower()} if owner else ())
    return [Secret(what, own, owners, "passage")] if own.strip() else []
