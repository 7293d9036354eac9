"""A whole case by mail alone, over real SMTP: report → list thread → enacted reprimand."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, ServeProcess, free_port, write_config
from tests.helpers import smtp_send
from tests.mailbuild import build, pinned_keys_toml, sign, via_list

LIST = "conduct-committee@lists.example.org"
ids = itertools.count(1)


def wait_until(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Conversation:
    def __init__(self, relay, port, config):
        self.relay, self.port, self.config = relay, port, config

    def mail_to(self, address: str, subject_part: str, count: int = 1):
        def found():
            hits = [m for m in self.relay.to(address) if subject_part in m["Subject"]]
            return hits if len(hits) >= count else None

        return wait_until(found, f"{subject_part!r} to {address}")

    def member_says(self, who: str, address: str, text: str, thread) -> None:
        """A member replies in the list thread; the list delivers its copy to casebook."""
        before = len(self.relay.to(address))
        raw = sign(
            build(
                sender=f"{who} <{address}>",
                to=LIST,
                subject=f"Re: {thread['Subject']}",
                body=text,
                message_id=f"<conv{next(ids)}@example.org>",
                in_reply_to=thread["Message-ID"],
                references=(thread["Message-ID"],),
            )
        )
        smtp_send(self.port, via_list(raw), address, [LIST])
        wait_until(lambda: len(self.relay.to(address)) > before, f"transcript to {address}")

    def transcript(self, address: str) -> str:
        return self.relay.to(address)[-1].get_content()

    def show(self, ref: str) -> dict:
        out = subprocess.run(
            [sys.executable, "-m", "casebook.cli", "-c", str(self.config), "show", ref, "--json"],
            cwd=ROOT, capture_output=True, check=True,
        )  # fmt: skip
        return json.loads(out.stdout)


@pytest.fixture
def conversation(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          extra="\n" + pinned_keys_toml())  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    yield Conversation(relay, port, config)
    process.stop()


REPORT = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Dave on the users list\r\nMessage-ID: <conv-report@example.net>\r\n\r\n"
    "Names: Dave Jones\r\nWhen: yesterday\r\nWhere: the users mailing list\r\n"
    "What happened: he called me stupid and told me to leave.\r\nOngoing: no\r\n"
)


def test_report_to_enacted_private_reprimand_by_mail_alone(conversation):
    c = conversation
    smtp_send(c.port, REPORT.encode(), "rita@example.net", ["conduct@example.org"])
    [ack] = c.mail_to("rita@example.net", "We received your report")
    [notice] = c.mail_to(LIST, "New report")
    assert notice["Subject"] == "[CoC-2026-001] New report"

    first = (
        "#assign alice@example.org\n#violation yes\n"
        "#responsible Dave Jones <dave@example.com>\n\nI will lead this."
    )
    c.member_says("Alice Chair", "alice@example.org", first, notice)
    assert "Your commands for case CoC-2026-001 were applied" in c.transcript("alice@example.org")
    c.member_says("Alice Chair", "alice@example.org",
                  "#propose private-reprimand\n"
                  "Statement: Your messages to Rita were hostile and broke the"
                  " Code of Conduct.\nPlease keep discussions technical.\nEnd of statement\n\n"
                  "Thanks all, let's discuss Monday.", notice)  # fmt: skip
    c.member_says("Bob Member", "bob@example.org", "#agree\nthanks", notice)
    c.member_says("Carol Member", "carol@example.org", "#agree", notice)
    assert "consensus reached" in c.transcript("carol@example.org")
    c.member_says("Alice Chair", "alice@example.org", "#consult", notice)

    [proposal] = c.mail_to("rita@example.net", "Proposed resolution")
    assert "private reprimand" in proposal.get_content()
    reply = (
        f"From: Rita Canaryname <rita@example.net>\r\nTo: {proposal['Reply-To']}\r\n"
        f"Subject: Re: {proposal['Subject']}\r\nMessage-ID: <conv-feedback@example.net>\r\n"
        f"In-Reply-To: {proposal['Message-ID']}\r\n\r\nYes, that is acceptable to me.\r\n"
    )
    smtp_send(c.port, reply.encode(), "rita@example.net", [proposal["Reply-To"]])
    c.mail_to(LIST, "More information from the reporter")

    c.member_says("Alice Chair", "alice@example.org", "#enact", notice)
    assert "enacted private-reprimand" in c.transcript("alice@example.org")
    [reprimand] = c.mail_to("dave@example.com", "private message")
    body = reprimand.get_content()
    assert "hostile" in body and "Alice Chair" in body
    assert "discuss Monday" not in body  # her word to colleagues stays with them
    assert reprimand["Auto-Submitted"] == "no"
    c.mail_to(LIST, "Copy: private-reprimand sent")
    [report] = c.mail_to("council@example.org", "Resolution report")
    [resolved] = c.mail_to("rita@example.net", "Your report has been resolved")
    # A phone's Reply would reach the committee, not the council: the notice says where to go.
    words = " ".join(resolved.get_content().split())
    assert "by writing to conduct-appeals@example.org" in words
    assert "A reply to this message reaches the committee, not the council" in words

    # What must not leave the committee did not.
    for outside in (reprimand, report):
        text = outside.as_string()
        assert "Canaryname" not in text and "rita@example.net" not in text
    shown = c.show("CoC-2026-001")
    assert shown["state"] == "resolved"
    actions = [e["action"] for e in shown["events"]]
    for action in ("assigned", "proposed", "consensus-reached", "consulted",
                   "feedback-received", "enacted"):  # fmt: skip
        assert action in actions
    assert ack["Message-ID"] in [m["message_id"] for m in shown["messages"]]


def test_a_forged_yes_changes_nothing_until_rita_answers_through_her_reply_address(
    conversation,
):
    """Issue 18 §1, through `casebook serve`: the reported person knows Rita's address and the
    case tag; his unsigned "yes" in her name is held, and Rita (not he) is asked to confirm."""
    c = conversation
    smtp_send(c.port, REPORT.encode(), "rita@example.net", ["conduct@example.org"])
    [notice] = c.mail_to(LIST, "New report")
    first = "#violation yes\n#responsible Dave Jones <dave@example.com>\n#propose apology-request"
    c.member_says("Alice Chair", "alice@example.org",
                  first + "\nStatement: Please apologise.\nEnd of statement", notice)  # fmt: skip
    c.member_says("Bob Member", "bob@example.org", "#agree", notice)
    c.member_says("Carol Member", "carol@example.org", "#agree", notice)
    c.member_says("Alice Chair", "alice@example.org", "#consult", notice)
    [proposal] = c.mail_to("rita@example.net", "Proposed resolution")
    forged = (
        f"From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
        f"Subject: Re: {proposal['Subject']}\r\nMessage-ID: <forged-yes@example.com>\r\n"
        f"In-Reply-To: {proposal['Message-ID']}\r\n\r\nYes, go ahead.\r\n"
    )
    smtp_send(c.port, forged.encode(), "rita@example.net", ["conduct@example.org"])
    c.mail_to(LIST, "A message for this case was held")
    [asked] = c.mail_to("rita@example.net", "Please confirm a message about your report")
    actions = [e["action"] for e in c.show("CoC-2026-001")["events"]]
    assert "unverified-word" in actions and "feedback-received" not in actions
    yes = (
        f"From: Rita Canaryname <rita@example.net>\r\nTo: {asked['Reply-To']}\r\n"
        f"Subject: Re: {asked['Subject']}\r\nMessage-ID: <rita-yes@example.net>\r\n"
        f"In-Reply-To: {asked['Message-ID']}\r\n\r\nYes, go ahead.\r\n"
    )
    smtp_send(c.port, yes.encode(), "rita@example.net", [asked["Reply-To"]])
    c.mail_to(LIST, "More information from the reporter")
    shown = c.show("CoC-2026-001")
    assert "feedback-received" in [e["action"] for e in shown["events"]]
    # A yes to "Please confirm a message" may only mean "that was me": no consent yet.
    [reporter] = [p for p in shown["parties"] if p["role"] == "reporter"]
    assert reporter["consent"] is None
    yes = (
        f"From: Rita Canaryname <rita@example.net>\r\nTo: {proposal['Reply-To']}\r\n"
        f"Subject: Re: {proposal['Subject']}\r\nMessage-ID: <rita-yes-2@example.net>\r\n"
        f"In-Reply-To: {proposal['Message-ID']}\r\n\r\nYes, go ahead.\r\n"
    )
    smtp_send(c.port, yes.encode(), "rita@example.net", [proposal["Reply-To"]])
    c.mail_to(LIST, "More information from the reporter", count=2)
    shown = c.show("CoC-2026-001")
    [reporter] = [p for p in shown["parties"] if p["role"] == "reporter"]
    assert reporter["consent"] == "agreed"


def test_canary_conflicted_member_and_reporter_never_reach_who_must_not_know(conversation):
    c = conversation
    report = REPORT.replace("Names: Dave Jones", "Names: Dave Jones; Carol Member saw it")
    smtp_send(c.port, report.encode(), "rita@example.net", ["conduct@example.org"])
    c.mail_to("rita@example.net", "We received your report")
    [notice] = c.mail_to("alice@example.org", "New report")
    c.mail_to("alice@example.org", "Conflict of interest")
    assert notice["Reply-To"].startswith("conduct+")  # one by one, not the list
    c.member_says("Alice Chair", "alice@example.org",
                  "#responsible Dave Jones <dave@example.com>\n"
                  "#propose private-reprimand\n"
                  "Statement: Your messages were hostile.\nEnd of statement", notice)  # fmt: skip
    [bob_notice] = c.mail_to("bob@example.org", "New report")
    c.member_says("Bob Member", "bob@example.org", "#agree", bob_notice)
    c.member_says("Alice Chair", "alice@example.org", "#consult", notice)
    c.mail_to("rita@example.net", "Proposed resolution")
    # No feedback: the chair waits out consult_wait? Not here; the reporter answers.
    [proposal] = c.mail_to("rita@example.net", "Proposed resolution")
    reply = (
        f"From: rita@example.net\r\nTo: {proposal['Reply-To']}\r\nSubject: Re: x\r\n"
        f"Message-ID: <canary-fb@example.net>\r\n\r\nyes\r\n"
    )
    smtp_send(c.port, reply.encode(), "rita@example.net", [proposal["Reply-To"]])
    c.mail_to("alice@example.org", "More information from the reporter")
    c.member_says("Alice Chair", "alice@example.org", "#enact", notice)
    c.mail_to("dave@example.com", "private message")
    c.mail_to("council@example.org", "Resolution report")

    assert c.relay.to("carol@example.org") == []
    assert c.relay.to(LIST) == []
    for message in c.relay.parsed():
        to = message["To"]
        text = message.as_string()
        if to in ("dave@example.com", "council@example.org"):
            assert "Canaryname" not in text and "rita@example.net" not in text
            assert "Carol" not in text


def test_an_appeal_end_to_end_over_smtp(tmp_path, relay):
    from tests.test_appeals import COUNCIL as PEOPLE

    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, members=PEOPLE,
                          extra="\n" + pinned_keys_toml())  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    try:
        c = Conversation(relay, port, config)
        smtp_send(port, REPORT.encode(), "rita@example.net", ["conduct@example.org"])
        c.mail_to("rita@example.net", "We received your report")
        appeal = (
            "From: Rita Canaryname <rita@example.net>\r\nTo: conduct-appeals@example.org\r\n"
            "Subject: Appeal about [CoC-2026-001]\r\nMessage-ID: <smtp-appeal@example.net>\r\n"
            "\r\nI disagree with how my report was handled.\r\n"
        )
        smtp_send(port, appeal.encode(), "rita@example.net", ["conduct-appeals@example.org"])
        # Unsigned, not through her reply address: anyone could have written it (issue 18).
        c.mail_to("rita@example.net", "We received your message")
        c.mail_to("council@example.org", "Appeal (not linked to a case yet)")
        [asked] = c.mail_to("rita@example.net", "Please confirm a message about your report")
        assert "I disagree" not in asked.get_content()
        yes = (
            f"From: Rita Canaryname <rita@example.net>\r\nTo: {asked['Reply-To']}\r\n"
            f"Subject: Re: {asked['Subject']}\r\nMessage-ID: <smtp-yes@example.net>\r\n"
            f"In-Reply-To: {asked['Message-ID']}\r\n\r\nYes, I sent it.\r\n"
        )
        smtp_send(port, yes.encode(), "rita@example.net", [asked["Reply-To"]])
        [ack] = c.mail_to("rita@example.net", "We received your appeal")
        assert "CoC-2026-001" in ack.get_content()
        [forward] = c.mail_to("council@example.org", "More about an appeal")
        assert "confirmed this appeal" in forward.get_content()
        decide = "#appeal uphold\nThe committee handled the report fairly."
        c.member_says("Erin Council", "erin@example.org", decide, forward)
        [decision] = c.mail_to("rita@example.net", "decision on your appeal")
        assert "upheld" in decision.get_content()
        c.mail_to(LIST, "Appeal decided: uphold")
    finally:
        process.stop()


def test_a_deadline_due_while_casebook_was_down_fires_once_after_restart(tmp_path, relay):
    import sqlite3

    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port)
    process = ServeProcess(config, port)
    process.start()
    c = Conversation(relay, port, config)
    smtp_send(port, REPORT.encode(), "rita@example.net", ["conduct@example.org"])
    c.mail_to("rita@example.net", "We received your report")
    process.stop()
    # A week passes while casebook is down: the reporter's update came due two days ago.
    db = sqlite3.connect(tmp_path / "casebook.db")
    with db:
        db.execute("UPDATE deadlines SET due_at = '2020-01-01T00:00:00.000000+00:00'"
                   " WHERE kind = 'reporter-update'")  # fmt: skip
    db.close()
    process.start()
    c.mail_to("rita@example.net", "An update on your report")
    c.mail_to(LIST, "Catching up after downtime")
    process.stop()
    process.start()  # and again: nothing fires twice
    try:
        smtp_send(port, REPORT.replace("conv-report", "second").encode(), "rita@example.net",
                  ["conduct@example.org"])  # fmt: skip
        c.mail_to("rita@example.net", "We received your report", count=2)
    finally:
        process.stop()
    assert len([m for m in relay.to("rita@example.net") if "An update" in m["Subject"]]) == 1
