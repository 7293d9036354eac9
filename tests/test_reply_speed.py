"""The faster quote search (intake/reply.py) finds exactly what quotequail's own does."""

from __future__ import annotations

import email
import email.policy
import itertools
from pathlib import Path

import quotequail
import quotequail._internal as internal
from quotequail._enums import Position

from intake import reply
from intake.importer import iter_mbox
from tests.conftest import CORPUS

FIXTURES = Path(__file__).parent / "fixtures"
ATTRIBUTIONS = [
    "On Mon, 2 Mar 2026 at 10:00, Rita <rita@example.net> wrote:",
    "On Mon, 2 Mar 2026 at 10:00, Rita Reporter\n<rita@example.net> wrote:\n> quoted",
    "Am 02.03.2026 um 10:00 schrieb Alice:\n> zitiert",
    "-----Original Message-----\nFrom: Bob\nSent: Monday\nTo: Alice\nSubject: x\n\nold",
    "---------- Forwarded message ---------\nFrom: X <x@example.net>\nDate: today\n\nfwd",
    "Begin forwarded message:\n\nFrom: X\nSubject: y\n\ntext",
    "> only a quote\n> two lines\nmine",
    "(On\nMonday)\n[Rita\nwrote:]\n\n\nOn Tuesday Bob wrote:",
]


def texts() -> list[str]:
    found = list(ATTRIBUTIONS)
    for path in sorted(FIXTURES.rglob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                found.append((part.get_payload(decode=True) or b"").decode("utf-8", "replace"))
    mbox = CORPUS / "linux-mips" / "linux-mips-1996-2002.mbox"
    if mbox.exists():
        for raw, _ in itertools.islice(iter_mbox(mbox), 0, 3000, 10):
            found.append(raw.split(b"\n\n", 1)[-1].decode("utf-8", "replace"))
    return found


def test_the_same_pattern_found_on_every_line():
    checked = 0
    for text in texts():
        lines = text.replace("\r\n", "\n").split("\n")
        for n in range(len(lines)):
            for wrap in (1, 2, 3):
                for position in (Position.Begin, Position.End):
                    expected = reply._original_find_pattern_on_line(lines, n, wrap, position)
                    assert reply._find_pattern_on_line(lines, n, wrap, position) == expected
                    checked += expected is not None
    assert checked > 10  # the texts do hold attributions and forwards


def test_the_same_unwrap_with_either_search(monkeypatch):
    ours = [quotequail.unwrap(text) for text in texts()]
    monkeypatch.setattr(internal, "find_pattern_on_line", reply._original_find_pattern_on_line)
    assert [quotequail.unwrap(text) for text in texts()] == ours
