"""Held mail is never silent: the committee hears of it, with the command that takes it in."""

from __future__ import annotations

from datetime import timedelta

from archive.record.db import open_archive
from casebook.config import load_settings
from mailer.send import send_due
from tests.support.base import MEMBERS, T0, fixture_bytes, write_config
from tests.support.helpers import deliver, outbox


def _stranger_followup() -> bytes:
    return fixture_bytes("followup_subject_tag.eml").replace(
        b"From: Rita Reporter <rita@example.net>", b"From: Mallory <mallory@evil.example>"
    )


def test_mail_claiming_a_case_is_held_and_the_case_audience_told_how_to_take_it_in(
    db, settings, relay
):
    deliver(db, settings, "plain_report.eml", now=T0)
    held = deliver(db, settings, _stranger_followup(), now=T0, sender="mallory@evil.example")
    assert held.kind == "held" and held.case_ref == "CoC-2026-001"
    message_id = db.execute("SELECT message_id FROM messages WHERE id = ?", [held.message_pk])
    message_id = message_id.fetchone()[0]
    send_due(db, settings, T0)
    [notice] = [m for m in relay.to("conduct-committee@lists.example.org")
                if "was held" in m["Subject"]]  # fmt: skip
    assert notice["Subject"] == "[CoC-2026-001] A message for this case was held"
    body = notice.get_content()
    assert f"#merge {message_id}" in body and "mallory@evil.example" in body
    assert "not a party of the case" in body
    assert relay.to("mallory@evil.example") == []  # the stranger learns nothing


def test_unknown_reply_tokens_make_one_daily_summary_naming_no_sender(db, settings, relay):
    for n in range(2):
        raw = fixture_bytes("followup_reply_address.eml").replace(
            b"Message-ID: <", f"Message-ID: <stale{n}-".encode()
        )
        deliver(db, settings, raw, now=T0 + timedelta(hours=n),
                to=("conduct+aaaaaaaaaaaaaaaaaaaaaaaa@example.org",))  # fmt: skip
    [summary] = outbox(db, "committee/held_summary")
    assert len(summary["context"]["items"]) == 2
    assert send_due(db, settings, T0 + timedelta(hours=23)).sent == 0  # not before a day
    assert send_due(db, settings, T0 + timedelta(days=1)).sent == 1
    [mail] = relay.to("conduct-committee@lists.example.org")
    body = mail.get_content()
    assert "<stale0-" in body and "<stale1-" in body and "#merge <Message-ID>" in body
    assert "rita@example.net" not in body and "rita@example.net" not in mail["Subject"]


def test_a_removed_members_reply_address_is_dead_and_the_committee_told(tmp_path, relay):
    config = write_config(tmp_path, relay_port=relay.port, command_auth="token")
    settings = load_settings(config)
    db = open_archive(settings.database)
    deliver(db, settings, "plain_report.eml", now=T0)
    send_due(db, settings, T0)
    token = db.execute("SELECT token FROM parties WHERE email = 'carol@example.org'").fetchone()[0]
    # Carol leaves the committee; her old reply address must carry nothing into the case.
    without_carol = MEMBERS.replace(
        '[[members]]\nname = "Carol Member"\nemail = "carol@example.org"\nrole = "member"\n', ""
    )
    settings = load_settings(write_config(tmp_path, relay_port=relay.port, command_auth="token",
                                          members=without_carol))  # fmt: skip
    raw = (
        b"From: Carol Member <carol@example.org>\r\nTo: conduct+" + token.encode()
        + b"@example.org\r\nSubject: Re: [CoC-2026-001] New report\r\n"
        b"Message-ID: <carol-after@example.org>\r\n\r\n#close nothing to see\r\n"
    )  # fmt: skip
    result = deliver(db, settings, raw, now=T0, sender="carol@example.org",
                     to=(f"conduct+{token}@example.org",))  # fmt: skip
    assert result.kind == "held" and "no longer on the committee" in result.held_reason
    assert outbox(db, "committee/command_result") == [] and outbox(db, "committee/relay") == []
    [notice] = outbox(db, "committee/held")
    assert notice["context"]["message_id"] == "<carol-after@example.org>"
    state = db.execute("SELECT state FROM cases WHERE ref = 'CoC-2026-001'").fetchone()[0]
    assert state != "closed"


def test_a_forged_reporter_from_with_the_case_tag_changes_nothing(db, settings):
    """From: the reporter and the (guessable) tag, but the attacker's envelope: held."""
    deliver(db, settings, "plain_report.eml", now=T0)
    raw = (
        fixture_bytes("followup_subject_tag.eml").replace(b"Message-ID: <", b"Message-ID: <forged-")
        + b"\r\nPlease, no further contact. I withdraw everything.\r\n"
    )
    held = deliver(db, settings, raw, now=T0, sender="mallory@evil.example")
    assert held.kind == "held" and "envelope sender does not" in held.held_reason
    reporter = db.execute("SELECT no_contact FROM parties WHERE role = 'reporter'").fetchone()
    assert reporter[0] == 0 and outbox(db, "reporter/no_contact_confirmed") == []


def test_casebook_held_names_the_case_a_held_message_claims(db, settings, config_path):
    import json
    import subprocess
    import sys

    from tests.support.base import ROOT

    deliver(db, settings, "plain_report.eml", now=T0)
    deliver(db, settings, _stranger_followup(), now=T0, sender="mallory@evil.example")
    listing = subprocess.run(
        [sys.executable, "-m", "casebook.cli", "-c", str(config_path), "held", "--json"],
        cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    [held] = json.loads(listing.stdout)
    assert held["case"] == "CoC-2026-001" and held["from"] == "mallory@evil.example"
    assert held["reason"].startswith("its subject tag names CoC-2026-001")
