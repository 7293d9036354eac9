"""Forwarded reports: who reported, on whose behalf, and who merely sent the forwarded mail.

Only a configured event delegate (`[[delegates]]`) forwards on someone's behalf, or a member
who names the reporter in an explicit `Reporter:` line. Anyone else who forwards mail (most
often the abusive mail itself) stays the reporter: the forwarded mail's sender is a named
individual, never a party that receives anything.
"""

from __future__ import annotations

import dataclasses
import re

from archive.record.models import Delegate, ReportFields
from archive.record.settings import Settings
from intake.addresses import Mailbox, decode_words, parse_from

FORWARD_MARKER_RE = re.compile(
    r"(?im)^\s*(?:-{3,}\s*Forwarded message\s*-{3,}|Begin forwarded message:|"
    r"-{3,}\s*Original Message\s*-{3,})\s*$"
)
FORWARD_FROM_RE = re.compile(r"(?im)^\s*\*?From:\*?\s*(?P<value>.+)$")
ACTIONS_RE = re.compile(r"(?im)^\s*(?:actions? taken|action taken so far)\s*:\s*(?P<value>.+)$")
REPORTER_LINE_RE = re.compile(r"(?im)^\s*reporter\s*:\s*(?P<value>.+)$")


def forwarded_sender(text: str, forwarded_from: str | None) -> Mailbox | None:
    """The sender of a forwarded mail: an attached message's From, or the From line under a
    forward marker."""
    original = forwarded_from
    marker = FORWARD_MARKER_RE.search(text)
    if original is None and marker:
        match = FORWARD_FROM_RE.search(text, marker.end())
        original = match.group("value").strip() if match else None
    if not original:
        return None
    mailbox = parse_from([decode_words(original)])
    return mailbox if mailbox.address else None


def find_delegate(
    text: str, sender: str | None, forwarded_from: str | None, settings: Settings
) -> Delegate | None:
    """A report made on someone's behalf: its original reporter and what the delegate did.

    `forwarded_from` is the From of an attached message/rfc822 part, when there is one.
    """
    marker = FORWARD_MARKER_RE.search(text)
    intro = text[: marker.start()] if marker else text
    if settings.delegate_for(sender) is not None:
        original = forwarded_sender(text, forwarded_from)
    elif sender and settings.person_for(sender) is not None:
        line = REPORTER_LINE_RE.search(intro)
        original = parse_from([line.group("value").strip()]) if line else None
    else:
        return None
    if original is None or original.address is None or original.address == sender:
        return None
    actions = ACTIONS_RE.search(intro)
    summary = actions.group("value").strip() if actions else intro.strip() or None
    return Delegate(original.name, original.address, summary)


def with_named_individual(fields: ReportFields, person: Mailbox) -> ReportFields:
    """The report's fields with the forwarded mail's sender among the individuals named."""
    named = f"{person.name} <{person.address}>" if person.name else str(person.address)
    if fields.names and person.address in fields.names:
        return fields
    names = f"{fields.names}; {named}" if fields.names else named
    return dataclasses.replace(fields, names=f"{names} (sender of the forwarded mail)")
