"""What the author of a reply wrote now, apart from the quoted history and the signature.

One way for every client: plain text (format=flowed decoded first) and HTML alike. Pure.

Everything from the first quote marker on is history (`intake/quotemarks.py` knows the markers
real clients write). A missed quote here is mailed to a reporter or a reported person; cutting
too early only loses the member's own text, which they see in the transcript. No library is
asked: quotequail missed attributions without a verb, took a member's "Update:" line above an
Outlook block for a header, and was slow enough that casebook had to patch it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.quotemarks import starts_history
from intake.text import html_to_text

SIGNATURE_RE = re.compile(r"^--\s?$")
# A short rule (`____`) before a signature; twenty or more is Outlook's quote separator.
SIGNATURE_RULE_RE = re.compile(r"^_{3,19}\s*$")
MOBILE_SIGNATURE_RE = re.compile(
    r"(?i)^[(<]*(sent (from|with|via|using) .{1,60}|get outlook for \w+|"
    r"outlook (für|pour|para|per|voor|til|för) \w+ (beziehen|herunterladen|downloaden|hente)|"
    r"(obtenir|obtener|obter|scarica|télécharger|descargar|hent|skaffa|hämta) outlook "
    r"(pour|para|per|til|för) \w+|"
    r"von (meinem|outlook) .{1,40} gesendet|gesendet (von|mit|über|vom) .{1,60}|"
    r"diese nachricht wurde von meinem .{1,80} gesendet|"
    r"envoyé (de|depuis|à partir de) (mon|ma|outlook) .{1,40}|"
    r"enviado (desde|de|do|a partir do) (mi|meu|o) .{1,40}|"
    r"(verzonden|verstuurd) (vanaf|met|via) .{1,40}|"
    r"inviato da .{1,40}|sendt fra .{1,40}|skickat från .{1,40}|lähetetty .{1,40}|"
    r"wysłane z .{1,40}|отправлено (с|из) .{1,40}|надіслано з .{1,40}|"
    r"(从|從)我的 ?.{1,20}|发自我的 ?.{1,20}|.{1,20}から送信)[)>.!]*\s*$"
)
# Lines that carry nothing but a rule, left above a marker (Outlook's `----` before `From:`),
# or Gmail's read-tracking mark (U+1427).
RULE_LINE_RE = re.compile(r"^[\s\-_=*~#+.\u1427]*$")
# Where a client's HTML quote begins: Gmail, Outlook (web and desktop), Thunderbird, Apple,
# Yahoo. Everything from the first of these on is history. Tags are found one at a time (a tag
# ends at the next `<` or `>`) and looked into with plain substring tests, so hostile markup
# costs linear time; one pattern over the whole markup took a minute on 60 kB of `<a class="x`.
TAG_RE = re.compile(r"<[^<>]*>")
QUOTE_TAGS = ("blockquote", "hr")
QUOTE_CLASSES = (
    "gmail_quote",
    "gmail_attr",
    "divrplyfwdmsg",
    "appendonsend",
    "moz-cite-prefix",
    "moz-forward-container",
    "yahoo_quoted",
    "outlookmessageheader",
    "mail-reply-to",
    "protonmail_quote",
    "zmail_extra",
)
OUTLOOK_BORDER_RE = re.compile(r"border-top:\s*solid\s+#[0-9a-f]{6}")


@dataclass(frozen=True)
class Reply:
    """A message's text split three ways; `new` is what its author wrote for this message."""

    new: str
    quoted: str = ""
    signature: str = ""
    below: str = ""  # the author's unquoted lines under a quote (bottom-posting)

    @property
    def authored(self) -> str:
        """The author's own words: the new text, or, for a bottom-poster, those below."""
        return self.new or self.below


def decode_flowed(text: str, *, delsp: bool = False) -> str:
    """RFC 3676: join soft-broken lines, undo space-stuffing, keep quote depth."""
    out: list[str] = []
    pending: tuple[int, str] | None = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        depth, content = _quote_depth(raw)
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if pending is not None and pending[0] == depth:
            content = pending[1] + content
        elif pending is not None:
            out.append(_requote(*pending))  # depth changed: the flow ends (RFC 3676 4.5)
        pending = (depth, content) if flowed else None
        if not flowed:
            out.append(_requote(depth, content))
    if pending is not None:
        out.append(_requote(*pending))
    return "\n".join(out)


def _quote_depth(line: str) -> tuple[int, str]:
    stripped = line.lstrip(">")
    return len(line) - len(stripped), stripped


def _requote(depth: int, content: str) -> str:
    return (">" * depth + " " + content) if depth else content


def split_text(text: str) -> Reply:
    """Split a plain-text reply into new text, quoted history and signature."""
    lines = text.replace("\r\n", "\n").replace("\ufeff", "").split("\n")
    cut = _first_quote_line(lines)
    new, signature = _cut_signature(lines[:cut])
    quoted = "\n".join(lines[cut:]).strip()
    below = _below_quote(lines) if not new else ""
    return Reply(new=new, quoted=quoted, signature=signature, below=below)


def split_html(markup: str) -> Reply:
    """Split an HTML reply: its new part (as text), the quoted history and the signature."""
    start = _html_quote_start(markup)
    reply = split_text(html_to_text(markup[:start]))
    history = html_to_text(markup[start:]) if start < len(markup) else reply.quoted
    return Reply(reply.new, history, reply.signature)


def _html_quote_start(markup: str) -> int:
    """Where the first tag that opens a client's quote begins (len(markup) if none)."""
    for tag in TAG_RE.finditer(markup):
        text = tag.group().lower()
        name = text[1:].lstrip().split(None, 1)[0].rstrip("/>") if len(text) > 2 else ""
        if name in QUOTE_TAGS or _names_a_quote(text, name):
            return tag.start()
    return len(markup)


def _names_a_quote(tag: str, name: str) -> bool:
    if ("class" in tag or "id" in tag) and any(marker in tag for marker in QUOTE_CLASSES):
        return True
    return name == "div" and OUTLOOK_BORDER_RE.search(tag) is not None


def _first_quote_line(lines: list[str]) -> int:
    """The index of the first line that starts quoted history (len(lines) if none)."""
    for index in range(len(lines)):
        if starts_history(lines, index):
            return index
    return len(lines)


def _is_signature(line: str) -> bool:
    stripped = line.strip()
    return bool(
        SIGNATURE_RE.match(line)
        or SIGNATURE_RULE_RE.match(stripped)
        or (len(stripped) <= 100 and MOBILE_SIGNATURE_RE.match(stripped))
    )


def _cut_signature(lines: list[str]) -> tuple[str, str]:
    end = len(lines)
    for index, line in enumerate(lines):
        if _is_signature(line):
            end = index
            break
    kept = lines[:end]
    while kept and RULE_LINE_RE.match(kept[-1]):
        kept.pop()
    return "\n".join(kept).strip(), "\n".join(lines[end:]).strip()


def _below_quote(lines: list[str]) -> str:
    """A bottom-poster's own lines: unquoted lines after a leading `>` quote (and the
    attribution above it, if any). Unquoted lines after an attribution alone are history."""
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if start == len(lines) or not starts_history(lines, start):
        return ""
    kept: list[str] = []
    seen_quote = False
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if stripped.startswith(">"):
            seen_quote = True
        elif seen_quote and (_is_signature(lines[index]) or starts_history(lines, index)):
            break
        elif seen_quote:
            kept.append(lines[index])
    return "\n".join(kept).strip()
