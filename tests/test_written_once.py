"""What was written twice and now is written once (issue 19): each passage that did the same
thing in two places is one function, and both of its callers still do what they did."""

from __future__ import annotations

import json

import pytest

from archive.cases import find_case
from intake.parse import fallback_message, parse_message
from tests.conftest import ROOT, T0, fixture_bytes
from tests.helpers import deliver, events, outbox
from tests.test_intake_wording import followup
from tests.test_mailer import send
from webform.app import HONEYPOT, page_environment

# What a message's bytes, envelope and From give every reading of it alike.
DELIVERED = ("raw", "sha256", "content_key", "envelope_from", "envelope_to", "route")
DELIVERED += ("transport", "from_addr", "from_name", "from_problem", "bounce_key", "historical")


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


def mailer_events(db) -> list[tuple]:
    rows = db.execute("SELECT action, detail, message_pk FROM events WHERE actor = 'mailer'")
    return [(action, json.loads(detail), pk) for action, detail, pk in rows]


def test_the_mailer_words_sent_failed_and_bounced_mail_alike(db, settings, relay):
    """Sent, failed and bounced: one function writes the audit entry, naming the template."""
    relay.refuse["rita@example.net"] = "550 5.1.1 No such user"
    deliver(db, settings, "plain_report.eml", now=T0)
    send(db, settings)
    ack_id = outbox(db, "reporter/ack")[0]["message_id"]
    key = ack_id[1:].split("@", 1)[0]  # the bounce address's tag: the Message-ID's left part
    deliver(db, settings, "dsn_bounce.eml", now=T0, sender="",
            to=(f"conduct-bounces+{key}@example.org",), replace={"BOUNCE-KEY": key})  # fmt: skip
    [failed, sent, bounced] = mailer_events(db)  # the ack first, then the notice
    new_case_id = outbox(db, "committee/new_case")[0]["message_id"]
    assert sent == (
        "mail-sent",
        {"template": "committee/new_case", "message_id": new_case_id},
        None,
    )
    assert failed[0] == "delivery-failed" and failed[2] is None
    assert failed[1] == {"template": "reporter/ack", "error": failed[1]["error"]}
    assert "550 5.1.1" in failed[1]["error"]
    assert bounced[0] == "delivery-failed" and bounced[2] is not None  # the bounce's own message
    assert bounced[1] == {"template": "reporter/ack", "bounced_message": ack_id}


def test_conflicts_already_recorded_are_filtered_out_in_one_place():
    """A follow-up's conflicts, a merged message's and a members' recheck: one filter drops what
    the case has recorded (`conflicts_of_followup` filtered, then filtered the same list again)."""
    source = (ROOT / "archive" / "conflicts.py").read_text(encoding="utf-8")
    assert source.count("not in known") == 1


@pytest.mark.parametrize(
    ("fixture", "to"),
    [
        ("plain_report.eml", "conduct@example.org"),
        ("dsn_bounce.eml", "conduct-bounces+k1@example.org"),
    ],
)
def test_the_full_and_the_plain_reading_agree_on_what_was_delivered(settings, fixture, to):
    """`parse_message` and `fallback_message` fill what came with the bytes from one function."""
    raw = fixture_bytes(fixture)
    delivery = {
        "envelope_from": "rita@example.net",
        "envelope_to": (to,),
        "settings": settings,
        "loop_id": "loop",
        "transport": "lmtp",
        "historical": True,
    }
    full = parse_message(raw, **delivery)
    plain = fallback_message(raw, problem="a test", **delivery)
    assert {name: getattr(plain, name) for name in DELIVERED} == {
        name: getattr(full, name) for name in DELIVERED
    }
    assert full.transport == "lmtp" and full.historical and full.from_addr is not None


def test_every_form_has_the_one_honeypot_the_handlers_check():
    """The report form and the follow-up page include one trap, named by the handlers' HONEYPOT."""
    pages = sorted((ROOT / "webform" / "pages").glob("*.html"))
    assert [p.name for p in pages if 'class="trap"' in p.read_text()] == ["trap.html"]
    forms = [p.read_text() for p in pages if "<form" in p.read_text()]
    assert len(forms) == 2 and all('{% include "trap.html"' in form for form in forms)
    page = page_environment().get_template("trap.html").render()
    assert f'name="{HONEYPOT}"' in page and f'id="{HONEYPOT}"' in page


def test_a_reports_conflicts_and_a_followups_are_recorded_by_one_function(db, settings):
    """The report's own conflicts are recorded as a follow-up's are (`record_conflicts`; see
    test_conflicts_everywhere), by intake and as found: no "(in a follow-up)"."""
    deliver(db, settings, "report_naming_member.eml", now=T0, sender="paula@example.net")
    rows = db.execute("SELECT actor, detail FROM events WHERE action = 'conflict-detected'")
    [(actor, detail)] = [(actor, json.loads(detail)) for actor, detail in rows]
    assert (actor, detail["member"]) == ("intake", "bob@example.org")
    assert "(" not in detail["reason"]  # no "(in a follow-up)": it came with the report
    [notice] = outbox(db, "chair/conflict")
    assert notice["context"]["kind"] == "applied"
    assert notice["context"]["conflicts"][0] | {"line": ""} == {
        "member": "bob@example.org", "name": "Bob Member", "reason": detail["reason"], "line": ""
    }  # fmt: skip
