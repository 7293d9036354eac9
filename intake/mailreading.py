"""mail-parser through its public API, doing less of the work casebook never reads.

mail-parser (`mailparser.MailParser(message)`) reads a message's parts, attachments and
defects. Before it splits anything, it parses every address header of the message (for its
address defects) and every Received header (their hops, dates and defects): in a list's
archive the same few address values come back all the time, and imported history's trace
headers decide nothing. So it is handed a view of the message without those headers, and
what they would have told (an address defect) is found here, kept per header value.

The message itself (every header, as the bytes gave it) is what casebook reads from; mail-parser
sees the same parts (`tests/unit/test_parse_speed.py` compares both ways over the fixtures and a
corpus).
"""

from __future__ import annotations

import copy
import email
import functools
from dataclasses import dataclass
from email.message import Message

import mailparser
from mailparser.const import ADDRESSES_HEADERS
from mailparser.exceptions import MailParserRecursionError
from mailparser.utils import get_addresses

ADDRESS_DEFECT = "AddressHeaderDefect"  # mail-parser's own category name
LONGEST_KEPT = 4096  # longer address values are parsed each time, never kept


@dataclass(frozen=True)
class MailReading:
    """What casebook reads of mail-parser's parse, beside the whole message."""

    message: Message
    subject: str
    text_plain: list[str]
    text_html: list[str]
    attachments: list[dict]
    defects_categories: frozenset[str]


def read_mail(raw: bytes, *, trace: bool = True) -> MailReading:
    """The message as `mailparser.MailParser.from_bytes` reads it; `trace`: whether its
    Received headers are read for defects (not for imported history). Raises what mail-parser
    raises, `MailParserRecursionError` for a message nested too deeply, as it does."""
    try:
        message = email.message_from_bytes(raw)  # as mail-parser builds it
        parsed = mailparser.MailParser(_view(message, trace=trace))
    except RecursionError as exc:
        raise MailParserRecursionError("Message nesting too deep to parse") from exc
    categories = set(parsed.defects_categories)
    if has_address_defects(message):
        categories.add(ADDRESS_DEFECT)
    return MailReading(
        message=message,
        subject=parsed.subject,
        text_plain=parsed.text_plain,
        text_html=parsed.text_html,
        attachments=parsed.attachments,
        defects_categories=frozenset(categories),
    )


def _view(message: Message, *, trace: bool) -> Message:
    """A shallow copy of the message (the same parts) without the headers read here, or not
    at all. `del` gives the copy a header list of its own: the message keeps all of them."""
    view = copy.copy(message)
    for name in sorted(ADDRESSES_HEADERS) + ([] if trace else ["received"]):
        del view[name]
    return view


def has_address_defects(message: Message) -> bool:
    """Whether mail-parser finds a defect in any value of any address header."""
    values = [v for name, v in message.items() if name.lower() in ADDRESSES_HEADERS]
    return any([_address_value_defective(value) for value in values])  # every value, as it does


def _address_value_defective(value) -> bool:
    if type(value) is str and len(value) <= LONGEST_KEPT:
        return _kept_address_defective(value)
    return _address_defective(value)


def _address_defective(value) -> bool:
    defects: list[dict] = []
    get_addresses(value, defects=defects, decode_names=True)
    return bool(defects)


_kept_address_defective = functools.lru_cache(maxsize=8192)(_address_defective)
