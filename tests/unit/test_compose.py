"""compose_message writes plain mail itself: the bytes must be exactly what Python's `email`
package writes for the same message, and anything not plain must still go through the package."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailer.compose import Outgoing, _email_message, _plain_message, compose_message, text_body
from tests.support.base import T0

ACK_TEXT = (
    "Thank you for writing.\n\n- We will work out what happened, whether it breaks the Code "
    "of Conduct, who is\n  responsible.\n\n-- \nCode of Conduct Committee\n"
)


def outgoing(**changes) -> Outgoing:
    values = dict(
        from_name="Code of Conduct Committee",
        from_addr="conduct@example.org",
        to=("rita@example.net",),
        subject="We received your report",
        text=ACK_TEXT,
        html=None,
        message_id="<cb-abc@example.org>",
        date=T0,
        auto_submitted="auto-replied",
        loop_id="799d31eed1d24eec",
        reply_to="conduct+b6a67mksyhz4@example.org",
        in_reply_to="<plain-report-1@example.net>",
        references=("<plain-report-1@example.net>",),
        case_ref="CoC-2026-001",
    )
    values.update(changes)
    return Outgoing(**values)


def by_package(out: Outgoing):
    try:
        return _email_message(out)
    except Exception as exc:  # Undeliverable, or what the package raises on odd input
        return exc


def by_casebook(out: Outgoing):
    try:
        return compose_message(out)
    except Exception as exc:  # Undeliverable, or what the package raises on odd input
        return exc


def same(out: Outgoing) -> None:
    ours, theirs = by_casebook(out), by_package(out)
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs) and str(ours) == str(theirs)
    else:  # a multipart's boundary is random each time
        assert BOUNDARY.sub(b"=", ours) == BOUNDARY.sub(b"=", theirs), out


BOUNDARY = re.compile(rb"===============\d+==")


PLAIN = [
    outgoing(),
    outgoing(reply_to=None, in_reply_to=None, references=(), auto_submitted="auto-generated"),
    outgoing(to=("alice@example.org", "carol@example.org"), case_ref=None),
    outgoing(text="One line, 7bit.\n"),
    outgoing(text=""),
    outgoing(text="no newline at the end"),
    outgoing(text="dos\r\nline ends\rand a lone CR\n"),
    outgoing(text="Grüße, José — a name in UTF-8\n"),  # quoted-printable
    outgoing(text="ÄÖÜ" * 200 + "\n"),  # base64 wins
    outgoing(text="x" * 200 + "\n" + "short\n" * 12),  # long line, more than 10 lines
    outgoing(subject='Re: (parenthesised) "quoted"; with: colons, <angles>'),
    outgoing(references=tuple(f"<r{n}@example.net>" for n in range(3))),
    outgoing(date=datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))),
    outgoing(date=datetime(2026, 3, 29, 1, 30)),  # naive: -0000
]
NOT_PLAIN = [
    outgoing(html="<p>hi</p>"),
    outgoing(utf8=True, to=("josé@exämple.org",)),
    outgoing(from_name="Example Org. CoC"),  # a dot: the package quotes the name
    outgoing(from_name="Comité"),
    outgoing(from_name=""),
    outgoing(subject="Grüße"),
    outgoing(subject="=?utf-8?q?encoded?= word"),
    outgoing(subject="a long subject " * 6),
    outgoing(references=tuple(f"<ref-{n}@lists.example.net>" for n in range(20))),
    outgoing(to=("rita@example.net\r\nBcc: evil@example.com",)),
    outgoing(to=("x@",)),
    outgoing(reply_to="conduct+x@example.org\nX-Evil: 1"),
    outgoing(message_id="no angle brackets"),
]


@pytest.mark.parametrize("out", PLAIN)
def test_plain_mail_is_written_directly_and_byte_for_byte_as_the_package_writes_it(out):
    assert _plain_message(out) is not None
    same(out)


@pytest.mark.parametrize("out", NOT_PLAIN)
def test_mail_that_is_not_plain_goes_through_the_package(out):
    assert _plain_message(out) is None
    same(out)


ASCII = st.characters(min_codepoint=0, max_codepoint=127)
ANY = st.characters(codec="utf-8", exclude_categories=("Cs",))
WORDS = st.lists(st.text(st.sampled_from("abcxyz.-+=?()<>\"',;:@[]\\ "), max_size=8), max_size=8)
NAME = st.one_of(st.text(ASCII, max_size=40), st.text(ANY, max_size=20), WORDS.map(" ".join))
LOCAL = st.from_regex(r"[a-z0-9.+=?_-]{1,20}", fullmatch=True)
DOMAIN = st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,2}", fullmatch=True)
ADDRESS = st.one_of(st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN),
                    st.text(ASCII, max_size=30))  # fmt: skip
TEXT = st.one_of(st.text(ASCII, max_size=300), st.text(ANY, max_size=300),
                 st.lists(st.text(ASCII, max_size=100), max_size=15).map("\n".join))  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    from_name=NAME,
    to=st.lists(ADDRESS, min_size=1, max_size=3).map(tuple),
    subject=NAME,
    text=TEXT,
    message_id=st.one_of(ADDRESS.map(lambda a: f"<{a}>"), st.text(ASCII, max_size=30)),
    reply_to=st.one_of(st.none(), ADDRESS),
    in_reply_to=st.one_of(st.none(), NAME),
    references=st.lists(NAME, max_size=4).map(tuple),
    auto_submitted=st.sampled_from(["auto-replied", "auto-generated", "auto-x (y)"]),
    case_ref=st.one_of(st.none(), st.just("CoC-2026-001")),
)
@example(from_name="a", to=("b@c",), subject="s", text="t", message_id="<a@b>", reply_to=None,
         in_reply_to=None, references=(), auto_submitted="auto-replied", case_ref=None)  # fmt: skip
def test_any_message_is_the_same_bytes_either_way(**fields):
    same(outgoing(**fields))


LONG_LINE = "word " * 40
BODIES = ["", "a\n", ACK_TEXT, "no newline at the end", "x\r\ny\rz\n", LONG_LINE, "é\n",
          "Grüße\n" * 12, "é" * 200, "\x0b\x0c\x1c in a line\n",
          "日本語のテキスト\n" * 3]  # fmt: skip


@pytest.mark.parametrize("text", BODIES)
@settings(deadline=None)
@given(more=TEXT)
def test_the_body_is_encoded_as_the_package_encodes_it(text, more):
    """The plain path's text part (issue 19: no private `email` import) is the package's."""
    for body in (text, text + more):
        package = EmailMessage(policy=SMTP)
        package.set_content(body)
        cte, payload = text_body(body)
        assert cte == package["Content-Transfer-Encoding"]
        written = package.as_bytes().split(b"\r\n\r\n", 1)[1]
        assert payload.encode("ascii", "surrogateescape").replace(b"\n", b"\r\n") == written
