"""Commands as members type them, and what each member sees (issue 9, item 5/6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.record.cases import find_case
from archive.record.db import open_archive
from archive.record.send_results import member_party
from mailer.send import send_due
from tests.support.base import T0
from tests.support.committee import BOB, Committee, dkim_settings
from tests.support.helpers import outbox


@pytest.fixture
def token(tmp_path, relay):
    settings = dkim_settings(tmp_path, relay_port=relay.port, command_auth="token")
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    send_due(db, settings, T0)
    c.relay = relay
    yield c
    db.close()


def address_of(c: Committee, email: str, name: str) -> str:
    case = find_case(c.db, "CoC-2026-001")
    return f"conduct+{member_party(c.db, case, email, name, T0).token}@example.org"


def say_token(c: Committee, text: str, *, sender: str = BOB, **options):
    email = sender.split("<")[-1].rstrip(">")
    to = address_of(c, email, sender.split(" <")[0])
    raw = c.message(text, sender=sender, signed=False, **options)
    result = c.say("", raw=raw, to=to, sender=sender)
    send_due(c.db, c.settings, T0)
    return result


@pytest.mark.parametrize(
    ("text", "keyword", "at_once"),
    [
        ("#urgent!", "urgent", True),
        ("#note: Rita prefers mail to calls", "note", False),
        ("#urgent\n#clear_urgent", "clear-urgent", True),
        ("Hi all,\n\n#note called Rita", "note", False),
        ("Hello committee!\n#note called Rita\nthanks", "note", False),
    ],
)
def test_commands_as_people_type_them_are_answered_not_relayed(token, text, keyword, at_once):
    """Issue 20 §17: what a command-only mail did reaches the case's audience (Bob too) in
    one outcome mail: at once when someone must act on it (urgency), else at the hour's end."""
    before = len(token.relay.messages)
    say_token(token, text)
    if not at_once:
        assert len(token.relay.messages) == before  # nothing yet: it waits for more
        send_due(token.db, token.settings, T0 + timedelta(hours=1, minutes=1))
    new = token.relay.parsed()[before:]
    assert outbox(token.db, "committee/command_result") == []  # no transcript of its own
    # The others are not sent Bob's mail itself, only what it did: in the outcome mail, or
    # after the text of the notice it caused (the urgent one).
    assert not [m for m in new if "via casebook" in str(m["From"])]
    for member in ("alice@example.org", "bob@example.org", "carol@example.org"):
        [told] = [m for m in new if str(m["To"]) == member]
        assert f"#{keyword}" in told.get_content() and "done: " in told.get_content()
        assert "Bob Member" in told.get_content()


def rendered(template: str, context: dict) -> str:
    """A template as its reader sees it: subject and text."""
    from mailer.render import make_environment, render_template

    out = render_template(make_environment(), template, context)
    return f"{out.subject}\n{out.text}"


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        ("#summary\nWe called Rita; she is safe.\n\nOn Mon, Bob wrote:\n> old", "she is safe"),
        ("#to-reporter\nWe are looking into it.\n-- \nBob", "We are looking into it."),
        (
            "#propose private-reprimand\nStatement: Please keep it technical.\nEnd of statement",
            "Please keep it technical.",
        ),
    ],
)
def test_the_transcript_shows_the_text_a_command_took(token, text, taken):
    say_token(token, text)
    assert token.lines()[0][0] == "done", token.lines()
    [transcript] = [m for m in token.relay.to("bob@example.org") if "Commands" in m["Subject"]]
    body = transcript.get_content()
    assert taken in body
    assert "old" not in body.split("your commands")[-1] and "-- \nBob" not in body
    # It threads with the case: an answer to the command mail itself.
    [command_mail] = [r for r in outbox(token.db, "committee/command_result")]
    assert transcript["In-Reply-To"] == command_mail["in_reply_to"]
    assert transcript["In-Reply-To"].startswith("<m")


def test_a_refusal_in_token_mode_does_not_speak_of_dkim(token):
    # Bob writes to the list instead of his reply address: token mode refuses it.
    token.say("#urgent", sender=BOB, signed=True)
    [notice] = outbox(token.db, "committee/commands_refused")
    text = rendered("committee/commands_refused", notice["context"])
    assert "DKIM" not in text
    assert "personal reply address" in text
    assert "DKIM" in rendered("committee/commands_refused", {"token_mode": False})


def test_html_only_command_mail_is_read_for_its_new_text_and_not_relayed(token):
    notice = token.notice_id("CoC-2026-001")
    html = (
        '<div dir="ltr"><div>Hi all,</div><div><br></div><div>#note: Rita called back!</div>'
        '</div><br><div class="gmail_quote"><div class="gmail_attr">On Mon, 2 Mar 2026,'
        ' casebook wrote:<br></div><blockquote class="gmail_quote">#propose permanent-ban all'
        "<br>A new report arrived.</blockquote></div>"
    )
    raw = (
        f"From: {BOB}\r\nTo: x@example.org\r\nSubject: Re: [CoC-2026-001] New report\r\n"
        f"Message-ID: <html-only@example.org>\r\nIn-Reply-To: {notice}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    to = address_of(token, "bob@example.org", "Bob Member")
    token.say("", raw=raw, to=to, sender=BOB)
    assert token.lines() == [("done", token.lines()[0][1])]
    assert outbox(token.db, "committee/relay") == []
    [outcome] = outbox(token.db, "committee/command_outcome")
    assert outcome["context"]["items"][0]["results"][0]["line"] == "#note: Rita called back!"


def test_a_refused_command_only_mail_is_answered_at_once_and_a_query_only_to_the_asker(token):
    """Issue 20 §17: the member must act on a refusal (at once); the others read it with the
    hour's outcomes; `#help` is the asker's alone."""
    before = len(token.relay.messages)
    say_token(token, "#agree")  # there is no proposal yet
    [refused] = [m for m in token.relay.parsed()[before:] if "Commands not applied" in m["Subject"]]
    assert str(refused["To"]) == "bob@example.org"
    assert "there is no open proposal to vote on" in refused.get_content()
    assert len(token.relay.messages) == before + 1  # the others: not yet
    say_token(token, "#help")
    [answer] = token.relay.parsed()[before + 1 :]
    assert str(answer["To"]) == "bob@example.org" and "list the commands" in answer.get_content()
    send_due(token.db, token.settings, T0 + timedelta(hours=1, minutes=1))
    later = token.relay.parsed()[before + 2 :]
    assert {str(m["To"]) for m in later} == {
        "alice@example.org", "bob@example.org", "carol@example.org"
    }  # fmt: skip
    text = later[0].get_content()
    assert "Bob Member (not applied: all or none)" in text and "#help" not in text
