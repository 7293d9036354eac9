"""`make bench`, flood part: real reporters' ack latency while one sender floods, and without.

One `casebook serve` with the default per-sender limits (the per-address-class limit is
raised above the reporters' count, so that only the flood is refused), a relay sink that
notes each acknowledgement. First the reporters alone (the same-run baseline), then the same
number of reporters while one sender floods the reports address over 4 connections as fast as
loopback allows (bounded: it stops when the reporters are done, or at `FLOOD_MAX`). Reporters
write from 127.0.0.2, the flooder from 127.0.0.1: two clients, as on the internet.
"""

from __future__ import annotations

import smtplib
import sqlite3
import threading
import time

from archive.settings import IntakeLimits
from bench.table import Row

FLOODER = "flood@flood.example.com"
FLOOD_SESSIONS = 4
FLOOD_MAX = 400_000  # messages the flooder sends at most (it stops with the reporters)
REPORTER_CLIENT = "127.0.0.2"


def flood_message(n: int) -> bytes:
    return (
        f"From: Flood <{FLOODER}>\r\nTo: conduct@example.org\r\nSubject: Spam {n}\r\n"
        f"Message-ID: <flood-{n}@flood.example.com>\r\n\r\nBuy now ({n}).\r\n"
    ).encode()


def reporters(port: int, rate: float, count: int, tag: str) -> dict[str, float]:
    """`count` reports from distinct senders at `rate`/s; when each got its 250."""
    from bench.service import report

    accepted: dict[str, float] = {}
    start = time.monotonic()
    for n in range(count):
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        sender, raw = report(n, tag)
        with smtplib.SMTP("127.0.0.1", port, timeout=30,
                          source_address=(REPORTER_CLIENT, 0)) as client:  # fmt: skip
            client.sendmail(sender, ["conduct@example.org"], raw)
        accepted[sender] = time.monotonic()
    return accepted


class Flooder:
    """One sender, FLOOD_SESSIONS connections, as fast as it can until stopped."""

    def __init__(self, port: int):
        self.port = port
        self.stop = threading.Event()
        self.accepted = 0
        self.refused = 0
        self.other: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.session, args=(w,)) for w in range(4)]
        self.reconnects = 0
        self.outlasted = False  # still flooding when the reporters were done

    def session(self, worker: int) -> None:
        client = self.connect()
        for i in range(FLOOD_MAX // FLOOD_SESSIONS):
            if self.stop.is_set():
                break
            try:
                client.sendmail(FLOODER, ["conduct@example.org"],
                                flood_message(worker * FLOOD_MAX + i))  # fmt: skip
                outcome = "accepted"
            except smtplib.SMTPRecipientsRefused as exc:
                code, _ = exc.recipients["conduct@example.org"]
                outcome = "refused" if code in (451, 421) else f"other: {code}"
                if code == 421:  # the tenth refusal closed the connection: open another
                    self.reconnects += 1
                    client = self.connect()
            with self.lock:
                if outcome == "accepted":
                    self.accepted += 1
                elif outcome == "refused":
                    self.refused += 1
                else:
                    self.other.append(outcome)
        client.close()

    def connect(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=30)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.outlasted = all(thread.is_alive() for thread in self.threads)
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def latencies(sink, accepted: dict[str, float], timeout: float = 60) -> list[float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(s in sink.arrivals for s in accepted):
        time.sleep(0.01)
    return [
        (sink.arrivals[s] - t) * 1000 if s in sink.arrivals else float("inf")
        for s, t in accepted.items()
    ]


def measure(args) -> list[Row]:
    from bench.probes import percentile
    from bench.service import running

    rate = min(args.rate, 5.0)
    count = max(20, int(rate * min(args.seconds, 10.0)))
    limits = {"global_burst": 10 * count}  # only the per-sender limit meets the flood
    with running(limits=limits) as service:
        sink, port = service.sink, service.port
        latencies(sink, reporters(port, rate, 3, "warm"))  # first-mail costs, not counted
        quiet = latencies(sink, reporters(port, rate, count, "calm"))
        with Flooder(port) as flooder:
            accepted = reporters(port, rate, count, "busy")
        flooded = latencies(sink, accepted)
        db = sqlite3.connect(service.database)
        alerts = db.execute(
            "SELECT COUNT(*) FROM outbox WHERE template = 'committee/flood'"
        ).fetchone()[0]
        db.close()
    if flooder.other:
        raise SystemExit(f"the flood got unexpected answers: {flooder.other[:3]}")
    if not flooder.outlasted:
        raise SystemExit(f"the flood ended ({FLOOD_MAX} messages) before the reporters did")
    burst = IntakeLimits().sender_burst
    p99, base = percentile(flooded, 99), percentile(quiet, 99)
    total = flooder.accepted + flooder.refused
    return [
        Row(f"ack latency p99 during a one-sender flood ({count} reporters at {rate:g}/s)",
            p99, "ms", target="< 500 ms", met=p99 < 500,
            baseline="same reporters, no flood", baseline_value=base,
            ratio=f"{p99 / base:.2f}×" if base else ""),
        Row("flood: accepted (250) of one sender's messages", flooder.accepted, "msgs",
            target=f"≤ {burst + 1} (sender_burst + refill)", met=flooder.accepted <= burst + 1,
            note=f"of {total} sent over {FLOOD_SESSIONS} sessions"),
        Row("flood: refused 451/421 4.7.1", flooder.refused, "msgs",
            note=f"{flooder.reconnects} connections closed after 10 refusals; the default"
                 " refusal_delay (1 s) paces them"),
        Row("flood: alerts to the committee", alerts, "alerts", target="= 1", met=alerts == 1),
    ]  # fmt: skip
