"""Real client replies from tests/fixtures/clients/, as a member's mail server would send them."""

from __future__ import annotations

from pathlib import Path

CLIENTS = Path(__file__).resolve().parents[1] / "fixtures" / "clients"
CANARIES = ("CANARY-REPORTER", "rita@example.net", "CANARY-REPORT-TEXT", "casebook")


def client_reply(name: str, notice_id: str = "<notice@example.org>") -> bytes:
    """A fixture with CRLF line ends, threaded under `notice_id` (the case's new-case notice)."""
    text = (CLIENTS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return text.replace(b"<NOTICE>", notice_id.encode())


def leaked(text: str) -> list[str]:
    """The canaries of the quoted committee mail that appear in `text`."""
    return [canary for canary in CANARIES if canary in text]
