"""What was written inside a case, as the leak guard looks for it in mail to someone outside.

Every text the case holds is a source: its notes and call summaries, its deliberation posts,
the notices sent to members, every message archived in it. A run of RUN words in a row
(punctuation aside) belongs to the first source that holds it; mail to an outsider may carry
it only when that source is theirs (they wrote it or were sent it) or when a member wrote it
to be sent to them (the body of a `#to-reporter` to the reporter, of a `#to-party X` to X, of a
`#propose` to those its resolution goes to). So a member's own words go out to their reader,
and a quote the reply reader failed to cut is caught by the older post, note or notice it came
from. Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar) are
compared as runs of characters instead (`DENSE`). Pure: the sources come from `archive.leaks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from archive.folding import CJK, SEA

RUN = 7  # this many words in a row from a source is a passage of it
WORD_RE = re.compile(r"\w+")
# Scripts written without spaces, as a character class, with the run of their characters that
# carries about what RUN words do: a Han or kana character is about half a word (Chinese words
# are 1-2 characters, Japanese ones 2-3 with their kana), so 13; Thai, Lao, Khmer and Myanmar
# letters are an alphabet's (a word is 3-6 of them once the guard's folding drops their marks),
# so 24. Punctuation and spaces inside such a run (、。, a line break, a `| ` quote prefix) are
# skipped; a letter or digit of another script ends it.
DENSE = ((CJK, 13), (SEA, 24))
DENSE_RUNS = tuple(
    (re.compile(f"[{chars}](?:[^\\w]*[{chars}])*"), re.compile(f"[^{chars}]+"), size)
    for chars, size in DENSE
)
# Commands whose body leaves the committee (its text from the command line on is meant to).
SENDING_RE = re.compile(
    r"(?im)^[ \t]*#(to[-_]?reporter|to[-_]?party|propose|mediation|appeal|unilateral)\b(.*)$"
)
# Who a sending command writes for, from its name ("toparty", "toreporter", "propose"…, its
# dashes dropped) and its arguments.
Audience = Callable[[str, str], frozenset[str]]


@dataclass(frozen=True)
class Source:
    what: str  # "a deliberation post", "an internal note", "what a reporter wrote"…
    text: str
    owners: frozenset[str] = frozenset()  # who wrote it or was sent it: they may read it
    # A member's post: the body of each of its sending commands may go to whom it is for.
    sends: Audience | None = None
    # A committee preview of mail to outside readers (the very text they will get): a passage
    # first found there is casebook's words for them, not the committee's.
    outside_words: bool = False


def windows(folded: str) -> dict[int, str]:
    """Every run of a folded text (RUN words, or characters of a script written without
    spaces) by its hash, with the run as the committee is shown it."""
    found: dict[int, str] = {}
    words = WORD_RE.findall(folded)
    for i in range(len(words) - RUN + 1):
        run = tuple(words[i : i + RUN])
        found.setdefault(hash(run), " ".join(run))
    for key, run in _dense(folded):
        found.setdefault(key, run)
    return found


def _hashes(folded: str) -> Iterable[int]:
    words = WORD_RE.findall(folded)
    yield from (hash(tuple(words[i : i + RUN])) for i in range(len(words) - RUN + 1))
    yield from (key for key, _ in _dense(folded))


def _dense(folded: str) -> Iterable[tuple[int, str]]:
    """Each run of characters of a script written without spaces, by its hash."""
    if folded.isascii():
        return
    for run_re, other_re, size in DENSE_RUNS:
        for found in run_re.finditer(folded):
            chars = other_re.sub("", found.group(0))
            for i in range(len(chars) - size + 1):
                yield hash(chars[i : i + size]), chars[i : i + size]


def parts(source: Source) -> list[tuple[str, frozenset[str]]]:
    """A source's text by who may read it: its owners all of it; a member's post's sending
    commands' bodies (each to the next sending command, its quoted lines left behind: what goes
    out as written is what the member wrote, not the history below it) also whom it is for."""
    text, sends = source.text, source.sends
    found = list(SENDING_RE.finditer(text)) if sends is not None else []
    if sends is None or not found:
        return [(text, source.owners)]
    split = [(text[: found[0].start()], source.owners)]
    for match, after in zip(found, [*found[1:], None], strict=True):
        body = text[match.start() : after.start() if after else len(text)]
        body = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith(">"))
        name = re.sub(r"[-_]", "", match.group(1).lower())  # "toreporter", "propose"…
        audience = sends(name, match.group(2).strip())
        split.append((body, source.owners | audience))
    return split


def origins(
    sources: Iterable[Source], wanted: set[int], readers: set[str], fold: Callable[[str], str]
) -> dict[int, str | None]:
    """For each wanted run, what its first source is (None: one the readers may see)."""
    seen: dict[int, str | None] = {}
    for source in sources:
        # A `>` line is read too: a quote of an older text is found there first (sources come
        # oldest first), and a member's own lines set out as a quote ("> her words", from a
        # call) are the committee's. A sending command's body is its reader's: a later notice
        # to members repeating it does not make it the committee's, being found there first.
        for part, may_read in parts(source):
            what = None if source.outside_words or may_read & readers else source.what
            for key in _hashes(fold(part)) if part.strip() else ():
                if key in wanted:
                    seen.setdefault(key, what)
        if len(seen) == len(wanted):
            break
    return seen


def passage_hits(
    fields: list[tuple[str, str]],
    sources: Iterable[Source],
    readers: set[str],
    fold: Callable[[str], str],
) -> list[tuple[str, str, str]]:
    """(what, the words found, field) for each source whose runs the folded fields carry."""
    runs = [(name, windows(text)) for name, text in fields]
    wanted = {key for _, found in runs for key in found}
    if not wanted:  # short fields (an acknowledgement's): no source is read at all
        return []
    seen = origins(sources, wanted, readers, fold)
    hits: dict[str, tuple[str, str, str]] = {}
    for name, found in runs:
        for key, run in found.items():
            what = seen.get(key)
            if what is not None:
                hits.setdefault(what, (what, run, name))
    return list(hits.values())
