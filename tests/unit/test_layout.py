"""The tests' own house (issue 19): every test file sits in unit/, pipeline/ or service/ by how
it drives casebook, every helper in support/, one wait_until, and no test waits a fixed time."""

from __future__ import annotations

import re

from tests.support.base import ROOT

TESTS = ROOT / "tests"
KINDS = ("unit", "pipeline", "service")
WAITING = TESTS / "support" / "waiting.py"
# A pause that is itself what a test checks (a slow client) says so on its line.
BEHAVIOUR = "the behaviour under test"


def python_files() -> list:
    return sorted(p for p in TESTS.rglob("*.py") if "fixtures" not in p.relative_to(TESTS).parts)


def test_every_test_file_sits_in_unit_pipeline_or_service():
    misplaced = [
        p.relative_to(TESTS).as_posix()
        for p in TESTS.rglob("test_*.py")
        if p.parent.name not in KINDS or p.parent.parent != TESTS
    ]
    assert misplaced == [], (
        f"move these into tests/unit, tests/pipeline or tests/service: {misplaced}"
    )


def test_wait_until_is_written_once_in_support():
    defined = [p for p in python_files() if re.search(r"^\s*def wait_until\b", p.read_text(), re.M)]
    assert defined == [WAITING], f"wait_until is defined in {defined}: import tests/support/waiting"


def test_no_test_waits_a_fixed_time():
    sleeps = [
        f"{p.relative_to(TESTS)}:{n}: {line.strip()}"
        for p in python_files()
        if p != WAITING
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\bsleep\(", line) and BEHAVIOUR not in line
    ]
    assert sleeps == [], "wait for a condition with wait_until instead:\n" + "\n".join(sleeps)
