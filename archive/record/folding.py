"""Text as names and passages are compared: one folding for the conflict check (intake) and
the leak guard (archive). Pure.

NFKC, every Unicode space a space, every invisible (default-ignorable) character dropped,
case-folded, diacritics stripped: "Jose" finds "José", a no-break space joins a name like a
space, "Ri(U+034F)ta" is "rita".
"""

from __future__ import annotations

import re
import unicodedata

LINE_BREAKS_RE = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
SPACES_RE = re.compile(r"[^\S\n]")  # every Unicode space but the line break: NBSP, U+202F…
# Every Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties): the format characters
# (soft hyphen, zero-width space and joiners, BOM, bidi marks) and the other invisibles that
# split a name without showing (combining grapheme joiner U+034F, variation selectors, Mongolian
# free variation selectors, Hangul fillers U+115F/U+1160/U+3164/U+FFA0, tags).
INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Scripts written without spaces between words, as character-class ranges: Han and kana (CJK);
# Thai, Lao, Myanmar, Khmer (SEA). The leak guard compares them by runs of characters, and
# finds a name of MIN_DENSE_NAME such characters or more inside a longer run of them.
CJK = "\u3005-\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff" + (
    "\U00020000-\U0003134f"
)
SEA = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff"
MIN_DENSE_NAME = 3
DENSE_NAME_RE = re.compile(f"[{CJK}{SEA}]{{{MIN_DENSE_NAME},}}")
# Letters that carry their mark in the letter itself, so NFD does not split it off.
BARE_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t"})


# For ASCII text, what the regular expressions below do (line breaks to "\n", other spaces
# to " "), as a table: most text is ASCII, and NFKC, case-folding and diacritics leave it be.
ASCII_SPACES = str.maketrans(
    {"\x0b": "\n", "\x0c": "\n", "\t": " ", "\x1c": " ", "\x1d": " ", "\x1e": " ", "\x1f": " "}
)


def fold_text(text: str) -> str:
    """`text` as names are compared: NFKC, spaces as spaces, case-folded, no diacritics."""
    if text.isascii():
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text.translate(ASCII_SPACES).lower()
    text = unicodedata.normalize("NFKC", text)
    text = SPACES_RE.sub(" ", INVISIBLE_RE.sub("", LINE_BREAKS_RE.sub("\n", text)))
    text = text.casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(BARE_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
