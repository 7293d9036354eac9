"""The reply reader runs on every incoming message: linear in its text, whatever the text holds."""

from __future__ import annotations

import itertools
import time

import pytest

from intake.importer import iter_mbox
from intake.reply import split_html, split_text
from tests.support.base import CORPUS

# Lines built to make a backtracking pattern work hard: each near a marker, none quite one.
HOSTILE = {
    "attribution openings": "On 2 Mar 2026 at 10:00 <ann@example.org" + " x" * 200,
    "verbs": "wrote schrieb skrev написал " * 15,
    "dates and colons": "12.05.2018, 10.20, ann@example.org: " * 12,
    "long line": "On 1 wrote " * 5000,
    "header labels": "From: a\nTo: b",
    "nested quotes": "> " * 240,
    "blank-ish": " " * 490,
}


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        split_text(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("line", sorted(HOSTILE))
def test_hostile_text_is_read_in_linear_time(line):
    small = "\n".join([HOSTILE[line]] * 400)
    large = "\n".join([HOSTILE[line]] * 1600)
    small_time, large_time = _seconds(small), _seconds(large)
    assert large_time < 3.0  # ~700 kB of the worst lines
    assert large_time < 8 * small_time + 0.05  # four times the text, not sixteen times the time


@pytest.mark.parametrize(
    "piece", ['<a class="x ', '<div style="border-top: solid ', "<", '<p id="gmail_quot">x</p>']
)
def test_hostile_html_is_read_in_linear_time(piece):
    def seconds(markup: str) -> float:
        started = time.perf_counter()
        split_html(markup)
        return time.perf_counter() - started

    small, large = seconds(piece * 5000), seconds(piece * 20000)
    assert large < 2.0
    assert large < 8 * small + 0.05


def test_a_mailing_list_archive_is_read_quickly():
    mbox = CORPUS / "linux-mips" / "linux-mips-1996-2002.mbox"
    if not mbox.exists():
        pytest.skip(f"{mbox} is absent")
    texts = [
        raw.split(b"\n\n", 1)[-1].decode("utf-8", "replace")
        for raw, _ in itertools.islice(iter_mbox(mbox), 0, 3000, 3)
    ]
    started = time.perf_counter()
    for text in texts:
        split_text(text)
    assert (time.perf_counter() - started) / len(texts) < 0.005  # 5 ms a message, at most
