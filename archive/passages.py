"""What was written inside a case, as the leak guard looks for it in mail to someone outside.

Every text the case holds is a source: its notes and call summaries, its deliberation posts,
the notices sent to members, every message archived in it. A run of RUN words in a row
(punctuation aside) belongs to the first source that holds it; mail to an outsider may carry
it only when that source is theirs (they wrote it or were sent it) or when a member wrote it
to be sent out (the body of a `#to-reporter`, `#to-party`, `#propose`…, from the command line
on). So a member's own words go out, and a quote the reply reader failed to cut is caught by
the older post, note or notice it came from. Pure: the sources come from `archive.leaks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

RUN = 7  # this many words in a row from a source is a passage of it
WORD_RE = re.compile(r"\w+")
# Commands whose body leaves the committee (its text from the command line on is meant to).
SENDING_RE = re.compile(
    r"(?im)^[ \t]*#(?:to[-_]?reporter|to[-_]?party|propose|mediation|appeal|unilateral)\b"
)


@dataclass(frozen=True)
class Source:
    what: str  # "a deliberation post", "an internal note", "what a reporter wrote"…
    text: str
    owners: frozenset[str] = frozenset()  # who wrote it or was sent it: they may read it
    sends: bool = False  # a member's post: the bodies of its sending commands may go out


def windows(folded: str) -> dict[int, tuple[str, ...]]:
    """Every RUN words in a row of folded text, by their hash (computed once per text)."""
    words = WORD_RE.findall(folded)
    found: dict[int, tuple[str, ...]] = {}
    for i in range(len(words) - RUN + 1):
        run = tuple(words[i : i + RUN])
        found.setdefault(hash(run), run)
    return found


def _hashes(folded: str) -> Iterable[int]:
    words = WORD_RE.findall(folded)
    return (hash(tuple(words[i : i + RUN])) for i in range(len(words) - RUN + 1))


def origins(
    sources: Iterable[Source], wanted: set[int], readers: set[str], fold: Callable[[str], str]
) -> dict[int, str | None]:
    """For each wanted run, what its first source is (None: one the readers may see)."""
    seen: dict[int, str | None] = {}
    for source in sources:
        # A `>` line is read too: a quote of an older text is found there first (sources come
        # oldest first), and a member's own lines set out as a quote ("> her words", from a
        # call) are the committee's. Only a sending command's body leaves its quotes behind:
        # what goes out as written is what the member wrote, not the history below it.
        text = source.text
        sending = SENDING_RE.search(text) if source.sends else None
        inside, sent = (text[: sending.start()], text[sending.start() :]) if sending else (text, "")
        sent = "\n".join(line for line in sent.splitlines() if not line.lstrip().startswith(">"))
        label = None if source.owners & readers else source.what
        for part, what in ((inside, label), (sent, None)):
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
                hits.setdefault(what, (what, " ".join(run), name))
    return list(hits.values())
