"""A member's reply address relays only that member's own, human mail (token mode)."""

from __future__ import annotations

import pytest

from archive.record.db import open_archive
from casebook.config import load_settings
from mailer.send import send_due
from tests.support.base import T0, write_config
from tests.support.helpers import deliver, outbox


@pytest.fixture
def token_case(tmp_path, relay):
    settings = load_settings(write_config(tmp_path, relay_port=relay.port, command_auth="token"))
    db = open_archive(settings.database)
    deliver(db, settings, "plain_report.eml", now=T0)
    send_due(db, settings, T0)
    token = db.execute("SELECT token FROM parties WHERE email = 'bob@example.org'").fetchone()[0]
    yield db, settings, f"conduct+{token}@example.org"
    db.close()


def _to_bob(db, settings, address, sender: str, subject: str, n: int, body: str = "Hello."):
    raw = (
        f"From: {sender}\r\nTo: {address}\r\nSubject: {subject}\r\n"
        f"Message-ID: <relay-{n}@example.org>\r\nIn-Reply-To: <x@example.org>\r\n\r\n{body}\r\n"
    ).encode()
    envelope = sender.split("<")[-1].rstrip(">")
    return deliver(db, settings, raw, now=T0, sender=envelope, to=(address,))


def test_only_the_member_themself_is_relayed(token_case):
    db, settings, bob = token_case
    subject = "Re: [CoC-2026-001] New report"
    forged = _to_bob(db, settings, bob, "Mallory <mallory@evil.example>", subject, 1)
    alice = _to_bob(db, settings, bob, "Alice Chair <alice@example.org>", subject, 2)
    assert forged.kind == alice.kind == "held"
    assert "not from them" in forged.held_reason
    assert outbox(db, "committee/relay") == []
    real = _to_bob(db, settings, bob, "Bob Member <bob@example.org>", subject, 3)
    assert real.kind == "deliberation" and len(outbox(db, "committee/relay")) == 1


def test_a_naive_out_of_office_reply_is_never_relayed(token_case):
    db, settings, bob = token_case
    result = _to_bob(db, settings, bob, "Bob Member <bob@example.org>",
                     "Out of Office: [CoC-2026-001] New report", 4,
                     "I am away until Monday.")  # fmt: skip
    assert result.kind == "autoreply"
    assert outbox(db, "committee/relay") == []
