"""Forwards: only a configured event delegate reports on someone's behalf (SPEC §3)."""

from __future__ import annotations

from datetime import timedelta

from archive.record.cases import find_case, parties_of
from archive.record.db import open_archive
from archive.workflow.clock_sweep import fire_due
from casebook.config import load_settings
from tests.support.base import T0, fixture_bytes, write_config
from tests.support.helpers import deliver, outbox

DELEGATES = """
[[delegates]]
name = "Dana Delegate"
email = "dana@events.example.org"
event = "PyData Berlin 2026"
"""


def test_a_configured_delegates_forward_keeps_both_people(tmp_path):
    settings = load_settings(write_config(tmp_path, extra=DELEGATES))
    db = open_archive(settings.database)
    result = deliver(db, settings, "delegate_forward.eml", now=T0, sender="dana@events.example.org")
    case = find_case(db, result.case_ref)
    roles = {(p.role, p.email) for p in parties_of(db, case)}
    assert roles == {("reporter", "olga@example.net"), ("delegate", "dana@events.example.org")}
    assert case.fields["delegate_actions"].startswith("I spoke with the person")
    assert outbox(db, "reporter/ack")[0]["to_addr"] == "dana@events.example.org"


def test_a_reporter_forwarding_the_abusive_mail_stays_the_reporter(db, settings):
    """Someone not configured as a delegate forwards what was sent to them."""
    raw = fixture_bytes("delegate_forward.eml").replace(
        b"From: Dana Delegate <dana@events.example.org>", b"From: Vic Victim <vic@example.net>"
    )
    result = deliver(db, settings, raw, now=T0, sender="vic@example.net")
    case = find_case(db, result.case_ref)
    assert [(p.role, p.email) for p in parties_of(db, case)] == [("reporter", "vic@example.net")]
    assert "Olga Original <olga@example.net> (sender of the forwarded mail)" in case.fields["names"]
    # The forwarded mail's text is part of the report the committee sees.
    [notice] = outbox(db, "committee/new_case")
    assert "kept touching my shoulder" in notice["context"]["text"]
    # Everything for the reporter goes to the reporter, never to the forwarded mail's sender.
    fire_due(db, settings, T0 + timedelta(days=8))
    to_reporter = [q for q in outbox(db) if q["template"].startswith("reporter/")]
    assert {q["template"] for q in to_reporter} >= {"reporter/ack", "reporter/update"}
    assert all(q["to_addr"] in (None, "vic@example.net") for q in to_reporter)
    addresses = {row[0] for row in db.execute("SELECT email FROM parties")}
    assert "olga@example.net" not in addresses


def test_a_member_forwarding_a_report_names_the_reporter_explicitly(db, settings):
    raw = (
        b"From: Carol Member <carol@example.org>\r\nTo: conduct@example.org\r\n"
        b"Subject: Fwd: something that happened at the sprint\r\n"
        b"Message-ID: <carol-fwd@example.org>\r\n\r\n"
        b"Reporter: Pat Person <pat@example.net>\r\n"
        b"Pat told me in person that a sprint lead shouted at them twice.\r\n"
    )
    result = deliver(db, settings, raw, now=T0, sender="carol@example.org")
    case = find_case(db, result.case_ref)
    roles = {(p.role, p.email) for p in parties_of(db, case)}
    assert ("reporter", "pat@example.net") in roles and ("delegate", "carol@example.org") in roles
