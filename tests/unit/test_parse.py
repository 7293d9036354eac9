"""Parsing real-looking fixtures into what the archive is given (pure: no database)."""

from __future__ import annotations

import dataclasses

import pytest

from archive.record.models import RouteKind
from intake.parse import parse_message
from tests.support.base import fixture_bytes

LOOP_ID = "testloop"


def parse(settings, name: str, *, sender: str | None = None, to=("conduct@example.org",)):
    raw = fixture_bytes(name)
    envelope_from = sender if sender is not None else "someone@example.net"
    return parse_message(
        raw, envelope_from=envelope_from, envelope_to=to, settings=settings, loop_id=LOOP_ID
    )


def test_plain_report_extracts_free_text_fields(settings):
    msg = parse(settings, "plain_report.eml", sender="rita@example.net")
    assert msg.route.kind is RouteKind.REPORT
    assert msg.message_id == "<plain-report-1@example.net>"
    assert msg.from_addr == "rita@example.net" and msg.from_name == "Rita Reporter"
    assert msg.report.when == "Yesterday"
    assert msg.report.where == "mailing list"
    assert "Dave Jones" in msg.report.names
    assert msg.report.links == ("https://lists.example.org/archives/users/2026-March/000123.html",)
    assert "called me stupid" in msg.report.account
    assert msg.no_reply_reason is None and not msg.automatic
    assert msg.urgent_reasons == () and msg.conflicts == ()


def test_html_only_report_becomes_readable_text_and_sanitized_html(settings):
    msg = parse(settings, "html_only_report.eml")
    assert "kept making jokes about my accent" in msg.text
    assert "feel & look unwelcome" in msg.text
    assert "alert(" not in msg.text and "color: red" not in msg.text
    assert "<script" not in msg.html and "onerror" not in msg.html
    assert msg.report.where == "sprint"


def test_checklist_report_is_parsed_exactly(settings):
    fields = parse(settings, "checklist_report.eml").report
    assert fields.contact == "chris@example.net"
    assert fields.names == "Mallory Example (@mallory on the chat)"
    assert fields.witnesses == "Wendy Witness"
    assert fields.when == "2026-02-27 around 15:00 UTC"
    assert fields.where == "the #dev chat channel"
    assert fields.account.startswith("Mallory posted insulting messages about\nmy work")
    assert fields.context == "We disagreed about a pull request the week before."
    assert fields.ongoing == "no"
    assert fields.law_enforcement == "not contacted"
    assert fields.other == "I have screenshots if needed."
    assert fields.missing() == ()


def test_latin1_subject_and_body_are_decoded(settings):
    msg = parse(settings, "latin1_subject.eml")
    assert msg.subject == "Incident au café de la conférence"
    assert msg.from_name == "René Léger"
    assert "m'a insulté" in msg.text


def test_attachment_is_kept_as_bytes(settings):
    msg = parse(settings, "attachment_report.eml")
    assert len(msg.attachments) == 1
    attachment = msg.attachments[0]
    assert attachment.filename == "chat.png" and attachment.content_type == "image/png"
    assert attachment.data.startswith(b"\x89PNG")


def test_missing_message_id_gets_a_stable_stand_in(settings):
    first = parse(settings, "missing_message_id.eml")
    trace = b"Received: from relay2.example.net by mx.example.org\n"
    again = parse_message(
        trace + fixture_bytes("missing_message_id.eml"),
        envelope_from="nora@example.net",
        envelope_to=("conduct@example.org",),
        settings=settings,
        loop_id=LOOP_ID,
    )
    assert first.message_id.startswith("<missing-")
    assert first.message_id == again.message_id


@pytest.mark.parametrize(
    "name, sender, reason, automatic",
    [
        ("out_of_office.eml", "rita@example.net", "Auto-Submitted: auto-replied", True),
        ("dsn_bounce.eml", "", "null sender or MAILER-DAEMON", True),
        ("precedence_bulk.eml", "news@example.com", "Precedence: bulk", False),
    ],
)
def test_never_auto_reply_rules(settings, name, sender, reason, automatic):
    msg = parse(settings, name, sender=sender)
    assert msg.no_reply_reason == reason
    assert msg.automatic is automatic


def test_list_mail_from_another_list_is_not_answered(settings):
    raw = fixture_bytes("plain_report.eml").replace(
        b"MIME-Version", b"List-Id: Users <users.lists.example.org>\nMIME-Version", 1
    )
    msg = parse_message(
        raw,
        envelope_from="rita@example.net",
        envelope_to=("conduct@example.org",),
        settings=settings,
        loop_id=LOOP_ID,
    )
    assert msg.no_reply_reason == "mailing-list traffic (List-Id)"


def test_our_own_loop_header_is_detected(settings):
    raw = b"X-Casebook-Loop: testloop\n" + fixture_bytes("plain_report.eml")
    msg = parse_message(
        raw,
        envelope_from="rita@example.net",
        envelope_to=("conduct@example.org",),
        settings=settings,
        loop_id=LOOP_ID,
    )
    assert msg.looped and msg.no_reply_reason


def test_urgent_report_with_law_enforcement_field(settings):
    msg = parse(settings, "urgent_report.eml")
    assert "reported as ongoing" in msg.urgent_reasons
    assert any("threaten" in reason for reason in msg.urgent_reasons)
    assert msg.report.law_enforcement.startswith("I have not called the police")


def test_calm_report_is_not_urgent(settings):
    msg = parse(settings, "checklist_report.eml")
    assert msg.urgent_reasons == ()


def test_report_naming_a_member_marks_a_conflict(settings):
    msg = parse(settings, "report_naming_member.eml")
    assert [(c.member, c.reason) for c in msg.conflicts] == [
        ("bob@example.org", "named in the report")
    ]


def test_delegate_forward_keeps_original_reporter_and_actions(settings):
    from archive.record.settings import EventDelegate

    settings = dataclasses.replace(
        settings, delegates=(EventDelegate("Dana Delegate", "dana@events.example.org"),)
    )
    msg = parse(settings, "delegate_forward.eml", sender="dana@events.example.org")
    assert msg.delegate is not None
    assert msg.delegate.original_address == "olga@example.net"
    assert msg.delegate.original_name == "Olga Original"
    assert msg.delegate.actions_taken == (
        "I spoke with the person and asked them to leave the booth area."
    )
    assert "touching my shoulder" in msg.report.account


def test_malformed_mime_is_parsed_without_raising(settings):
    msg = parse(settings, "malformed_mime.eml")
    assert msg.message_id == "<broken-1@example.net>"
    assert "rude to me on the forum" in msg.text


def test_reply_address_route_carries_the_token(settings):
    token = "a" * 24
    msg = parse(settings, "followup_reply_address.eml", to=(f"conduct+{token}@example.org",))
    assert msg.route.kind is RouteKind.REPLY and msg.route.token == token


def test_hostile_deeply_nested_mime_is_archived_as_text(settings):
    depth = 1500
    raw = (
        b"From: a@example.net\r\nTo: conduct@example.org\r\nSubject: deep\r\n"
        b"Message-ID: <deep@example.net>\r\nMIME-Version: 1.0\r\n"
        + b"".join(
            f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
            for i in range(depth)
        )
        + b"Content-Type: text/plain\r\n\r\nSomeone was rude to me.\r\n"
        + b"".join(f"--b{i}--\r\n".encode() for i in reversed(range(depth)))
    )
    msg = parse_message(raw, envelope_from="a@example.net", envelope_to=("conduct@example.org",),
                        settings=settings, loop_id=LOOP_ID)  # fmt: skip
    assert msg.message_id == "<deep@example.net>" and msg.subject == "deep"
    assert "nested too deeply" in " ".join(msg.defects)
    assert "Someone was rude to me." in msg.text


def test_huge_message_is_parsed_within_limits(settings):
    raw = fixture_bytes("plain_report.eml") + b"x" * 78 + (b"\n" + b"y" * 78) * 60000
    msg = parse_message(raw, envelope_from="rita@example.net",
                        envelope_to=("conduct@example.org",), settings=settings,
                        loop_id=LOOP_ID)  # fmt: skip
    assert msg.message_id == "<plain-report-1@example.net>" and len(msg.raw) > 4_000_000
