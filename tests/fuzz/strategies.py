"""Hypothesis strategies: seeds mutated byte-wise and header-wise, and the envelope they come in.

Recipients are drawn as symbols (`("party", 3)`) and resolved against the archive when the input
runs, so a drawn reply address can name a token that really exists by then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.fuzz.seeds import Seed

HEAD_END = re.compile(rb"\r?\n\r?\n")
CHARSET = re.compile(rb"(?i)charset\s*=\s*(\"[^\"]*\"|[^;\s]*)")
CHARSETS = [b"utf-8", b"us-ascii", b"iso-8859-1", b"windows-1252", b"utf-7", b"utf-16",
            b"iso-2022-jp", b"koi8-r", b"gb18030", b"x-unknown", b"", b'"utf-8\x00"', b"\xff\xfe",
            b"utf-8'en'", b"idna", b"rot13", b"base64", b"unicode-escape"]  # fmt: skip
HEADER_NAMES = ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References",
                "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version",
                "Sender", "Reply-To", "Date", "Auto-Submitted", "Precedence", "List-Id",
                "X-Casebook-Loop", "Return-Path", "DKIM-Signature", "ARC-Seal",
                "X-Auto-Response-Suppress", "Delivered-To"]  # fmt: skip
COMMANDS = ["#agree", "#object too harsh", "#abstain", "#propose private-reprimand",
            "#propose ban 30d chat", "#propose public-reprimand", "#assign bob@example.org",
            "#status deliberating", "#status", "#recuse I know him", "#conflict carol@example.org",
            "#urgent threats", "#clear-urgent", "#note call her", "#summary", "#violation yes",
            "#responsible Dave Jones <dave@example.com>", "#consult", "#consult w@example.net",
            "#enact", "#enact 2026-03-20", "#send missing-information to reporter on 2026-03-10",
            "#timeline 2026-03-20", "#unilateral removed him", "#to-reporter",
            "#merge CoC-2026-001", "#merge <plain-report-1@example.net>", "#unmerge CoC-2026-002",
            "#mediation propose Max <max@example.net>", "#mediation agree reported",
            "#mediation report", "#ban dave@example.com 30d chat,lists", "#unban dave@example.com",
            "#appeal uphold", "#appeal extend", "#escalate", "#help", "#helpp", "#Agree!",
            "thanks", "--"]  # fmt: skip
SENDERS = ["rita@example.net", "alice@example.org", "bob@example.org", "carol@example.org",
           "erin@example.org", "dave@example.com", "", "MAILER-DAEMON@example.net",
           "conduct@example.org", "rité@exämple.net", "<>", "a\r\nb@example.net"]  # fmt: skip
FROMS = ["Rita Reporter <rita@example.net>", "Alice Chair <alice@example.org>",
         "bob@example.org", "Carol <carol@example.org>", "Erin <erin@example.org>",
         "=?utf-8?b?A?= <x@example.net>", "a@b, c@d", '"x@y" <z@example.net>', "(c) r@example.net",
         "<>", ""]  # fmt: skip


@dataclass(frozen=True)
class FuzzInput:
    raw: bytes
    envelope_from: str
    recipients: tuple[tuple, ...]  # symbols, resolved by the harness against the archive
    origin: str  # the seed and the mutations, for the crash report


def split_message(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """Header blocks (folded lines kept together), the separator and the body."""
    match = HEAD_END.search(raw)
    head, sep, body = (raw, b"", b"") if not match else (
        raw[: match.start()], raw[match.start() : match.end()], raw[match.end() :])  # fmt: skip
    blocks: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if blocks and line[:1] in (b" ", b"\t"):
            blocks[-1] += line
        else:
            blocks.append(line)
    return blocks, sep, body


def _eol(raw: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in raw[:2000] else b"\n"


def _with_eol(block: bytes, eol: bytes) -> bytes:
    return block if block.endswith(b"\n") else block + eol


def apply(raw: bytes, mutation: tuple, seeds: list[Seed]) -> bytes:
    """One mutation, deterministic given its drawn parameters."""
    kind, *args = mutation
    eol = _eol(raw)
    if kind == "flip":
        if not raw:
            return bytes([args[1]])
        pos = args[0] % len(raw)
        return raw[:pos] + bytes([args[1]]) + raw[pos + 1 :]
    if kind == "splice":
        other = seeds[args[0] % len(seeds)].raw
        return raw[: args[1] % (len(raw) + 1)] + other[args[2] % (len(other) + 1) :]
    if kind == "truncate":
        return raw[: args[0] % (len(raw) + 1)]
    if kind == "lf":
        return raw.replace(b"\r\n", b"\n")
    if kind == "crlf":
        return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if kind == "charset":
        found = list(CHARSET.finditer(raw))
        if not found:
            blocks, sep, body = split_message(raw)
            ct = b"Content-Type: text/plain; charset=" + CHARSETS[args[1] % len(CHARSETS)] + eol
            return b"".join(blocks) + ct + (sep or eol) + body
        match = found[args[0] % len(found)]
        new = b"charset=" + CHARSETS[args[1] % len(CHARSETS)]
        return raw[: match.start()] + new + raw[match.end() :]
    blocks, sep, body = split_message(raw)
    if kind in ("dup", "drop") and blocks:
        index = args[0] % len(blocks)
        block = _with_eol(blocks[index], eol)
        if kind == "dup":
            blocks.insert(index, block)
        else:
            del blocks[index]
    elif kind == "header":
        name, value, at = args
        blocks.insert(at % (len(blocks) + 1), name + b": " + value + eol)
    elif kind == "commands":
        body = eol.join(line.encode() for line in args[0]) + eol + eol + body
    elif kind == "reply":  # a reply to casebook's own mail; the harness fills in the reference
        ref, number = args
        blocks = [b for b in blocks if not b.lower().startswith((b"subject:", b"in-reply-to:"))]
        blocks.append(b"In-Reply-To: <casebook-ref-%d>" % ref + eol)
        blocks.append(b"Subject: Re: [CoC-2026-%03d] your report" % number + eol)
    elif kind == "fresh-id":  # a new message, not a redelivery; the harness numbers it
        blocks = [b for b in blocks if not b.lower().startswith(b"message-id:")]
        blocks.append(b"Message-ID: <casebook-fresh>" + eol)
    elif kind == "long-line":
        body = body + b"z" * args[0] + eol
    blocks = [_with_eol(b, eol) for b in blocks[:-1]] + blocks[-1:]
    return b"".join(blocks) + (sep or (eol + eol if body else b"")) + body


def command_lines() -> st.SearchStrategy[list[str]]:
    """A command block: real keywords with plausible arguments, and made-up ones."""
    made_up = st.tuples(
        st.from_regex(r"#[a-z][a-z-]{0,12}", fullmatch=True), st.text(max_size=30)
    ).map(" ".join)
    return st.lists(st.one_of(st.sampled_from(COMMANDS), made_up), min_size=1, max_size=6)


def mutations() -> st.SearchStrategy[tuple]:
    anything = st.integers(min_value=0, max_value=2**20)
    header_value = st.one_of(
        st.binary(max_size=120),
        st.text(max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from(FROMS).map(str.encode),
        st.sampled_from(["[CoC-2026-001]", "Re: [CoC-2026-002] x", "<plain-report-1@example.net>",
                         "auto-replied", "bulk", "multipart/alternative; boundary=x",
                         "base64", "quoted-printable", "=?utf-8?q?=ff?="]).map(str.encode),
    )  # fmt: skip
    header_name = st.one_of(
        st.sampled_from(HEADER_NAMES).map(str.encode),
        st.binary(min_size=1, max_size=20).filter(lambda b: b":" not in b),
    )
    return st.one_of(
        st.tuples(st.just("flip"), anything, st.integers(0, 255)),
        st.tuples(st.just("splice"), anything, anything, anything),
        st.tuples(st.just("truncate"), anything),
        st.tuples(st.sampled_from(["dup", "drop"]), anything),
        st.tuples(st.just("header"), header_name, header_value, anything),
        st.tuples(st.just("charset"), anything, anything),
        st.tuples(st.just("commands"), command_lines()),
        st.tuples(st.just("long-line"), st.integers(0, 6000)),
        st.tuples(st.just("reply"), anything, st.integers(1, 12)),
        st.tuples(st.sampled_from(["lf", "crlf"])),
    )


def recipients() -> st.SearchStrategy[tuple]:
    index = st.integers(0, 50)
    return st.one_of(
        st.sampled_from([("reports",), ("appeals",), ("list",), ("unknown",)]),
        st.tuples(st.sampled_from(["party", "member-token", "member-as-self", "bounce"]), index),
        st.tuples(st.just("stale-token"), st.from_regex(r"[a-z2-7]{24}", fullmatch=True)),
        st.tuples(st.just("raw"), st.text(max_size=40)),
    )


def random_message() -> st.SearchStrategy[bytes]:
    """Random headers with random values over a random body, or just random bytes."""
    header = st.tuples(
        st.one_of(st.sampled_from(HEADER_NAMES), st.text(min_size=1, max_size=12)),
        st.text(max_size=60),
    ).map(lambda h: f"{h[0]}: {h[1]}".encode("utf-8", "surrogatepass"))
    headed = st.tuples(st.lists(header, max_size=12), st.binary(max_size=400)).map(
        lambda hb: b"\r\n".join(hb[0]) + b"\r\n\r\n" + hb[1]
    )
    return st.one_of(st.binary(max_size=2000), headed)


@st.composite
def fuzz_inputs(draw, seeds: list[Seed]) -> FuzzInput:
    """A seed (or random mail) mutated a few times, with an envelope to arrive in."""
    # Hypothesis favours small integers, so the rarer branches sit at the top of the range.
    if draw(st.integers(0, 9)) == 9:
        raw, origin = draw(random_message()), "random"
    else:
        seed = draw(st.sampled_from(seeds))
        raw, origin = seed.raw, seed.name
    steps = draw(st.lists(mutations(), max_size=4))
    rcpts = draw(st.lists(recipients(), min_size=1, max_size=3))
    if draw(st.integers(0, 9)) < 7:  # most inputs are new mail; the rest exercise redelivery
        steps.append(("fresh-id",))
    if draw(st.integers(0, 9)) >= 8:
        # A member answering casebook from their own reply address: their commands run.
        block = draw(st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=3))
        steps += [("reply", draw(st.integers(0, 2**20)), draw(st.integers(1, 12))),
                  ("commands", block)]  # fmt: skip
        rcpts = [("member-as-self", draw(st.integers(0, 50)))]
    for step in steps:
        raw = apply(raw, step, seeds)
    envelope_from = draw(st.one_of(st.sampled_from(SENDERS), st.text(max_size=30)))
    names = ",".join(str(step[0]) for step in steps)
    return FuzzInput(raw, envelope_from, tuple(rcpts), f"{origin} [{names}]")
