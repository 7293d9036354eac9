"""The archive's one entry: dedupe, threading, cases, holds, the audit log, queued mail."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest

from archive.arrivals.ingest import ingest_message
from archive.record.cases import add_party, find_case, parties_of
from archive.record.db import open_archive
from archive.record.queries import archive_stats
from casebook.config import load_settings
from intake.parse import parse_message
from tests.support.base import T0, write_config
from tests.support.base import fixture_bytes as _fixture
from tests.support.committee import dkim_settings
from tests.support.helpers import deliver, events, outbox
from tests.support.mailbuild import sign, via_list


def test_new_report_opens_a_case_with_fields_parties_events_and_mail(db, settings):
    result = deliver(db, settings, "checklist_report.eml", now=T0, sender="chris@example.net")
    assert (result.kind, result.case_ref, result.duplicate) == ("report", "CoC-2026-001", False)
    case = find_case(db, "CoC-2026-001")
    assert case.state == "received" and not case.urgent
    assert case.fields["witnesses"] == "Wendy Witness"
    reporter = parties_of(db, case, "reporter")[0]
    assert reporter.email == "chris@example.net" and len(reporter.token) == 24
    assert events(db, "CoC-2026-001") == ["case-opened", "acknowledgement-queued"]
    queued = outbox(db)
    assert [q["template"] for q in queued] == ["reporter/ack", "committee/new_case"]
    ack = queued[0]
    assert ack["to_addr"] == "chris@example.net"
    assert ack["in_reply_to"] == "<checklist-1@example.net>"
    assert ack["context"] == {"case_ref": "CoC-2026-001", "missing": [], "urgent": False}


def test_same_message_delivered_twice_is_one_message_with_two_deliveries(db, settings):
    first = deliver(db, settings, "plain_report.eml", now=T0)
    # The second copy came through another relay: only trace headers differ.
    second = deliver(
        db,
        settings,
        b"Received: from backup-mx.example.org\n" + _fixture("plain_report.eml"),
        now=T0 + timedelta(minutes=5),
    )
    assert second.duplicate and second.message_pk == first.message_pk
    assert second.case_ref == first.case_ref == "CoC-2026-001"
    stats = archive_stats(db)
    assert stats["messages"] == 1 and stats["deliveries"] == {"processed": 2}
    assert stats["cases"] == {"received": 1}
    assert len(outbox(db, "reporter/ack")) == 1


def test_case_numbers_count_per_year_and_grow_past_three_digits(db, settings):
    for n in range(3):
        raw = _fixture("plain_report.eml").replace(b"plain-report-1", f"p{n}".encode())
        assert deliver(db, settings, raw, now=T0).case_ref == f"CoC-2026-00{n + 1}"
    db.execute("UPDATE cases SET seq = 999 WHERE ref = 'CoC-2026-003'")
    raw = _fixture("plain_report.eml").replace(b"plain-report-1", b"p-next")
    assert deliver(db, settings, raw, now=T0).case_ref == "CoC-2026-1000"
    raw = _fixture("plain_report.eml").replace(b"plain-report-1", b"p-2027")
    assert deliver(db, settings, raw, now=T0.replace(year=2027)).case_ref == "CoC-2027-001"


def test_case_numbers_are_unique_under_concurrent_writers(tmp_path, settings):
    """Four connections (as serve, ingest and tick would be) open cases at the same time."""
    errors, refs = [], []

    def worker(n: int) -> None:
        conn_db = open_archive(settings.database)
        try:
            for i in range(10):
                raw = _fixture("plain_report.eml").replace(b"plain-report-1", f"c{n}-{i}".encode())
                msg = parse_message(
                    raw,
                    envelope_from="rita@example.net",
                    envelope_to=("conduct@example.org",),
                    settings=settings,
                    loop_id="x",
                )
                refs.append(ingest_message(conn_db, msg, settings, T0).case_ref)
        except (AssertionError, sqlite3.Error) as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn_db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(refs) == 40 and len(set(refs)) == 40


# Rita's follow-ups to the reports address, as a trusted receiving host delivers them: her
# domain's DKIM passed (issue 18: without it, or her reply address, they are not her word).
STAMP = b"Authentication-Results: mx.example.org; dkim=pass header.d=example.net\r\n"


@pytest.fixture
def vouching(tmp_path, relay, db):
    """The settings under which mx.example.org's Authentication-Results count."""
    extra = 'trusted_hosts = ["mx.example.org"]'
    return load_settings(write_config(tmp_path, relay_port=relay.port, extra=extra))


def test_followup_by_in_reply_to_joins_the_case_and_adds_missing_fields(db, vouching):
    settings = vouching
    deliver(db, settings, "plain_report.eml", now=T0)
    ack_id = outbox(db, "reporter/ack")[0]["message_id"]
    result = deliver(
        db,
        settings,
        STAMP + _fixture("followup_in_reply_to.eml"),
        now=T0 + timedelta(hours=1),
        replace={"ACK-MESSAGE-ID": ack_id},
    )
    assert (result.kind, result.case_ref) == ("followup", "CoC-2026-001")
    case = find_case(db, "CoC-2026-001")
    assert case.fields["where"] == "mailing list"  # kept: the report had it
    assert events(db, "CoC-2026-001")[-1] == "followup-received"
    assert [q["template"] for q in outbox(db)][-2:] == [
        "committee/followup",
        "reporter/followup_received",
    ]


def test_followup_by_subject_tag_from_the_reporter(db, vouching):
    deliver(db, vouching, "plain_report.eml", now=T0)
    raw = STAMP + _fixture("followup_subject_tag.eml")
    result = deliver(db, vouching, raw, now=T0 + timedelta(hours=2))
    assert (result.kind, result.case_ref) == ("followup", "CoC-2026-001")
    links = find_case(db, "CoC-2026-001").fields["links"]
    assert links[-1].endswith("000130.html") and len(links) == 2


def test_followup_by_reply_address_from_another_account(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0)
    token = parties_of(db, find_case(db, "CoC-2026-001"), "reporter")[0].token
    result = deliver(
        db,
        settings,
        "followup_reply_address.eml",
        now=T0 + timedelta(hours=3),
        sender="rita.other@example.com",
        to=(f"conduct+{token}@example.org",),
    )
    assert (result.kind, result.case_ref) == ("followup", "CoC-2026-001")
    ack = outbox(db, "reporter/followup_received")[0]
    assert ack["to_addr"] is None and ack["audience"] == "party"


def test_followup_acknowledgement_at_most_once_a_day(db, vouching):
    deliver(db, vouching, "plain_report.eml", now=T0)
    for hours, n in ((1, 1), (5, 1), (25, 2)):
        raw = _fixture("followup_subject_tag.eml").replace(b"followup-2", f"f{hours}".encode())
        deliver(db, vouching, STAMP + raw, now=T0 + timedelta(hours=hours))
        assert len(outbox(db, "reporter/followup_received")) == n


def test_followup_acknowledgement_is_once_a_day_for_each_party(db, vouching):
    """The reported person's first answer is acknowledged although the reporter's was an hour
    earlier: the interval counts per party, not per case."""
    settings = vouching
    deliver(db, settings, "plain_report.eml", now=T0)
    deliver(db, settings, STAMP + _fixture("followup_subject_tag.eml"), now=T0 + timedelta(hours=1))
    case = find_case(db, "CoC-2026-001")
    add_party(db, case, role="reported", name="Dave Jones", email="dave@example.com", now=T0)
    token = parties_of(db, case, "reported")[0].token
    raw = (
        f"From: Dave Jones <dave@example.com>\r\nTo: conduct+{token}@example.org\r\n"
        "Subject: Re: A private message\r\nMessage-ID: <dave-answer@example.com>\r\n\r\n"
        "Who complained about me?\r\n"
    ).encode()
    deliver(db, settings, raw, now=T0 + timedelta(hours=2), sender="dave@example.com",
            to=(f"conduct+{token}@example.org",))  # fmt: skip
    acks = outbox(db, "reporter/followup_received")
    assert len(acks) == 2
    rows = db.execute(
        "SELECT p.role FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'reporter/followup_received' ORDER BY o.id"
    ).fetchall()
    assert [r[0] for r in rows] == ["reporter", "reported"]


def test_tagged_mail_from_a_stranger_is_held_not_a_followup(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0)
    raw = _fixture("followup_subject_tag.eml").replace(
        b"From: Rita Reporter <rita@example.net>", b"From: Mallory <mallory@evil.example>"
    )
    result = deliver(db, settings, raw, now=T0, sender="mallory@evil.example")
    assert result.kind == "held" and "not a party" in result.held_reason
    assert outbox(db, "committee/followup") == []
    assert archive_stats(db)["held"] == 1


def test_unknown_reply_token_is_held(db, settings):
    result = deliver(
        db,
        settings,
        "followup_reply_address.eml",
        now=T0,
        to=("conduct+aaaaaaaaaaaaaaaaaaaaaaaa@example.org",),
    )
    assert result.kind == "held" and result.held_reason == "unknown or stale reply address"
    # Nothing to the sender; the committee hears of it in the day's summary of held mail.
    assert result.case_ref is None
    assert [(q["template"], q["audience"]) for q in outbox(db)] == [
        ("committee/held_summary", "committee")
    ]


def test_tag_naming_no_case_is_held(db, settings):
    result = deliver(db, settings, "followup_subject_tag.eml", now=T0)
    assert result.kind == "held" and "names no case" in result.held_reason


def test_out_of_office_reply_is_archived_in_the_case_and_never_answered(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0)
    ack_id = outbox(db, "reporter/ack")[0]["message_id"]
    result = deliver(db, settings, "out_of_office.eml", now=T0, replace={"ACK-MESSAGE-ID": ack_id})
    assert (result.kind, result.case_ref) == ("autoreply", "CoC-2026-001")
    assert len(outbox(db)) == 2  # only the report's ack and notice


def test_precedence_bulk_is_archived_as_a_case_without_acknowledgement(db, settings):
    result = deliver(db, settings, "precedence_bulk.eml", now=T0, sender="news@example.com")
    assert result.kind == "report"
    assert "acknowledgement-suppressed" in events(db, result.case_ref)
    assert [q["template"] for q in outbox(db)] == ["committee/new_case"]


def test_urgent_report_alerts_the_committee(db, settings):
    result = deliver(db, settings, "urgent_report.eml", now=T0, sender="uma@example.net")
    assert find_case(db, result.case_ref).urgent
    assert "marked-urgent" in events(db, result.case_ref)
    assert [q["template"] for q in outbox(db)][0] == "committee/urgent"


def test_conflicted_member_is_recorded_and_the_chair_told(db, settings):
    result = deliver(db, settings, "report_naming_member.eml", now=T0, sender="paula@example.net")
    case = find_case(db, result.case_ref)
    assert case.conflicted == ("bob@example.org",)
    assert "conflict-detected" in events(db, result.case_ref)
    chair = outbox(db, "chair/conflict")[0]
    assert chair["audience"] == "chair"
    assert chair["context"]["conflicts"][0]["name"] == "Bob Member"


def test_flood_past_the_daily_cap_is_folded_into_one_acknowledgement(db, settings):
    for n in range(8):
        raw = _fixture("plain_report.eml").replace(b"plain-report-1", f"flood{n}".encode())
        deliver(db, settings, raw, now=T0 + timedelta(minutes=n))
    assert archive_stats(db)["cases"] == {"received": 8}
    assert len(outbox(db, "reporter/ack")) == 5
    folded = outbox(db, "reporter/ack_folded")
    assert len(folded) == 1
    assert folded[0]["context"]["case_refs"] == ["CoC-2026-006", "CoC-2026-007", "CoC-2026-008"]


@pytest.fixture
def signed_db(tmp_path):
    """An archive whose configuration pins the list host's key (as DNS would serve it)."""
    settings = dkim_settings(tmp_path)
    database = open_archive(settings.database)
    yield database, settings
    database.close()


def test_list_traffic_outside_cases_is_archived_unthreaded(signed_db):
    db, settings = signed_db
    raw = via_list(_fixture("precedence_bulk.eml").replace(b"\n", b"\r\n"))
    result = deliver(db, settings, raw, now=T0, to=("conduct-committee@lists.example.org",))
    assert result.kind == "list" and result.case_ref is None
    assert archive_stats(db)["list_messages"] == 1


def test_list_copy_in_a_case_thread_is_deliberation(signed_db):
    db, settings = signed_db
    deliver(db, settings, "plain_report.eml", now=T0)
    raw = _fixture("followup_subject_tag.eml").replace(
        b"From: Rita Reporter <rita@example.net>", b"From: Alice Chair <alice@example.org>"
    )
    raw = via_list(raw.replace(b"\n", b"\r\n"))
    result = deliver(db, settings, raw, now=T0, to=("conduct-committee@lists.example.org",))
    assert (result.kind, result.case_ref) == ("deliberation", "CoC-2026-001")


def test_the_audit_log_is_append_only(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE events SET action = 'forged'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM events")


def test_imported_history_sends_nothing(db, settings):
    msg = parse_message(
        _fixture("urgent_report.eml"),
        envelope_from="uma@example.net",
        envelope_to=("conduct@example.org",),
        settings=settings,
        loop_id="x",
        historical=True,
    )
    result = ingest_message(db, msg, settings, T0)
    assert result.kind == "report" and outbox(db) == []


def test_conflicts_are_checked_again_when_the_members_change(tmp_path, relay):
    from casebook.config import load_settings
    from intake.recheck import recheck_conflicts
    from tests.support.base import MEMBERS, write_config

    settings = load_settings(write_config(tmp_path, relay_port=relay.port))
    db = open_archive(settings.database)
    raw = _fixture("plain_report.eml").replace(b"Dave Jones", b"Dana Newmember")
    deliver(db, settings, raw, now=T0)
    assert recheck_conflicts(db, settings, T0) == []  # first run: nothing changed
    joined = MEMBERS + '\n[[members]]\nname = "Dana Newmember"\nemail = "dana@example.org"\n'
    settings = load_settings(write_config(tmp_path, relay_port=relay.port, members=joined))
    assert recheck_conflicts(db, settings, T0) == ["CoC-2026-001"]
    assert find_case(db, "CoC-2026-001").conflicted == ("dana@example.org",)
    notice = outbox(db, "chair/conflict")[0]["context"]["conflicts"][0]
    assert notice["member"] == "dana@example.org" and "members changed" in notice["reason"]
    assert recheck_conflicts(db, settings, T0) == []  # unchanged again: nothing new


def test_a_party_s_follow_up_names_nobody_into_a_conflict_when_the_members_change(tmp_path, relay):
    """Members added later are looked for again in the reporter's follow-ups only: the names
    in the person reported's follow-up conflict nobody (archive/arrivals/conflicts.py)."""
    from casebook.config import load_settings
    from intake.recheck import recheck_conflicts
    from tests.support.base import MEMBERS, write_config
    from tests.support.mailbuild import build

    settings = load_settings(write_config(tmp_path, relay_port=relay.port))
    db = open_archive(settings.database)
    deliver(db, settings, "plain_report.eml", now=T0)
    case = find_case(db, "CoC-2026-001")
    dave = add_party(db, case, role="party", name="Dave", email="dave@example.com", now=T0)
    reply = f"conduct+{dave.token}@example.org"
    raw = build(
        sender="Dave <dave@example.com>",
        to=reply,
        subject="Re: [CoC-2026-001] Hello",
        body="I talked it over with Dana Newmember.",
        message_id="<dave-d@example.com>",
    )
    assert deliver(db, settings, raw, now=T0, sender="dave@example.com", to=(reply,)).kind == (
        "followup"
    )
    assert recheck_conflicts(db, settings, T0) == []  # first run: nothing changed
    joined = MEMBERS + '\n[[members]]\nname = "Dana Newmember"\nemail = "dana@example.org"\n'
    settings = load_settings(write_config(tmp_path, relay_port=relay.port, members=joined))
    assert recheck_conflicts(db, settings, T0) == []
    assert find_case(db, "CoC-2026-001").conflicted == ()


def test_missing_message_id_twice_is_one_message(db, settings):
    first = deliver(db, settings, "missing_message_id.eml", now=T0, sender="nora@example.net")
    again = deliver(
        db,
        settings,
        b"Received: from relay2.example.net\n" + _fixture("missing_message_id.eml"),
        now=T0,
        sender="nora@example.net",
    )
    assert again.duplicate and again.case_ref == first.case_ref
    assert archive_stats(db)["messages"] == 1


def test_member_reply_to_the_reports_address_is_deliberation_only_when_signed(tmp_path, db):
    """Unsigned, anyone could have written it in Carol's name (issue 18 §2): held."""
    settings = dkim_settings(tmp_path)
    deliver(db, settings, "plain_report.eml", now=T0)
    raw = _fixture("followup_subject_tag.eml").replace(
        b"From: Rita Reporter <rita@example.net>", b"From: Carol Member <carol@example.org>"
    )
    held = deliver(db, settings, raw, now=T0, sender="carol@example.org")
    assert held.kind == "held" and held.held_reason.startswith("From names a member")
    signed = sign(raw.replace(b"followup-2", b"followup-signed"))
    result = deliver(db, settings, signed, now=T0, sender="carol@example.org")
    assert (result.kind, result.case_ref) == ("deliberation", "CoC-2026-001")
    assert outbox(db, "reporter/followup_received") == []


def test_dsn_to_the_plain_reports_address_is_held_and_never_answered(db, settings):
    result = deliver(db, settings, "dsn_bounce.eml", now=T0, sender="", replace={"BOUNCE-KEY": "x"})
    assert result.kind == "autoreply" and result.held_reason
    assert archive_stats(db)["cases"] == {}
    # Never answered: only the committee's daily summary of held mail mentions it.
    assert [(q["template"], q["audience"]) for q in outbox(db)] == [
        ("committee/held_summary", "committee")
    ]


def test_html_only_report_opens_a_case_with_its_text(db, settings):
    result = deliver(db, settings, "html_only_report.eml", now=T0, sender="hana@example.net")
    case = find_case(db, result.case_ref)
    assert "making jokes about my accent" in case.fields["account"]
    context = outbox(db, "committee/new_case")[0]["context"]
    assert "<script" not in context["text"]


def test_attachment_is_kept_with_the_case(db, settings):
    result = deliver(db, settings, "attachment_report.eml", now=T0, sender="sam@example.net")
    row = db.execute(
        "SELECT a.filename, a.size FROM attachments a JOIN messages m ON m.id = a.message_pk"
        " WHERE m.message_id = '<attachment-1@example.net>'"
    ).fetchone()
    assert row[0] == "chat.png" and row[1] > 0
    assert outbox(db, "committee/new_case")[0]["context"]["attachments"] == ["chat.png"]
    assert result.case_ref == "CoC-2026-001"
