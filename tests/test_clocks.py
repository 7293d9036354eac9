"""The policy's clocks with a clock we set: each fires once, at its time, never before."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.cases import find_case
from archive.clocks import fire_due
from archive.db import open_archive
from mailer.send import send_due
from tests.committee import BOB, CAROL, dkim_settings, reported
from tests.conftest import T0
from tests.helpers import events, outbox

SECOND = timedelta(seconds=1)


@pytest.fixture
def committee(tmp_path, relay):
    yield from reported(tmp_path, relay_port=relay.port)


def kinds(fired):
    return [f.kind for f in fired]


def test_the_one_week_update_fires_once_at_day_6_and_day_7(committee):
    db, settings = committee.db, committee.settings
    assert "timeline-request" not in kinds(fire_due(db, settings, T0 + timedelta(days=6) - SECOND))
    assert kinds(fire_due(db, settings, T0 + timedelta(days=6))) == ["timeline-request"]
    assert fire_due(db, settings, T0 + timedelta(days=6, hours=1)) == []
    assert outbox(db, "committee/timeline_request")
    assert kinds(fire_due(db, settings, T0 + timedelta(days=7))) == ["reporter-update"]
    [update] = outbox(db, "reporter/update")
    # The default projection: 14 days after the update, in the committee's time zone.
    assert update["context"]["timeline"] == "23 March 2026"
    assert fire_due(db, settings, T0 + timedelta(days=30)) == []


def test_timeline_set_by_the_committee_is_what_the_reporter_hears(committee):
    committee.say("#timeline 2026-03-20", now=T0 + timedelta(days=6, hours=2))
    fire_due(committee.db, committee.settings, T0 + timedelta(days=7))
    assert outbox(committee.db, "reporter/update")[0]["context"]["timeline"] == "20 March 2026"


def test_timeline_after_the_update_went_sends_a_new_update_at_once(committee):
    fire_due(committee.db, committee.settings, T0 + timedelta(days=7))
    committee.say("#timeline 2026-04-01", now=T0 + timedelta(days=8))
    updates = outbox(committee.db, "reporter/update")
    assert [u["context"]["timeline"] for u in updates] == ["23 March 2026", "1 April 2026"]


def test_closing_stops_the_week_clocks(committee):
    committee.say("#close resolved publicly", now=T0 + timedelta(days=1))
    fired = kinds(fire_due(committee.db, committee.settings, T0 + timedelta(days=9)))
    assert "timeline-request" not in fired and "reporter-update" not in fired
    assert outbox(committee.db, "reporter/update") == []


def test_ack_watchdog_fires_only_if_the_ack_did_not_go(committee, relay):
    db, settings = committee.db, committee.settings
    assert kinds(fire_due(db, settings, T0 + timedelta(hours=1))) == ["ack-watchdog"]
    assert outbox(db, "committee/ack_overdue")
    committee.report("checklist_report.eml", sender="chris@example.net")
    send_due(db, settings, T0, holder="t", wall_clock=lambda: T0)
    fired = fire_due(db, settings, T0 + timedelta(hours=2))
    assert "ack-watchdog" not in kinds(fired)
    assert len(outbox(db, "committee/ack_overdue")) == 1


def test_deadlock_escalates_after_a_week_without_consensus(committee):
    committee.say("#propose hiatus\nStatement: Take a break.\nEnd of statement")
    committee.say("#object too soon", sender=BOB)
    db, settings = committee.db, committee.settings
    assert "deadlock" not in kinds(fire_due(db, settings, T0 + timedelta(days=7) - SECOND))
    assert "deadlock" in kinds(fire_due(db, settings, T0 + timedelta(days=7)))
    assert find_case(db, "CoC-2026-001").state == "escalated"
    [escalation] = outbox(db, "council/escalation")
    assert escalation["context"]["votes"] == {"agree": 1, "object": 1, "abstain": 0}


def test_consensus_or_a_new_proposal_cancels_the_deadlock(committee):
    committee.say("#propose hiatus\nStatement: Take a break.\nEnd of statement")
    committee.say(
        "#propose private-reprimand\nStatement: Stop.\nEnd of statement", now=T0 + timedelta(days=3)
    )
    committee.say("#agree", sender=BOB, now=T0 + timedelta(days=3))
    committee.say("#agree", sender=CAROL, now=T0 + timedelta(days=3))
    fired = fire_due(committee.db, committee.settings, T0 + timedelta(days=20))
    assert "deadlock" not in kinds(fired)
    assert outbox(committee.db, "council/escalation") == []


def test_unilateral_reminder_at_20_hours_unless_recorded(committee):
    committee.say("#urgent")
    fired = fire_due(committee.db, committee.settings, T0 + timedelta(hours=20))
    assert "unilateral-reminder" in kinds(fired)
    [reminder] = outbox(committee.db, "committee/unilateral_reminder")
    assert reminder["to_addr"] == "alice@example.org"


def test_unilateral_record_stops_the_reminder(committee):
    committee.say("#urgent")
    committee.say("#unilateral removed him from the chat", now=T0 + timedelta(hours=2))
    assert "unilateral-action" in events(committee.db, "CoC-2026-001")
    assert outbox(committee.db, "committee/unilateral")
    fire_due(committee.db, committee.settings, T0 + timedelta(hours=21))
    assert outbox(committee.db, "committee/unilateral_reminder") == []


def test_down_longer_than_any_grace_fires_once_and_says_it_was_late(committee):
    fired = fire_due(committee.db, committee.settings, T0 + timedelta(days=60))
    assert sorted(kinds(fired)) == ["ack-watchdog", "reporter-update", "timeline-request"]
    assert all(f.late for f in fired)
    # The six-day request for a timeline is stale once the one-week update is due too.
    assert {f.kind: f.outcome for f in fired}["timeline-request"] == "stale"
    [summary] = outbox(committee.db, "committee/catch_up")
    assert {n["kind"] for n in summary["context"]["fired"]} == {"ack-watchdog", "reporter-update"}
    assert [n["kind"] for n in summary["context"]["skipped"]] == ["timeline-request"]
    assert outbox(committee.db, "committee/timeline_request") == []
    assert fire_due(committee.db, committee.settings, T0 + timedelta(days=61)) == []


def test_scheduled_enact_and_send(committee):
    c = committee
    c.say(
        "#responsible Dave <dave@example.com>\n#propose private-reprimand\n"
        "Statement: Stop it.\nEnd of statement"
    )
    c.say("#agree", sender=BOB)
    c.say("#agree", sender=CAROL)
    c.say("#consult")
    c.say("#enact 2026-03-20", now=T0 + timedelta(days=6))
    assert find_case(c.db, "CoC-2026-001").state == "enacting"
    assert outbox(c.db, "reported/private_reprimand") == []
    # 2026-03-20 09:00 Europe/Berlin is 08:00 UTC.
    assert "enact" not in kinds(fire_due(c.db, c.settings, T0.replace(day=20, hour=7, minute=59)))
    assert "enact" in kinds(fire_due(c.db, c.settings, T0.replace(day=20, hour=8)))
    assert outbox(c.db, "reported/private_reprimand")
    assert find_case(c.db, "CoC-2026-001").state == "resolved"
    c.say("#send missing-information to reporter on 2026-04-01", now=T0.replace(day=21))
    assert outbox(c.db, "reporter/missing_information") == []
    fire_due(c.db, c.settings, T0.replace(month=4, day=1, hour=8))
    assert len(outbox(c.db, "reporter/missing_information")) == 1


def test_imported_history_starts_no_clocks(tmp_path):
    from archive.ingest import ingest_message
    from intake.parse import parse_message
    from tests.conftest import fixture_bytes

    settings = dkim_settings(tmp_path)
    db = open_archive(settings.database)
    msg = parse_message(fixture_bytes("plain_report.eml"), envelope_from="rita@example.net",
                        envelope_to=("conduct@example.org",), settings=settings, loop_id="x",
                        historical=True)  # fmt: skip
    ingest_message(db, msg, settings, T0)
    assert db.execute("SELECT COUNT(*) FROM deadlines").fetchone()[0] == 0


def test_unilateral_ban_in_an_urgent_case_and_its_expiry(committee):
    c = committee
    c.say("#ban dave@example.com 30d chat")
    assert "outside an urgent case" in c.lines()[0][1]
    c.say("#urgent\n#ban dave@example.com 30d chat,lists", sender=BOB)
    assert [q["to_addr"] for q in outbox(c.db, "reported/ban_notice")] == ["dave@example.com"]
    assert outbox(c.db, "core/ban_notice")[0]["to_addr"] == "core@example.org"
    assert "unilateral-action" in events(c.db, "CoC-2026-001")
    from archive.bans import list_bans

    [ban] = list_bans(c.db)
    assert (ban["who"], ban["spaces"], ban["status"], ban["unilateral"]) == (
        "dave@example.com", "chat,lists", "active", True,
    )  # fmt: skip
    assert "ban-expiry" not in kinds(fire_due(c.db, c.settings, T0 + timedelta(days=30) - SECOND))
    assert "ban-expiry" in kinds(fire_due(c.db, c.settings, T0 + timedelta(days=30)))
    assert list_bans(c.db)[0]["status"] == "ended"
    assert outbox(c.db, "reported/unban_notice") and outbox(c.db, "committee/ban_expired")


def test_permanent_ban_by_enact_is_registered_reviewed_yearly_and_can_be_lifted(committee):
    c = committee
    c.say(
        "#responsible Dave <dave@example.com>\n#propose permanent-ban all\n"
        "Statement: You are banned.\nEnd of statement"
    )
    c.say("#agree", sender=BOB)
    c.say("#agree", sender=CAROL)
    c.say("#consult")
    c.say("#enact", now=T0 + timedelta(days=6))
    from archive.bans import list_bans

    [ban] = list_bans(c.db)
    assert ban["permanent"] and ban["review_at"].startswith("2027-03-08")
    assert "ban-review" in kinds(fire_due(c.db, c.settings, T0 + timedelta(days=372)))
    assert outbox(c.db, "committee/ban_review")
    c.say("#reopen\n#unban dave@example.com", now=T0 + timedelta(days=400))
    assert list_bans(c.db)[0]["status"] == "lifted"
    assert outbox(c.db, "core/unban_notice")
    assert fire_due(c.db, c.settings, T0 + timedelta(days=800)) == []
