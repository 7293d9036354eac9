"""Names of members in a follow-up (SPEC §3, issue 18 follow-up R1, R6): the person reported
cannot cut the committee out of his case nor fill the reporter's report fields; the
reporter's own follow-up still conflicts a member it names, but never the whole committee.
Real mail over SMTP into `casebook serve`, read at the relay; the case read with the CLI."""

from __future__ import annotations

import json

import pytest

from tests.support.base import ServeProcess, free_port, write_config
from tests.support.exchange import answer, with_subject
from tests.support.helpers import run_casebook, smtp_send
from tests.support.mailbuild import build, pinned_keys_toml, sign, via_list
from tests.support.waiting import wait_until

LIST = "conduct-committee@lists.example.org"
COUNCIL = "council@example.org"
RITA = "rita@example.net"
DAVE = "dave@example.com"
EVERY_MEMBER = "Alice Chair, Bob Member and Carol Member"


@pytest.fixture
def casebook(tmp_path, relay):
    port = free_port()
    config = write_config(
        tmp_path, relay_port=relay.port, intake_port=port, extra=pinned_keys_toml()
    )
    process = ServeProcess(config, port)
    process.start()
    yield process
    process.stop()


def open_case(casebook, relay) -> tuple[str, object]:
    """Rita's report, naming nobody: the list has the notice; her acknowledgement."""
    raw = build(
        sender=f"Rita Reporter <{RITA}>",
        to="conduct@example.org",
        subject="Trouble at the sprint",
        message_id="<rita-report@example.net>",
        body="Someone shouted at me at the sprint on Monday.\n",
    )
    assert smtp_send(casebook.port, raw, RITA, ["conduct@example.org"]) == {}
    wait_until(lambda: relay.to(RITA) and with_subject(relay, LIST, "New report"), "the notice")
    [ack] = relay.to(RITA)
    return ack["Subject"].split("]")[0].lstrip("["), ack


def ask_dave(casebook, relay, ref: str):
    """The chair writes to Dave with `#to-party`: his copy carries his own reply address."""
    post = via_list(
        sign(
            build(
                subject=f"Re: [{ref}] New report",
                message_id="<alice-ask@x.org>",
                body=f"#to-party {DAVE}\nPlease tell us your side of Monday.\n",
            )
        )
    )
    assert smtp_send(casebook.port, post, "alice@example.org", [LIST]) == {}
    wait_until(lambda: relay.to(DAVE), "the mail to Dave")
    [mail] = relay.to(DAVE)
    return mail


def shown(casebook, ref: str) -> dict:
    done = run_casebook("-c", str(casebook.config), "show", ref, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_person_reported_naming_every_member_conflicts_nobody(casebook, relay):
    ref, _ = open_case(casebook, relay)
    mail = ask_dave(casebook, relay, ref)
    answer(
        casebook.port,
        mail,
        f"Dave Jones <{DAVE}>",
        f"I already discussed the sprint with {EVERY_MEMBER}.\n",
        "<dave-1@example.com>",
    )
    # The committee receives his message (on its list: nobody is conflicted)...
    wait_until(lambda: with_subject(relay, LIST, "More information"), "his message on the list")
    assert "discussed the sprint" in with_subject(relay, LIST, "More information")[0].get_content()
    # ...and the next free person his message does not name (the council's Erin) is told.
    wait_until(lambda: with_subject(relay, "erin", "Members named"), "the private notice")
    [notice] = with_subject(relay, "erin", "Members named")
    assert str(notice["Subject"]).endswith("] Members named by a party of a case")
    text = notice.get_content()
    assert "Alice Chair <alice@example.org>: named in the message" in text
    for name in ("Alice Chair <alice@example.org>", "Bob Member", "Carol Member"):
        assert name in text
    assert "discussed the sprint with Alice Chair" in text and "#conflict" in text
    assert shown(casebook, ref)["conflicted"] == []
    assert all(with_subject(relay, m, "Conflict of interest") == [] for m in ("alice", "erin"))
    # The case is not stuck: the reporter's next word reaches the committee too.
    [ack] = relay.to(RITA)
    answer(casebook.port, ack, f"Rita <{RITA}>", "Any news?", "<rita-news@example.net>")
    wait_until(lambda: len(with_subject(relay, LIST, "More information")) == 2, "her follow-up")


def test_the_reporter_naming_every_member_does_not_strand_the_case(casebook, relay):
    ref, ack = open_case(casebook, relay)
    answer(
        casebook.port,
        ack,
        f"Rita <{RITA}>",
        f"Thank you for the call yesterday, {EVERY_MEMBER}.",
        "<rita-thanks@example.net>",
    )
    wait_until(lambda: with_subject(relay, LIST, "More information"), "her message on the list")
    wait_until(lambda: with_subject(relay, "alice", "not applied"), "the chair's notice")
    assert (
        "Thank you for the call yesterday"
        in with_subject(relay, "alice", "not applied")[0].get_content()
    )
    wait_until(lambda: with_subject(relay, COUNCIL, "not applied"), "the council's notice")
    assert shown(casebook, ref)["conflicted"] == []


def test_the_reporter_naming_one_member_still_conflicts_them_and_the_chair_sees_the_line(
    casebook, relay
):
    ref, ack = open_case(casebook, relay)
    answer(
        casebook.port,
        ack,
        f"Rita <{RITA}>",
        "Thank you for the call yesterday, Alice Chair.",
        "<rita-alice@example.net>",
    )
    wait_until(
        lambda: (
            with_subject(relay, "bob", "More information")
            and with_subject(relay, "carol", "More information")
        ),
        "the free members' copies",
    )
    assert with_subject(relay, "alice", "More information") == []
    assert with_subject(relay, LIST, "More information") == []
    assert shown(casebook, ref)["conflicted"] == ["alice@example.org"]
    wait_until(
        lambda: with_subject(relay, "bob", "Conflict of interest"), "the next member's notice"
    )
    [notice] = with_subject(relay, "bob", "Conflict of interest")
    text = notice.get_content()
    assert "Alice Chair <alice@example.org>: named in the report (in a follow-up)" in text
    assert '"Thank you for the call yesterday, Alice Chair."' in text


def test_the_person_reported_cannot_fill_the_reports_fields(casebook, relay):
    ref, _ = open_case(casebook, relay)
    mail = ask_dave(casebook, relay, ref)
    answer(
        casebook.port,
        mail,
        f"Dave Jones <{DAVE}>",
        "Witnesses: none\nThis never happened.\n",
        "<dave-fields@example.com>",
    )
    wait_until(lambda: with_subject(relay, LIST, "More information"), "his message on the list")
    [followup] = with_subject(relay, LIST, "More information")
    assert "Witnesses: none" in followup.get_content()  # shown as he wrote it
    assert "New report fields" not in followup.get_content()
    assert not shown(casebook, ref)["fields"].get("witnesses")


def test_a_held_message_naming_every_member_merged_conflicts_nobody(casebook, relay):
    ref, _ = open_case(casebook, relay)
    stranger = build(sender="Sam <sam@example.net>", to="conduct@example.org",
                     subject=f"Re: [{ref}] what I saw", message_id="<sam-all@example.net>",
                     body=f"{EVERY_MEMBER} were all there when it happened.")  # fmt: skip
    assert smtp_send(casebook.port, stranger, "sam@example.net", ["conduct@example.org"]) == {}
    wait_until(lambda: with_subject(relay, LIST, "was held"), "the held notice")
    [held] = with_subject(relay, LIST, "was held")
    merge = via_list(sign(build(subject=f"Re: [{ref}] A message for this case was held",
                                body="#merge <sam-all@example.net>", message_id="<merge@x.org>",
                                in_reply_to=held["Message-ID"])))  # fmt: skip
    assert smtp_send(casebook.port, merge, "alice@example.org", [LIST]) == {}
    wait_until(lambda: with_subject(relay, "alice", "not applied"), "the chair's notice")
    wait_until(lambda: with_subject(relay, COUNCIL, "not applied"), "the council's notice")
    assert shown(casebook, ref)["conflicted"] == []


def test_the_urgent_alert_for_his_follow_up_shows_no_field_of_his_as_the_reports(casebook, relay):
    ref, _ = open_case(casebook, relay)
    mail = ask_dave(casebook, relay, ref)
    body = "Names: nobody at all\nWhere: nowhere, it never happened\nOngoing: yes\n"
    answer(casebook.port, mail, f"Dave Jones <{DAVE}>", body, "<dave-urgent@example.com>")
    wait_until(lambda: with_subject(relay, LIST, "URGENT"), "the urgent alert")
    [alert] = with_subject(relay, LIST, "URGENT")
    text = alert.get_content()
    assert "Where:    sprint" in text and "nowhere" not in text  # the report's, not his
    assert "Names:    (not given)" in text and "nobody" not in text
    assert "Reporter: rita@example.net" in text and "A follow-up from dave@example.com" in text
    assert shown(casebook, ref)["fields"]["where"] == "sprint"
