"""Composing outgoing messages: threading, RFC 3834 headers, the loop header, no injection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from mailer.recipients import Undeliverable

LOOP_HEADER = "X-Casebook-Loop"


@dataclass(frozen=True)
class Outgoing:
    from_name: str
    from_addr: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    message_id: str
    date: datetime
    auto_submitted: str
    loop_id: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    case_ref: str | None = None


def one_line(value: str) -> str:
    """A header value from any field: control characters and line breaks become spaces."""
    cleaned = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in str(value))
    return " ".join(cleaned.split())


def tagged_subject(subject: str, case_ref: str | None) -> str:
    subject = one_line(subject)
    if case_ref and f"[{case_ref}]" not in subject:
        return f"[{case_ref}] {subject}"
    return subject


def sign_message(raw: bytes, domain: str, selector: str, key: bytes) -> bytes:
    """A DKIM-Signature over the headers that matter for threading and replay, prepended."""
    import dkim

    headers = [b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to",
               b"references", b"reply-to", b"auto-submitted"]  # fmt: skip
    present = [h for h in headers if h + b":" in raw.split(b"\r\n\r\n", 1)[0].lower()]
    return dkim.sign(raw, selector.encode(), domain.encode(), key, include_headers=present) + raw


def compose_message(out: Outgoing) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=one_line(out.from_name), addr_spec=out.from_addr)
    to = ", ".join(one_line(a) for a in out.to)
    try:
        msg["To"] = to
    except (IndexError, ValueError, HeaderParseError):  # IndexError: Python's parser on "x@"
        # An envelope sender can be any string; such an acknowledgement fails alone, recorded.
        raise Undeliverable(f"not an address a To header can carry: {to!r}") from None
    if out.reply_to:
        msg["Reply-To"] = one_line(out.reply_to)
    msg["Subject"] = tagged_subject(out.subject, out.case_ref)
    msg["Date"] = format_datetime(out.date)
    msg["Message-ID"] = one_line(out.message_id)
    if out.in_reply_to:
        msg["In-Reply-To"] = one_line(out.in_reply_to)
    refs = [one_line(r) for r in out.references if r]
    if refs:
        msg["References"] = " ".join(refs[-20:])
    msg["Auto-Submitted"] = one_line(out.auto_submitted)
    msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = one_line(out.loop_id)
    msg.set_content(out.text)
    if out.html:
        msg.add_alternative(out.html, subtype="html")
    return msg.as_bytes()
