"""Body text helpers: HTML to text, and the part of a reply its author wrote."""

from __future__ import annotations

import html
import re

import nh3

BLOCK_END_RE = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote)\s*>")
QUOTE_HEADER_RE = re.compile(
    r"^(On .{0,200}wrote:|Le .{0,200}a écrit ?:|Am .{0,200}schrieb .{0,80}:|"
    r"-{2,}\s*Original Message\s*-{2,}|From: .+ Sent: .+)\s*$",
    re.IGNORECASE,
)
SIGNATURE_RE = re.compile(r"^--\s?$")


def sanitize_html(markup: str) -> str:
    """HTML safe to show a member: no scripts, styles, handlers or remote tricks."""
    return nh3.clean(markup)


def html_to_text(markup: str) -> str:
    """Readable text from an HTML-only message (tags dropped, blocks become lines)."""
    with_breaks = BLOCK_END_RE.sub("\n", markup)
    stripped = nh3.clean(with_breaks, tags=set())
    lines = [" ".join(line.split()) for line in html.unescape(stripped).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def authored_text(text: str) -> str:
    """The text above the quoted part and the signature: what the sender wrote now."""
    kept = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if SIGNATURE_RE.match(line) or QUOTE_HEADER_RE.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            if all(not rest.strip() or rest.lstrip().startswith(">") for rest in lines[index:]):
                break
            continue
        kept.append(line)
    return "\n".join(kept).strip()
