"""What the author of a reply wrote now, apart from the quoted history and the signature.

One way for every client: plain text (format=flowed decoded first) and HTML alike. Pure.

quotequail finds most quote styles (attributions, wrapped attributions, Outlook's header
blocks, forwarded-message lines, HTML blockquotes); casebook's own rules below then cut
again at every marker it knows, because a missed quote here is mailed to a reporter or a
reported person. Cutting too early only loses the member's own text, which they see in the
transcript; cutting too late leaks the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import quotequail
import quotequail._internal as _quotequail_internal
from quotequail._enums import Position
from quotequail._patterns import COMPILED_PATTERN_MAP

from intake.text import html_to_text

SIGNATURE_RE = re.compile(r"^--\s?$")
MOBILE_SIGNATURE_RE = re.compile(
    r"(?i)^(sent from my \w+|sent from (yahoo mail|outlook|mail)\b.*|get outlook for \w+|"
    r"von meinem \w+ gesendet|gesendet von meinem \w+|envoyé de mon \w+|enviado desde mi \w+|"
    r"verzonden (vanaf|met) mijn \w+|inviato da \w+)\s*$"
)
SEPARATOR_RE = re.compile(
    r"(?i)^(_{20,}|-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|oorspronkelijk bericht|messaggio originale|forwarded message|"
    r"weitergeleitete nachricht|message transféré)\s*-{2,})$"
)
ATTRIBUTION_VERBS = (
    r"wrote|writes|schrieb|a écrit|escribió|schreef|heeft .{0,80} geschreven|"
    r"escreveu|skrev|ha scritto|napisał"
)
# "On 2 Mar 2026, at 10:00, X <x> wrote:" and its kin: a date, a name, a verb, a colon.
ATTRIBUTION_RE = re.compile(
    rf"(?i)^(on|am|le|el|op|em|den|il|w dniu)\b.{{0,300}}\b({ATTRIBUTION_VERBS})\b.{{0,120}}:$"
)
# Yahoo's plain text runs its attribution and the first quoted line together.
RUN_ON_ATTRIBUTION_RE = re.compile(r"(?i)^on\b.{0,200}\d.{0,200}\bwrote:\s{2,}\S")
# "X <x> wrote:" or "Am … schrieb X:" ending the line (K-9, older clients).
ATTRIBUTION_END_RE = re.compile(
    rf"(?i)^.{{0,300}}[@\d].{{0,300}}\b({ATTRIBUTION_VERBS})\b.{{0,120}}:$"
)
# Chinese and Japanese attributions ("… 于2026年3月2日周一 10:00写道："): no word boundary.
ATTRIBUTION_CJK_RE = re.compile(r"^.{0,300}(写道|寫道|のメッセージ|님이 작성)\s*[:：]?\s*$")
HEADER_LABELS = {
    "from": r"from|von|de|van|da|från|fra|od|差出人|发件人|寄件者",
    "other": r"sent|date|gesendet|datum|envoyé|enviado|enviado el|fecha|verzonden|inviato|data|"
    r"to|an|à|a|para|aan|till|subject|betreff|objet|asunto|onderwerp|oggetto|ämne|cc|"
    r"wysłane|wysłano|do|temat|dw|送信日時|宛先|件名|发送时间|收件人|主题|抄送|寄件日期|收件者",
}
FROM_LINE_RE = re.compile(rf"(?i)^\*?({HEADER_LABELS['from']})\s?[:：]\*?\s*\S")
HEADER_LINE_RE = re.compile(rf"(?i)^\*?({HEADER_LABELS['other']})\s?[:：]\*?(\s|$)")
ONE_LINE_HEADER_RE = re.compile(r"(?i)^from: .+ sent: .+$")
# Where a client's HTML quote begins: Gmail, Outlook (web and desktop), Thunderbird, Apple,
# Yahoo. Everything from the first of these on is history.
HTML_QUOTE_RE = re.compile(
    r"(?is)<blockquote\b|<hr\b|<[^>]+\b(class|id)\s*=\s*[\"']?[^\"'>]*("
    r"gmail_quote|gmail_attr|divRplyFwdMsg|appendonsend|moz-cite-prefix|moz-forward-container|"
    r"yahoo_quoted|OutlookMessageHeader|mail-reply-to|protonmail_quote|zmail_extra)|"
    r"<div[^>]+border-top:\s*solid\s+#[0-9a-f]{6}"
)


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
    text = text.replace("\r\n", "\n").replace("\ufeff", "")
    top = _library_top(text)
    lines = top.split("\n")
    cut = _first_quote_line(lines)
    new_lines, quoted_lines = lines[:cut], lines[cut:]
    quoted = "\n".join(quoted_lines).strip() or text[len(top) :].strip()
    new, signature = _cut_signature(new_lines)
    below = _below_quote(text) if not new else ""
    return Reply(new=new, quoted=quoted, signature=signature, below=below)


def split_html(markup: str) -> Reply:
    """Split an HTML reply: its new part (as text), the quoted history and the signature."""
    top = _library_top_html(markup)
    marker = HTML_QUOTE_RE.search(top)
    head = top[: marker.start()] if marker else top
    reply = split_text(html_to_text(head))
    in_markup = HTML_QUOTE_RE.search(markup)
    history = html_to_text(markup[in_markup.start() :]) if in_markup else reply.quoted
    return Reply(reply.new, history, reply.signature)


def _library_top(text: str) -> str:
    """The text above the first quote quotequail recognises (all of it if none)."""
    try:
        found = quotequail.unwrap(text)
    except Exception:  # noqa: BLE001 - the library's miss must not lose the message
        return text
    if not found or "text_top" not in found:
        return text if not found else ""
    top = found["text_top"]
    return text[: text.find(top) + len(top)] if top in text else top


def _library_top_html(markup: str) -> str:
    try:
        found = quotequail.unwrap_html(markup)
    except Exception:  # noqa: BLE001 - lxml rejects some markup; our own markers still apply
        return markup
    if not found:
        return markup
    return found.get("html_top") or ""


def _first_quote_line(lines: list[str]) -> int:
    """The index of the first line that starts quoted history (len(lines) if none)."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">") or _starts_history(lines, index, stripped):
            return index
    return len(lines)


def _starts_history(lines: list[str], index: int, stripped: str) -> bool:
    if SEPARATOR_RE.match(stripped) or ONE_LINE_HEADER_RE.match(stripped):
        return True
    if not stripped:
        return False
    if ATTRIBUTION_END_RE.match(stripped) or RUN_ON_ATTRIBUTION_RE.match(stripped):
        return True
    if ATTRIBUTION_CJK_RE.match(stripped):
        return True
    # An "On …" attribution wrapped over two (Gmail) or three lines still counts.
    joined = stripped
    for following in lines[index + 1 : index + 3]:
        if ATTRIBUTION_RE.match(joined) or not following.strip():
            break
        joined = f"{joined} {following.strip()}"
    if ATTRIBUTION_RE.match(joined):
        return True
    return _header_block_at(lines, index, stripped)


def _header_block_at(lines: list[str], index: int, stripped: str) -> bool:
    """A `From:` line with another header label within the next lines: Outlook's quote."""
    if not FROM_LINE_RE.match(stripped):
        return False
    nearby = [s.strip() for s in lines[index + 1 : index + 5]]
    return any(HEADER_LINE_RE.match(s) for s in nearby)


def _cut_signature(lines: list[str]) -> tuple[str, str]:
    for index, line in enumerate(lines):
        if SIGNATURE_RE.match(line) or MOBILE_SIGNATURE_RE.match(line.strip()):
            return "\n".join(lines[:index]).strip(), "\n".join(lines[index:]).strip()
    return "\n".join(lines).strip(), ""


def _below_quote(text: str) -> str:
    """A bottom-poster's own lines: unquoted lines after leading `>` quotes."""
    lines = text.strip("\n").split("\n")
    if not lines[0].lstrip().startswith(">"):
        return ""
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if SIGNATURE_RE.match(line) or (
            not stripped.startswith(">") and _starts_history(lines, index, stripped)
        ):
            break
        if not stripped.startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


# quotequail 0.5 tries each of its 43 patterns on each line, joining the line with the next
# ones afresh for every pattern: most of an import's time went there. The same search, with
# each line's joined forms made once and one alternation of every pattern ruling out the lines
# none can match, gives the same answer (tests/test_reply_speed.py compares the two).
_ANY_PATTERN = re.compile("|".join(f"(?:{r.pattern})" for v in COMPILED_PATTERN_MAP.values()
                                   for r in v))  # fmt: skip
_original_find_pattern_on_line = _quotequail_internal.find_pattern_on_line


def _find_pattern_on_line(lines, n, max_wrap_lines, position):
    candidates = []
    for m in range(max_wrap_lines):
        match_line = _quotequail_internal.join_wrapped_lines(lines[n : n + 1 + m])
        if match_line.startswith(">"):
            match_line = match_line[1:].strip()
        if not match_line:
            break
        candidates.append(match_line.strip())
    if not any(_ANY_PATTERN.match(line) for line in candidates):
        return None
    for typ, regexes in COMPILED_PATTERN_MAP.items():
        for regex in regexes:
            for m, line in enumerate(candidates):
                if regex.match(line):
                    return (n if position is Position.Begin else n + m), typ
    return None


_quotequail_internal.find_pattern_on_line = _find_pattern_on_line
