"""The leading-block grammar (SPEC §5): what is read as a command and what never is."""

from __future__ import annotations

from archive.record.models import RouteKind
from intake.commands import find_commands
from intake.parse import parse_message


def keywords(text: str) -> list[tuple[str, str]]:
    return [(c.keyword, c.args) for c in find_commands(text).commands]


def test_leading_block_one_command_per_line_case_insensitive():
    text = "#Assign alice@example.org\n#NOTE called the reporter\n#agree\n\nThanks all."
    assert keywords(text) == [
        ("assign", "alice@example.org"),
        ("note", "called the reporter"),
        ("agree", ""),
    ]


def test_block_ends_at_prose_blank_line_or_stop_word():
    assert keywords("#agree\nI think this is right.\n#object") == [("agree", "")]
    assert keywords("#agree\n\n#object too late") == [("agree", "")]
    assert keywords("#agree\nthanks\n#object") == [("agree", "")]
    assert keywords("#agree\n--\n#object") == [("agree", "")]
    assert keywords("\n\n  #agree\n") == [("agree", "")]


def test_commands_after_prose_or_in_quotes_are_never_read():
    assert keywords("I agree with Bob.\n#agree") == []
    assert keywords("> #enact\n> #agree\n") == []
    assert keywords("On Mon, Alice wrote:\n> #propose permanent-ban all\n") == []
    assert keywords("Hello\n-- \n#agree\n") == []


def test_body_is_the_text_after_the_block_up_to_the_quote():
    found = find_commands(
        "#summary\nWe called Rita; she is safe.\nShe will send logs.\n\n"
        "On Mon, 2 Mar 2026, Bob wrote:\n> older text\n"
    )
    assert [c.keyword for c in found.commands] == ["summary"]
    assert found.body == "We called Rita; she is safe.\nShe will send logs."


def test_html_alternative_quoted_html_and_attached_messages_are_never_read(settings):
    quoted_html = (
        b"From: alice@example.org\r\nTo: conduct-committee@lists.example.org\r\n"
        b"Subject: Re: [CoC-2026-001] x\r\nMessage-ID: <h1@example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<p>Fine by me.</p>"
        b"<blockquote><p>#enact</p></blockquote>\r\n"
    )
    forwarded = (
        b"From: alice@example.org\r\nTo: conduct-committee@lists.example.org\r\n"
        b"Subject: Re: [CoC-2026-001] x\r\nMessage-ID: <h2@example.org>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: bob@example.org\r\nSubject: old\r\n\r\n#enact\r\n--b--\r\n"
    )
    alternative = (
        b"From: alice@example.org\r\nTo: conduct-committee@lists.example.org\r\n"
        b"Subject: Re: [CoC-2026-001] x\r\nMessage-ID: <h3@example.org>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        b"--a\r\nContent-Type: text/plain\r\n\r\nLooks fine to me.\r\n"
        b"--a\r\nContent-Type: text/html\r\n\r\n<p>#enact</p>\r\n--a--\r\n"
    )
    for raw in (quoted_html, forwarded, alternative):
        msg = parse_message(
            raw,
            envelope_from="alice@example.org",
            envelope_to=("conduct-committee@lists.example.org",),
            settings=settings,
            loop_id="x",
        )
        assert msg.route.kind is RouteKind.LIST
        assert msg.commands.commands == ()


def test_keywords_as_people_type_them():
    assert keywords("#agree!") == [("agree", "")]
    assert keywords("#agree.\n#object: too harsh") == [("agree", ""), ("object", "too harsh")]
    assert keywords("#note: Rita prefers mail") == [("note", "Rita prefers mail")]
    assert keywords("#note:Rita prefers mail") == [("note", "Rita prefers mail")]
    assert keywords("#clear_urgent") == [("clear-urgent", "")]


def test_one_greeting_line_may_come_before_the_block():
    assert keywords("Hi all,\n\n#agree\n") == [("agree", "")]
    assert keywords("Hello committee!\n#agree") == [("agree", "")]
    # Prose is not a greeting, and only one line is skipped.
    assert keywords("Hi all, I think we should ban him.\n#agree") == []
    assert keywords("Hi all,\nHope you are well.\n#agree") == []
