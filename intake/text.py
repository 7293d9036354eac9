"""Body text helpers: safe HTML, and HTML as readable text."""

from __future__ import annotations

import html
import re

import nh3

BLOCK_END_RE = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote)\s*>")
WHITESPACE_RE = re.compile(r"\s+")


def sanitize_html(markup: str) -> str:
    """HTML safe to show a member: no scripts, styles, handlers or remote tricks."""
    return nh3.clean(markup)


def html_to_text(markup: str) -> str:
    """Readable text from an HTML-only message (tags dropped, blocks become lines).

    Line breaks in the source mean nothing in HTML: Outlook puts each line in its own
    `<div>` on its own source line, and those must not become blank lines that end a
    command block.
    """
    with_breaks = BLOCK_END_RE.sub("\n", WHITESPACE_RE.sub(" ", markup))
    stripped = nh3.clean(with_breaks, tags=set())
    lines = [" ".join(line.split()) for line in html.unescape(stripped).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
