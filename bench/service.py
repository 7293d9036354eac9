"""One `casebook serve` for a bench part: a fresh archive in a temporary folder, relaying to a
sink that notes when each reporter's acknowledgement arrives; and the reports they send.

The throughput, latency, flood and big-mail parts all start it the same way (`running`); the
capacity runs lift the flood limits, the flood and big-mail parts set their own.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.probes import free_port, wait_for_port
from tests.conftest import write_config  # the same config the tests use

ROOT = Path(__file__).resolve().parent.parent

# Capacity runs send from one client, 1000 messages at once: the flood limits are lifted
# for them (bench/flood.py measures the limits themselves).
NO_LIMITS = {"global_burst": 10**6, "max_connections": 1000, "connections_per_client": 1000}


def report(n: int, tag: str) -> tuple[str, bytes]:
    sender = f"{tag}{n}@bench.example.net"
    raw = (
        f"From: Reporter {n} <{sender}>\r\nTo: conduct@example.org\r\n"
        f"Subject: Report {n}\r\nMessage-ID: <{tag}-{n}@bench.example.net>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Yesterday on the mailing list someone insulted me repeatedly after I asked\r\n"
        "a question about the build. The thread is at https://lists.example.org/a/1\r\n"
        + "More context about what happened and why it hurt.\r\n"
        * 20
    ).encode()
    return sender, raw


class AckSink:
    """The relay: notes when each reporter's acknowledgement arrives."""

    def __init__(self):
        self.arrivals: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        with self.lock:
            self.count += 1
            for rcpt in envelope.rcpt_tos:
                if rcpt.endswith("@bench.example.net"):
                    self.arrivals.setdefault(rcpt, now)
        return "250 OK"


def start_casebook(
    tmp: Path, relay_port: int, limits: dict | None = None, max_size: int = 1024**2
) -> tuple[subprocess.Popen, int, Path]:
    """`casebook serve` on a configuration written in `tmp`; its process, port and archive."""
    port = free_port()
    config = write_config(
        tmp,
        relay_port=relay_port,
        intake_port=port,
        ack_daily_cap=1000,
        limits=NO_LIMITS if limits is None else limits,
        max_message_size=max_size,
    )
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "casebook.cli", "-c", str(config), "serve"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, proc)
    return proc, port, tmp / "casebook.db"


@dataclass(frozen=True)
class Service:
    sink: AckSink
    proc: subprocess.Popen
    port: int
    database: Path


@contextmanager
def running(limits: dict | None = None, max_size: int = 1024**2) -> Iterator[Service]:
    """A `casebook serve` and its relay sink, stopped (and the folder removed) on leaving."""
    sink = AckSink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            proc, port, database = start_casebook(Path(tmp), relay.port, limits, max_size)
            try:
                yield Service(sink, proc, port, database)
            finally:
                proc.terminate()
                proc.wait()
    finally:
        relay.stop()
