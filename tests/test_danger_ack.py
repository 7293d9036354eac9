"""A reporter in danger gets an acknowledgement for that situation; witnesses and reported
people are not told to call the police in every receipt (issue 20, item 13).

The reporting guide: "If you believe anyone is in physical danger, please notify appropriate
law enforcement first"; the manual: when the act is ongoing or threatens anyone's safety "any
committee member may act immediately (before reaching consensus) to end the situation". Driven
as people meet it: `casebook serve` as a process, mail in over SMTP, each mailbox read.
"""

from __future__ import annotations

import pytest

from tests.conftest import ServeProcess, free_port, write_config
from tests.helpers import smtp_send
from tests.mailbuild import pinned_keys_toml, sign
from tests.test_walks_e2e import (
    ALICE,
    LIST,
    REPORTS,
    RITA,
    body,
    outlook,
    reply_address,
    wait_until,
)

WALTER = ("Walter Witness", "walter@example.com")
IN_DANGER = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: He keeps messaging me\r\nMessage-ID: <danger-1@mail.example.net>\r\n\r\n"
    "Names: Dave Jones <dave@example.com>\r\nWhen: tonight\r\nWhere: the project chat\r\n"
    "What happened: he threatened to come to my house and I feel unsafe.\r\n"
)
PLAIN = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Rude review\r\nMessage-ID: <plain-1@mail.example.net>\r\n\r\n"
    "Names: Dave Jones <dave@example.com>\r\nWhen: yesterday\r\nWhere: a code review\r\n"
    "What happened: he mocked my patch in front of everyone.\r\n"
)


@pytest.fixture
def service(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          extra="\n" + pinned_keys_toml())  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    yield process
    process.stop()


def first(relay, address: str, subject: str, count: int = 1):
    def found():
        hits = [m for m in relay.to(address) if subject in str(m["Subject"])]
        return hits if len(hits) >= count else None

    return wait_until(found, f"{subject!r} to {address}")[count - 1]


def test_a_reporter_in_danger_is_told_what_the_committee_does_first(service, relay):
    assert smtp_send(service.port, IN_DANGER.encode(), RITA[1], [REPORTS]) == {}
    ack = body(first(relay, RITA[1], "We received your report"))
    assert "alerted to your report as urgent" in ack
    assert "emergency" in ack and "law enforcement first" in ack
    assert "may act straight away" in ack
    assert "within one week" not in ack  # no weekly timetable for someone in danger
    assert "Ongoing:" not in ack  # she already said it is going on; nothing else is missing
    assert "It would help us to know more" not in ack


def test_an_ordinary_report_keeps_the_ordinary_acknowledgement(service, relay):
    assert smtp_send(service.port, PLAIN.encode(), RITA[1], [REPORTS]) == {}
    ack = body(first(relay, RITA[1], "We received your report"))
    assert "within one week" in ack and "urgent" not in ack
    assert "Ongoing: (yes or no)" in ack  # not answered: asked


def test_a_witness_receipt_does_not_tell_them_to_call_the_police(service, relay):
    assert smtp_send(service.port, PLAIN.encode(), RITA[1], [REPORTS]) == {}
    notice = first(relay, LIST, "New report")  # no one conflicted: the list has it
    ask = f"#to-party witness {WALTER[1]}\nDid you see the code review of 1 March?"
    to = reply_address(notice)
    assert smtp_send(service.port, sign(outlook(ALICE, to, notice, ask)), ALICE[1], [to]) == {}
    question = first(relay, WALTER[1], "")
    answer = (
        f"From: {WALTER[0]} <{WALTER[1]}>\r\nTo: {reply_address(question)}\r\n"
        f"Subject: Re: {question['Subject']}\r\nMessage-ID: <walter-1@example.com>\r\n"
        f"In-Reply-To: {question['Message-ID']}\r\n\r\nYes, I saw it. It was unkind.\r\n"
    )
    assert smtp_send(service.port, answer.encode(), WALTER[1], [reply_address(question)]) == {}
    receipt = body(first(relay, WALTER[1], "We received your message"))
    assert "part of case" in receipt
    assert "police" not in receipt and "law enforcement" not in receipt

    follow = (
        f"From: {RITA[0]} <{RITA[1]}>\r\nTo: {reply_address(first(relay, RITA[1], 'report'))}\r\n"
        "Subject: Re: We received your report\r\nMessage-ID: <rita-2@mail.example.net>\r\n\r\n"
        "One more thing: he did it again today.\r\n"
    )
    to_rita = reply_address(first(relay, RITA[1], "report"))
    assert smtp_send(service.port, follow.encode(), RITA[1], [to_rita]) == {}
    receipt = body(first(relay, RITA[1], "We received your message"))
    assert "law enforcement" in receipt  # the reporter keeps the guide's advice
