"""Conservation: everything `casebook serve` accepts over SMTP ends archived or quarantined.

Fed with every fixture (the known-bad inputs among them), CPython's own email test messages
and a sample of the real linux-mips list archive, as a mail server would deliver them.
"""

from __future__ import annotations

import email
import smtplib
import sqlite3
from pathlib import Path

import pytest

from tests.support.base import CORPUS, FIXTURES, ServeProcess, free_port, write_config
from tests.support.waiting import wait_until

CPYTHON_EMAIL_DATA = Path(email.__file__).resolve().parent.parent / "test" / "test_email" / "data"
MBOX = CORPUS / "linux-mips" / "linux-mips-1996-2002.mbox"
CORPUS_SAMPLE = 120


def fixture_messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FIXTURES.rglob("*.eml"))]


def cpython_messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CPYTHON_EMAIL_DATA.glob("msg_*.txt"))]


def corpus_sample(count: int) -> list[bytes]:
    """Every n-th message of the mboxrd archive, unescaped as an MTA would have sent it."""
    messages, current = [], []
    with MBOX.open("rb") as source:
        for line in source:
            if line.startswith(b"From mboxrd@z "):
                if current:
                    messages.append(b"".join(current))
                current = []
                continue
            current.append(line[1:] if line.startswith(b">") and line.lstrip(b">").startswith(
                b"From ") else line)  # fmt: skip
    messages.append(b"".join(current))
    step = max(1, len(messages) // count)
    return messages[::step][:count]


@pytest.fixture
def serve(tmp_path, relay):
    """`casebook serve` with the flood limits above this test's bulk: it counts what is kept
    of everything accepted, not what a flood limit refuses (`test_floods.py` does that)."""
    port = free_port()
    limits = {"global_burst": 10_000}
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, limits=limits)
    process = ServeProcess(config, port)
    process.start()
    yield process
    process.stop()


def send_all(port: int, batches: list[tuple[str, list[bytes]]]) -> int:
    """Deliver each message on one connection; how many got a 250."""
    accepted = 0
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for number, (recipient, raws) in enumerate(batches):
            for index, raw in enumerate(raws):
                try:
                    client.sendmail(f"sender{number}-{index}@example.net", [recipient], raw)
                    accepted += 1
                except smtplib.SMTPResponseException:
                    client.rset()
    return accepted


def wait_for_archive(database: Path, accepted: int, spool: Path, timeout: float = 60.0) -> None:
    def counts() -> tuple[int, int]:
        with sqlite3.connect(database) as db, sqlite3.connect(spool) as sp:
            done = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
            waiting = sp.execute("SELECT COUNT(*) FROM spooled").fetchone()[0]
        return done, waiting

    def archived() -> bool:
        done, waiting = counts()
        return done >= accepted and waiting == 0

    wait_until(archived, f"{accepted} accepted messages archived, none left spooled", timeout,
               detail=lambda: f"archived and spooled: {counts()}")  # fmt: skip


SOURCES = {
    "fixtures": ("conduct@example.org", fixture_messages, None),
    "cpython-email-tests": (
        "conduct@example.org",
        cpython_messages,
        None
        if CPYTHON_EMAIL_DATA.is_dir()
        else f"CPython's email test data is absent here"
        f" ({CPYTHON_EMAIL_DATA}): this Python was installed without its test package",
    ),
    "linux-mips-corpus": (
        "conduct-committee@lists.example.org",
        lambda: corpus_sample(CORPUS_SAMPLE),
        None if MBOX.exists() else "../shared/corpus is not beside this clone",
    ),
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_everything_accepted_is_archived_or_quarantined(serve, tmp_path, source):
    recipient, messages, absent = SOURCES[source]
    if absent:
        pytest.skip(absent)
    raws = messages()
    accepted = send_all(serve.port, [(recipient, raws)])
    assert accepted == len(raws)  # long lines, bare LFs and odd MIME are all taken
    wait_for_archive(tmp_path / "casebook.db", accepted, tmp_path / "spool" / "spool.db")
    with sqlite3.connect(tmp_path / "casebook.db") as db:
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status"))
        orphans = db.execute(
            "SELECT COUNT(*) FROM deliveries d LEFT JOIN messages m ON m.id = d.message_pk"
            " WHERE m.id IS NULL"
        ).fetchone()[0]
    assert sum(statuses.values()) == accepted and set(statuses) <= {"processed", "quarantined"}
    assert orphans == 0  # every delivery points at an archived message
    assert "Traceback" not in serve.output()
