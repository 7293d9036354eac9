"""Finding command keywords: the leading block of a reply's new text (SPEC §5).

Only what the author wrote now is read (`intake.reply`): the quoted history and the signature
are cut off first, so neither a command nor a command's body (mailed outside the committee by
`#to-reporter`, `#propose`) can come from them. The block is one `#keyword args` per line and
ends at the first line that is not a command, at a blank line after a command, or at a stop
word. Attached messages are never read: the caller passes only the sender's own part.
"""

from __future__ import annotations

import re

from archive.record.models import CommandLine, FoundCommands
from intake.reply import SIGNATURE_RE, split_text

# As people type them: `#agree!`, `#note: text`, `#clear_urgent` (`_` read as `-`).
COMMAND_RE = re.compile(
    r"^#(?P<keyword>[A-Za-z][A-Za-z_-]{0,30}?)[!.,;:]*(?:(?:\s+|(?<=:))(?P<args>.*))?$"
)
# One greeting line may come before the block ("Hi all,", "Hello committee!", "Dear Alice,").
GREETING_RE = re.compile(
    r"(?i)^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|morning|all|hallo|bonjour|"
    r"hola)\b[\w .'-]{0,40}[,!:.]?$"
)
STOP_WORDS = ("thanks", "thank you", "--", "cheers", "regards")
MAX_COMMANDS = 20


def find_commands(text: str) -> FoundCommands:
    """The leading command block of `text`'s new part and the body that follows it."""
    if not _may_command(text):
        return FoundCommands()  # the same answer, without splitting the text (import speed)
    lines = split_text(text).new.split("\n")
    index = _skip_blank(lines, 0)
    if index < len(lines) and GREETING_RE.match(lines[index].strip()):
        after = _skip_blank(lines, index + 1)
        if after < len(lines) and COMMAND_RE.match(lines[after].strip()):
            index = after
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
                keyword=match.group("keyword").lower().replace("_", "-").strip("-"),
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


def _may_command(text: str) -> bool:
    """False only when no line of `text` can start a command: every command line is, stripped,
    a line of the text that starts with `#`, however the text is later split (splitlines()
    cuts at every line break split_text cuts at, and more)."""
    return any(line.lstrip().startswith("#") for line in text.replace("\ufeff", "").splitlines())


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _is_stop(line: str) -> bool:
    lowered = line.lower().rstrip("!,.")
    return lowered in STOP_WORDS or SIGNATURE_RE.match(line) is not None


def _body_after(lines: list[str]) -> str:
    """The new text after the block: the quote and the signature were cut off already."""
    return "\n".join(lines).strip()
