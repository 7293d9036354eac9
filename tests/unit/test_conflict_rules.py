"""The conflict check's pure rules: what is read, what counts as naming someone."""

from __future__ import annotations

import unicodedata
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.arrivals.conflicts import left_free
from archive.record.folding import INVISIBLE_RE, LINE_BREAKS_RE, SPACES_RE
from archive.record.settings import Person
from intake.conflicts import naming_line
from intake.mentions import fold_text, mentions
from intake.parse import parse_message
from intake.wholetext import html_as_quoted_text, without_own_quotes

BOB = Person("Bob Member", "bob@example.org", ("Bobby",))
OWN = ("conduct@example.org", "conduct-appeals@example.org")


def named(person: Person, text: str) -> bool:
    return mentions(person, fold_text(text))


def test_whole_names_and_addresses_only():
    assert named(BOB, "BOB MEMBER") and named(BOB, "Bobby said") and named(BOB, "<bob@example.org>")
    assert not named(BOB, "Bob Memberson") and not named(BOB, "Bob") and not named(BOB, "Bobbyx")
    assert not named(BOB, "bob@example.org.uk") and not named(BOB, "xbob@example.org")
    assert not named(Person("Ann", "ann@example.org"), "the announcement of Annika")


def test_a_name_split_by_soft_hyphens_or_zero_width_spaces_still_counts():
    assert named(BOB, "Bob Mem\u00adber") and named(BOB, "Bob\u200b Member")


def test_casebooks_own_mail_quoted_back_is_not_read():
    text = (
        "I will not apologise.\n\nOn Mon, 2 Mar 2026, Code of Conduct Committee"
        " <conduct+abc123@example.org> wrote:\n\n> We ask you to apologise.\n> Alice Chair\n"
        "\nAnd Bob Member knows it.\n"
    )
    kept = without_own_quotes(text, OWN)
    assert "Alice Chair" not in kept and "Bob Member knows it" in kept


def test_html_blockquotes_read_as_quoted_lines():
    markup = "<p>No.</p><blockquote><p>Alice Chair</p><blockquote>deeper</blockquote></blockquote>"
    lines = [line for line in html_as_quoted_text(markup).split("\n") if line.strip()]
    assert lines == ["No.", "> Alice Chair", "> > deeper"]


def test_reported_persons_reply_quoting_the_chairs_notice_conflicts_nobody(settings):
    raw = (
        b"From: Rex <rex@example.net>\r\nTo: conduct@example.org\r\nSubject: Re: [CoC-2026-001]\r\n"
        b"Message-ID: <rex@example.net>\r\n\r\nFine.\r\n\r\n"
        b"On Mon, 2 Mar 2026, Code of Conduct Committee <conduct@example.org> wrote:\r\n"
        b"> Please apologise.\r\n>\r\n> Alice Chair\r\n> Chair, Code of Conduct Committee\r\n"
    )
    msg = parse_message(raw, envelope_from="rex@example.net", envelope_to=("conduct@example.org",),
                        settings=settings, loop_id="x")  # fmt: skip
    assert msg.conflicts == ()


def test_casebooks_own_mail_quoted_back_by_outlook_is_not_read():
    """Outlook quotes without `>` under a From:/Sent: block; a reported person's reply to a
    chair-signed notice must not cut the chair off (German and English headers)."""
    for sender, sent in (("From", "Sent"), ("Von", "Gesendet")):
        text = (
            "I will not apologise, and Bob Member knows why.\n\n"
            "________________________________\n"
            f"{sender}: Code of Conduct Committee <conduct+abc123@example.org>\n"
            f"{sent}: Monday, March 2, 2026 10:00 AM\nTo: Dave <dave@example.com>\n"
            "Subject: [CoC-2026-001] A private message\n\nWe ask you to apologise.\nAlice Chair\n"
        )
        kept = without_own_quotes(text, OWN)
        assert "Alice Chair" not in kept and "Bob Member knows why" in kept
        assert "____" not in kept
    # Someone else's mail quoted the Outlook way is read whole.
    other = "See below.\n\nFrom: Alice Chair <alice@example.org>\nSent: Monday\n\nAlice Chair\n"
    assert "Alice Chair\n" in without_own_quotes(other, OWN)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_folding_ascii_text_is_the_same_as_the_general_folding(text):
    # fold_text takes a quicker path for ASCII text; it must fold exactly as the general one.
    general = unicodedata.normalize("NFKC", text)
    general = SPACES_RE.sub(" ", INVISIBLE_RE.sub("", LINE_BREAKS_RE.sub("\n", general)))
    assert fold_text(text) == general.casefold()


def test_the_line_that_names_a_member_is_kept_for_the_chair():
    text = "Hello,\n\nThank you for the call yesterday,   Bobby.\nRita\n"
    assert naming_line(BOB, text) == "Thank you for the call yesterday, Bobby."
    assert naming_line(BOB, "It was Bob\nMember.") == ""  # only the wrapped name: no one line


def test_free_members_are_those_neither_excluded_nor_newly_conflicted():
    ann, bo = Person("Ann Lee", "Ann@example.org"), Person("Bo Ek", "bo@example.org")
    settings = SimpleNamespace(committee=(ann, bo))
    case = SimpleNamespace(excluded=lambda: {"bo@example.org"})
    assert left_free(settings, case, set()) == ["ann@example.org"]
    assert left_free(settings, case, {"ANN@example.org"}) == []
