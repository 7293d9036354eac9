"""`casebook serve` never hangs half-alive: a dead worker takes intake down for a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from archive.record.db import ArchiveUnavailable
from intake.spool import SpoolClosed, SpoolWriter, spool_path
from tests.service.test_service import report
from tests.support.base import ServeProcess, free_port, write_config
from tests.support.helpers import smtp_send
from tests.support.waiting import wait_until


def children(pid: int) -> list[int]:
    """The child processes of `pid`, from /proc (every thread's list)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with open(task / "children") as listing:
            found += [int(child) for child in listing.read().split()]
    return found


def worker_of(process: ServeProcess) -> int:
    wait_until(lambda: children(process.proc.pid), timeout=10, what="the worker process")
    [worker] = children(process.proc.pid)
    return worker


def open_session(port: int) -> smtplib.SMTP:
    """An SMTP session up to RCPT, as a sending server is between two commands."""
    client = smtplib.SMTP("127.0.0.1", port, timeout=5)  # never a hang: at most 5 s a reply
    client.ehlo()
    client.mail("rita@example.net")
    assert client.rcpt("conduct@example.org")[0] == 250
    return client


def answer_to_report(client: smtplib.SMTP, n: int) -> int:
    """The reply to DATA: its code, or 421 for a dropped connection (a temporary failure)."""
    try:
        code, _ = client.data(report(n, "rita@example.net"))
    except smtplib.SMTPServerDisconnected:
        return 421
    finally:
        client.close()
    return code


@pytest.fixture
def service(tmp_path, relay):
    port = free_port()
    process = ServeProcess(write_config(tmp_path, relay_port=relay.port, intake_port=port), port)
    process.start()
    yield process
    process.stop()


def test_a_killed_worker_gets_451_and_serve_exits_to_be_restarted(service, relay):
    in_flight = open_session(service.port)
    os.kill(worker_of(service), signal.SIGKILL)
    wait_until(lambda: "ERROR" in service.output(), timeout=5, what="intake to notice")

    assert answer_to_report(in_flight, 1) in (451, 421)
    try:
        later = answer_to_report(open_session(service.port), 2)
    except (ConnectionRefusedError, smtplib.SMTPServerDisconnected):
        later = "refused"
    assert later in (451, 421, "refused")
    started = time.monotonic()
    code = service.proc.wait(timeout=10)
    assert code != 0
    assert time.monotonic() - started < 5
    [error] = [line for line in service.output().splitlines() if " ERROR " in line]
    assert "the worker process" in error and "killed by signal 9" in error
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", service.port), 1):
        pass
    assert relay.messages == []  # nothing was stored, so nothing was acknowledged


def store_twice(writer: SpoolWriter) -> list:
    async def both():
        answers = []
        for n in (1, 2):
            try:
                answers.append(await writer.store(report(n, "rita@example.net"), "rita@example.net",
                                                  ("conduct@example.org",), "smtp"))  # fmt: skip
            except ArchiveUnavailable as exc:
                answers.append(exc)
        return answers

    return asyncio.run(asyncio.wait_for(both(), timeout=5))  # never a hang


def test_a_failing_wake_up_does_not_stop_the_spool_writer(settings):
    def broken_pipe():
        raise BrokenPipeError(32, "Broken pipe")

    writer = SpoolWriter(spool_path(settings), on_stored=broken_pipe)
    writer.start()
    try:
        assert store_twice(writer) == [1, 2]  # both stored: both get their 250
    finally:
        writer.stop()


def test_a_dead_spool_writer_answers_at_once_and_says_so(settings):
    failures = []
    writer = SpoolWriter(spool_path(settings), on_failure=failures.append)
    writer._commit = lambda batch: 1 / 0  # a bug that escapes the writer's own error handling
    writer.start()
    try:
        first, second = store_twice(writer)
    finally:
        writer.stop()
    assert isinstance(first, ArchiveUnavailable) and "ZeroDivisionError" in str(first)
    assert isinstance(second, SpoolClosed)  # refused at once, not queued for a dead thread
    assert len(failures) == 1 and "spool writer stopped" in failures[0]


def send_reports(port: int, count: int, clients: int = 4) -> list[str]:
    """`count` reports from distinct reporters, over parallel sessions; every one must get 250."""
    senders = [f"reporter{n}@example.net" for n in range(count)]

    def client(first: int) -> None:
        for n in range(first, count, clients):
            smtp_send(port, report(n, senders[n]), senders[n], ["conduct@example.org"])

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return senders


REPORTS = 150


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_backlog_bigger_than_a_batch_is_acknowledged_within_10_s_of_a_restart(tmp_path, relay):
    port = free_port()
    # 150 reports at once are a flood to the default limits (100): this test is about the
    # backlog, so the limit is raised above it.
    limits = {"global_burst": 2 * REPORTS}
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, limits=limits)
    # A sweep cannot help: everything must go on the restart's own wake-up.
    slow_sweep = 'case_prefix = "CoC"\nsweep_interval = "10min"'
    config.write_text(config.read_text().replace('case_prefix = "CoC"', slow_sweep))
    process = ServeProcess(config, port)
    process.start()
    old_worker = worker_of(process)
    os.kill(old_worker, signal.SIGSTOP)  # the worker falls behind; intake keeps accepting
    try:
        # 150 reports queue 300 mails: more than one send batch of the old code (200).
        senders = send_reports(port, REPORTS)
        process.kill()
        restarted = time.monotonic()
        os.kill(old_worker, signal.SIGCONT)  # alive beside the new worker until it sees EOF
        process.start()

        def acknowledged() -> bool:
            with relay.lock:
                reached = {rcpt for _, rcpts, _, _ in relay.messages for rcpt in rcpts}
            return reached.issuperset(senders)

        wait_until(acknowledged, timeout=10, what="an acknowledgement for every accepted report")
        assert time.monotonic() - restarted < 10
        wait_until(lambda: gone(old_worker), timeout=5, what="the old worker to stop")
    finally:
        process.stop()
        if not gone(old_worker):
            os.kill(old_worker, signal.SIGKILL)
    db = sqlite3.connect(tmp_path / "casebook.db")
    assert db.execute("SELECT COUNT(*) FROM cases").fetchone() == (REPORTS,)
    assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone() == (REPORTS,)
    acks = [m for m in relay.parsed() if m["To"] and m["To"].addresses[0].domain == "example.net"]
    assert len({ack["Message-ID"] for ack in acks}) == REPORTS  # one acknowledgement each
