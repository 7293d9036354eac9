"""Reports forwarded by an event delegate: the original reporter and the actions taken."""

from __future__ import annotations

import re

from archive.models import Delegate
from intake.addresses import decode_words, parse_from

FORWARD_MARKER_RE = re.compile(
    r"(?im)^\s*(?:-{3,}\s*Forwarded message\s*-{3,}|Begin forwarded message:|"
    r"-{3,}\s*Original Message\s*-{3,})\s*$"
)
FORWARD_FROM_RE = re.compile(r"(?im)^\s*\*?From:\*?\s*(?P<value>.+)$")
ACTIONS_RE = re.compile(r"(?im)^\s*(?:actions? taken|action taken so far)\s*:\s*(?P<value>.+)$")


def find_delegate(
    text: str, subject: str, sender: str | None, forwarded_from: str | None = None
) -> Delegate | None:
    """A forwarded report: who originally reported it and what the delegate did about it.

    `forwarded_from` is the From of an attached message/rfc822 part, when there is one.
    """
    marker = FORWARD_MARKER_RE.search(text)
    is_forward = subject.lower().startswith(("fwd:", "fw:")) or marker or forwarded_from
    if not is_forward:
        return None
    original = forwarded_from
    if original is None and marker:
        match = FORWARD_FROM_RE.search(text, marker.end())
        original = match.group("value").strip() if match else None
    mailbox = parse_from([decode_words(original)]) if original else None
    if mailbox is None or mailbox.address is None or mailbox.address == sender:
        return None
    intro = text[: marker.start()] if marker else text
    actions = ACTIONS_RE.search(intro)
    summary = actions.group("value").strip() if actions else intro.strip() or None
    return Delegate(mailbox.name, mailbox.address, summary)
