"""Mediation: voluntary, the reporter first, a common mediator, two weeks, a vetted report."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from archive.record.cases import find_case, parties_of
from archive.record.db import open_archive
from archive.workflow.clock_sweep import fire_due
from archive.workflow.mediation import current_mediation
from tests.support.base import T0
from tests.support.committee import Committee, dkim_settings
from tests.support.helpers import deliver, outbox


@pytest.fixture
def committee(tmp_path):
    settings = dkim_settings(tmp_path)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    c.say("#responsible Dave Jones <dave@example.com>")
    yield c
    db.close()


def reply_as(c, role: str, text: str, n: int):
    case = find_case(c.db, "CoC-2026-001")
    party = parties_of(c.db, case, role)[0]
    raw = (
        f"From: {party.email}\r\nTo: conduct+{party.token}@example.org\r\n"
        "Subject: Re: mediation\r\n"
        f"Message-ID: <med{n}@example.net>\r\n\r\n{text}\r\n"
    ).encode()
    return deliver(c.db, c.settings, raw, now=T0 + timedelta(hours=n), sender=party.email,
                   to=(f"conduct+{party.token}@example.org",))  # fmt: skip


def invited(c) -> list[str]:
    rows = c.db.execute(
        "SELECT p.role FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'party/mediation_invitation' ORDER BY o.id"
    )
    return [r[0] for r in rows]


def test_reporter_first_then_reported_then_settled_with_reminders_and_report(committee):
    c = committee
    c.say("#mediation propose Max Mediator <max@example.net>")
    assert find_case(c.db, "CoC-2026-001").state == "mediation"
    assert invited(c) == ["reporter"]  # the reported person is not asked yet
    reply_as(c, "reporter", "Yes, I am willing to try.", 1)
    assert invited(c) == ["reporter", "reported"]
    reply_as(c, "reported", "yes", 2)
    mediation = current_mediation(c.db, find_case(c.db, "CoC-2026-001"))
    assert mediation.status == "settled"
    assert outbox(c.db, "mediator/brief")
    fired = fire_due(c.db, c.settings, T0 + timedelta(days=8))
    assert "mediation-reminder" in [f.kind for f in fired]
    reminded = {row[0] for row in c.db.execute(
        "SELECT COALESCE(p.role, o.audience) FROM outbox o LEFT JOIN parties p"
        " ON p.id = o.party_pk WHERE o.template IN ('mediator/reminder',"
        " 'committee/mediation_update') AND o.created_at > '2026-03-09'")}  # fmt: skip
    assert reminded == {"mediator", "committee"}  # never the parties
    [reminder] = outbox(c.db, "mediator/reminder")
    assert re.fullmatch(r"\d{1,2} March 2026", reminder["context"]["due"])  # a date, as written
    reply_as(
        c,
        "mediator",
        "#mediation report\nBoth agreed to keep it technical. Recommend no action.",
        200,
    )
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"
    vetting = {row[0] for row in c.db.execute(
        "SELECT p.role FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'party/mediation_report'")}  # fmt: skip
    assert vetting == {"reporter", "reported"}
    later = fire_due(c.db, c.settings, T0 + timedelta(days=31))
    assert "mediation-reminder" not in [f.kind for f in later]  # the report ended the clock


def test_a_decline_ends_it_without_asking_anyone_else(committee):
    c = committee
    c.say("#mediation propose Max <max@example.net>")
    reply_as(c, "reporter", "No, thank you.", 1)
    assert invited(c) == ["reporter"]
    assert current_mediation(c.db, find_case(c.db, "CoC-2026-001")) is None
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"


def test_a_counter_proposed_mediator_needs_both_to_agree(committee):
    c = committee
    c.say("#mediation propose Max <max@example.net>")
    reply_as(c, "reporter", "yes", 1)
    reply_as(c, "reported", "Mediator: Nina Neutral <nina@example.net>", 2)
    mediation = current_mediation(c.db, find_case(c.db, "CoC-2026-001"))
    assert (mediation.mediator, mediation.status) == ("nina@example.net", "asking-reporter")
    assert invited(c) == ["reporter", "reported", "reporter"]
    reply_as(c, "reporter", "yes, Nina is fine", 3)
    assert current_mediation(c.db, find_case(c.db, "CoC-2026-001")).status == "asking-reported"
    c.say("#mediation agree reported", now=T0 + timedelta(hours=4))
    assert current_mediation(c.db, find_case(c.db, "CoC-2026-001")).status == "settled"


def settle(c) -> None:
    c.say("#mediation propose Max Mediator <max@example.net>")
    reply_as(c, "reporter", "Yes, I am willing to try.", 1)
    reply_as(c, "reported", "yes", 2)


def shown(template: str, context: dict) -> str:
    from mailer.render import make_environment, render_template

    out = render_template(make_environment(), template, {"committee_name": "CoC", **context})
    return f"{out.subject}\n{out.text}"


def test_a_mediators_question_is_not_the_report(committee):
    c = committee
    settle(c)
    reply_as(c, "mediator", "May I have more time? Dave is travelling.", 3)
    assert outbox(c.db, "party/mediation_report") == []
    assert find_case(c.db, "CoC-2026-001").state == "mediation"
    assert "May I have more time?" in outbox(c.db, "committee/followup")[-1]["context"]["text"]
    reply_as(c, "mediator", "Report:\nThey talked and agreed to keep it civil.", 4)
    reports = outbox(c.db, "party/mediation_report")
    assert {r["context"]["report"] for r in reports} == {"They talked and agreed to keep it civil."}
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"


def test_a_reply_the_mediator_titles_as_the_report_is_the_report():
    from archive.workflow.mediation import report_from_mediator

    assert report_from_mediator("All went well.", "Re: Mediation report") == "All went well."
    assert report_from_mediator("#mediation report\nAll went well.", "Re: x") == "All went well."
    assert report_from_mediator("Can we talk first?", "Re: Mediation: the parties agreed") is None


def test_the_brief_names_the_parties_and_both_parties_are_told(committee):
    c = committee
    settle(c)
    [brief] = outbox(c.db, "mediator/brief")
    assert brief["status"] == "queued"  # the leak guard lets the parties' names through
    text = shown("mediator/brief", brief["context"])
    assert "dave@example.com" in text and "rita@example.net" in text
    assert "#mediation report" in text
    told = outbox(c.db, "party/mediation_agreed")
    roles = {row[0] for row in c.db.execute(
        "SELECT p.role FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'party/mediation_agreed'")}  # fmt: skip
    assert roles == {"reporter", "reported"} and len(told) == 2
    text = shown("party/mediation_agreed", told[0]["context"])
    assert "Both parties have agreed to mediation" in text and "Max Mediator" in text
    assert "16 March 2026" in text


def test_an_overdue_mediation_is_raised_with_the_committee(committee):
    c = committee
    settle(c)
    fire_due(c.db, c.settings, T0 + timedelta(days=14, hours=3))
    updates = [u["context"]["what"] for u in outbox(c.db, "committee/mediation_update")]
    assert any(w.startswith("overdue: no report from the mediator") for w in updates)
    assert not [r for r in outbox(c.db, "mediator/reminder") if "overdue" in str(r["context"])]


def test_a_question_that_starts_with_report_is_not_the_report():
    """Only a marker line is the mark ("Report:", "Report" alone, "#mediation report"): a
    mediator's "Report not ready yet, may I have more time?" goes to the committee only."""
    from archive.workflow.mediation import report_from_mediator

    subject = "Re: [CoC-2026-001] Mediation: due by 9 December 2026"
    for text in (
        "Report not ready yet, sorry: may I have more time?",
        "Report is late. May I have two more days?",
        "Reporting back soon; Dave is travelling.",
    ):
        assert report_from_mediator(text, subject) is None, text
    assert report_from_mediator("Report: They agreed.", subject) == "They agreed."
    assert report_from_mediator("Report\nThey agreed.", subject) == "They agreed."
    assert report_from_mediator("Mediation report:\nThey agreed.", subject) == "They agreed."
    assert report_from_mediator("#mediation report They agreed.", subject) == "They agreed."
    assert report_from_mediator("#Mediation_Report:\nThey agreed.", subject) == "They agreed."
