"""Driving the real pipeline in tests: spool → process → (send), with a clock we set."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from archive.arrivals.ingest import IngestResult
from intake.process import process_spooled
from intake.spool import Arrival, open_spool, spool_arrivals, spool_path
from tests.support.base import ROOT, fixture_bytes


def deliver(
    db,
    settings,
    message: str | bytes,
    *,
    now: datetime,
    sender: str = "rita@example.net",
    to: tuple[str, ...] = ("conduct@example.org",),
    replace: dict[str, str] | None = None,
) -> IngestResult:
    """Spool one message as SMTP intake would, then process it at `now`."""
    raw = fixture_bytes(message) if isinstance(message, str) else message
    for old, new in (replace or {}).items():
        raw = raw.replace(old.encode(), new.encode())
    spool = open_spool(spool_path(settings))
    spool_arrivals(spool, [Arrival(raw, sender, to, "smtp", now)])
    results = process_spooled(db, spool, settings, lambda: now)
    spool.close()
    assert len(results) == 1
    return results[0]


def outbox(db, template: str | None = None) -> list[dict]:
    sql = (
        "SELECT message_id, template, audience, to_addr, context, status, in_reply_to,"
        " from_name, exclude_addr, id FROM outbox"
    )
    params = []
    if template:
        sql += " WHERE template = ?"
        params.append(template)
    rows = db.execute(sql + " ORDER BY id", params).fetchall()
    keys = ("message_id", "template", "audience", "to_addr", "context", "status", "in_reply_to",
            "from_name", "exclude", "id")  # fmt: skip
    return [dict(zip(keys, row[:4] + (json.loads(row[4]),) + row[5:], strict=True)) for row in rows]


def events(db, ref: str) -> list[str]:
    rows = db.execute(
        "SELECT e.action FROM events e JOIN cases c ON c.id = e.case_pk WHERE c.ref = ?"
        " ORDER BY e.id",
        [ref],
    )
    return [row[0] for row in rows]


def smtp_send(port: int, raw: bytes, sender: str, recipients: list[str]) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(sender, recipients, raw)


# The `casebook` console script pip installed into this venv: what an operator runs.
INSTALLED_CASEBOOK = str(Path(sys.executable).with_name("casebook"))


def run_casebook(*args, stdin: bytes | None = None, env=None, timeout: float = 60):
    """The installed `casebook`, with stdin, stdout and stderr pipes (never a terminal)."""
    return subprocess.run(
        [INSTALLED_CASEBOOK, *args],
        cwd=ROOT,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=timeout,
        env=env,
    )


def force_state(db, case, state, when) -> None:
    """Test set-up only: a case put straight into `state` (history the test does not replay),
    past the door's table and its audit event."""
    db.execute(
        "UPDATE cases SET state = ?, updated_at = ? WHERE id = ?",
        [getattr(state, "value", state), when.isoformat(), case.pk],
    )


TRUSTED = 'trusted_hosts = ["mx.example.org"]'  # [security] line: mx.example.org's stamp counts


def vouched(raw: bytes, address: str) -> bytes:
    """`raw` as the trusted receiving host delivers it: DKIM passed for the From domain
    (a party's word to the reports or appeals address counts only so, or via their reply
    address)."""
    domain = address.rsplit("@", 1)[1]
    return f"Authentication-Results: mx.example.org; dkim=pass header.d={domain}\r\n".encode() + raw
