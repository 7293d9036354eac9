"""The faster parse (intake/parse.py) reads exactly what mail-parser's own does: addresses
kept per header value give the same addresses and the same defects, and skipping the `mail`
dicts changes nothing casebook reads."""

from __future__ import annotations

import itertools
from pathlib import Path

import mailparser
import mailparser.core

from intake import parse
from intake.importer import iter_mbox
from tests.conftest import CORPUS

FIXTURES = Path(__file__).parent / "fixtures"
HEADERS = [
    b'From: Rita <rita@example.net>\nTo: a@example.org, "B, C" <b@example.org>\n\nx\n',
    b"From: rita@example.net (Rita)\nTo: undisclosed-recipients:;\nCc: <>\n\nx\n",
    b"From: =?utf-8?q?Jos=C3=A9?= <jose@example.net>\nTo: x@\nReply-To: a@b@c\n\nx\n",
    b'From: alice@example.org <mallory@example.net>\nTo: "unterminated <a@b.c>\n\nx\n',
]


def raws() -> list[bytes]:
    found = list(HEADERS)
    found += [path.read_bytes() for path in sorted(FIXTURES.rglob("*.eml"))]
    mbox = CORPUS / "linux-mips" / "linux-mips-1996-2002.mbox"
    if mbox.exists():
        found += [raw for raw, _ in itertools.islice(iter_mbox(mbox), 0, 6000, 5)]
    return found * 2  # the second time round, every address header comes from the cache


def reading(parsed) -> tuple:
    return (parsed._address_headers, parsed.address_header_defects, parsed.defects,
            sorted(parsed.defects_categories), parsed.text_plain, parsed.text_html,
            parsed.attachments, parsed.subject)  # fmt: skip


def read(parser, raw: bytes) -> tuple:
    try:
        return reading(parser.from_bytes(raw))
    except Exception as exc:  # hostile fixtures: the same failure either way
        return (type(exc).__name__, str(exc))


def test_the_same_addresses_and_defects_with_addresses_kept_per_value(monkeypatch):
    ours = [read(parse._MailParser, raw) for raw in raws()]
    monkeypatch.setattr(mailparser.core, "get_addresses", parse._original_get_addresses)
    theirs = [read(mailparser.MailParser, raw) for raw in raws()]
    assert ours == theirs
    assert any(r[1] for r in ours)  # some of them do have address defects
    assert parse._addresses_of.cache_info().hits > 0


def test_a_cached_defect_is_a_fresh_copy_each_time():
    value = "alice@example.org <mallory@example.net>, x@"
    first, second = [], []
    parse._get_addresses(value, defects=first, decode_names=True)
    for defect in first:
        defect["header"] = "to"  # what mail-parser does to the ones it is given
    parse._get_addresses(value, defects=second, decode_names=True)
    assert first and all("header" not in d for d in second)
