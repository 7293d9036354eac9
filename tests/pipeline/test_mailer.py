"""The outbox to a real SMTP relay on loopback: headers, audiences, retries, the lease."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import archive.record.send_results
from archive.record.cases import find_case, parties_of
from archive.record.db import installation_id, open_archive
from casebook.config import load_settings
from mailer.compose import Outgoing, compose_message
from mailer.send import send_due
from tests.support.base import T0, fixture_bytes, free_port, write_config
from tests.support.helpers import deliver, events, outbox


def send(db, settings, now=T0, holder="test"):
    return send_due(db, settings, now, holder=holder, wall_clock=lambda: now)


def test_acknowledgement_as_the_reporter_receives_it(db, settings, relay):
    deliver(db, settings, "plain_report.eml", now=T0)
    report = send(db, settings)
    assert report.sent == 2
    [ack] = relay.to("rita@example.net")
    queued = outbox(db, "reporter/ack")[0]
    token = parties_of(db, find_case(db, "CoC-2026-001"), "reporter")[0].token
    assert ack["Message-ID"] == queued["message_id"]
    assert ack["Subject"] == "[CoC-2026-001] We received your report"
    assert ack["In-Reply-To"] == "<plain-report-1@example.net>"
    assert ack["References"] == "<plain-report-1@example.net>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Casebook-Loop"] == installation_id(db)
    assert ack["Reply-To"] == f"conduct+{token}@example.org"
    assert ack["From"] == "Code of Conduct Committee <conduct@example.org>"
    body = ack.get_content()
    assert "case CoC-2026-001" in body
    assert "physical danger" in body and "law enforcement" in body
    assert "conduct-appeals@example.org" in body
    assert "Ongoing: (yes or no)" in body and "When:" not in body  # only what is missing
    for secret in ("Dave Jones", "stupid", "Problem on the users list", "000123"):
        assert secret not in body and secret not in ack["Subject"]
    envelope_from = relay.messages[0][0]
    assert envelope_from.startswith("conduct-bounces+cb-")
    assert find_case(db, "CoC-2026-001").state == "acknowledged"


def test_new_case_notice_goes_to_the_list_when_nobody_is_conflicted(db, settings, relay):
    deliver(db, settings, "checklist_report.eml", now=T0, sender="chris@example.net")
    send(db, settings)
    [notice] = relay.to("conduct-committee@lists.example.org")
    assert notice["Subject"] == "[CoC-2026-001] New report"
    assert notice["Reply-To"] is None  # the list's own reply handling stays
    assert notice["Auto-Submitted"] == "auto-generated"
    body = notice.get_content()
    assert "Witnesses:    Wendy Witness" in body and "#help" in body
    assert len(relay.messages) == 2


def test_conflicted_member_receives_nothing_about_the_case(db, settings, relay):
    deliver(db, settings, "report_naming_member.eml", now=T0, sender="paula@example.net")
    send(db, settings)
    assert relay.to("bob@example.org") == []
    assert relay.to("conduct-committee@lists.example.org") == []
    notices = {m["To"]: m for m in relay.parsed() if "New report" in m["Subject"]}
    assert set(notices) == {"alice@example.org", "carol@example.org"}
    members = {p.email: p.token for p in parties_of(db, find_case(db, "CoC-2026-001"), "member")}
    for address, message in notices.items():
        assert message["Reply-To"] == f"conduct+{members[address]}@example.org"
    assert len({m["Message-ID"] for m in notices.values()}) == 2
    [conflict] = [m for m in relay.parsed() if "Conflict of interest" in m["Subject"]]
    assert conflict["To"] == "alice@example.org"
    assert "Bob Member <bob@example.org>: named in the report" in conflict.get_content()
    for message in relay.parsed():
        assert "bob@example.org" not in [a.strip() for a in message["To"].split(",")]


def test_conflict_notice_goes_to_the_next_member_when_the_chair_is_conflicted(db, settings, relay):
    raw = (
        b"From: Paula <paula@example.net>\nTo: conduct@example.org\nSubject: chair\n"
        b"Message-ID: <chair-1@example.net>\n\nAlice Chair shouted at me at the sprint.\n"
    )
    deliver(db, settings, raw, now=T0, sender="paula@example.net")
    send(db, settings)
    [conflict] = [m for m in relay.parsed() if "Conflict of interest" in m["Subject"]]
    assert conflict["To"] == "bob@example.org"
    assert relay.to("alice@example.org") == []


def test_token_mode_sends_case_mail_to_each_member(tmp_path, relay):
    settings = load_settings(write_config(tmp_path, relay_port=relay.port, command_auth="token"))
    db = open_archive(settings.database)
    deliver(db, settings, "checklist_report.eml", now=T0, sender="chris@example.net")
    send(db, settings)
    notices = [m for m in relay.parsed() if "New report" in m["Subject"]]
    assert sorted(m["To"] for m in notices) == [
        "alice@example.org",
        "bob@example.org",
        "carol@example.org",
    ]
    assert all(m["Reply-To"].startswith("conduct+") for m in notices)


def test_temporary_failure_is_retried_with_backoff(db, settings, relay):
    relay.refuse["rita@example.net"] = "451 4.7.1 Try again later"
    deliver(db, settings, "plain_report.eml", now=T0)
    report = send(db, settings, T0)
    assert (report.sent, report.postponed) == (1, 1)
    relay.refuse.clear()
    assert send(db, settings, T0 + timedelta(seconds=30)).sent == 0  # not yet due
    assert send(db, settings, T0 + timedelta(seconds=61)).sent == 1
    assert len(relay.to("rita@example.net")) == 1
    assert find_case(db, "CoC-2026-001").state == "acknowledged"


def test_permanent_failure_tells_the_committee(db, settings, relay):
    relay.refuse["rita@example.net"] = "550 5.1.1 No such user"
    deliver(db, settings, "plain_report.eml", now=T0)
    report = send(db, settings)
    assert report.failed == 1
    assert "delivery-failed" in events(db, "CoC-2026-001")
    send(db, settings)
    [problem] = [m for m in relay.parsed() if "could not be delivered" in m["Subject"]]
    assert problem["To"] == "conduct-committee@lists.example.org"
    assert "reporter may never have received it" in problem.get_content()


def test_relay_down_postpones_and_gives_up_after_the_limit(tmp_path):
    settings = load_settings(write_config(tmp_path, relay_port=free_port()))  # nothing listens
    db = open_archive(settings.database)
    deliver(db, settings, "plain_report.eml", now=T0)
    assert send(db, settings, T0).postponed == 2
    assert send(db, settings, T0 + timedelta(minutes=2)).postponed == 2
    later = send(db, settings, T0 + timedelta(days=1, minutes=1))
    assert later.failed == 2
    assert "delivery-failed" in events(db, "CoC-2026-001")


def test_bounce_is_attributed_to_its_case_and_shown_to_the_committee(db, settings, relay):
    deliver(db, settings, "plain_report.eml", now=T0)
    send(db, settings)
    ack_key = [m for m in relay.messages if "rita@example.net" in m[1]][0][0]
    key = ack_key.split("+", 1)[1].split("@", 1)[0]
    result = deliver(
        db,
        settings,
        "dsn_bounce.eml",
        now=T0,
        sender="",
        to=(f"conduct-bounces+{key}@example.org",),
        replace={"BOUNCE-KEY": key},
    )
    assert (result.kind, result.case_ref) == ("bounce", "CoC-2026-001")
    assert "delivery-failed" in events(db, "CoC-2026-001")
    send(db, settings)
    [problem] = [m for m in relay.parsed() if "bounced" in m["Subject"]]
    assert "Status: 5.1.1" in problem.get_content()
    assert "Final-Recipient: rfc822; rita@example.net" in problem.get_content()
    assert len(relay.to("rita@example.net")) == 1  # the bounce itself is never answered


def test_forged_bounces_make_one_notice_and_carry_none_of_their_text(db, settings, relay):
    """The bounce key is visible to the ack's recipient: bounces are evidence, not a channel."""
    deliver(db, settings, "plain_report.eml", now=T0)
    send(db, settings)
    ack_key = [m for m in relay.messages if "rita@example.net" in m[1]][0][0]
    key = ack_key.split("+", 1)[1].split("@", 1)[0]
    for n in range(5):
        forged = fixture_bytes("dsn_bounce.eml").replace(b"BOUNCE-KEY", key.encode())
        forged = forged.replace(b"<dsn-1@", f"<dsn-forged-{n}@".encode()).replace(
            b"your message could not", b"CALL 555-0100 NOW, your message could not"
        )
        deliver(db, settings, forged, now=T0, sender="",
                to=(f"conduct-bounces+{key}@example.org",))  # fmt: skip
    send(db, settings)
    problems = [m for m in relay.parsed() if "bounced" in m["Subject"]]
    assert len(problems) == 1 and "555-0100" not in problems[0].get_content()


def test_two_senders_at_once_send_each_mail_once(db, settings, relay):
    for n in range(15):
        raw = (
            f"From: r{n}@example.net\nTo: conduct@example.org\nSubject: r{n}\n"
            f"Message-ID: <lease-{n}@example.net>\n\nSomeone was rude on the forum.\n"
        ).encode()
        deliver(db, settings, raw, now=T0, sender=f"r{n}@example.net")
    other = open_archive(settings.database)
    barrier = threading.Barrier(2)

    def run(conn, holder):
        barrier.wait()
        for _ in range(5):
            send(conn, settings, holder=holder)

    threads = [
        threading.Thread(target=run, args=(db, "serve")),
        threading.Thread(target=run, args=(other, "tick")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    ids = [m["Message-ID"] for m in relay.parsed()]
    assert len(ids) == 30 and len(set(ids)) == 30


def test_crash_after_the_relay_accepted_sends_one_duplicate_with_the_same_message_id(
    db, settings, relay, monkeypatch
):
    deliver(db, settings, "plain_report.eml", now=T0)
    real_record = archive.record.send_results.record_copy

    class Crash(BaseException):
        pass

    def crash_once(*args, **kwargs):
        monkeypatch.setattr("mailer.send.record_copy", real_record)
        raise Crash  # the process dies between the relay's 250 and our commit

    monkeypatch.setattr("mailer.send.record_copy", crash_once)
    with pytest.raises(Crash):
        send(db, settings, holder="crashed")
    db.execute("DELETE FROM leases")  # the dead process's lease expires
    send(db, settings)
    send(db, settings)
    first_ids = [m["Message-ID"] for m in relay.parsed()]
    assert len(first_ids) == 3 and len(set(first_ids)) == 2
    assert first_ids[0] == first_ids[1]


def test_no_header_injection_from_any_field():
    raw = compose_message(
        Outgoing(
            from_name="Committee\r\nBcc: evil@example.com",
            from_addr="conduct@example.org",
            to=("rita@example.net\r\nBcc: evil@example.com",),
            subject="Hello\r\nBcc: evil@example.com",
            text="body",
            html=None,
            message_id="<x@example.org>",
            date=T0,
            auto_submitted="auto-replied",
            loop_id="loop",
            reply_to="conduct+x@example.org\nX-Evil: 1",
            case_ref="CoC-2026-001",
        )
    )
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert not any(
        line.lower().startswith((b"bcc:", b"x-evil:")) for line in header_block.split(b"\r\n")
    )


def test_relay_login_with_a_password_file_that_never_reaches_the_archive(tmp_path, caplog):
    from aiosmtpd.smtp import AuthResult

    from tests.support.base import RelaySink

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-relay-pass")

    # Loopback only; production relays use starttls = true.
    sink = RelaySink(authenticator=authenticator, auth_require_tls=False)
    sink.controller.start()
    try:
        secret = tmp_path / "relay-password"
        secret.write_text("s3cret-relay-pass\n")
        extra_relay = f'username = "casebook"\npassword_file = "{secret}"\n'
        config = write_config(tmp_path, relay_port=sink.port)
        config.write_text(
            config.read_text().replace("timeout = 5\n", "timeout = 5\n" + extra_relay)
        )
        settings = load_settings(config)
        db = open_archive(settings.database)
        deliver(db, settings, "plain_report.eml", now=T0)
        assert send(db, settings).sent == 2
        assert seen[0] == (b"casebook", b"s3cret-relay-pass")
        db.close()
        assert b"s3cret" not in (tmp_path / "casebook.db").read_bytes()
        assert "s3cret" not in caplog.text
    finally:
        sink.controller.stop()


def test_casebook_signs_its_own_mail_when_configured(tmp_path, relay):
    import dkim

    from tests.support.mailbuild import KEYS

    config = write_config(tmp_path, relay_port=relay.port)
    config.write_text(
        config.read_text()
        + '\n[mailer.dkim]\ndomain = "example.org"\nselector = "test"\n'
        + f'private_key_file = "{KEYS / "example.org.key"}"\n'
    )
    settings = load_settings(config)
    db = open_archive(settings.database)
    deliver(db, settings, "plain_report.eml", now=T0)
    send(db, settings)
    raw = [m[2] for m in relay.messages if "rita@example.net" in m[1]][0]
    public = (KEYS / "example.org.pub").read_text().strip()

    def dns(name, timeout=5):
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(raw, dnsfunc=dns)
