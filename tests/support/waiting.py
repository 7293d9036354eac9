"""The one way a test waits: for a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How often a condition is asked again: short enough not to slow a test, long enough not to
# take a core from the process the test waits for.
POLL = 0.02


def wait_until(
    predicate: Callable[[], T],
    what: str = "the condition",
    timeout: float = 30.0,
    *,
    detail: Callable[[], str] | None = None,
) -> T:
    """Ask `predicate` until it answers something true and return that answer; after `timeout`
    seconds fail, naming `what` was awaited, the last answer and `detail()` (a log, a queue)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            more = f"\n{detail()}" if detail else ""
            raise AssertionError(
                f"waited {timeout:g}s for {what}; the last answer was {value!r}{more}"
            )
        time.sleep(POLL)
