"""Issue 20 §16: a mail's commands run in the order that makes sense, or the transcript says
exactly which line to move. Walked through `casebook serve`: the chair replies to her new-case
notice at her reply address, quoting it, as her mail client does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archive.commands.execute import in_working_order
from intake.commands import find_commands
from tests.service.test_member_mail import ALICE, Members, report
from tests.service.test_walks_e2e import words


@pytest.fixture
def chair(tmp_path, relay):
    w = Members(tmp_path, relay)
    w.process.start()
    yield w
    w.process.stop()


def test_responsible_and_send_to_reported_run_in_either_order(chair):
    w = chair
    w.send(report(1), "rita@example.net", "conduct@example.org")
    notice = w.expect(ALICE, "[CoC-2026-001] New report")
    w.settled()
    # The person must be recorded before anything is sent to them, whatever line comes first.
    w.reply(ALICE, notice, "#send ask-account to reported\n#responsible Dave Jones"
            " <dave1@example.com>")  # fmt: skip
    asked = w.expect("dave1@example.com", "would like to hear from you")
    assert "a report that concerns you" in words(asked)
    w.tick(datetime.now(UTC) + timedelta(hours=1, minutes=1))  # her routine outcome's hour
    w.settled()
    [told] = [m for m in w.inbox(ALICE) if "Commands from Alice Chair" in str(m["Subject"])]
    text = words(told)
    assert "done: recorded as responsible: Dave Jones <dave1@example.com>" in text
    assert "done: ask-account sent to the reported" in text


def test_a_line_that_must_come_first_is_named_in_the_transcript(chair):
    w = chair
    w.send(report(1), "rita@example.net", "conduct@example.org")
    notice = w.expect(ALICE, "[CoC-2026-001] New report")
    w.settled()
    w.reply(ALICE, notice, "#agree\n#propose private-reprimand\nStatement: Please keep it"
            " technical.\nEnd of statement")  # fmt: skip
    refused = w.expect(ALICE, "Commands not applied")
    text = words(refused)
    assert (
        "refused: there is no open proposal to vote on; move the line"
        " `#propose private-reprimand` above this one and send again" in text
    ), text
    # Nothing of it was kept: the case has no proposal.
    assert "proposed" not in [e["action"] for e in w.show("CoC-2026-001")["events"]]


def test_the_working_order_puts_the_facts_first_and_keeps_the_rest_as_written():
    found = find_commands("#send ask-account to reported\n#note a\n#violation yes\n"
                          "#responsible Dave\n#agree\n").commands  # fmt: skip
    assert [c.keyword for c in in_working_order(found)] == [
        "violation", "responsible", "send", "note", "agree"
    ]  # fmt: skip
