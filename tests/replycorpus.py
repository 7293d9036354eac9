"""Public corpora of real replies (tests/fixtures/replies/): what the reader keeps and cuts.

Each reply has the text its author wrote now, as the corpus's own project labels it. The reader
is measured against that label, line by line: a line it keeps that the label does not hold is
quoted history (or a signature) kept; a line of the label it does not keep is new text lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from intake.reply import split_text

REPLIES = Path(__file__).resolve().parent / "fixtures" / "replies"


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
    """(name, reply, expected new text) for every reply of one corpus."""
    base = REPLIES / source
    labels = base / "trimmed" if (base / "trimmed").is_dir() else base / "expected"
    return [
        (path.stem, _read(path), _read(labels / path.name))
        for path in sorted((base / "emails").glob("*.txt"))
    ]


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8").replace("\r\n", "\n")


def measure(name: str, reply: str, expected: str) -> Measure:
    new = _lines(split_text(reply).authored)
    want = [line for line in _lines(expected) if not line.startswith(">")]  # history
    return Measure(
        name,
        kept=tuple(line for line in new if line not in want),
        lost=tuple(line for line in want if line not in new),
    )


def measure_corpus(source: str) -> list[Measure]:
    return [measure(*item) for item in corpus(source)]
