"""One bad outbox item never stops the others; internationalised addresses over real SMTP."""

from __future__ import annotations

import dataclasses
import logging
import smtplib
from datetime import timedelta

import pytest

from archive.record.cases import find_case
from archive.record.db import open_archive
from casebook.config import load_settings
from mailer.send import send_due
from mailer.transport import RelaySession
from tests.support.base import ROOT, T0, RelaySink, write_config
from tests.support.helpers import deliver, events
from tests.support.waiting import wait_until

IDN_REPORTER = "rité@exämple.net"
IDN_DOMAIN_REPORTER = "rita@exämple.net"
ACK_SUBJECT = "We received your report"
PROBLEM_SUBJECT = "could not be delivered"


@pytest.fixture
def utf8_relay():
    sink = RelaySink(enable_SMTPUTF8=True)
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def ascii_relay():
    """A relay without SMTPUTF8 (aiosmtpd's Controller, and so `relay`, offers it by default)."""
    sink = RelaySink(enable_SMTPUTF8=False)
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def archive_for(tmp_path):
    """(db, settings) for a casebook whose relay is the given sink."""
    opened = []

    def make(sink: RelaySink):
        settings = load_settings(write_config(tmp_path, relay_port=sink.port))
        opened.append(open_archive(settings.database))
        return opened[-1], settings

    yield make
    for db in opened:
        db.close()


def send(db, settings, now=T0):
    return send_due(db, settings, now, holder="test", wall_clock=lambda: now)


def report_from(db, settings, sender: str, n: int):
    """The plain report, as sent by `sender` with its own Message-ID."""
    replace = {"rita@example.net": sender, "plain-report-1": f"isolation-{n}"}
    return deliver(db, settings, "plain_report.eml", now=T0, sender=sender, replace=replace)


def three_reports(db, settings, first: str = IDN_REPORTER) -> None:
    """`first` reports before two ASCII reporters, so its ack is queued first."""
    for n, sender in enumerate((first, "sam@example.net", "tom@example.net"), 1):
        report_from(db, settings, sender, n)


def acks_to(sink: RelaySink, address: str) -> list:
    return [m for m in sink.to(address) if ACK_SUBJECT in m["Subject"]]


def status_of(db, to_addr: str) -> tuple[str, int, str | None]:
    return db.execute(
        "SELECT status, attempts, last_error FROM outbox WHERE to_addr = ?", [to_addr]
    ).fetchone()


def problem_notices(sink: RelaySink, case_ref: str) -> list:
    return [
        m
        for m in sink.to("conduct-committee@lists.example.org")
        if PROBLEM_SUBJECT in m["Subject"] and case_ref in m["Subject"]
    ]


def test_idn_ack_first_in_the_outbox_goes_with_smtputf8_and_the_others_go_too(
    archive_for, utf8_relay
):
    db, settings = archive_for(utf8_relay)
    three_reports(db, settings)
    report = send(db, settings)
    assert (report.sent, report.failed, report.postponed) == (6, 0, 0)
    assert len(acks_to(utf8_relay, "sam@example.net")) == 1
    assert len(acks_to(utf8_relay, "tom@example.net")) == 1
    [ack] = acks_to(utf8_relay, IDN_REPORTER)  # the envelope recipient, as the reporter wrote it
    assert ack["To"] == IDN_REPORTER
    assert ack["Subject"] == f"[CoC-2026-001] {ACK_SUBJECT}"
    assert find_case(db, "CoC-2026-001").state == "acknowledged"


def test_idn_ack_without_smtputf8_at_the_relay_fails_alone_and_the_committee_is_told(
    archive_for, ascii_relay
):
    relay = ascii_relay
    db, settings = archive_for(relay)
    three_reports(db, settings)
    report = send(db, settings)
    assert (report.sent, report.failed) == (5, 1)
    assert len(acks_to(relay, "sam@example.net")) == 1
    assert len(acks_to(relay, "tom@example.net")) == 1
    status, _, error = status_of(db, IDN_REPORTER)
    assert status == "failed" and "SMTPUTF8" in error
    assert all(rcpts[0].isascii() for _, rcpts, _, _ in relay.messages)
    send(db, settings)
    [notice] = problem_notices(relay, "CoC-2026-001")
    assert "reporter may never have received it" in notice.get_content()
    assert "SMTPUTF8" in notice.get_content()
    assert find_case(db, "CoC-2026-001").state == "received"  # still a case, not acknowledged
    assert "delivery-failed" in events(db, "CoC-2026-001")


def test_idn_domain_goes_as_idna_when_the_relay_has_no_smtputf8(archive_for, ascii_relay):
    relay = ascii_relay
    db, settings = archive_for(relay)
    three_reports(db, settings, first=IDN_DOMAIN_REPORTER)
    assert send(db, settings).sent == 6
    ascii_form = "rita@xn--exmple-cua.net"
    [ack] = acks_to(relay, ascii_form)
    assert ack["To"] == ascii_form
    assert find_case(db, "CoC-2026-001").state == "acknowledged"


def test_a_template_that_raises_for_one_item_fails_that_item_only(archive_for, relay, tmp_path):
    db, settings = archive_for(relay)
    site = tmp_path / "site-templates"
    (site / "reporter").mkdir(parents=True)
    real = (ROOT / "templates" / "reporter" / "ack.txt").read_text()
    # A site template with a bug that only one case's values reach.
    broken = '{% if case_ref.endswith("-002") %}{{ 1 // 0 }}{% endif %}'
    (site / "reporter" / "ack.txt").write_text(real.replace("\n", "\n" + broken, 1))
    settings = dataclasses.replace(settings, templates_override=site)
    three_reports(db, settings, first="rita@example.net")
    report = send(db, settings)
    assert (report.sent, report.failed) == (5, 1)
    assert len(acks_to(relay, "rita@example.net")) == 1
    assert acks_to(relay, "sam@example.net") == []
    assert len(acks_to(relay, "tom@example.net")) == 1
    send(db, settings)
    assert len(problem_notices(relay, "CoC-2026-002")) == 1


def test_the_relay_refusing_one_recipient_at_rcpt_fails_that_item_only(archive_for, relay):
    relay.refuse["rita@example.net"] = "550 5.1.1 No such user"
    db, settings = archive_for(relay)
    three_reports(db, settings, first="rita@example.net")
    report = send(db, settings)
    assert (report.sent, report.failed) == (5, 1)
    assert len(acks_to(relay, "sam@example.net")) == 1
    assert len(acks_to(relay, "tom@example.net")) == 1
    assert status_of(db, "rita@example.net")[0] == "failed"
    send(db, settings)
    assert len(problem_notices(relay, "CoC-2026-001")) == 1


def test_an_item_that_keeps_crashing_is_postponed_then_failed_and_never_blocks(
    archive_for, relay, caplog
):
    db, settings = archive_for(relay)
    three_reports(db, settings, first="rita@example.net")
    # A corrupted row: its context is no longer a mapping, so building it raises TypeError.
    db.execute("UPDATE outbox SET context = '[]' WHERE to_addr = 'rita@example.net'")
    with caplog.at_level(logging.ERROR, logger="mailer.send"):
        report = send(db, settings)
    assert (report.sent, report.postponed) == (5, 1)
    assert len(acks_to(relay, "sam@example.net")) == 1
    assert len(acks_to(relay, "tom@example.net")) == 1
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.exc_info and logged.exc_info[0] is TypeError  # the traceback is in the log
    assert status_of(db, "rita@example.net")[:2] == ("queued", 1)
    assert send(db, settings, T0 + timedelta(seconds=30)).postponed == 0  # backoff: not yet due
    assert send(db, settings, T0 + timedelta(minutes=1)).postponed == 1
    assert status_of(db, "rita@example.net")[:2] == ("queued", 2)
    assert send(db, settings, T0 + timedelta(minutes=6)).failed == 1
    assert status_of(db, "rita@example.net")[0] == "failed"
    assert send(db, settings, T0 + timedelta(hours=1)).sent == 1  # the committee's notice
    assert len(problem_notices(relay, "CoC-2026-001")) == 1
    assert acks_to(relay, "rita@example.net") == []


def test_a_connection_broken_mid_transaction_does_not_poison_the_next_send(tmp_path, relay):
    settings = load_settings(write_config(tmp_path, relay_port=relay.port))
    raw = b"From: conduct@example.org\r\nSubject: t\r\n\r\nbody\r\n"
    with RelaySession(settings.relay) as session:
        # MAIL FROM is accepted, then the non-ASCII RCPT cannot be written without SMTPUTF8.
        with pytest.raises(UnicodeEncodeError):
            session.send("conduct-bounces@example.org", (IDN_REPORTER,), raw)
        session.send("conduct-bounces@example.org", ("sam@example.net",), raw)
    relay.wait_for(1)
    assert relay.messages[0][1] == ["sam@example.net"]


def test_serve_acknowledges_an_ascii_reporter_after_an_smtputf8_report(serve, relay):
    idn = (
        f"From: Rité <{IDN_REPORTER}>\r\nTo: conduct@example.org\r\n"
        "Subject: Problem in the chat\r\nMessage-ID: <idn-1@exämple.net>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Someone was rude to me in the chat yesterday.\r\n"
    ).encode()
    ascii_report = (
        b"From: Sam <sam@example.net>\r\nTo: conduct@example.org\r\n"
        b"Subject: Problem on the forum\r\nMessage-ID: <ascii-1@example.net>\r\n\r\n"
        b"Someone was rude to me on the forum yesterday.\r\n"
    )
    with smtplib.SMTP("127.0.0.1", serve.port, timeout=10) as client:
        client.sendmail(IDN_REPORTER, ["conduct@example.org"], idn, mail_options=["SMTPUTF8"])
        client.sendmail("sam@example.net", ["conduct@example.org"], ascii_report)
    acks = wait_until(lambda: acks_to(relay, "sam@example.net"), "Sam's acknowledgement", 15,
                      detail=serve.output)  # fmt: skip
    assert len(acks) == 1, serve.output()
    relay.wait_for(4)  # and, this relay offering SMTPUTF8, Rité's ack and both new-case notices
    assert len(acks_to(relay, IDN_REPORTER)) == 1
