"""The outbound leak guard: mail for someone outside the committee must not name the people
the committee protects, nor carry what was written inside it.

Before such a mail is queued, every field its template may show (but the chair's signature)
is searched for the case's confidential identities: the names and addresses of its reporters
(the name a reporter signs with too) and witnesses (in mail not to them), of every member and
council member; and for any RUN words in a row of what the case holds that the reader neither
wrote nor was sent (`archive.passages`). A hit holds the mail; the committee is told what
matched and releases it with `#release ID` or drops it with `#drop ID`.
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

from archive.address_grammar import find_addresses
from archive.cases import Case, Party, own_reporters, parties_of
from archive.folding import DENSE_NAME_RE, fold_text
from archive.formpages import FORM_SENDER, FORM_TRANSPORT
from archive.passages import Audience, Source, passage_hits
from archive.settings import Settings

CONFIDENTIAL_ROLES = {
    "reporter": "a reporter's",
    "delegate": "a reporter's",
    "witness": "a witness's",
}
MIN_NAME = 3  # shorter names ("Al") would match ordinary words
WITNESS_SPLIT = re.compile(r"[,;\n]|\band\b|&")
REMARK_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")  # "Walter Otherwitness (the booth volunteer)"
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "del", "la", "le", "bin", "al"}
# What comes before a signature on its line: "Thanks,", "Best regards", "…", "--".
CLOSING_RE = re.compile(
    r"(?i)^[\W_]*(?:(?:many |kind |best |warm )?(?:thanks|thank you|regards|wishes)|best|cheers|"
    r"sincerely|yours(?: truly| sincerely)?|all the best|warmly|love)?[\s,.!:;-]*"
)
SENTENCE_END_RE = re.compile(r"[.!?…]\s+(?=\S)")


@dataclass(frozen=True)
class Secret:
    what: str  # "a reporter's name", "a member's address"
    text: str
    # Who may read it: the person it is about, or the reporters who named a witness.
    owners: frozenset[str] = frozenset()
    kind: str = "name"  # name (whole words) or address


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
        pattern = r"(?<!\w)(?:" + "|".join(forms) + r")(?!\w)"
        # A name of 3 or more characters of a script without spaces ("山田 花子") is found
        # inside a longer run of it too ("山田花子さんから"); a two-character one only alone.
        if DENSE_NAME_RE.fullmatch("".join(words)):
            pattern += "|" + "|".join(forms)
        return re.compile(pattern)
    if secret.kind == "address":
        return (
            re.compile(r"(?<![\w.+-])" + re.escape(folded) + r"(?!\.?[\w-])")
            if "@" in folded
            else None
        )
    return None


def find_leaks(
    context: dict,
    secrets: Iterable[Secret],
    readers: set[str],
    skip: frozenset[str],
    sources: Iterable[Source] = (),
) -> list[Hit]:
    """What in `context` (but the fields in `skip`) names a secret not about one of `readers`,
    or carries a passage of a source none of them wrote or was sent."""
    texts = [(name, fold(text)) for key, value in context.items() if key not in skip
             for name, text in strings(value, key)]  # fmt: skip
    hits: dict[tuple[str, str], Hit] = {}
    for secret in secrets:
        if secret.owners & readers:
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
    for what, words, field in passage_hits(texts, sources, readers, fold):
        hits.setdefault((what, words), Hit(what, words, field))
    return list(hits.values())


def case_secrets(db: Database, case: Case | None, settings: Settings) -> list[Secret]:
    """The identities of a case that never leave the committee."""
    secrets = []
    for person in settings.everyone:
        secrets += _person(person.name, person.email, "a member's")
        for alias in person.aliases:  # another address, or a name they go by
            secrets += _person(None if "@" in alias else alias, alias if "@" in alias else None,
                               "a member's", owner=person.email)  # fmt: skip
    if case is None:
        return secrets
    parties = parties_of(db, case)  # the merged cases' parties among them
    for party in parties:
        whose = CONFIDENTIAL_ROLES.get(party.role)
        if whose:
            secrets += _person(party.name, party.email, whose)
    named_by = frozenset(p.email.lower() for p in own_reporters(db, case) if p.email)
    for name in witness_names(case.fields.get("witnesses")):
        secrets.append(Secret("a witness's name", name, named_by))
    reporters = {p.email.lower() for p in parties if p.email and p.role in CONFIDENTIAL_ROLES}
    # A report that ends on the reported person's name is not signed by them, nor a reply
    # ending on casebook's own signature quoted back.
    not_signed = {fold(p.name) for p in parties if p.role == "reported" and p.name}
    not_signed.add(fold(settings.committee_name))
    for sender, body in _written_by(db, case, reporters):
        name = signed_name(body or "")
        if name and fold(name) not in not_signed:
            secrets.append(Secret("a reporter's name", name, frozenset({sender.lower()})))
    return secrets


def case_sources(db: Database, case: Case | None, core_team: str = "") -> Iterator[Source]:
    """Every text the case holds, oldest first, with who wrote it or was sent it (and whom a
    member's sending command wrote for); read only when iterated (mail with no field of RUN
    words reads nothing)."""
    if case is None:
        return
    parties = parties_of(db, case)
    audience = sending_audience(parties, core_team, _appellants(db, case))
    reporters = {p.email.lower() for p in parties if p.email and p.role in CONFIDENTIAL_ROLES}
    mediators = {p.email.lower() for p in parties if p.email and p.role == "mediator"}
    # A web-form report or follow-up has no From: it is the form reporter's (FORM_SENDER).
    rows = db.execute(
        "SELECT 0, COALESCE(message_pk, 0), action, detail, NULL, NULL, NULL FROM events"
        " WHERE case_pk = ? AND action IN ('note', 'call-summary')"
        " UNION ALL SELECT 1, id, kind, body_text, direction, CASE WHEN EXISTS (SELECT 1 FROM"
        " deliveries d WHERE d.message_pk = messages.id AND d.transport = ?) THEN ? ELSE"
        " from_addr END, to_addrs FROM messages WHERE case_pk = ? ORDER BY 2, 1",
        [case.pk, FORM_TRANSPORT, FORM_SENDER, case.pk],
    )
    for is_message, _, kind, text, direction, sender, to_addrs in rows:
        if not is_message:
            what = "an internal note" if kind == "note" else "a call summary"
            yield Source(what, json.loads(text).get("text") or "")
            continue
        sender = (sender or "").lower()
        if sender in mediators:  # a mediator writes for the parties: it goes to them
            continue
        owners = frozenset({sender, *(a.lower() for a in json.loads(to_addrs or "[]"))})
        what = _message_what(direction, kind, sender in reporters)
        sends = audience if kind == "deliberation" else None
        shows = direction == "out" and kind in PREVIEWING
        yield Source(what, text or "", owners - {""}, sends=sends, outside_words=shows)


# Committee mail that shows the mail a resolution sends, as its outside readers will get it
# (at consensus, and in the `#enact` transcript): its words are theirs (a statement is found
# first in the proposer's post, and stays whose it was).
PREVIEWING = frozenset({"committee/resolution_preview", "committee/command_result"})


def sending_audience(
    parties: list[Party], core_team: str, appellants: frozenset[str] = frozenset()
) -> Audience:
    """Whom a member's sending command writes for: a `#to-reporter` the reporters (and their
    delegates, the form reporter), a `#to-party` those it names, a `#propose` the people and
    venue its resolution goes to (and the core team), `#mediation`/`#appeal` the case's
    parties, mediator and appellants; `#unilateral` no one outside."""

    def emails(*roles: str) -> frozenset[str]:
        return frozenset(p.email.lower() for p in parties if p.email and p.role in roles)

    reporters = emails("reporter", "delegate") | {FORM_SENDER}

    def audience(command: str, args: str) -> frozenset[str]:
        named = frozenset(a.lower() for a in find_addresses(args))
        first = args.split()[0].lower() if args.split() else ""
        if command == "toreporter":
            return reporters
        if command == "toparty" and first in ("reported", "witness") and not named:
            return emails(first)
        if command == "toparty":
            return named
        if command == "propose":
            return emails("reported") | named | {core_team.lower()}
        if command in ("mediation", "appeal"):
            return reporters | emails("reported", "mediator") | named | appellants
        return frozenset()

    return audience


def _appellants(db: Database, case: Case) -> frozenset[str]:
    rows = db.execute(
        "SELECT appellant FROM appeals WHERE case_pk = ? AND appellant IS NOT NULL", [case.pk]
    )
    return frozenset(row[0].lower() for row in rows)


def _message_what(direction: str, kind: str, by_reporter: bool) -> str:
    if direction == "out":
        inside = kind.startswith(("committee/", "council/"))
        return "a notice to members" if inside else "mail to someone involved"
    if by_reporter:
        return "what a reporter wrote"
    return "a deliberation post" if kind == "deliberation" else "a message of the case"


def _written_by(db: Database, case: Case, senders: set[str]) -> list[tuple[str, str | None]]:
    if not senders:
        return []
    marks = ",".join("?" * len(senders))
    return db.execute(
        "SELECT from_addr, body_text FROM messages WHERE case_pk = ? AND direction = 'in'"
        f" AND lower(from_addr) IN ({marks})",
        [case.pk, *sorted(senders)],
    ).fetchall()


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


def witness_names(value) -> list[str]:
    """The names a report's witnesses line gives, without what is said about them ("Wendy
    Witnessname who sat next to me", "Walter Otherwitness (the booth volunteer)")."""
    if not isinstance(value, str):
        return []
    names = []
    for part in WITNESS_SPLIT.split(REMARK_RE.sub(",", value)):
        words = [word.strip(".:!?\"'") for word in part.split()]
        found = _capitalised_runs([w for w in words if w])
        if not found and 2 <= len(words) <= 3:  # written in lower case: "wendy witnessworth"
            found = [" ".join(words)]
        names += found
    return [name for name in dict.fromkeys(names) if len(name) >= MIN_NAME]


def _capitalised_runs(words: list[str]) -> list[str]:
    """Runs of two or more capitalised words (particles inside: "Anne van Berg"); a run of
    three or more also without its first word ("Also Wendy Witnessname")."""
    runs, run = [], []
    for word in [*words, ""]:
        if word[:1].isupper() or (run and word.lower() in PARTICLES):
            run.append(word)
            continue
        while run and run[-1].lower() in PARTICLES:
            run.pop()
        if len(run) >= 2:
            runs.append(" ".join(run))
        if len(run) >= 3:
            runs.append(" ".join(run[1:]))
        run = []
    return runs


def signed_name(text: str) -> str | None:
    """The full name a message is signed with on its last line ("Thanks, Rita Canaryname",
    "…told me to leave. Rita Canaryname"), or on the line after a `-- ` separator."""
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith(">")]  # fmt: skip
    if not lines:
        return None
    candidates = [lines[-1]]
    if "--" in lines[:-1]:
        candidates.append(lines[lines.index("--") + 1])
    for line in candidates:
        tail = SENTENCE_END_RE.split(line)[-1]
        words = CLOSING_RE.sub("", tail, count=1).rstrip(" .!,").split()
        if _name_shaped(words):
            return " ".join(words)
    return None


def _name_shaped(words: list[str]) -> bool:
    """Two to four words, each a capitalised word of letters (or a particle inside)."""
    if not 2 <= len(words) <= 4 or not words[0][:1].isupper() or not words[-1][:1].isupper():
        return False
    letters = all(w.replace("-", "").replace("'", "").replace("’", "").isalpha() for w in words)
    return letters and all(w[:1].isupper() or w.lower() in PARTICLES for w in words)
