"""Send and expect: mail to `casebook serve` over SMTP, and what its relay sink then holds."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from archive.record.timestamps import to_text
from tests.support.helpers import run_casebook, smtp_send
from tests.support.mailbuild import build, sign, via_list
from tests.support.waiting import wait_until

LIST = "conduct-committee@lists.example.org"


def send(port: int, raw: bytes, envelope: str, to: str) -> None:
    """One message over SMTP to the intake on `port`, its recipient accepted."""
    assert smtp_send(port, raw, envelope, [to]) == {}


def idle(config: Path) -> bool:
    """Nothing spooled and no mail due (`casebook stats`, then the outbox): the worker has done
    all it will with the mail in. Mail folded to wait (for the hour's end, or the case's next
    notice) is not the worker's to send yet. (Mail is spooled before intake answers 250 and
    leaves the spool in the commit that queues what it causes, so there is no gap between.)"""
    done = run_casebook("-c", str(config), "stats", "--json")
    assert done.returncode == 0, done.stderr
    if json.loads(done.stdout)["spooled"]:
        return False
    now = to_text(datetime.now(UTC))
    with sqlite3.connect(config.parent / "casebook.db") as db:
        due = db.execute(
            "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?", [now]
        )
        return due.fetchone()[0] == 0


def with_subject(relay, who: str, subject: str) -> list[EmailMessage]:
    """What `who` (an address, or a name before @example.org) holds with `subject` in its
    subject, oldest first."""
    address = who if "@" in who else f"{who}@example.org"
    return [m for m in relay.to(address) if subject in str(m["Subject"])]


def expect(relay, who: str, subject: str, count: int = 1, timeout: float = 30.0):
    """Wait until `who` holds `count` mails with `subject` in their subject; all it holds."""

    def found() -> list[EmailMessage] | None:
        hits = with_subject(relay, who, subject)
        return hits if len(hits) >= count else None

    return wait_until(found, f"{count} x {subject!r} to {who}", timeout)


def list_post(sender: str, text: str, thread: EmailMessage, message_id: str) -> bytes:
    """A member's signed reply in `thread`, as the committee list distributes it."""
    raw = build(sender=sender, to=LIST, subject=f"Re: {thread['Subject']}", body=text,
                message_id=message_id, in_reply_to=thread["Message-ID"],
                references=(thread["Message-ID"],))  # fmt: skip
    return via_list(sign(raw))


def answer(port: int, mail: EmailMessage, sender: str, body: str, message_id: str) -> None:
    """A reply at the personal reply address `mail` carries (its Reply-To)."""
    raw = build(sender=sender, to=mail["Reply-To"], subject=f"Re: {mail['Subject']}", body=body,
                message_id=message_id, in_reply_to=mail["Message-ID"])  # fmt: skip
    envelope = sender.split("<")[-1].rstrip(">")
    send(port, raw, envelope, mail["Reply-To"])
