"""The reply reader on public corpora of real replies (tests/fixtures/replies/README.md).

Tuned on discourse/email_reply_trimmer and the shapes of issue 18; github/email_reply_parser and
mailgun/talon were held out and first measured after tuning. Before (quotequail and casebook's
old markers) → after, in replies with any line kept that is not new text / with new text cut:
trimmer (64) 14 → 0 / 6 → 4; email_reply_parser (21) 3 → 2 / 2 → 3; talon (21) 4 → 0 / 3 → 2.
Every line still kept is an author's own sign-off under their text; no quoted line is kept in
any of the three (before: quoted history in 14 trimmer and 4 talon replies, among them a Russian
Outlook block in HTML and its quoted text).
"""

from __future__ import annotations

import pytest

from tests.support.replycorpus import corpus, measure, measure_corpus

# Cut on purpose: unquoted text under an attribution is history ("when unsure, cut early"),
# and so is a forwarded message's body; one line that reads like a phone's footer is cut as one.
LOST_BY_DESIGN = {
    "email_reply_trimmer": {
        "embedded_email_7",  # interleaved: text under an attributed quote
        "embedded_email_17",  # unquoted text under "On … wrote:"
        "embedded_email_18",
        "forwarded_message",
    },
    "email_reply_parser": {
        "email_1_2",  # bottom-posted under "Hi," and an attributed quote
        "email_1_6",  # "Sent from a magnificent torch of pixels", a footer the label keeps
        "email_sent_from_my_not_signature",  # "Sent from my desk, …", cut as a footer
    },
    "talon": {"iphone", "sparrow"},  # the labels keep the signature casebook cuts
}
SIGN_OFFS = {"-Abhishek Kona"}  # the author's own name under their text, never a quote


@pytest.mark.parametrize("source", sorted(LOST_BY_DESIGN))
def test_no_quoted_line_is_kept(source):
    kept = {m.name: m.kept for m in measure_corpus(source) if set(m.kept) - SIGN_OFFS}
    assert kept == {}


@pytest.mark.parametrize("source", sorted(LOST_BY_DESIGN))
def test_new_text_is_cut_only_where_the_reader_cuts_early_on_purpose(source):
    lost = {m.name for m in measure_corpus(source) if m.lost}
    assert lost <= LOST_BY_DESIGN[source]


def test_both_corpora_are_there():
    assert len(corpus("email_reply_trimmer")) == 64
    assert len(corpus("email_reply_parser")) == 21
    assert len(corpus("talon")) == 21


def test_the_measure_sees_a_kept_quote_and_a_lost_line():
    found = measure("x", "mine\nmore\n\n> theirs\n", "mine\nother\n")
    assert found.kept == ("more",) and found.lost == ("other",)
