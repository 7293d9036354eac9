"""Outbox drain: casebook's real sender against bare smtplib, to the same loopback sink.

N/2 reports are ingested (not timed), which queues N mails (each report's acknowledgement and
its new-case notice). Then, in the same run and alternating: casebook drains the outbox the way
the serve worker does (`send_due` in chunks until nothing is due: render, compose, lease,
"sent" records), and bare smtplib sends the very bytes casebook sent, over one connection, to
the same sink. The figure is the median of the runs; the baseline is smtplib's median. One
round before them is not counted: it compiles the templates, which the serve worker does once
in its life, not once per drain.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archive.record.timestamps import utc_now  # noqa: E402
from bench.probes import free_port  # noqa: E402
from bench.table import Row  # noqa: E402
from casebook.serve import SEND_CHUNK  # noqa: E402
from mailer.send import send_due  # noqa: E402
from tests.support.base import write_config  # noqa: E402

TARGET = 0.5  # of smtplib's rate


class CountingSink:
    """The relay: keeps each mail's envelope and bytes (to replay them through smtplib)."""

    def __init__(self):
        self.mails: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.mails.append((envelope.mail_from, list(envelope.rcpt_tos),
                               envelope.original_content))  # fmt: skip
        return "250 OK"


def report(n: int) -> tuple[str, bytes]:
    sender = f"drain{n}@bench.example.net"
    raw = (
        f"From: Reporter {n} <{sender}>\r\nTo: conduct@example.org\r\n"
        f"Subject: Report {n}\r\nMessage-ID: <drain-{n}@bench.example.net>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Yesterday on the mailing list someone insulted me repeatedly after I asked\r\n"
        "a question about the build. The thread is at https://lists.example.org/a/1\r\n"
    ).encode()
    return sender, raw


def queue(tmp: Path, relay_port: int, reports: int):
    """An archive with `reports` reports ingested: 2 × reports mails queued, nothing sent."""
    from archive.arrivals.ingest import ingest_message
    from archive.record.db import open_archive
    from archive.record.timestamps import utc_now
    from casebook.config import load_settings
    from intake.parse import parse_message

    settings = load_settings(write_config(tmp, relay_port=relay_port, ack_daily_cap=100000))
    db = open_archive(settings.database)
    now = utc_now()
    for n in range(reports):
        sender, raw = report(n)
        msg = parse_message(raw, envelope_from=sender, envelope_to=(settings.reports,),
                            settings=settings, loop_id="bench")  # fmt: skip
        ingest_message(db, msg, settings, now)
    return db, settings


def drain(db, settings) -> int:
    """What the serve worker does after a wake-up: chunks until nothing is due."""
    sent = 0
    for _ in range(10_000):  # bounded
        report = send_due(db, settings, utc_now(), holder="bench", limit=SEND_CHUNK)
        sent += report.sent
        if not report.sent + report.postponed + report.failed:
            break
    return sent


def smtplib_send(port: int, mails: list[tuple[str, list[str], bytes]]) -> None:
    import smtplib

    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for sender, rcpts, raw in mails:
            client.sendmail(sender, rcpts, raw)


def one_round(reports: int) -> tuple[float, float, int]:
    """(casebook msg/s, smtplib msg/s, mails) for one drain and its replay."""
    sink = CountingSink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db, settings = queue(Path(tmp), relay.port, reports)
            began = time.perf_counter()
            sent = drain(db, settings)
            seconds = time.perf_counter() - began
            db.close()
        mails = list(sink.mails)
        if len(mails) != 2 * reports or sent != 2 * reports:
            raise SystemExit(f"outbox drain: {len(mails)} mails at the sink, not {2 * reports}")
        began = time.perf_counter()
        smtplib_send(relay.port, mails)
        bare = time.perf_counter() - began
    finally:
        relay.stop()
    return len(mails) / seconds, len(mails) / bare, len(mails)


def measure(args) -> list[Row]:
    reports = getattr(args, "drain_reports", 200)
    runs = getattr(args, "drain_runs", 5)
    one_round(reports)  # warm-up, not counted: the serve worker compiles its templates once
    rounds = [one_round(reports) for _ in range(runs)]
    rate = statistics.median(r[0] for r in rounds)
    bare = statistics.median(r[1] for r in rounds)
    mails = rounds[0][2]
    return [
        Row(f"outbox drain ({mails} mails, one relay, median of {runs})", rate, "msg/s",
            target=f"≥ {TARGET:.0%} of smtplib", met=rate >= TARGET * bare,
            baseline="smtplib, same bytes, one connection", baseline_value=bare,
            ratio=f"{rate / bare:.2f} of smtplib"),
    ]  # fmt: skip


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="outbox drain vs bare smtplib")
    parser.add_argument("--drain-reports", type=int, default=200)
    parser.add_argument("--drain-runs", type=int, default=5)
    from bench.table import markdown

    print(markdown(measure(parser.parse_args())))
