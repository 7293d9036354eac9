"""The council's weekly digest: once a week, DST-safe, anonymised, conflicts respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from archive.db import open_archive
from archive.digest import digest_slot, send_digest_if_due
from casebook.config import load_settings
from mailer.send import send_due
from tests.conftest import MEMBERS, T0, write_config
from tests.helpers import deliver, outbox

TWO_COUNCIL = MEMBERS + '\n[[council]]\nname = "Frank Council"\nemail = "frank@example.org"\n'


def settings_for(tmp_path, relay_port=1, **values):
    extra = values.pop("digest", "")
    config = write_config(tmp_path, relay_port=relay_port, **values)
    if extra:
        config.write_text(config.read_text() + "\n[digest]\n" + extra)
    return load_settings(config)


def sweep_day(db, settings, day_utc: datetime, step=timedelta(minutes=10)) -> int:
    queued, now = 0, day_utc
    while now < day_utc + timedelta(days=1):
        queued += send_digest_if_due(db, settings, now)
        now += step
    return queued


def test_default_slot_is_monday_0900_in_the_committee_zone(tmp_path):
    settings = settings_for(tmp_path)  # Europe/Berlin
    # Wednesday 2026-03-04: the slot is Monday 2026-03-02 09:00 CET = 08:00 UTC.
    assert digest_slot(settings, datetime(2026, 3, 4, 12, tzinfo=UTC)) == datetime(
        2026, 3, 2, 8, tzinfo=UTC
    )
    # In summer time it is 07:00 UTC.
    assert digest_slot(settings, datetime(2026, 6, 10, tzinfo=UTC)) == datetime(
        2026, 6, 8, 7, tzinfo=UTC
    )


def test_sent_once_a_week_however_often_the_sweep_runs(tmp_path):
    settings = settings_for(tmp_path)
    db = open_archive(settings.database)
    assert send_digest_if_due(db, settings, T0) == 0  # first run: only remembers "since"
    week = T0 + timedelta(days=7)
    assert sweep_day(db, settings, week.replace(hour=0)) == 1
    assert sweep_day(db, settings, week.replace(hour=0) + timedelta(days=1)) == 0
    assert len(outbox(db, "council/digest")) == 1


def test_a_digest_missed_for_weeks_is_sent_once(tmp_path):
    settings = settings_for(tmp_path)
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, T0)
    back = T0 + timedelta(weeks=3, days=2)
    assert send_digest_if_due(db, settings, back) == 1
    assert send_digest_if_due(db, settings, back + timedelta(hours=1)) == 0
    assert len(outbox(db, "council/digest")) == 1


def test_dst_spring_forward_and_fall_back_at_0230_berlin(tmp_path):
    """02:30 does not exist on 2026-03-29 and happens twice on 2026-10-25 (both Sundays)."""
    settings = settings_for(tmp_path, digest='weekday = "sunday"\ntime = "02:30"\n')
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, datetime(2026, 3, 22, 12, tzinfo=UTC))  # installed
    assert sweep_day(db, settings, datetime(2026, 3, 28, 12, tzinfo=UTC)) == 1
    assert sweep_day(db, settings, datetime(2026, 3, 29, 12, tzinfo=UTC)) == 0
    assert send_digest_if_due(db, settings, datetime(2026, 10, 24, tzinfo=UTC)) == 1  # missed
    assert sweep_day(db, settings, datetime(2026, 10, 24, 12, tzinfo=UTC)) == 1
    assert sweep_day(db, settings, datetime(2026, 10, 25, 12, tzinfo=UTC)) == 0
    slots = [row[0] for row in db.execute("SELECT slot FROM digests ORDER BY slot")]
    # Spring forward: 02:30 does not exist, the digest goes at 03:30 CEST (01:30 UTC).
    # Fall back: 02:30 happens twice, the digest goes once, at the first (00:30 UTC).
    assert slots[0] == "2026-03-29T01:30:00.000000+00:00"
    assert slots[-1] == "2026-10-25T00:30:00.000000+00:00"


def test_digest_is_anonymised(tmp_path, relay):
    settings = settings_for(tmp_path, relay_port=relay.port)
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, T0 - timedelta(days=1))
    raw = (
        b"From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
        b"Subject: Dave Canaryjones was rude\r\nMessage-ID: <canary@example.net>\r\n\r\n"
        b"Names: Dave Canaryjones\r\nWhen: yesterday\r\n"
    )
    deliver(db, settings, raw, now=T0)
    assert send_digest_if_due(db, settings, T0 + timedelta(days=7)) == 1
    send_due(db, settings, T0 + timedelta(days=7), holder="t",
             wall_clock=lambda: T0 + timedelta(days=7))  # fmt: skip
    [digest] = relay.to("council@example.org")
    text = digest.as_string()
    assert "CoC-2026-001" in digest.get_body(("plain",)).get_content()
    assert "Canary" not in text and "rita@" not in text
    html = digest.get_body(("html",)).get_content()
    assert "<svg" not in html and 'bgcolor="#4a7ab5"' in html


def test_conflicted_council_member_gets_a_digest_without_the_case(tmp_path, relay):
    settings = settings_for(tmp_path, relay_port=relay.port, members=TWO_COUNCIL)
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, T0 - timedelta(days=1))
    raw = (
        b"From: Rita <rita@example.net>\r\nTo: conduct@example.org\r\nSubject: council\r\n"
        b"Message-ID: <erin@example.net>\r\n\r\nErin Council was rude to me at the sprint.\r\n"
    )
    deliver(db, settings, raw, now=T0)
    deliver(db, settings, "checklist_report.eml", now=T0, sender="chris@example.net")
    assert send_digest_if_due(db, settings, T0 + timedelta(days=7)) == 2
    send_due(db, settings, T0 + timedelta(days=7), holder="t",
             wall_clock=lambda: T0 + timedelta(days=7))  # fmt: skip
    erin = relay.to("erin@example.org")[0].get_body(("plain",)).get_content()
    frank = relay.to("frank@example.org")[0].get_body(("plain",)).get_content()
    assert "CoC-2026-001" not in erin and "CoC-2026-002" in erin and "left out" in erin
    assert "CoC-2026-001" in frank and "CoC-2026-002" in frank
    assert relay.to("council@example.org") == []
