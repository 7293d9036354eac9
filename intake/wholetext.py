"""Everything a message says, for the conflict check. Pure.

Not only the author's new text: quoted history, signatures, attribution lines, every text
part (attachments and attached mails included, with their senders), HTML parts as text. Only
casebook's own mail quoted back is left out: a reported person answering the chair's notice
quotes the chair's name, and that is no conflict.
"""

from __future__ import annotations

import re
from email.message import Message

from intake.addresses import decode_words
from intake.text import html_to_text

ATTACHED_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Subject")
QUOTE_START, QUOTE_END = "[[casebook-quote-start]]", "[[casebook-quote-end]]"
BLOCKQUOTE_OPEN_RE = re.compile(r"(?i)<blockquote\b[^>]*>")
BLOCKQUOTE_CLOSE_RE = re.compile(r"(?i)</blockquote\s*>")
QUOTE_PREFIX_RE = re.compile(r"^((?:[ \t]*>)*)[ \t]?(.*)$")


def whole_text(message: Message, *, subject: str, shown: str, decode) -> str:
    """The subject, the text shown, and every readable part and attached mail's headers.

    `decode` reads a leaf part's text in its charset (parse's `decode_part`).
    """
    pieces = [subject, shown]
    for part in message.walk():
        kind = part.get_content_type()
        if kind.startswith("message/") and part.is_multipart():  # its parts come next
            for inner in part.get_payload():
                pieces += [decode_words(str(inner.get(h, ""))) for h in ATTACHED_HEADERS]
        elif part.is_multipart() or part.get_content_maintype() != "text":
            continue
        elif kind == "text/html":
            pieces.append(html_as_quoted_text(decode(part)))
        else:
            pieces.append(decode(part).replace("\r\n", "\n"))
    return "\n".join(p for p in pieces if p)


def html_as_quoted_text(markup: str) -> str:
    """HTML as text, its blockquotes as `> ` lines (so quotes read as in plain text)."""
    marked = BLOCKQUOTE_OPEN_RE.sub(f"<br>{QUOTE_START}<br>", markup)
    marked = BLOCKQUOTE_CLOSE_RE.sub(f"<br>{QUOTE_END}<br>", marked)
    depth, lines = 0, []
    for line in html_to_text(marked, keep_hidden=True).split("\n"):
        if line.strip() == QUOTE_START:
            depth += 1
        elif line.strip() == QUOTE_END:
            depth = max(0, depth - 1)
        else:
            lines.append("> " * depth + line if line else line)
    return "\n".join(lines)


def without_own_quotes(text: str, own_addresses: tuple[str, ...]) -> str:
    """`text` without casebook's own mail quoted back: an attribution line naming one of
    casebook's addresses (a `+token` too) and the deeper-quoted lines after it."""
    own = _own_address_re(own_addresses)
    if own is None or own.search(text) is None:
        return text  # no line can name casebook's address (nearly all mail): nothing to drop
    kept: list[str] = []
    skipping_below: int | None = None
    lines = text.split("\n")
    for index, line in enumerate(lines):
        depth, content = _quote_depth(line)
        if depth == 0 and _outlook_own_header(lines, index, own):
            # Outlook quotes unprefixed under a From:/Sent: block: all below is the quote.
            while kept and OUTLOOK_RULE_RE.match(kept[-1]) or kept and not kept[-1].strip():
                kept.pop()
            break
        if skipping_below is not None:
            if depth > skipping_below or (not content.strip() and depth == skipping_below):
                continue
            skipping_below = None
        if own.search(content) and content.rstrip().endswith(":"):
            skipping_below = depth
            continue
        kept.append(line)
    return "\n".join(kept)


OUTLOOK_FROM_RE = re.compile(r"(?i)^\s*\*?(?:from|von|de|da|van|fra|från)\s*:")
OUTLOOK_SENT_RE = re.compile(
    r"(?i)^\s*\*?(?:sent|date|gesendet|datum|envoy[ée]|enviado|inviato|verzonden|skickat)\s*:"
)
OUTLOOK_RULE_RE = re.compile(
    r"^\s*(?:_{10,}|-{3,}\s*(?:original message|ursprüngliche nachricht)"
    r"\s*-{3,})\s*$",
    re.I,
)


def _outlook_own_header(lines: list[str], index: int, own: re.Pattern) -> bool:
    """An Outlook quote header (From: casebook's address, then Sent:/Date: within 3 lines)."""
    line = lines[index]
    if not (OUTLOOK_FROM_RE.match(line) and own.search(line)):
        return False
    return any(OUTLOOK_SENT_RE.match(after) for after in lines[index + 1 : index + 4])


def _quote_depth(line: str) -> tuple[int, str]:
    prefix, content = QUOTE_PREFIX_RE.match(line).groups()
    return prefix.count(">"), content


def _own_address_re(addresses: tuple[str, ...]) -> re.Pattern | None:
    forms = []
    for address in addresses:
        if address and "@" in address:
            local, domain = address.rsplit("@", 1)
            forms.append(rf"{re.escape(local)}(?:\+[^@\s<>]*)?@{re.escape(domain)}")
    if not forms:
        return None
    return re.compile(r"(?i)(?<![\w.+-])(?:" + "|".join(forms) + r")(?![\w.-]*\w)")
