"""What the fuzzer starts from: the .eml fixtures, a sample of a real list, and known-bad mail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS_MBOX = ROOT.parent / "shared" / "corpus" / "linux-mips" / "linux-mips-1996-2002.mbox"
MBOXRD_SEPARATOR = re.compile(rb"^From mboxrd@z [^\n]*\n", re.MULTILINE)
MBOXRD_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)


@dataclass(frozen=True)
class Seed:
    name: str
    raw: bytes


def fixture_seeds() -> list[Seed]:
    """Every .eml fixture, the fuzz regressions included (named by scenario, so are the seeds)."""
    return [
        Seed(path.relative_to(FIXTURES).as_posix(), path.read_bytes())
        for path in sorted(FIXTURES.rglob("*.eml"))
    ]


def corpus_seeds(count: int = 120, path: Path = CORPUS_MBOX) -> list[Seed]:
    """Every n-th message of the linux-mips corpus, so the sample spans 1996–2002; [] without it."""
    if count <= 0 or not path.exists():
        return []
    messages = [m for m in MBOXRD_SEPARATOR.split(path.read_bytes()) if m.strip()]
    step = max(1, len(messages) // count)
    return [
        Seed(f"linux-mips#{index}", MBOXRD_QUOTED.sub(rb"\1", messages[index]))
        for index in range(0, len(messages), step)
    ][:count]


def _mail(headers: str, body: str | bytes, *, eol: bytes = b"\r\n") -> bytes:
    head = headers.strip("\n").encode("utf-8", "surrogateescape").replace(b"\n", eol)
    tail = body if isinstance(body, bytes) else body.encode("utf-8")
    return head + eol + eol + tail.replace(b"\n", eol)


PLAIN = """From: Rita Reporter <rita@example.net>
To: conduct@example.org
Subject: Problem on the users list
Message-ID: <{id}@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
"""


BROKEN_WORD = "=?utf-8?b?A?= <x@"


def _nested(depth: int) -> bytes:
    """`depth` multipart/mixed levels, each one boundary deeper, a text part at the bottom."""
    opening, closing = [], []
    for level in range(depth):
        opening.append(f'--b{level}\nContent-Type: multipart/mixed; boundary="b{level + 1}"\n\n')
        closing.append(f"--b{level}--\n")
    body = "".join(opening) + f"--b{depth}\nContent-Type: text/plain\n\nhidden\n--b{depth}--\n"
    headers = PLAIN.replace("text/plain; charset=utf-8", 'multipart/mixed; boundary="b0"')
    return _mail(headers.format(id=f"nested-{depth}"), body + "".join(reversed(closing)))


def known_bad_seeds() -> list[Seed]:
    """Inputs that have broken mail software before; the issue names each one."""
    report = "Dave Jones insulted me on the list yesterday.\n"
    alternative = PLAIN.replace(
        "text/plain; charset=utf-8", 'multipart/alternative; boundary="never-appears"'
    )
    return [
        Seed(
            "known/broken_encoded_word_from",
            _mail(PLAIN.replace("Rita Reporter <rita@", BROKEN_WORD).format(id="ew"), report),
        ),
        Seed("known/alternative_boundary_missing", _mail(alternative.format(id="alt"), report)),
        Seed(
            "known/nul_in_charset",
            _mail(PLAIN.replace("charset=utf-8", 'charset="utf-8\x00"').format(id="nul"), report),
        ),
        Seed("known/headerless", report.encode()),
        Seed("known/headerless_blank_first", b"\r\n" + report.encode()),
        Seed("known/bare_lf", _mail(PLAIN.format(id="lf"), report, eol=b"\n")),
        Seed("known/long_body_line", _mail(PLAIN.format(id="long"), "x" * 5000 + "\n")),
        Seed(
            "known/long_header_line",
            _mail(PLAIN.replace("Problem on", "y" * 5000).format(id="longsubj"), report),
        ),
        Seed("known/nested_multipart_60", _nested(60)),
        Seed("known/nested_multipart_3000", _nested(3000)),
        Seed(
            "known/commands_reply",
            _mail(
                PLAIN.replace("Rita Reporter <rita@example.net>", "Alice Chair <alice@example.org>")
                .replace("Problem on the users list", "Re: [CoC-2026-001] New report")
                .format(id="cmds"),
                "#agree\n#propose private-reprimand\n\nYou were rude.\n\nOn Monday Bob wrote:\n"
                "> #object\n",
            ),
        ),
        Seed("known/empty", b""),
    ]


def all_seeds(*, corpus: int = 120) -> list[Seed]:
    return fixture_seeds() + known_bad_seeds() + corpus_seeds(corpus)
