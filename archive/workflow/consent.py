"""A party's answer in their own words: consent to a proposal, and a wish for no contact.

Pure functions over the text the party wrote now (never the quoted proposal, which holds the
very words these rules look for). Only a clear yes or no counts as consent; anything else is
feedback the committee is asked to confirm. "No further contact" counts only when the party
asks the committee to stop contacting *them*, not when they ask that someone else stay away.
"""

from __future__ import annotations

import re

AGREE_RE = re.compile(
    r"(?i)^\W*(?:yes|yeah|yep|i agree|agreed|agree|ok|okay|that is fine|that's fine|fine by me|"
    r"fine with me|sounds good|go ahead|please go ahead|no problem|no objections?|"
    r"acceptable|i accept|i consent)\b"
)
DECLINE_RE = re.compile(
    r"(?i)^\W*(?:no(?![ \t]+(?:problem|objections?|worries|further|more)\b)|nope|"
    r"i do not agree|i don't agree|i disagree|not acceptable|that is not acceptable|"
    r"i decline|i object|i do not consent|i don't consent)\b"
)
NO_CONTACT_RE = re.compile(
    r"(?i)\b(?:(?:please\s+)?(?:do not|don't|stop|never)\s+(?:contact|contacting|e-?mail|"
    r"e-?mailing|write to|writing to)\s+me\b|"
    r"i (?:do not|don't) want (?:to be contacted|to hear from you|any (?:further|more) "
    r"(?:contact|e-?mails?|mails?)(?: from you| from the committee)?)\b|"
    r"no (?:further|more) (?:e-?mails?|mails?)\b"
    r"(?!\s+(?:with|from|between|to)\s+(?!(?:you|the committee|casebook)\b))|"
    r"no (?:further|more) contact\s+(?:with|from)\s+(?:you|the committee|casebook)\b)"
)
# "No further contact" with no one named: the committee's own contact, except in an answer to a
# proposal, whose mail invites "no further contact with the person involved" in those words.
BARE_NO_CONTACT_RE = re.compile(
    r"(?i)\bno (?:further|more) contact\b(?!\s+(?:with|from|between|to)\b)"
)


def consent_in(text: str) -> str | None:
    """ "agreed" or "declined" when the first words say so clearly, else None."""
    agree, decline = AGREE_RE.match(text), DECLINE_RE.match(text)
    if bool(agree) == bool(decline):
        return None
    return "agreed" if agree else "declined"


def asks_no_contact(text: str, *, answering_proposal: bool = False) -> bool:
    """The writer asks the committee to stop contacting them. In an answer to a proposal a
    bare "no further contact" is about the person involved, as the proposal's mail put it."""
    if NO_CONTACT_RE.search(text):
        return True
    return not answering_proposal and BARE_NO_CONTACT_RE.search(text) is not None
