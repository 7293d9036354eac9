"""One bad outbox item never stops the others; internationalised addresses over real SMTP."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

import pytest

from archive.db import open_archive
from archive.settings import load_settings
from mailer.send import send_due
from mailer.transport import RelaySession
from tests.conftest import ROOT, T0, RelaySink, write_config
from tests.helpers import deliver

IDN_REPORTER = "rité@exämple.net"
ACK_SUBJECT = "We received your report"
PROBLEM_SUBJECT = "could not be delivered"


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
