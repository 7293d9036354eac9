"""`casebook serve` as a real process: SMTP in, acknowledgements out, and kill -9 mid-burst."""

from __future__ import annotations

import smtplib
import socket
import sqlite3
import threading

import pytest

from tests.support.base import ServeProcess, fixture_bytes, free_port, write_config
from tests.support.helpers import smtp_send
from tests.support.waiting import wait_until


def report(n: int, sender: str) -> bytes:
    return (
        f"From: Reporter {n} <{sender}>\r\nTo: conduct@example.org\r\n"
        f"Subject: Report number {n}\r\nMessage-ID: <burst-{n}@example.net>\r\n\r\n"
        f"Someone was rude to me on the forum yesterday ({n}).\r\n"
    ).encode()


def read_reply(sock: socket.socket) -> bytes:
    """One complete SMTP reply (all its continuation lines)."""
    data = b""
    while True:
        chunk = sock.recv(1)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if data.endswith(b"\r\n") and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data


def converse(sock: socket.socket, commands: list[bytes]) -> list[bytes]:
    replies = [read_reply(sock)]
    for command in commands:
        sock.sendall(command + b"\r\n")
        replies.append(read_reply(sock))
    return replies


def test_report_over_smtp_is_acknowledged_in_its_thread(serve, relay):
    refused = smtp_send(serve.port, fixture_bytes("plain_report.eml"), "rita@example.net",
                        ["conduct@example.org"])  # fmt: skip
    assert refused == {}
    relay.wait_for(2)
    [ack] = relay.to("rita@example.net")
    assert ack["Subject"] == "[CoC-2026-001] We received your report"
    assert ack["In-Reply-To"] == "<plain-report-1@example.net>"
    [notice] = relay.to("conduct-committee@lists.example.org")
    assert "called me stupid" in notice.get_content()


def test_recipients_casebook_does_not_serve_are_refused_at_rcpt(serve):
    with smtplib.SMTP("127.0.0.1", serve.port, timeout=10) as client:
        client.ehlo()
        client.mail("someone@example.net")
        code, _ = client.rcpt("postmaster@example.org")
        assert code == 550
        # Every plus-address is accepted, so reply tokens cannot be probed.
        assert client.rcpt("conduct+nosuchtokenatall@example.org")[0] == 250
        assert client.rcpt("conduct+aaaaaaaaaaaaaaaaaaaaaaaa@example.org")[0] == 250


def test_oversized_message_is_refused_with_552(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, max_message_size=2048)
    process = ServeProcess(config, port)
    process.start()
    try:
        big = fixture_bytes("plain_report.eml").replace(b"\n", b"\r\n") + (b"x" * 70 + b"\r\n") * 60
        # smtplib announces SIZE, so the refusal comes at MAIL FROM; without it, after DATA.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp_send(port, big, "rita@example.net", ["conduct@example.org"])
        assert refused.value.smtp_code == 552
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            replies = converse(sock, [b"EHLO test", b"MAIL FROM:<rita@example.net>",
                                      b"RCPT TO:<conduct@example.org>", b"DATA"])  # fmt: skip
            sock.sendall(big.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            assert read_reply(sock).startswith(b"552")
        assert replies[-1].startswith(b"354")
    finally:
        process.stop()


def test_lmtp_answers_once_per_recipient(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, lmtp=True)
    process = ServeProcess(config, port)
    process.start()
    try:
        # smtplib's LMTP reads one reply after DATA, so speak the protocol by hand.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            converse(sock, [b"LHLO test", b"MAIL FROM:<rita@example.net>",
                            b"RCPT TO:<conduct@example.org>",
                            b"RCPT TO:<conduct-committee@lists.example.org>", b"DATA"])  # fmt: skip
            sock.sendall(fixture_bytes("plain_report.eml").replace(b"\n", b"\r\n") + b".\r\n")
            assert read_reply(sock).startswith(b"250")
            assert read_reply(sock).startswith(b"250")
        relay.wait_for(2)
    finally:
        process.stop()


def test_kill_9_mid_burst_loses_nothing_and_acknowledges_everyone(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port)
    process = ServeProcess(config, port)
    process.start()
    accepted: list[tuple[int, str]] = []
    lock = threading.Lock()
    killed = threading.Event()

    def client(worker: int) -> None:
        for i in range(30):
            n = worker * 100 + i
            sender = f"reporter{n}@example.net"
            try:
                smtp_send(port, report(n, sender), sender, ["conduct@example.org"])
            except (OSError, smtplib.SMTPException):
                if killed.is_set():
                    return
                continue
            with lock:
                accepted.append((n, sender))

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(accepted) >= 40, what="40 accepted reports")
    process.kill()
    killed.set()
    for thread in threads:
        thread.join()
    assert 40 <= len(accepted) < 120

    process.start()
    try:
        wait_until(
            lambda: all(relay.to(sender) for _, sender in accepted),
            timeout=60,
            what="an acknowledgement for every accepted report",
        )
    finally:
        process.stop()
    db = sqlite3.connect(tmp_path / "casebook.db")
    for n, sender in accepted:
        rows = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT case_pk) FROM messages WHERE message_id = ?",
            [f"<burst-{n}@example.net>"],
        ).fetchone()
        assert rows == (1, 1), n
        acks = relay.to(sender)
        assert 1 <= len(acks) <= 2
        assert len({ack["Message-ID"] for ack in acks}) == 1
    cases = db.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
    reports = db.execute("SELECT COUNT(*) FROM messages WHERE kind = 'report'").fetchone()[0]
    assert cases == reports >= len(accepted)
    assert (
        db.execute("SELECT COUNT(*) FROM deliveries WHERE status != 'processed'").fetchone()[0] == 0
    )
    spool = sqlite3.connect(tmp_path / "spool" / "spool.db")
    assert spool.execute("SELECT COUNT(*) FROM spooled").fetchone()[0] == 0


def test_mail_over_the_size_limit_is_a_552_logged_with_what_to_do(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          max_message_size=20_000)  # fmt: skip
    serve = ServeProcess(config, port)
    serve.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            client.mail("rita@example.net")  # no SIZE= given: the size shows only in DATA
            client.rcpt("conduct@example.org")
            code, _ = client.data(report(1, "rita@example.net") + b"x" * 30_000 + b"\r\n")
        assert code == 552
        wait_until(lambda: "with 552" in serve.output(), what="the 552 logged")
        [line] = [line for line in serve.output().splitlines() if "with 552" in line]
        assert line.endswith(
            "refused a message over max_message_size (20000 bytes) with 552; its sender is"
            " told; raise [intake] max_message_size to take bigger mail"
        ), line
        assert "rita" not in serve.output()
    finally:
        serve.stop()
