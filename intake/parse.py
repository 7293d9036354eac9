"""Raw bytes to an `IncomingMessage`: parsing, classification and report signals.

Pure: no database, no clock. Whatever the bytes hold, this returns a message to archive;
malformed input is recorded as defects, never raised.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import hashlib
import re
from email.message import Message
from email.parser import BytesHeaderParser

import mailparser

from archive.cases import find_case_tag
from archive.models import Attachment, FoundCommands, IncomingMessage, RouteKind, SenderAuth
from archive.settings import Settings
from intake.addresses import decode_words, parse_from, plain_addresses, route_message
from intake.auth import authenticate_sender, sender_header_problem
from intake.autoreply import check_reply_rules
from intake.commands import find_commands
from intake.delegate import find_delegate
from intake.fields import extract_report_fields
from intake.signals import find_conflicts, find_urgent_reasons
from intake.text import authored_text, html_to_text, sanitize_html

MSGID_RE = re.compile(r"<[^<>\s]+>")
TRACE_HEADERS = {"received", "delivered-to", "return-path", "x-original-to"}


def parse_message(
    raw: bytes,
    *,
    envelope_from: str,
    envelope_to: tuple[str, ...],
    settings: Settings,
    loop_id: str,
    transport: str = "smtp",
    historical: bool = False,
) -> IncomingMessage:
    """Everything casebook needs to know about one delivered message."""
    sha256 = hashlib.sha256(raw).hexdigest()
    parsed, defects = _parse(raw)
    message: Message = parsed.message
    route = route_message(envelope_to, settings)
    sender = parse_from([str(v) for v in message.get_all("From") or []])
    defects = list(defects)
    if sender.problem:
        defects.append(f"From: {sender.problem}")
    subject = _header_text(parsed, message, "Subject")
    text, html = _bodies(parsed)
    authored = authored_text(text)
    rule = check_reply_rules(
        message,
        envelope_from=envelope_from,
        from_addr=sender.address,
        settings=settings,
        loop_id=loop_id,
    )
    forwarded_from = _attached_message_from(message)
    delegate = None
    report_text = authored
    if route.kind is RouteKind.REPORT and not rule.automatic:
        delegate = find_delegate(text, subject, sender.address, forwarded_from)
        report_text = text if delegate else authored
    fields = extract_report_fields(report_text, sender=sender.address)
    conflicts = ()
    urgent: tuple[str, ...] = ()
    if route.kind is RouteKind.REPORT and not rule.automatic:
        conflicts = find_conflicts(
            (*settings.members, *settings.council, *settings.alternates),
            sender=sender.address,
            text=f"{subject}\n{report_text}",
            fields=fields,
            original_reporter=delegate.original_address if delegate else None,
        )
        urgent = find_urgent_reasons(f"{subject}\n{report_text}", fields)
    in_reply_to = _first_id(message.get("In-Reply-To"))
    # Commands are read only from a real text/plain part, never from HTML (SPEC §5).
    own_text = _own_plain_text(message)
    commands = find_commands(own_text) if own_text and not rule.automatic else FoundCommands()
    auth = SenderAuth(False, "none", "no commands to authenticate")
    if commands.commands:
        auth = authenticate_sender(raw, message, sender.address, settings)
    return IncomingMessage(
        raw=raw,
        sha256=sha256,
        message_id=_message_id(message, raw),
        envelope_from=envelope_from,
        envelope_to=envelope_to,
        route=route,
        transport=transport,
        from_addr=sender.address,
        from_name=sender.name,
        from_problem=sender.problem,
        to_addrs=plain_addresses(
            [str(v) for v in (message.get_all("To") or []) + (message.get_all("Cc") or [])]
        ),
        subject=subject,
        date=_header_text(parsed, message, "Date") or None,
        in_reply_to=in_reply_to,
        references=tuple(MSGID_RE.findall(str(message.get("References", "")))),
        subject_tag=find_case_tag(subject, settings.case_prefix),
        text=text,
        authored=authored,
        html=html,
        attachments=_attachments(parsed),
        defects=tuple(defects),
        no_reply_reason=rule.reason,
        automatic=rule.automatic,
        looped=rule.looped,
        bounce_key=route.token if route.kind is RouteKind.BOUNCE else None,
        report=fields,
        urgent_reasons=urgent,
        conflicts=conflicts,
        delegate=delegate,
        historical=historical,
        commands=commands,
        auth=auth,
        sender_header_problem=sender_header_problem(message, sender.address),
    )


def _parse(raw: bytes):
    """mail-parser over Python's email package; plainer parses when it gives up.

    Python's parser recurses once per MIME level, so a hostile, deeply nested message is read
    by its headers alone, its body kept as text: archived with a defect, never lost.
    """
    try:
        parsed = mailparser.parse_from_bytes(raw)
        return parsed, [str(d) for d in parsed.defects_categories or []]
    except Exception as exc:  # mail-parser raises assorted errors on hostile input
        problem = f"parser: {type(exc).__name__}"
    try:
        return _Fallback(email.message_from_bytes(raw, policy=email.policy.compat32)), [problem]
    except RecursionError:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        body = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[-1][:200_000]
        fallback = _Fallback(headers, walk=False)
        fallback.text_plain = [body.decode("utf-8", errors="replace")]
        return fallback, [problem, "MIME structure nested too deeply: read as plain text"]


class _Fallback:
    """The little of mail-parser's interface casebook uses, over a bare email Message."""

    def __init__(self, message: Message, walk: bool = True):
        self.message = message
        self.text_plain: list[str] = []
        self.text_html: list[str] = []
        self.attachments: list[dict] = []
        for part in message.walk() if walk else ():
            if part.is_multipart():
                continue
            text = _decode(part.get_payload(decode=True) or b"", part.get_content_charset())
            if part.get_content_type() == "text/plain":
                self.text_plain.append(text)
            elif part.get_content_type() == "text/html":
                self.text_html.append(text)

    @property
    def subject(self) -> str:
        return decode_words(str(self.message.get("Subject", "")))


def _header_text(parsed, message: Message, name: str) -> str:
    if name == "Subject":
        value = getattr(parsed, "subject", None)
        if not isinstance(value, str):
            value = decode_words(str(message.get("Subject", "")))
    else:
        value = str(message.get(name, ""))
    return " ".join(value.split())[:998]


def _bodies(parsed) -> tuple[str, str | None]:
    """The text to show and the sanitized HTML."""
    plain = "\n".join(parsed.text_plain or []).replace("\r\n", "\n")
    html_parts = parsed.text_html or []
    html = sanitize_html("\n".join(html_parts)) if html_parts else None
    text = plain
    if not plain.strip() and html_parts:
        text = html_to_text("\n".join(html_parts))
    return text, html


def _own_plain_text(message: Message) -> str:
    """The sender's own first text/plain part: never an attachment or an attached message."""
    part = _first_own_plain(message)
    if part is None:
        return ""
    text = _decode(part.get_payload(decode=True) or b"", part.get_content_charset())
    return text.replace("\r\n", "\n")


def _decode(payload: bytes, charset: str | None) -> str:
    """A part's text in its declared charset, or UTF-8 when that charset cannot decode it."""
    try:
        return payload.decode(charset or "utf-8", errors="replace")
    except (LookupError, ValueError):  # unknown, not a text codec, a NUL in the name, idna
        return payload.decode("utf-8", errors="replace")


def _first_own_plain(part: Message) -> Message | None:
    if part.get_content_disposition() == "attachment":
        return None
    kind = part.get_content_type()
    if kind == "text/plain":
        return part
    if kind.startswith("multipart/"):
        # Checked first: get_payload() on an unsplit body decodes it in the part's charset.
        if not part.is_multipart():  # its boundary never appears: no parts to read
            return None
        children = part.get_payload()
        if kind == "multipart/alternative":
            return next((c for c in children if c.get_content_type() == "text/plain"), None)
        for child in children:
            found = _first_own_plain(child)
            if found is not None:
                return found
    return None


def _attachments(parsed) -> tuple[Attachment, ...]:
    found = []
    for item in parsed.attachments or []:
        payload = item.get("payload", "")
        if item.get("binary"):
            try:
                data = base64.b64decode(payload)
            except (binascii.Error, ValueError):
                data = str(payload).encode("utf-8", "replace")
        else:
            data = str(payload).encode("utf-8", "replace")
        found.append(
            Attachment(
                filename=item.get("filename") or None,
                content_type=item.get("mail_content_type") or "application/octet-stream",
                data=data,
            )
        )
    return tuple(found)


def _attached_message_from(message: Message) -> str | None:
    if not message.is_multipart():
        return None
    for part in message.walk():
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                value = inner[0].get("From")
                return str(value) if value else None
    return None


def _first_id(value) -> str | None:
    found = MSGID_RE.findall(str(value or ""))
    return found[0] if found else None


def _message_id(message: Message, raw: bytes) -> str:
    """The Message-ID, or a stable stand-in from the content (trace headers left out)."""
    found = _first_id(message.get("Message-ID"))
    if found:
        return found
    digest = hashlib.sha256()
    for name, value in message.items():
        if name.lower() not in TRACE_HEADERS:
            digest.update(f"{name.lower()}:{value}\n".encode("utf-8", "replace"))
    parts = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)
    body = parts[1] if len(parts) > 1 else b""
    digest.update(body)
    return f"<missing-{digest.hexdigest()[:32]}@casebook.invalid>"
