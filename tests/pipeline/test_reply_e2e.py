"""Regression: what a member's real client quotes never reaches the reporter or the reported.

Each reply runs through the whole pipeline (spool → parse → DKIM → commands → outbox), and
the mail queued for outside the committee is checked for the quoted report's canaries.
"""

from __future__ import annotations

import pytest

from archive.record.cases import find_case, parties_of
from tests.support.clientmail import client_reply, leaked
from tests.support.committee import reported
from tests.support.helpers import outbox
from tests.support.mailbuild import sign


@pytest.fixture
def committee(tmp_path):
    yield from reported(tmp_path)


def reply(committee, name: str):
    raw = sign(client_reply(name, committee.notice_id("CoC-2026-001")))
    return committee.say("", raw=raw)


def to_reporter_text(committee) -> str:
    [mail] = outbox(committee.db, "reporter/message")
    assert mail["audience"] == "party"
    return mail["context"]["text"]


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("outlook_desktop_en.eml", "We are looking into it and will write again this week."),
        ("outlook_desktop_de.eml", "Wir kümmern uns darum und melden uns diese Woche."),
        ("outlook_web_en.eml", "Thank you for your report. We are looking into it."),
        ("outlook_web_de.eml", "Danke für Ihre Meldung. Wir kümmern uns darum."),
        ("gmail_mobile_wrapped.eml", "we will get back to you by Friday."),
        ("outlook_web_html_only.eml", "Thank you for your report. We are looking into it."),
        ("gmail_html_only.eml", "We are reviewing your report and will reply soon."),
        ("apple_mail.eml", "we will write to you again before the end of the week."),
    ],
)
def test_to_reporter_sends_the_new_text_and_none_of_the_quote(committee, name, sentence):
    reply(committee, name)
    assert committee.lines()[0][0] == "done"
    text = to_reporter_text(committee)
    assert sentence in text
    assert leaked(text) == []


def test_flowed_responsible_keeps_the_address(committee):
    reply(committee, "thunderbird_flowed.eml")
    assert [status for status, _ in committee.lines()] == ["done", "done"]
    case = find_case(committee.db, "CoC-2026-001")
    [responsible] = parties_of(committee.db, case, "reported")
    assert responsible.email == "dave.jones@example.com"
    assert leaked(to_reporter_text(committee)) == []
