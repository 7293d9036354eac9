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

from archive.cases import find_case_tag
from archive.formpages import FORM_TRANSPORT, KIND_HEADER, PAGE_HEADER
from archive.models import (
    Attachment,
    FoundCommands,
    IncomingMessage,
    ReportFields,
    Route,
    RouteKind,
    SenderAuth,
)
from archive.settings import Settings
from intake.addresses import (
    Mailbox,
    decode_words,
    parse_from,
    plain_addresses,
    raw_header_text,
    route_message,
)
from intake.auth import authenticate_sender, sender_header_problem
from intake.autoreply import LOOP_HEADER, check_reply_rules, is_null_sender
from intake.commands import find_commands
from intake.conflicts import find_conflicts
from intake.delegate import find_delegate, forwarded_sender, with_named_individual
from intake.fields import extract_report_fields
from intake.mailreading import read_mail
from intake.parts import keep_first_parts
from intake.provenance import authenticate_party, prove_list_copy
from intake.reply import Reply, decode_flowed, split_html, split_text
from intake.signals import find_urgent_reasons
from intake.text import html_to_text, sanitize_html
from intake.wholetext import whole_text, without_own_quotes

MSGID_RE = re.compile(r"<[^<>\s]+>")


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
    """Everything casebook needs to know about one delivered message; never raises.

    Whatever goes wrong in the full parse, the message is still archived: a plainer reading
    (headers decoded leniently, the body as text, no commands) with the failure as a defect.
    """
    options = dict(envelope_from=envelope_from, envelope_to=envelope_to, settings=settings,
                   loop_id=loop_id, transport=transport, historical=historical)  # fmt: skip
    try:
        return _parse_fully(raw, **options)
    except Exception as exc:  # a parser bug must never lose a message
        return fallback_message(raw, problem=f"parser failed: {type(exc).__name__}", **options)


def _parse_fully(
    raw: bytes,
    *,
    envelope_from: str,
    envelope_to: tuple[str, ...],
    settings: Settings,
    loop_id: str,
    transport: str,
    historical: bool,
) -> IncomingMessage:
    sha256 = hashlib.sha256(raw).hexdigest()
    trimmed = keep_first_parts(raw, settings.max_parts)
    parsed, defects = _parse(trimmed.raw, trace=not historical)
    message: Message = parsed.message
    route = route_message(envelope_to, settings)
    sender = parse_from([raw_header_text(v) for v in message.get_all("From") or []])
    defects = list(defects)
    if trimmed.left_out:
        defects.append(f"{trimmed.left_out} MIME part(s) beyond the first {settings.max_parts}"
                       " were not split out: they are in the raw message")  # fmt: skip
    if sender.problem:
        defects.append(f"From: {sender.problem}")
    subject = _header_text(parsed, message, "Subject")
    text, html = _bodies(parsed)
    if not text.strip() and not html and not parsed.attachments:
        # No part could be read (a multipart whose boundary never appears): keep the raw body.
        text = _split_head(raw)[1].decode("utf-8", "replace")[:200_000].replace("\r\n", "\n")
        if text.strip():
            defects.append("no readable part: the body is shown as it came")
    reply = _own_reply(message)
    # No part of the sender's own (only attached messages): shown, but never commanded from.
    own = reply or split_text(text)
    authored = own.authored
    rule = check_reply_rules(
        message,
        envelope_from=envelope_from,
        from_addr=sender.address,
        settings=settings,
        loop_id=loop_id,
        answers_casebook=route.kind in (RouteKind.REPLY, RouteKind.LIST)
        or find_case_tag(subject, settings.case_prefix) is not None,
        unquoted=f"{own.new}\n{own.below}\n{own.signature}",
    )
    forwarded_from = _attached_message_from(message)
    delegate, forwarded = None, None
    report_text = authored
    if route.reports and not rule.automatic:
        delegate = find_delegate(text, sender.address, forwarded_from, settings)
        forwarded = None if delegate else forwarded_sender(text, forwarded_from)
        # A forwarded mail is the evidence: the report is the whole text, not only the intro.
        report_text = text if delegate or forwarded else authored
    # A form report's sender is the form's own placeholder: never the reporter's contact.
    fields = extract_report_fields(
        report_text, sender=None if transport == FORM_TRANSPORT else sender.address
    )
    if forwarded is not None:
        fields = with_named_individual(fields, forwarded)
    conflicts = ()
    if not rule.automatic:  # the archive decides where they count: never in deliberation
        conflicts = find_conflicts(
            settings.everyone,
            sender=sender.address,
            text=_conflict_text(message, subject, text, settings),
            fields=fields,
            original_reporter=delegate.original_address if delegate else None,
        )
    urgent: tuple[str, ...] = ()
    if route.kind in (RouteKind.REPORT, RouteKind.REPLY) and not rule.automatic:
        # A party's follow-up too (its new text only); the archive ignores it in deliberation.
        urgent = find_urgent_reasons(f"{subject}\n{report_text}", fields)
    in_reply_to = _first_id(message.get("In-Reply-To"))
    # Commands only from the new text of the sender's own part, never a quote (SPEC §5).
    commands = FoundCommands()
    if reply is not None and reply.new and not rule.automatic:
        commands = find_commands(reply.new)
    auth = SenderAuth(False, "none", "no commands to authenticate")
    if commands.commands or _names_member_publicly(route, sender.address, settings):
        auth = authenticate_sender(raw, message, sender.address, settings)
    party_auth, list_proof = _provenance(raw, message, sender.address, envelope_from, route,
                                         automatic=rule.automatic, settings=settings)  # fmt: skip
    return IncomingMessage(
        **_as_delivered(raw, envelope_from, envelope_to, route, transport, sender, historical),
        sha256=sha256,
        message_id=_message_id(message, raw),
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
        parts_left_out=trimmed.left_out,
        defects=tuple(defects),
        no_reply_reason=rule.reason,
        automatic=rule.automatic,
        looped=rule.looped,
        report=fields,
        urgent_reasons=urgent,
        conflicts=conflicts,
        delegate=delegate,
        commands=commands,
        auth=auth,
        sender_header_problem=sender_header_problem(message, sender.address),
        party_auth=party_auth,
        list_proof=list_proof,
        **_form_marks(message, transport),
    )


def _form_marks(message: Message, transport: str) -> dict:
    """What the web form says about its own message; from any other transport, nothing (a
    mailer writing these headers gains nothing: only the form spools with transport `form`)."""
    if transport != FORM_TRANSPORT:
        return {}
    kind = str(message.get(KIND_HEADER, "")).strip().lower()
    page = str(message.get(PAGE_HEADER, "")).strip().lower()
    return {
        "form_kind": kind if kind in ("report", "follow-up") else None,
        "form_page": page if re.fullmatch(r"[0-9a-f]{64}", page) else None,
    }


def _conflict_text(message: Message, subject: str, shown: str, settings: Settings) -> str:
    """All the message says (`wholetext`), less casebook's own mail quoted back."""
    try:
        said = whole_text(message, subject=subject, shown=shown, decode=decode_part)
    except RecursionError:  # nested too deeply to walk: what is shown is what there is
        said = f"{subject}\n{shown}"
    return without_own_quotes(said, (settings.reports, settings.appeals))


def _names_member_publicly(route, from_addr: str | None, settings: Settings) -> bool:
    """Mail to the reports or appeals address whose From names a member or council member:
    it is their deliberation only if proved theirs, commands or not (issue 18 §2)."""
    public = route.kind in (RouteKind.REPORT, RouteKind.APPEAL)
    return public and bool(from_addr) and settings.person_for(from_addr or "") is not None


def _provenance(raw, message, from_addr, envelope_from, route, *, automatic, settings):
    """A party's word (mail to the reports or appeals address) and the list host's vouching
    (list mail): DKIM is checked only where it decides something."""
    not_needed = SenderAuth(False, "none", "not needed for this address")
    party_auth, list_proof = not_needed, not_needed
    if (route.reports or route.kind is RouteKind.APPEAL) and not automatic:
        party_auth = authenticate_party(raw, message, from_addr, envelope_from, settings)
    if route.kind is RouteKind.LIST:
        list_proof = prove_list_copy(raw, message, settings)
    return party_auth, list_proof


def _parse(raw: bytes, *, trace: bool = True):
    """mail-parser over Python's email package (`intake/mailreading.py`); plainer parses when
    it gives up. `trace`: whether its Received headers are read for defects (not for imported
    history).

    Python's parser recurses once per MIME level, so a hostile, deeply nested message is read
    by its headers alone, its body kept as text: archived with a defect, never lost.
    """
    try:
        parsed = read_mail(raw, trace=trace)
        return parsed, [str(d) for d in parsed.defects_categories or []]
    except Exception as exc:  # mail-parser raises assorted errors on hostile input
        problem = f"parser: {type(exc).__name__}"
    try:
        return _Fallback(email.message_from_bytes(raw, policy=email.policy.compat32)), [problem]
    except RecursionError:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        body = (_split_head(raw)[1] or raw)[:200_000]
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
            text = decode_part(part)
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


def _own_reply(message: Message) -> Reply | None:
    """What the sender wrote now, from their own text/plain part, else their own HTML."""
    own = _own_plain_text(message)
    if own.strip():
        return split_text(own)
    part = _first_own(message, "text/html")
    if part is not None:
        return split_html(decode_part(part))
    return None


def _own_plain_text(message: Message) -> str:
    """The sender's own first text/plain part, format=flowed decoded: never an attachment."""
    part = _first_own(message, "text/plain")
    if part is None:
        return ""
    text = decode_part(part).replace("\r\n", "\n")
    if str(part.get_param("format", "")).lower() == "flowed":
        return decode_flowed(text, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    return text


def decode_part(part: Message) -> str:
    """A leaf part's text in its declared charset; an unknown or hostile charset reads as UTF-8."""
    payload = part.get_payload(decode=True) or b""
    if not isinstance(payload, bytes):
        payload = str(payload).encode("utf-8", "replace")
    try:
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except (LookupError, ValueError, TypeError):  # unknown charsets, NUL bytes in the name
        return payload.decode("utf-8", errors="replace")


def _first_own(part: Message, kind: str) -> Message | None:
    """The first `kind` part of the sender's own: attachments and message/rfc822 are skipped."""
    if part.get_content_disposition() == "attachment":
        return None
    if part.get_content_type() == kind:
        return part
    # is_multipart() first: get_payload() on an unsplit body (a multipart whose boundary never
    # appears) decodes it in the part's charset, which raises for some (charset=idna).
    if not part.get_content_type().startswith("multipart/") or not part.is_multipart():
        return None
    children = part.get_payload()
    for child in children:
        found = _first_own(child, kind)
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
    """The Message-ID, or a stable stand-in derived from the bytes (trace headers left out)."""
    found = _first_id(message.get("Message-ID"))
    return found or f"<missing-{content_key(raw)[:32]}@casebook.invalid>"


TRACE_LINE_RE = re.compile(rb"^(?:received|delivered-to|return-path|x-original-to):", re.I)
LINE_RE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")  # a line as bytes.splitlines() cuts it


def content_key(raw: bytes) -> str:
    """SHA-256 of the message without the trace headers each hop prepends.

    Two deliveries of one message (different Received lines) share it; two different
    messages, even header-less ones, do not.
    """
    start, in_trace = 0, False
    while start < len(raw):  # line by line from the top, as far as the trace headers go
        end = LINE_RE.match(raw, start).end()
        line = raw[start:end]
        if not (TRACE_LINE_RE.match(line) or (in_trace and line[:1] in (b" ", b"\t"))):
            break
        in_trace, start = True, end
    return hashlib.sha256(memoryview(raw)[start:]).hexdigest()


def fallback_message(
    raw: bytes,
    *,
    problem: str,
    envelope_from: str,
    envelope_to: tuple[str, ...],
    settings: Settings,
    loop_id: str,
    transport: str,
    historical: bool,
) -> IncomingMessage:
    """The plainest reading of bytes the full parse could not handle: never raises.

    No commands are read from it (nothing can be authenticated), and it counts as automatic
    mail only when its envelope says so, so a report from a broken client is still a case.
    """
    head, body = _split_head(raw)
    headers = _lenient_headers(head)
    text = (body if headers else raw).decode("utf-8", "replace")[:200_000].replace("\r\n", "\n")
    subject = " ".join(decode_words(headers.get("subject", "")).split())[:998]
    try:
        sender = parse_from([headers["from"]] if "from" in headers else [])
    except Exception:  # noqa: BLE001 - the fallback itself must never raise
        sender = parse_from([])
    automatic = is_null_sender(envelope_from)
    route = _safe_route(envelope_to, settings)
    conflicts: tuple = ()
    if not automatic:  # every byte as text: a member it names gets none of it
        try:
            conflicts = find_conflicts(settings.everyone, sender=sender.address,
                                       fields=ReportFields(),
                                       text=raw.decode("utf-8", "replace"))  # fmt: skip
        except Exception:  # noqa: BLE001 - the fallback itself must never raise
            conflicts = ()
    return IncomingMessage(
        **_as_delivered(raw, envelope_from, envelope_to, route, transport, sender, historical),
        sha256=hashlib.sha256(raw).hexdigest(),
        message_id=_first_id(headers.get("message-id")) or _message_id(Message(), raw),
        subject=subject,
        date=headers.get("date"),
        in_reply_to=_first_id(headers.get("in-reply-to")),
        references=tuple(MSGID_RE.findall(headers.get("references", ""))),
        subject_tag=find_case_tag(subject, settings.case_prefix),
        text=text,
        authored=text,
        defects=(problem, "read as plain text after a parsing failure"),
        no_reply_reason="envelope sender is empty or a mailer daemon" if automatic else None,
        automatic=automatic,
        looped=loop_id in headers.get(LOOP_HEADER.lower(), ""),
        conflicts=conflicts,
    )


def _as_delivered(
    raw: bytes,
    envelope_from: str,
    envelope_to: tuple[str, ...],
    route: Route,
    transport: str,
    sender: Mailbox,
    historical: bool,
) -> dict:
    """What the full reading and the plain one (`fallback_message`) take alike: the bytes as
    delivered, the envelope and where it routes, and the From as `parse_from` read it."""
    return {
        "raw": raw,
        "content_key": content_key(raw),
        "envelope_from": envelope_from,
        "envelope_to": envelope_to,
        "route": route,
        "transport": transport,
        "from_addr": sender.address,
        "from_name": sender.name,
        "from_problem": sender.problem,
        "bounce_key": route.token if route.kind is RouteKind.BOUNCE else None,
        "historical": historical,
    }


def plain_form(msg: IncomingMessage, problem: str, settings: Settings, loop_id: str):
    """`msg` read again the plainest way, for the quarantine (whatever failed stays out)."""
    return fallback_message(msg.raw, problem=problem[:300], envelope_from=msg.envelope_from,
                            envelope_to=msg.envelope_to, settings=settings, loop_id=loop_id,
                            transport=msg.transport, historical=msg.historical)  # fmt: skip


HEADER_LINE_RE = re.compile(rb"^([!-9;-~]+):[ \t]*(.*)$")


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    """The header block and the body, split at the first empty line."""
    match = re.search(rb"\r?\n\r?\n", raw)
    return (raw[: match.start()], raw[match.end() :]) if match else (raw, b"")


def _lenient_headers(head: bytes) -> dict[str, str]:
    """Header name (lower case) to its first value, unfolded; {} if the block is no header."""
    found: dict[str, str] = {}
    current = None
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t"):
            if current:
                found[current] += " " + line.strip().decode("utf-8", "replace")
            continue
        match = HEADER_LINE_RE.match(line)
        if match is None:
            return found
        name = match.group(1).decode("ascii").lower()
        current = None if name in found else name
        found.setdefault(name, match.group(2).strip().decode("utf-8", "replace"))
    return found


def _safe_route(envelope_to: tuple[str, ...], settings: Settings) -> Route:
    try:
        return route_message(envelope_to, settings)
    except Exception:  # noqa: BLE001 - the fallback itself must never raise
        return Route(RouteKind.UNKNOWN)
