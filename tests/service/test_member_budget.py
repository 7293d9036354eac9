"""Issue 20 §18: the chair working through many cases in one sitting is never refused by
casebook's own flood limits. Members' and council members' mail proved theirs (to their own
reply address, or DKIM-signed) has its own, larger budget; a stranger, or someone forging a
member's envelope address, is still limited."""

from __future__ import annotations

import smtplib
import sqlite3

import pytest

from archive.record.models import RouteKind
from archive.record.settings import IntakeLimits
from intake.auth import proves_member
from intake.limits import Gate
from tests.service.test_member_mail import report
from tests.service.test_walks_e2e import Walk, reply_address
from tests.support.base import T0, ServeProcess, write_config
from tests.support.committee import LIST, dkim_settings
from tests.support.helpers import smtp_send
from tests.support.mailbuild import build, sign
from tests.support.waiting import wait_until

CHAIR = "alice@example.org"
STRANGER = "mallory@evil.example"
REPLY = RouteKind.REPLY


def test_a_member_past_the_sender_limit_is_let_on_and_proved_at_data():
    gate = Gate(IntakeLimits(sender_burst=2, sender_per_hour=1, member_burst=5, member_per_hour=1))
    for _ in range(2):
        assert gate.recipient(CHAIR, REPLY, set(), 0.0, T0, member=True) is None
    charged: set[str] = set()
    assert gate.recipient(CHAIR, REPLY, charged, 0.0, T0, member=True) is None
    assert gate.needs_proof(charged)
    assert gate.message(CHAIR, CHAIR, charged, 0.0, T0) is None  # proved: the members' budget
    assert gate.message(CHAIR, None, charged, 0.0, T0).reply.startswith("451 4.7.1")
    # A stranger's address is refused at RCPT as before.
    for _ in range(2):
        gate.recipient(STRANGER, REPLY, set(), 0.0, T0)
    assert gate.recipient(STRANGER, REPLY, set(), 0.0, T0).reply.startswith("451 4.7.1")


def test_a_members_own_signed_mail_proves_it_and_nothing_else_does(tmp_path):
    settings = dkim_settings(tmp_path)
    raw = build(sender=f"Alice Chair <{CHAIR}>", to=LIST, subject="Re: [CoC-2026-001] x",
                body="#note hi\n", message_id="<proof@example.org>")  # fmt: skip
    assert proves_member(sign(raw), CHAIR, (LIST,), settings, None) == CHAIR
    assert proves_member(raw, CHAIR, (LIST,), settings, None) is None  # unsigned
    # Signed by the domain but for another member's From: not the envelope's member.
    bob = raw.replace(b"Alice Chair <alice@", b"Bob Member <bob@")
    assert proves_member(sign(bob), CHAIR, (LIST,), settings, None) is None
    assert proves_member(sign(raw), STRANGER, (LIST,), settings, None) is None
    # Her reply address proves her in token mode; another member's does not.
    token = dkim_settings(tmp_path, command_auth="token")
    to = "conduct+abcdefghijklmnopqrstuvwx@example.org"
    assert proves_member(raw, CHAIR, (to,), token, lambda t: CHAIR) == CHAIR
    assert proves_member(raw, CHAIR, (to,), token, lambda t: "bob@example.org") is None
    assert proves_member(sign(raw), CHAIR, (LIST,), token, None) is None  # token mode: no DKIM


@pytest.fixture
def sitting(tmp_path, relay):
    """`casebook serve` with the default flood limits (but no tarpit delay), token mode."""
    w = Walk(tmp_path, relay)
    w.config = write_config(tmp_path, relay_port=relay.port, intake_port=w.port,
                            command_auth="token", limits={"refusal_delay": "0s"})  # fmt: skip
    w.process = ServeProcess(w.config, w.port)
    w.process.start()
    yield w
    w.process.stop()


def test_the_chair_sends_25_command_mails_in_a_minute_and_all_are_applied(sitting, tmp_path):
    w = sitting
    refs = [f"CoC-2026-{n:03d}" for n in range(1, 6)]
    for n in range(1, 6):
        w.send(report(n), "rita@example.net", "conduct@example.org")
    notices = [w.expect(CHAIR, f"[{ref}] New report") for ref in refs]
    # Five cases, five commands each, one mail per command, as fast as she types.
    for step in range(5):
        for notice in notices:
            raw = build(sender=f"Alice Chair <{CHAIR}>", to=reply_address(notice),
                        subject=f"Re: {notice['Subject']}", body=f"#note step {step}\n",
                        message_id=f"<sit-{step}-{notice['Message-ID'][1:-1]}>",
                        in_reply_to=notice["Message-ID"])  # fmt: skip
            assert smtp_send(w.port, raw, CHAIR, [reply_address(notice)]) == {}
    database = tmp_path / "casebook.db"

    def applied():
        with sqlite3.connect(database) as db:
            return db.execute(
                "SELECT COUNT(*) FROM command_runs WHERE outcome = 'applied'"
            ).fetchone()[0]

    wait_until(lambda: applied() == 25, "the chair's 25 command mails applied")

    # A stranger doing the same is limited: past the sender burst, 451 4.7.1.
    refused = 0
    for n in range(25):
        raw = build(sender=f"Mallory <{STRANGER}>", to=reply_address(notices[0]),
                    subject=f"Re: {notices[0]['Subject']}", body="#note let me in\n",
                    message_id=f"<mallory-{n}@evil.example>")  # fmt: skip
        try:
            smtp_send(w.port, raw, STRANGER, [reply_address(notices[0])])
        except smtplib.SMTPRecipientsRefused as exc:
            assert b"4.7.1" in next(iter(exc.recipients.values()))[1]
            refused += 1
    assert refused == 15  # the default sender_burst of 10 went through, to be refused later
    # And someone forging the chair's envelope address, without her reply address or her
    # signature, finds her sender limit spent and is refused at DATA.
    forged = build(sender=f"Alice Chair <{CHAIR}>", to="conduct@example.org",
                   subject="Re: [CoC-2026-001] New report", body="#close\n",
                   message_id="<forged-chair@evil.example>")  # fmt: skip
    with pytest.raises(smtplib.SMTPDataError) as refusal:
        smtp_send(w.port, forged, CHAIR, ["conduct@example.org"])
    assert refusal.value.smtp_code == 451
    assert applied() == 25
