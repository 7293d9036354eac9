"""Body text helpers: safe HTML, and HTML as readable text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

BLOCK_END_RE = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote)\s*>")
WHITESPACE_RE = re.compile(r"\s+")
# Tags between two letters: "Rita<span>Canaryname" is two words, as a reader sees them.
TAGS_IN_WORD_RE = re.compile(r"(?<=\w)(?:<[^<>]*>)+(?=\w)")
WBR_RE = re.compile(r"(?i)<wbr\s*/?>")  # a place to wrap a long word, never a space in it
# What hides an element from the reader (a cheap look first: most mail hides nothing).
HIDING_HINT_RE = re.compile(r"(?i)display|visibility|mso-hide|hidden|font-size|opacity")
HIDING_STYLE_RE = re.compile(
    r"(?i)(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|mso-hide\s*:\s*all"
    r"|font-size\s*:\s*0*(?:\.0+)?(?:px|pt|em|rem|%)?\s*(?:!important)?\s*(?:;|$)"
    r"|opacity\s*:\s*0*(?:\.0+)?\s*(?:!important)?\s*(?:;|$))"
)
VOID_TAGS = frozenset(
    (
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    )
)


def sanitize_html(markup: str) -> str:
    """HTML safe to show a member: no scripts, styles, handlers or remote tricks."""
    return nh3.clean(markup)


def html_to_text(markup: str, *, keep_hidden: bool = False) -> str:
    """Readable text from an HTML-only message (tags dropped, blocks become lines).

    Line breaks in the source mean nothing in HTML: Outlook puts each line in its own
    `<div>` on its own source line, and those must not become blank lines that end a
    command block. What the reader does not see (`display:none`, `visibility:hidden`, the
    `hidden` attribute…) is left out unless `keep_hidden` (the conflict check reads it all);
    a tag between two letters separates two words.
    """
    if not keep_hidden and HIDING_HINT_RE.search(markup):
        markup = drop_hidden(markup)
    with_breaks = BLOCK_END_RE.sub("\n", WHITESPACE_RE.sub(" ", WBR_RE.sub("", markup)))
    parted = TAGS_IN_WORD_RE.sub(lambda tags: " " + tags.group(0), with_breaks)
    stripped = nh3.clean(parted, tags=set())
    lines = [" ".join(line.split()) for line in html.unescape(stripped).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def drop_hidden(markup: str) -> str:
    """`markup` without the elements a reader does not see (and what is inside them)."""
    parser = _VisibleMarkup()
    try:
        parser.feed(markup)
        parser.close()
    except AssertionError:  # html.parser on a marked section it does not know (`<![foo[`)
        return markup  # as it was: a tag between two letters still parts the words
    return "".join(parser.out)


def _hides(attrs: list[tuple[str, str | None]]) -> bool:
    for name, value in attrs:
        if name == "hidden" or (name == "style" and value and HIDING_STYLE_RE.search(value)):
            return True
    return False


class _VisibleMarkup(HTMLParser):
    """The markup again, hidden elements left out (tags as written, text escaped again)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden: list[str] = []  # the open elements from the outermost hidden one in

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            if not self.hidden and not _hides(attrs):
                self.out.append(self.get_starttag_text() or "")
        elif self.hidden or _hides(attrs):
            self.hidden.append(tag)
        else:
            self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.hidden and not _hides(attrs):
            self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if not self.hidden:
            self.out.append(f"</{tag}>")
        elif tag in self.hidden:  # close up to it: elements left open inside end with it
            while self.hidden.pop() != tag:
                pass
            if not self.hidden:
                self.out.append(" ")  # the hidden element's place still parts two words

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(html.escape(data, quote=False))
