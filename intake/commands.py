"""Finding command keywords: the leading block of a reply's text part (SPEC §5).

Only the top of the text/plain part is read. The block is one `#keyword args` per line and
ends at the first line that is not a command, at a blank line after a command, or at a stop
word. Quoted text, "On … wrote:" blocks, signatures, HTML parts and attached messages are
never read, because they are never at the top of the author's own text.
"""

from __future__ import annotations

import re

from archive.models import CommandLine, FoundCommands
from intake.text import QUOTE_HEADER_RE, SIGNATURE_RE

COMMAND_RE = re.compile(r"^#(?P<keyword>[A-Za-z][A-Za-z-]{0,30})(?:\s+(?P<args>.*))?$")
STOP_WORDS = ("thanks", "thank you", "--", "cheers", "regards")
MAX_COMMANDS = 20


def find_commands(text: str) -> FoundCommands:
    """The leading command block of `text` and the body that follows it."""
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    commands: list[CommandLine] = []
    while index < len(lines) and len(commands) < MAX_COMMANDS:
        line = lines[index].strip()
        if _is_stop(line):
            index += 1
            break
        match = COMMAND_RE.match(line)
        if not match:
            break
        commands.append(
            CommandLine(
                keyword=match.group("keyword").lower(),
                args=" ".join((match.group("args") or "").split()),
                line=line,
            )
        )
        index += 1
        if index < len(lines) and not lines[index].strip():
            index += 1
            break
    body = _body_after(lines[index:]) if commands else ""
    return FoundCommands(tuple(commands), body)


def _is_stop(line: str) -> bool:
    lowered = line.lower().rstrip("!,.")
    return lowered in STOP_WORDS or SIGNATURE_RE.match(line) is not None


def _body_after(lines: list[str]) -> str:
    """The text after the block, up to the signature or the quoted part."""
    kept: list[str] = []
    for line in lines:
        if SIGNATURE_RE.match(line) or QUOTE_HEADER_RE.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            break
        kept.append(line)
    return "\n".join(kept).strip()
