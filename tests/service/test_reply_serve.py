"""A member's command reply in the quote shapes of issue 18, through `casebook serve`: the
command runs and what reaches the reporter is the member's new text, never a line of the
committee's notice that their client quoted."""

from __future__ import annotations

import itertools

import pytest

from tests.support.base import ServeProcess, free_port, write_config
from tests.support.exchange import LIST, expect, list_post, send
from tests.support.helpers import smtp_send
from tests.support.mailbuild import pinned_keys_toml
from tests.support.waiting import wait_until

RITA = "rita@example.net"
ids = itertools.count(1)
REPORT = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Dave on the users list\r\nMessage-ID: <rs-report@example.net>\r\n\r\n"
    "Names: Dave Jones\r\nWhen: yesterday\r\nWhere: the users mailing list\r\n"
    "What happened: CANARY-REPORT-TEXT he called me stupid.\r\nOngoing: no\r\n"
)
# The member's words, then how their client quotes the notice ({quote}: its lines, as sent).
SHAPES = {
    "danish outlook block": (
        "#to-reporter\nTak for din henvendelse. Vi ser på sagen i denne uge.\n\n"
        "Fra: casebook <conduct@example.org>\nSendt: 2. marts 2026 10:00\n"
        "Til: Udvalget <conduct-committee@lists.example.org>\nEmne: {subject}\n\n{quote}",
        "Tak for din henvendelse. Vi ser på sagen i denne uge.",
    ),
    "update line above an outlook block": (
        "#to-reporter\nUpdate: we are looking into it and will write again this week.\n"
        "From: casebook <conduct@example.org>\nSent: Monday, March 2, 2026 10:00 AM\n"
        "To: Committee <conduct-committee@lists.example.org>\nSubject: {subject}\n\n{quote}",
        "Update: we are looking into it and will write again this week.",
    ),
    "russian attribution without a verb, unquoted history": (
        "#to-reporter\nСпасибо, мы занимаемся вашим сообщением.\n\n"
        "пн, 2 мар. 2026 г. в 10:00, casebook <conduct@example.org>:\n\n{quote}",
        "Спасибо, мы занимаемся вашим сообщением.",
    ),
}


@pytest.fixture
def served(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          extra="\n" + pinned_keys_toml())  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    yield port
    process.stop()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_command_runs_and_no_quoted_line_reaches_the_reporter(served, relay, shape):
    smtp_send(served, REPORT.encode(), RITA, ["conduct@example.org"])
    notice = wait_until(lambda: relay.to(LIST), "the new-case notice")[0]
    quoted_lines = [line for line in notice.get_content().splitlines() if line.strip()]
    template, sentence = SHAPES[shape]
    text = template.format(subject=notice["Subject"], quote="\n".join(quoted_lines))
    raw = list_post("Alice Chair <alice@example.org>", text, notice, f"<rs{next(ids)}@example.org>")
    send(served, raw, "alice@example.org", LIST)
    transcript = wait_until(lambda: relay.to("alice@example.org"), "the transcript")[-1]
    applied = transcript.get_content()
    assert applied.startswith("Your commands for case CoC-2026-001 were applied"), applied
    assert "held" not in applied  # the leak guard found nothing of the notice to hold
    [message] = expect(relay, RITA, "message from the committee")
    sent = message.get_content()
    assert sentence in " ".join(sent.split())
    assert "CANARY-REPORT-TEXT" not in sent
    assert [line for line in quoted_lines if line.strip() in sent] == []
