"""Whether a text names a person: whole words, Unicode folded, a name wrapped over lines. Pure.

Both sides are folded the same way (NFKC, every Unicode space a space, case-folded, diacritics
stripped), so "Jose" finds "José" and "José" finds "Jose", and a no-break space or a line
break (with `> ` quote prefixes after it) between first and last name still joins them.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from archive.settings import Person

LINE_BREAKS_RE = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
SPACES_RE = re.compile(r"[^\S\n]")  # every Unicode space but the line break: NBSP, U+202F…
# Invisible format characters (soft hyphen, zero-width space and joiners, BOM, bidi marks).
INVISIBLE_RE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Letters that carry their mark in the letter itself, so NFD does not split it off.
BARE_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t"})
# Between two words of a name: spaces, or line breaks each followed by any quote prefix.
WORD_GAP = r"(?: |\n[ >]*)+"


def fold_text(text: str) -> str:
    """`text` as names are compared: NFKC, spaces as spaces, case-folded, no diacritics."""
    text = unicodedata.normalize("NFKC", text)
    text = SPACES_RE.sub(" ", INVISIBLE_RE.sub("", LINE_BREAKS_RE.sub("\n", text)))
    text = text.casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(BARE_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


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
