"""Whether a text names a person: whole words, Unicode folded, a name wrapped over lines. Pure.

Both sides are folded the same way (NFKC, every Unicode space a space, case-folded, diacritics
stripped), so "Jose" finds "José" and "José" finds "Jose", and a no-break space or a line
break (with `> ` quote prefixes after it) between first and last name still joins them. A
name in a script written without spaces (Han, kana, Thai…) of 3 characters or more is found
inside words too ("山田 花子" in "山田花子さんから").
"""

from __future__ import annotations

import functools
import re

from archive.record.folding import DENSE_NAME_RE, fold_text
from archive.record.settings import Person

# Between two words of a name: spaces, or line breaks each followed by any quote prefix.
WORD_GAP = r"(?: |\n[ >]*)+"


def mentions(person: Person, folded: str) -> bool:
    """The person's name, address or an alias appears as whole words in `folded` text."""
    if not folded or not any(word in folded for word in first_words(person)):
        return False  # every match starts with one of these words as written: none is there
    return person_pattern(person).search(folded) is not None


@functools.lru_cache(maxsize=256)
def first_words(person: Person) -> tuple[str, ...]:
    """The first word of each of the person's folded names and addresses (`person_pattern`)."""
    return tuple(token.split(" ")[0] for token in _tokens(person))


def _tokens(person: Person) -> set[str]:
    tokens = {fold_text(t).strip() for t in (person.name, person.email, *person.aliases)}
    return {" ".join(t.split()) for t in tokens if len(t.strip()) > 1}


@functools.lru_cache(maxsize=256)
def person_pattern(person: Person) -> re.Pattern:
    """Any of the person's names or addresses, folded, as whole words; a name may wrap."""
    tokens = _tokens(person)
    if not tokens:
        return re.compile(r"(?!)")  # nothing to find
    ordered = sorted(tokens, key=len, reverse=True)
    alternatives = "|".join(
        WORD_GAP.join(re.escape(word) for word in token.split(" ")) for token in ordered
    )
    # A name of 3 or more Han, kana, Thai… characters is found inside a longer run of its
    # script too, its parts joined or not ("山田花子さんから"): those scripts have no spaces.
    dense = [t.split(" ") for t in ordered if DENSE_NAME_RE.fullmatch(t.replace(" ", ""))]
    inside = "".join("|" + r"(?: |\n[ >]*)*".join(map(re.escape, words)) for words in dense)
    return re.compile(r"(?<![\w.@+-])(?:" + alternatives + r")(?![\w@-]|\.\w)" + inside)
