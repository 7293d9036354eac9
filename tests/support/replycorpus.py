"""Public corpora of real replies (tests/fixtures/replies/): what the reader keeps and cuts.

Each reply has the text its author wrote now, as the corpus's own project labels it. The reader
is measured against that label, line by line: a line it keeps that the label does not hold is
quoted history (or a signature) kept; a line of the label it does not keep is new text lost.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from pathlib import Path

from intake.reply import Reply, split_html, split_text

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "replies"


@dataclass(frozen=True)
class Measure:
    name: str
    kept: tuple[str, ...]  # lines kept that are not the author's new text
    lost: tuple[str, ...]  # lines of the author's new text that were cut


def _lines(text: str) -> list[str]:
    """The lines that carry words, spaces folded."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if any(c.isalnum() for c in line)]


def corpus(source: str) -> list[tuple[str, str, str]]:
    """(file name, reply, expected new text) for every reply of one corpus."""
    base = REPLIES / source
    labels = base / "trimmed" if (base / "trimmed").is_dir() else base / "expected"
    return [
        (path.name, _read(path), _read(labels / f"{path.stem}.txt"))
        for path in sorted((base / "emails").iterdir())
    ]


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8").replace("\r\n", "\n")


def read_reply(name: str, reply: str) -> Reply:
    """The reader's split of a corpus reply: plain text (`.txt`), an HTML body (`.html`), or a
    whole message (`.mail`: its first text/plain part, as talon's tests read it)."""
    if name.endswith(".html"):
        return split_html(reply)
    if name.endswith(".mail"):
        message = email.message_from_string(reply, policy=email.policy.compat32)
        part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        payload = part.get_payload(decode=True) or b""
        return split_text(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return split_text(reply)


def measure(name: str, reply: str, expected: str) -> Measure:
    new = _lines(read_reply(name, reply).authored)
    want = [line for line in _lines(expected) if not line.startswith(">")]  # history
    return Measure(
        Path(name).stem,
        kept=tuple(line for line in new if line not in want),
        lost=tuple(line for line in want if line not in new),
    )


def measure_corpus(source: str) -> list[Measure]:
    return [measure(*item) for item in corpus(source)]
