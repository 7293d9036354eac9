"""Conflicts everywhere: a member named anywhere in a report, a follow-up or a merged message
never receives it (SPEC §3). Real mail over SMTP into `casebook serve`, read at the relay."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

import pytest

from tests.support.base import MEMBERS, ServeProcess, free_port, write_config
from tests.support.exchange import answer, with_subject
from tests.support.helpers import smtp_send
from tests.support.mailbuild import build, pinned_keys_toml, sign, via_list
from tests.support.waiting import wait_until

LIST = "conduct-committee@lists.example.org"
RITA = "rita@example.net"
PEOPLE = (
    MEMBERS
    + """
[[members]]
name = "José Núñez"
email = "jose@example.org"

[[members]]
name = "Zoe Adams"
email = "zoe@example.org"

[[members]]
name = "Ann Lee"
email = "ann@example.org"
aliases = ["Ann"]

[[members]]
name = "山田 花子"
email = "hanako@example.org"
"""
)
EVERYONE = ("alice", "bob", "carol", "jose", "zoe", "ann", "hanako")


@pytest.fixture
def casebook(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, members=PEOPLE,
                          extra=pinned_keys_toml())  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    yield process
    process.stop()


def report(body: str, *, subject: str = "Trouble at the sprint", html: bool = False) -> bytes:
    kind = "html" if html else "plain"
    return (
        f"From: Rita Reporter <{RITA}>\r\nTo: conduct@example.org\r\nSubject: {subject}\r\n"
        "Message-ID: <conflict-report@example.net>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body.replace("\n", "\r\n")
    ).encode()


def with_attachment(body: str, kind: str, filename: str, content: str) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"], msg["To"], msg["Subject"] = f"Rita <{RITA}>", "conduct@example.org", "Log"
    msg["Message-ID"] = "<conflict-attached@example.net>"
    msg.set_content(body)
    maintype, subtype = kind.split("/")
    msg.add_attachment(content.encode(), maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def send_report(casebook, relay, raw: bytes) -> None:
    assert smtp_send(casebook.port, raw, RITA, ["conduct@example.org"]) == {}
    wait_until(lambda: relay.to(RITA) and (relay.to(LIST) or with_subject(relay, "carol", "New")),
               "the acknowledgement and the new-case notice")  # fmt: skip


def assert_only_conflicted_left_out(relay, subject: str, conflicted: str) -> None:
    """Each other member has their own copy; the conflicted one and the list have none."""
    wait_until(lambda: all(with_subject(relay, m, subject) for m in EVERYONE if m != conflicted),
               f"every other member's copy of {subject!r}")  # fmt: skip
    assert with_subject(relay, LIST, subject) == []
    assert with_subject(relay, conflicted, subject) == []


REPORTS = {
    "attribution line": report(
        "Please see the mail below, it was sent to the whole list.\n\n"
        "On Mon, 2 Mar 2026 at 09:14, Bob Member wrote:\n> You are all idiots.\n"
    ),
    "attribution line with the address only": report(
        "See below.\n\nOn Mon, 2 Mar 2026, <bob@example.org> wrote:\n> Shut up.\n"
    ),
    "signature": report(
        "Someone shouted at me during the sprint.\n\n-- \nRita Reporter\nin Bob Member's team\n"
    ),
    "name wrapped over two lines": report(
        "Yesterday at the sprint, during the closing talk, Bob\nMember shouted at me.\n"
    ),
    "name wrapped inside a quote": report(
        "This is what I got.\n\nOn Mon, 2 Mar 2026, Sam <sam@example.net> wrote:\n"
        "> and I talked to Bob\n> Member about you, you will regret it\n"
    ),
    "no-break space": report("At the sprint Bob\u00a0Member shouted at me.\n"),
    "narrow no-break space": report("At the sprint Bob\u202fMember shouted at me.\n"),
    "text attachment": with_attachment(
        "The chat log is attached.", "text/plain", "log.txt", "10:02 <Bob Member> go away\n"
    ),
    "markdown attachment, by address": with_attachment(
        "Notes attached.", "text/markdown", "notes.md", "# Notes\n- bob@example.org was there\n"
    ),
    "HTML-only report, name in its quote": report(
        '<p>This is what I was sent.</p><div class="gmail_quote"><div>On Monday Sam wrote:'
        "</div><blockquote>Bob Member and I agree: go away.</blockquote></div>",
        html=True,
    ),
}


@pytest.mark.parametrize("case", list(REPORTS))
def test_member_named_anywhere_in_a_report_gets_no_notice(casebook, relay, case):
    send_report(casebook, relay, REPORTS[case])
    assert_only_conflicted_left_out(relay, "New report", "bob")
    [notice] = with_subject(relay, "alice", "Conflict of interest")
    assert "Bob Member <bob@example.org>: named in the report" in notice.get_content()


@pytest.mark.parametrize(
    ("written", "conflicted"),
    [
        ("Jose Nunez", "jose"),
        ("JOSÉ NÚÑEZ", "jose"),
        ("Zoë Ädams", "zoe"),
        # Japanese is written without spaces: the name inside a longer word (issue 18 §3, R3).
        ("山田花子さんが", "hanako"),
    ],  # fmt: skip
)
def test_names_match_with_or_without_diacritics(casebook, relay, written, conflicted):
    send_report(casebook, relay, report(f"At the sprint {written} shouted at me.\n"))
    assert_only_conflicted_left_out(relay, "New report", conflicted)


def test_a_word_containing_a_short_name_conflicts_nobody(casebook, relay):
    send_report(casebook, relay, report("There was an announcement, and Annika annoyed me.\n"))
    wait_until(lambda: with_subject(relay, LIST, "New report"), "the notice on the list")
    assert all(with_subject(relay, m, "New report") == [] for m in EVERYONE)


def test_member_named_in_a_follow_up_is_cut_off_before_it_is_distributed(casebook, relay):
    send_report(casebook, relay, report("Someone shouted at me at the sprint.\n"))
    assert with_subject(relay, LIST, "New report")  # nobody named: the list had the notice
    [ack] = relay.to(RITA)
    answer(
        casebook.port,
        ack,
        f"Rita <{RITA}>",
        "I remembered: it was Bob\nMember who shouted.",
        "<rita-more@x.net>",
    )
    assert_only_conflicted_left_out(relay, "More information", "bob")
    [notice] = with_subject(relay, "alice", "Conflict of interest")
    assert "Bob Member <bob@example.org>: named in the report (in a follow-up)" in (
        notice.get_content()
    )


def test_member_named_in_a_merged_message_is_cut_off(casebook, relay):
    send_report(casebook, relay, report("Someone shouted at me at the sprint.\n"))
    [ack] = relay.to(RITA)
    ref = ack["Subject"].split("]")[0].lstrip("[")
    stranger = build(sender="Sam <sam@example.net>", to="conduct@example.org",
                     subject=f"Re: [{ref}] what I saw", message_id="<sam-saw@example.net>",
                     body="I saw it too. It was Bob Member who shouted.")  # fmt: skip
    assert smtp_send(casebook.port, stranger, "sam@example.net", ["conduct@example.org"]) == {}
    wait_until(lambda: with_subject(relay, LIST, "was held"), "the held notice")
    [held] = with_subject(relay, LIST, "was held")
    assert "Bob Member" not in held.get_content()  # the list reaches Bob too
    merge = via_list(sign(build(sender="Alice Chair <alice@example.org>", to=LIST,
                       subject=f"Re: [{ref}] A message for this case was held",
                       body="#merge <sam-saw@example.net>", message_id="<alice-merge@example.org>",
                       in_reply_to=held["Message-ID"])))  # fmt: skip
    assert smtp_send(casebook.port, merge, "alice@example.org", [LIST]) == {}
    wait_until(lambda: with_subject(relay, "alice", "Conflict of interest"), "the chair's notice")
    answer(casebook.port, ack, f"Rita <{RITA}>", "Is there any news?", "<rita-news@example.net>")
    assert_only_conflicted_left_out(relay, "More information", "bob")
