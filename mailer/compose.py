"""Composing outgoing messages: threading, RFC 3834 headers, the loop header, no injection."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, replace
from datetime import datetime
from email import quoprimime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime

from archive.record.address_grammar import is_plain_address
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
    utf8: bool = False  # addresses in UTF-8 (RFC 6532), for a relay that takes SMTPUTF8


class NeedsSmtputf8(Exception):
    """An address only SMTPUTF8 can carry (a non-ASCII local part), and the relay lacks it."""


def needs_smtputf8(*addresses: str | None) -> bool:
    return not all(a.isascii() for a in addresses if a)


def ascii_address(address: str) -> str:
    """The address as plain ASCII SMTP takes it: an internationalised domain as IDNA (xn--)."""
    if address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise NeedsSmtputf8(
            f"{address}: a non-ASCII local part needs SMTPUTF8, which the relay does not offer"
        )
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError as exc:
        raise NeedsSmtputf8(f"{address}: the domain has no ASCII (IDNA) form: {exc}") from None


def ascii_outgoing(out: Outgoing) -> Outgoing:
    """The same message with every address in ASCII, for a relay without SMTPUTF8."""
    return replace(
        out,
        from_addr=ascii_address(out.from_addr),
        to=tuple(ascii_address(a) for a in out.to),
        reply_to=ascii_address(out.reply_to) if out.reply_to else None,
        utf8=False,
    )


def one_line(value: str) -> str:
    """A header value from any field: control characters and line breaks become spaces."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def tagged_subject(subject: str, case_ref: str | None) -> str:
    subject = one_line(subject)
    if case_ref and f"[{case_ref}]" not in subject:
        return f"[{case_ref}] {subject}"
    return subject


def sign_message(raw: bytes, domain: str, selector: str, key: bytes) -> bytes:
    """A DKIM-Signature over the headers that matter for threading and replay, prepended."""
    import dkim

    headers = [
        b"from",
        b"to",
        b"subject",
        b"date",
        b"message-id",
        b"in-reply-to",
        b"references",
        b"reply-to",
        b"auto-submitted",
    ]
    present = [h for h in headers if h + b":" in raw.split(b"\r\n\r\n", 1)[0].lower()]
    return dkim.sign(raw, selector.encode(), domain.encode(), key, include_headers=present) + raw


def compose_message(out: Outgoing) -> bytes:
    """The message's bytes as Python's `email` package (policy SMTP) writes them.

    Most of casebook's mail is plain: ASCII headers that each fit on one line, one text part.
    Those are written directly, byte for byte what the package writes (tests/unit/test_compose.py
    compares the two); anything else goes through the package."""
    return _plain_message(out) or _email_message(out)


_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
_PLAIN_NAME = re.compile(rf"[{_ATEXT}]+(?: [{_ATEXT}]+)*\Z")
_PLAIN_MSGID = re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>\Z")
_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*\Z")  # printable ASCII words, single spaces
_MAX_LINE = SMTP.max_line_length  # 78


def _plain_message(out: Outgoing) -> bytes | None:
    """The fast path of `compose_message`, or None when the message is not plain enough."""
    if out.utf8 or out.html:
        return None
    from_name = one_line(out.from_name)
    to = [one_line(a) for a in out.to]
    if not to or not _PLAIN_NAME.match(from_name) or not is_plain_address(out.from_addr):
        return None
    if not all(is_plain_address(a) for a in to):
        return None
    headers = [("From", f"{from_name} <{out.from_addr}>"), ("To", ", ".join(to))]
    if out.reply_to:
        reply_to = one_line(out.reply_to)
        if not is_plain_address(reply_to):
            return None
        headers.append(("Reply-To", reply_to))
    headers.append(("Subject", tagged_subject(out.subject, out.case_ref)))
    headers.append(("Date", format_datetime(out.date)))
    message_id = one_line(out.message_id)
    if not _PLAIN_MSGID.match(message_id):
        return None
    headers.append(("Message-ID", message_id))
    if out.in_reply_to:
        headers.append(("In-Reply-To", one_line(out.in_reply_to)))
    refs = [one_line(r) for r in out.references if r]
    if refs:
        headers.append(("References", " ".join(refs[-20:])))
    headers.append(("Auto-Submitted", one_line(out.auto_submitted)))
    headers.append(("X-Auto-Response-Suppress", "All"))
    headers.append((LOOP_HEADER, one_line(out.loop_id)))
    for name, value in headers:
        # One line each, nothing the package would decode (=?…?=), refold or quote.
        if len(name) + 2 + len(value) > _MAX_LINE or "=?" in value:
            return None
        if name not in ("From", "To", "Date") and not _PLAIN_TEXT.match(value):
            return None
    cte, payload = text_body(out.text)
    headers.append(("Content-Type", 'text/plain; charset="utf-8"'))
    headers.append(("Content-Transfer-Encoding", cte))
    headers.append(("MIME-Version", "1.0"))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    body = "\r\n".join(_LINE_BREAK.split(payload))
    return (head + "\r\n").encode("ascii") + body.encode("ascii", "surrogateescape")


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def text_body(text: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, body) as the package's `set_content` writes a UTF-8 text
    under policy SMTP (lines ending LF here; UTF-8 bytes as surrogate escapes).

    Lines of at most 78 octets go as they are: 7bit when ASCII, else 8bit (policy SMTP allows
    it), which is most of casebook's mail, said here directly. Longer lines: the package
    chooses quoted-printable or base64 and encodes them."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if all(len(line) <= _MAX_LINE for line in lines):
        return ("7bit" if body.isascii() else "8bit"), body.decode("ascii", "surrogateescape")
    # The package's own rule, through its public encoders (a whole EmailMessage per mail cost
    # a third of the outbox drain): quoted-printable unless base64 is shorter for the first
    # ten lines, sent with CRLF.
    crlf_body = b"\r\n".join(lines) + b"\r\n"
    sniff = b"\r\n".join(lines[:10]) + b"\r\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), _MAX_LINE)
    if len(sniff_qp) <= len(binascii.b2a_base64(sniff)):
        if len(lines) <= 10:
            return "quoted-printable", sniff_qp
        return "quoted-printable", quoprimime.body_encode(body.decode("latin-1"), _MAX_LINE)
    step = _MAX_LINE // 4 * 3
    chunks = (crlf_body[i : i + step] for i in range(0, len(crlf_body), step))
    return "base64", "".join(binascii.b2a_base64(chunk).decode("ascii") for chunk in chunks)


def _email_message(out: Outgoing) -> bytes:
    msg = EmailMessage(policy=SMTPUTF8 if out.utf8 else SMTP)
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
