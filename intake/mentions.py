"""Whether a text names a person: whole words, Unicode folded, a name wrapped over lines. Pure.

Both sides are folded the same way (NFKC, every Unicode space a space, case-folded, diacritics
stripped), so "Jose" finds "José" and "José" finds "Jose", and a no-break space or a line
break (with `> ` quote prefixes after it) between first and last name still joins them.
"""

from __future__ import annotations

import functools
import re

from archive.folding import fold_text
from archive.settings import Person

# Between two words of a name: spaces, or line breaks each followed by any quote prefix.
WORD_GAP = r"(?: |\n[ >]*)+"


def mentions(person: Person, folded: str) -> bool:
    """The person's name, address or an alias appears as whole words in `folded` text."""
    return bool(folded) and person_pattern(person).search(folded) is not None


@functools.lru_cache(maxsize=256)
def person_pattern(person: Person) -> re.Pattern:
    """Any of the person's names or addresses, folded, as whole words; a name may wrap."""
    tokens = {fold_text(t).strip() for t in (person.name, person.email, *person.aliases)}
    tokens = {" ".join(t.split()) for t in tokens if len(t.strip()) > 1}
    if not tokens:
        return re.compile(r"(?!)")  # nothing to find
    alternatives = "|".join(
        WORD_GAP.join(re.escape(word) for word in token.split(" "))
        for token in sorted(tokens, key=len, reverse=True)
    )
    return re.compile(r"(?<![\w.@+-])(?:" + alternatives + r")(?![\w@-]|\.\w)")
