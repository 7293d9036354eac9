"""What was written twice and now is written once (issue 19): each passage that did the same
thing in two places is one function, and both of its callers still do what they did."""

from __future__ import annotations

from archive.cases import find_case
from tests.conftest import T0
from tests.helpers import deliver, events, outbox
from tests.test_intake_wording import followup


def test_an_urgent_report_and_an_urgent_followup_raise_one_alert_each_in_its_place(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0)
    followup(db, settings, "He has now threatened me in private messages.", 1)
    assert find_case(db, "CoC-2026-001").urgent
    [alert] = outbox(db, "committee/urgent")
    assert alert["in_reply_to"] == "<wording-11@example.net>"  # under the follow-up
    assert alert["context"]["acknowledgement"] == "followup"
    assert events(db, "CoC-2026-001").count("marked-urgent") == 1
    deliver(db, settings, "urgent_report.eml", now=T0, sender="uma@example.net")
    alert = outbox(db, "committee/urgent")[-1]
    assert alert["in_reply_to"] is None  # a new case's alert starts its thread
    assert alert["context"]["acknowledgement"] == "sent"
    assert find_case(db, "CoC-2026-002").urgent
