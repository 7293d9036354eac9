"""The one address grammar, in two forms; every other module asks here.

- strict: a whole string is one bare mailbox (`is_address`, `bracketed_address`): no display
  name, no comments, no group, nothing that could spell a second address. Header parsing
  (`intake/addresses.py`) reads the mailbox out of a From first, then asks this form.
- lenient: addresses found in free text (`find_addresses`, `split_address`, `hide_addresses`,
  `ends_with_address`): `#responsible Dave <dave@example.com>`, a report's body, a log line.

One local part (RFC 5322 atext and dots, RFC 6531 letters: rité@exämple.net) and one domain
(labels of letters, digits and hyphens). Commands and bounces ask for a `dotted` domain
(example.org, not localhost); the configuration for `ascii_only` addresses (mail to them goes
out without SMTPUTF8).
"""

from __future__ import annotations

import re

ATEXT = r"\w!#$%&'*+/=?^`{|}~-"
LOCAL = rf"[.{ATEXT}]+"
LABEL = r"[\w-]+"
DOMAIN = rf"{LABEL}(?:\.{LABEL})*"
DOTTED_DOMAIN = rf"{LABEL}(?:\.{LABEL})+"
_STRICT = re.compile(rf"{LOCAL}@{DOMAIN}")
_STRICT_DOTTED = re.compile(rf"{LOCAL}@{DOTTED_DOMAIN}")
_DOT_ATOM = re.compile(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*@{LABEL}(?:\.{LABEL})*")
_ENDS_DOTTED = re.compile(rf"[.{ATEXT}]@{DOTTED_DOMAIN}\Z")
_IN_TEXT = re.compile(rf"<?({LOCAL}@{DOMAIN})>?")
_IN_TEXT_DOTTED = re.compile(rf"<?({LOCAL}@{DOTTED_DOMAIN})>?")


def is_address(text: str, *, dotted: bool = False, ascii_only: bool = False) -> bool:
    """Strict: `text` is exactly one bare address (`alice@example.org`)."""
    if ascii_only and not text.isascii():
        return False
    return (_STRICT_DOTTED if dotted else _STRICT).fullmatch(text) is not None


def is_plain_address(text: str) -> bool:
    """Strict and ASCII with a dot-atom local part: a header may carry it just as it is."""
    return text.isascii() and _DOT_ATOM.fullmatch(text) is not None


def bracketed_address(text: str, *, dotted: bool = True) -> str | None:
    """Strict: `dave@example.com` or `<dave@example.com>` as a whole word: the bare address."""
    bare = text.removeprefix("<").removesuffix(">")
    return bare if is_address(bare, dotted=dotted) else None


def find_addresses(text: str, *, dotted: bool = True) -> list[str]:
    """Lenient: every address in free text, as written, brackets left out."""
    return (_IN_TEXT_DOTTED if dotted else _IN_TEXT).findall(text)


def split_address(text: str) -> tuple[str | None, str]:
    """Lenient: `Dave Jones <dave@example.com>` → (`dave@example.com`, `Dave Jones`).

    The first address, lower-cased (None when there is none), and the text without any address
    (a display name, stripped of spaces and quotes)."""
    found = _IN_TEXT_DOTTED.search(text)
    rest = _IN_TEXT_DOTTED.sub("", text).strip().strip('"')
    return (found.group(1).lower() if found else None), rest


def hide_addresses(text: str, mark: str) -> str:
    """Lenient, any domain: `text` with every address (and so every Message-ID) as `mark`."""
    return _STRICT.sub(mark, text)


def ends_with_address(text: str) -> bool:
    """Lenient: the text ends in an address with a dotted domain (`On Monday, Rita <rita@x.org`)."""
    return _ENDS_DOTTED.search(text) is not None
