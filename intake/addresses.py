"""Addresses as pure functions: strict From parsing and routing by envelope recipient.

Python 3.11's `email.utils` has no strict mode (CVE-2023-27043), so a From header is accepted
only when it is unmistakably one mailbox; anything else is "unknown", never guessed. What an
address itself may look like is `archive/record/address_grammar.py`'s one grammar.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from email.header import Header, decode_header, make_header
from email.utils import getaddresses, parseaddr

from archive.record.address_grammar import is_address
from archive.record.models import Route, RouteKind
from archive.record.settings import Settings

TOKEN_RE = re.compile(r"^[a-z2-7]{24}$")
BOUNCE_KEY_RE = re.compile(r"^cb-[a-z2-7]{24}$")


@dataclass(frozen=True)
class Mailbox:
    address: str | None  # None: unknown
    name: str | None
    problem: str | None = None


def decode_words(value: str) -> str:
    """RFC 2047 encoded words to text; undecodable parts are kept as they came."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # HeaderParseError, bad base64, unknown or NUL-bearing charsets
        return value


def raw_header_text(value) -> str:
    """A header as its sender wrote it: 8-bit UTF-8 (RFC 6532) read as UTF-8, not mangled.

    Python's compat32 parser hands such headers over as `Header` objects whose str() is
    replacement characters; encoded words are left for `decode_words`.
    """
    if not isinstance(value, Header):
        return str(value)
    try:
        chunks = decode_header(value)
    except Exception:  # noqa: BLE001 - whatever the header holds, keep what str() gives
        return str(value)
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            try:
                chunk = chunk.decode(charset if charset not in (None, "unknown-8bit") else "utf-8")
            except (LookupError, ValueError):
                chunk = chunk.decode("utf-8", errors="replace")
        parts.append(chunk)
    return "".join(parts)


def parse_from(values: list[str]) -> Mailbox:
    """The one sender of a message, or an unknown Mailbox saying why it is not trusted."""
    return _parse_from(tuple(values))


@functools.lru_cache(maxsize=4096)  # a list's archive has the same senders again and again
def _parse_from(values: tuple[str, ...]) -> Mailbox:
    if not values:
        return Mailbox(None, None, "no From header")
    if len(values) > 1:
        return Mailbox(None, None, "more than one From header")
    raw = " ".join(values[0].split())
    unquoted = _outside_quotes(raw)
    if "(" in unquoted:
        return Mailbox(None, None, "comments in From")
    if ":" in unquoted or ";" in unquoted:
        # `friends: alice@example.org;` is a group (RFC 5322 §3.4), a list of mailboxes: never
        # read as its one member. A colon outside quotes has no other place in a mailbox.
        return Mailbox(None, None, "group syntax in From")
    pairs = getaddresses([raw])
    if len(pairs) != 1:
        return Mailbox(None, None, "more than one address in From")
    name, address = pairs[0]
    if unquoted.count("@") != 1:
        return Mailbox(None, None, "ambiguous From")
    if (name, address) != parseaddr(raw) or not is_address(address or ""):
        return Mailbox(None, None, "unparsable From")
    display = decode_words(name).strip() or None
    if display and re.search(r"[@<>]", display):
        return Mailbox(None, None, "display name spells an address")
    return Mailbox(address.lower(), display)


def _outside_quotes(text: str) -> str:
    """The header text with quoted strings removed (escapes respected)."""
    if '"' not in text and "\\" not in text:
        return text
    out, quoted, escaped = [], False, False
    for char in text:
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
            continue
        if char == '"':
            quoted = not quoted
            continue
        if not quoted:
            out.append(char)
    return "".join(out)


RETURN_PATH_RE = re.compile(rb"^Return-Path:[ \t]*<([^>]*)>", re.MULTILINE | re.IGNORECASE)
FROM_LINE_RE = re.compile(rb"^From:[ \t]*(.+(?:\r?\n[ \t].+)*)", re.MULTILINE | re.IGNORECASE)


def stored_envelope_sender(raw: bytes) -> str:
    """For mail read from a mailbox: the Return-Path the final delivery recorded, else the From
    address (never guessed beyond that; "" is a null sender)."""
    head = raw.split(b"\n\n", 1)[0][:65536]
    match = RETURN_PATH_RE.search(head)
    if match:
        return match.group(1).decode("ascii", "replace").strip()
    found = FROM_LINE_RE.search(head)
    if found:
        mailbox = parse_from([found.group(1).decode("utf-8", "replace")])
        return mailbox.address or ""
    return ""


def plain_addresses(values: list[str]) -> tuple[str, ...]:
    """Every well-formed address in To/Cc-style headers, lower-cased (for display and search)."""
    return _plain_addresses(tuple(values))


@functools.lru_cache(maxsize=4096)  # the list's own address, the same few people
def _plain_addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    found = []
    for _, address in getaddresses([decode_words(v) for v in values]):
        if is_address(address or "", ascii_only=True):
            found.append(address.lower())
    return tuple(found)


def split_plus(address: str) -> tuple[str, str | None, str]:
    """`local+tag@domain` → (`local`, `tag`, `domain`), lower-cased."""
    local, _, domain = address.lower().rpartition("@")
    base, plus, tag = local.partition("+")
    return base, (tag if plus else None), domain


def route_recipient(address: str, settings: Settings) -> Route:
    """Which of casebook's addresses an envelope recipient is (SPEC §1)."""
    base, tag, domain = split_plus(address)
    reports_base, _, reports_domain = split_plus(settings.reports)
    bounces_base, _, bounces_domain = split_plus(settings.bounces)
    if (base, domain) == (reports_base, reports_domain):
        if tag is None:
            return Route(RouteKind.REPORT, reports=True)
        return Route(RouteKind.REPLY, tag)
    if (base, domain) == (bounces_base, bounces_domain):
        return Route(RouteKind.BOUNCE, tag)
    plain = address.lower()
    if plain in (settings.committee_list.lower(), (settings.list_subscriber or "").lower()):
        return Route(RouteKind.LIST)
    if plain == settings.appeals.lower():
        return Route(RouteKind.APPEAL)
    return Route(RouteKind.UNKNOWN)


# A report copied to the list is still a report (the list's own copy dedupes by Message-ID).
ROUTE_PRIORITY = (
    RouteKind.BOUNCE,
    RouteKind.REPLY,
    RouteKind.REPORT,
    RouteKind.APPEAL,
    RouteKind.LIST,
)


def route_message(recipients: tuple[str, ...], settings: Settings) -> Route:
    """One route for a delivery with several recipients: the most specific wins."""
    routes = [route_recipient(r, settings) for r in recipients]
    reports = any(route.kind is RouteKind.REPORT for route in routes)
    for kind in ROUTE_PRIORITY:
        for route in routes:
            if route.kind is kind:
                return Route(route.kind, route.token, reports)
    return Route(RouteKind.UNKNOWN)
