"""A party's answer in their own words: consent to a proposal, and a wish for no contact.

Pure functions over the text the party wrote now (never the quoted proposal, which holds the
very words these rules look for). Only a clear yes or no counts as consent; anything else is
feedback the committee is asked to confirm. "No further contact" has two meanings the manual
keeps apart: the reporter may "refuse further contact with the violator" (the apology clause),
or ask the committee itself to stop writing. `no_contact_wish` tells which; when the words do
not say (a bare "no further contact"), the party is asked, and cut off only if they say so.
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
# Whom a no-contact wish is about: the committee's own mail, the person reported, or unsaid.
COMMITTEE, REPORTED, UNCLEAR = "committee", "reported", "unclear"
_US = re.compile(
    r"(?i)(?:you|your committee|the committee|the code of conduct committee|casebook|us)\b"
)
# A wish, and what it is about when nothing after it says: "no further contact" (unsaid), "no
# more e-mails" (ours: mail is what the committee sends), "not to be contacted" (by us).
_WISHES = (
    (re.compile(r"(?i)\bno (?:further |more )?(?:contact|communication)\b"), UNCLEAR),
    (
        re.compile(
            r"(?i)\b(?:do not|don't|never) want (?:any )?(?:further |more )?"
            r"(?:contact|communication)\b"
        ),
        UNCLEAR,
    ),
    (re.compile(r"(?i)\bno (?:further |more )?(?:e-?mails?|mails?|messages?)\b"), COMMITTEE),
    (
        re.compile(
            r"(?i)\b(?:do not|don't|never) want (?:any )?(?:further |more )?"
            r"(?:e-?mails?|mails?|messages?)\b"
        ),
        COMMITTEE,
    ),
    (re.compile(r"(?i)\b(?:do not|don't|never) want to be contacted\b"), COMMITTEE),
    (re.compile(r"(?i)\b(?:do not|don't|never) want to hear\b"), None),
)
# Whom the words right after a wish name: "… with him", "… from you", "… by Dave".
_TARGET = re.compile(r"(?i)^\s+(?:\w+\s+)?(?:with|from|by|between)\s+(?P<who>\S)")
# A verb of contact aimed at the writer: "contact me", "stop e-mailing me", "write to me".
_AT_ME = re.compile(
    r"(?i)\b(?:do not|don't|does not|doesn't|will not|won't|not|stop|never|no longer)\s+"
    r"(?:to\s+)?(?:contacts?|contacting|e-?mails?|e-?mailing|writes? to|writing to|messages?|"
    r"messaging|approach(?:es|ing)?)\s+me\b"
)
# Someone else in the words before it: "tell him to stop …", "he should never …", "make sure …".
_SOMEONE_ELSE = re.compile(
    r"(?i)\b(?:he|she|they|him|her|them|this (?:man|woman|person|guy)|that (?:man|woman|"
    r"person|guy)|the (?:person|violator|reported person|other person)|tell|ask|make sure|"
    r"ensure)\b"
)
_NOT_WANT_THEM = re.compile(
    r"(?i)\b(?:do not|don't|never) want (?!you\b)\w+(?: \w+)? to (?:contact|e-?mail|write to|"
    r"message|approach)\w*\s+me\b"
)
_CLAUSES = re.compile(r"[.!?;\n]+|\s+(?:and|but)\s+")


def no_contact_wish(text: str, *, invited: bool = False) -> str | None:
    """Whom the writer wants no further contact with: COMMITTEE (stop writing to me), REPORTED
    (the person they reported: "no further contact with him", "he should never contact me"),
    UNCLEAR (a bare "no further contact"), or None. `invited`: an answer to a proposal whose
    mail offered "no further contact with the person involved" in those words (an apology
    request), where a bare wish means that person."""
    found = {_clause_wish(clause) for clause in _CLAUSES.split(text)}
    if COMMITTEE in found:
        return COMMITTEE
    if REPORTED in found:
        return REPORTED
    if UNCLEAR in found:
        return REPORTED if invited else UNCLEAR
    return None


def _clause_wish(clause: str) -> str | None:
    at_me = _AT_ME.search(clause)
    if at_me:  # "please stop e-mailing me" is to us; "tell him to stop e-mailing me" is not
        return REPORTED if _SOMEONE_ELSE.search(clause[: at_me.start()]) else COMMITTEE
    if _NOT_WANT_THEM.search(clause):
        return REPORTED
    for pattern, unsaid in _WISHES:
        wish = pattern.search(clause)
        if wish is None:
            continue
        target = _TARGET.match(clause[wish.end() :])
        if target is None:
            return unsaid
        return COMMITTEE if _US.match(clause[wish.end() + target.start("who") :]) else REPORTED
    return None


# An answer to casebook's question "with whom?": a word or two on its first line (the whole
# line, so "You know, he wrote again" is no "you"), or the wish written out in full.
_OTHER_WORDS = (
    r"(?P<other>1|one|the first(?: one)?|him|her|them|that person|this person|the reported "
    r"person|the person(?: i reported)?)"
)
_US_WORDS = r"(?P<us>2|two|the second(?: one)?|stop|both|you|the committee|no more mail)"
_SHORT_ANSWER = re.compile(
    r"(?i)\W*(?:yes,? |no,? )?(?:i meant |i mean )?(?:(?:no )?contact )?(?:with |from )?"
    r"(?:" + _OTHER_WORDS + "|" + _US_WORDS + r")(?:,? please|,? thanks|,? thank you)?\W*"
)


def contact_meant(text: str) -> str | None:
    """The answer to "whom did you mean?": COMMITTEE, REPORTED, or None when it does not say."""
    wish = no_contact_wish(text)
    if wish in (COMMITTEE, REPORTED):
        return wish
    first = next((line for line in text.splitlines() if line.strip()), "")
    short = _SHORT_ANSWER.fullmatch(first.strip())
    if short is None:
        return None
    return REPORTED if short.group("other") else COMMITTEE


def consent_in(text: str) -> str | None:
    """ "agreed" or "declined" when the first words say so clearly, else None."""
    agree, decline = AGREE_RE.match(text), DECLINE_RE.match(text)
    if bool(agree) == bool(decline):
        return None
    return "agreed" if agree else "declined"
