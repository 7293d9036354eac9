"""Writing to anyone involved: #to-party and #send ask-account, under the leak guard."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.record.cases import find_case, parties_of
from tests.support.base import T0
from tests.support.committee import reported
from tests.support.helpers import deliver, outbox
from tests.support.mailbuild import build

DAVE = "Dave Jones <dave@example.com>"


@pytest.fixture
def committee(tmp_path):
    yield from reported(tmp_path)


def token_of(c, address):
    case = find_case(c.db, "CoC-2026-001")
    [party] = [p for p in parties_of(c.db, case) if p.email == address]
    return f"conduct+{party.token}@example.org"


def test_to_party_reported_goes_with_their_reply_address_and_the_answer_threads_back(committee):
    c = committee
    c.say(f"#responsible {DAVE}")
    c.say("#to-party reported\nWe would like to talk about the thread of 1 March.\n")
    assert c.transcript()["applied"], c.lines()
    [mail] = outbox(c.db, "reported/message")
    assert mail["audience"] == "party" and mail["status"] == "queued"
    assert "1 March" in mail["context"]["text"]
    reply_to = token_of(c, "dave@example.com")
    raw = build(sender=DAVE, to=reply_to, subject="Re: A message", body="My side: it was a joke.\n",
                message_id="<dave-1@example.com>")  # fmt: skip
    result = deliver(c.db, c.settings, raw, now=T0 + timedelta(hours=2),
                     sender="dave@example.com", to=(reply_to,))  # fmt: skip
    assert (result.kind, result.case_ref) == ("followup", "CoC-2026-001")
    [shown] = outbox(c.db, "committee/followup")[-1:]
    assert shown["context"]["party"] == "person responsible" and "joke" in shown["context"]["text"]


def test_to_party_witness_and_address_create_parties_with_their_own_reply_address(committee):
    c = committee
    c.say("#to-party witness walter@example.com\nDid you see the thread of 1 March?\n")
    c.say("#to-party venue-admin@example.net\nPlease keep the archive of 1 March.\n")
    assert len(outbox(c.db, "party/message")) == 2
    case = find_case(c.db, "CoC-2026-001")
    roles = {p.email: p.role for p in parties_of(c.db, case)}
    assert roles["walter@example.com"] == "witness" and roles["venue-admin@example.net"] == "party"
    c.say("#to-party witness\nOne more question.\n")
    assert len(outbox(c.db, "party/message")) == 3


def test_to_party_naming_the_reporter_is_held_by_the_leak_guard(committee):
    c = committee
    c.say(f"#responsible {DAVE}")
    c.say("#to-party reported\nRita Reporter told us what you wrote.\n")
    [mail] = outbox(c.db, "reported/message")
    assert mail["status"] == "held"
    assert outbox(c.db, "committee/mail_held")


def test_to_party_refuses_members_and_needs_a_message(committee):
    c = committee
    c.say("#to-party bob@example.org\nHello\n")
    assert "member" in c.lines()[0][1]
    c.say("#to-party reported")
    assert c.lines()[0][0] == "refused"


def test_send_ask_account_to_the_reported_person(committee):
    c = committee
    c.say(f"#responsible {DAVE}")
    c.say("#send ask-account to reported")
    assert c.transcript()["applied"], c.lines()
    [ask] = outbox(c.db, "reported/ask_account")
    assert ask["status"] == "queued" and ask["context"] == {"case_ref": "CoC-2026-001"}
    c.say("#send ask-account to reporter")
    assert c.lines()[0][0] == "refused"
