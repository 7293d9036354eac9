"""Floods at the SMTP edge: 451 4.7.1 past the limits, others still served, one alert.

Counts, not timings: the limits run on a clock the unit tests set; the end-to-end tests send
as fast as loopback allows, in bounded loops, and count what was accepted, refused, archived
and acknowledged. Distinct clients are distinct loopback addresses (127.0.0.2, …), which
Linux routes to a server listening on 127.0.0.1.
"""

from __future__ import annotations

import smtplib
import socket
import sqlite3
import threading
import time
from datetime import timedelta

from archive.record.models import RouteKind
from archive.record.settings import IntakeLimits
from archive.record.timestamps import to_text, utc_now
from casebook.config import load_settings
from intake.limits import Gate
from intake.process import alert_floods
from intake.spool import open_spool, spool_floods, spool_path
from tests.service.test_service import converse, read_reply, report
from tests.service.test_smtp_lines import Intake
from tests.support.base import T0, ServeProcess, free_port, write_config
from tests.support.helpers import outbox
from tests.support.waiting import wait_until

REPORTS = RouteKind.REPORT
LIMITS = IntakeLimits(sender_burst=3, sender_per_hour=60, global_burst=5, global_per_hour=60)


def send(gate: Gate, sender: str, kind=REPORTS, at: float = 0.0):
    return gate.recipient(sender, kind, set(), at, T0)


# -- the limits, on a clock we set --------------------------------------------------------------


def test_a_sender_past_its_burst_is_refused_451_until_its_bucket_refills():
    gate = Gate(LIMITS)
    assert [send(gate, "flood@example.net") for _ in range(3)] == [None] * 3
    refusal = send(gate, "flood@example.net")
    assert refusal.reply.startswith("451 4.7.1 ")
    assert send(gate, "Flood@Example.NET").reply.startswith("451 4.7.1")  # one sender, any case
    assert send(gate, "other@example.net") is None
    # 60 an hour: one more a minute later, then refused again.
    assert send(gate, "flood@example.net", at=60.0) is None
    assert send(gate, "flood@example.net", at=60.0) is not None


def test_a_forged_victim_is_locked_out_only_while_the_flood_lasts():
    gate = Gate(LIMITS)
    for n in range(300):  # a flood forging the victim's address, one a second for 5 minutes
        send(gate, "victim@example.net", at=float(n))
    assert send(gate, "victim@example.net", at=299.5) is not None
    # The flood stops; one refill later the real person's mail (retried by their server) goes.
    assert send(gate, "victim@example.net", at=299.0 + 60.0) is None


def test_a_flood_at_the_reports_address_leaves_replies_and_the_list_their_own_limit():
    gate = Gate(LIMITS)
    for n in range(5):
        assert send(gate, f"bot{n}@example.net") is None
    assert send(gate, "bot9@example.net").reply.startswith("451 4.7.1 Too much mail to this")
    assert send(gate, "alice@example.org", RouteKind.REPLY) is None
    assert send(gate, "bounces@lists.example.org", RouteKind.LIST) is None
    # The list's copies all share one envelope sender: never limited per sender.
    for _ in range(4):
        assert send(gate, "bounces@lists.example.org", RouteKind.LIST) is None


def test_one_envelope_pays_once_per_class_of_address():
    gate = Gate(LIMITS)
    charged: set[str] = set()
    for rcpt in (REPORTS, RouteKind.APPEAL, REPORTS):
        assert gate.recipient("rita@example.net", rcpt, charged, 0.0, T0) is None
    assert gate.senders.level("rita@example.net", 0.0) == 2.0


def test_one_flood_is_reported_once_and_a_new_one_after_the_quiet_period():
    gate = Gate(IntakeLimits(sender_burst=1, sender_per_hour=1, flood_quiet=timedelta(hours=1)))
    send(gate, "flood@example.net")
    refusals = [send(gate, "flood@example.net", at=float(n)) for n in range(1, 200)]
    floods = [r.flood for r in refusals if r.flood is not None]
    assert len(floods) == 1 and all(r.reply.startswith("451 4.7.1") for r in refusals)
    assert (floods[0].address_class, floods[0].reason) == ("reports", "sender")
    # Other flooders at the same addresses while it lasts: the same flood.
    assert send(gate, "bot@example.net", at=300.0) is None
    assert send(gate, "bot@example.net", at=301.0).flood is None
    # An hour without a refusal ends it; the next refusal starts a new flood.
    assert send(gate, "flood@example.net", at=301.0 + 3600) is None  # refilled meanwhile
    assert send(gate, "flood@example.net", at=302.0 + 3600).flood is not None


def test_connections_are_capped_per_client_and_in_all():
    gate = Gate(IntakeLimits(max_connections=3, connections_per_client=2))
    assert gate.connect("192.0.2.1") is None and gate.connect("192.0.2.1") is None
    assert gate.connect("192.0.2.1").startswith("421 4.7.0 Too many connections from your")
    assert gate.connect("192.0.2.2") is None
    assert gate.connect("192.0.2.3").startswith("421 4.7.0 Too many connections;")
    gate.disconnect("192.0.2.1")
    assert gate.connect("192.0.2.3") is None


# -- the archive's side: one alert per flood ------------------------------------------------------


def test_a_flood_note_becomes_one_committee_alert_however_often_it_is_read(db, settings):
    gate = Gate(IntakeLimits(sender_burst=1))
    send(gate, "flood@example.net")
    flood = send(gate, "flood@example.net").flood
    spool = open_spool(spool_path(settings))
    spool_floods(spool, [flood])
    assert alert_floods(db, spool, settings, T0) == 1
    # The worker died before forgetting the note: the same flood noted again alerts nobody.
    spool_floods(spool, [flood])
    assert alert_floods(db, spool, settings, T0) == 0
    assert alert_floods(db, spool, settings, T0) == 0
    spool.close()
    (alert,) = outbox(db, "committee/flood")
    assert alert["audience"] == "committee"
    assert alert["context"]["reason"] == "sender"
    assert "flood@example.net" not in str(alert["context"])  # the alert names no sender
    assert db.execute("SELECT sender FROM floods").fetchall() == [("flood@example.net",)]


# -- the SMTP edge, in process ------------------------------------------------------------------


def smtp_from(port: int, client: str) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=(client, 0))


def test_the_tenth_refusal_in_a_connection_closes_it(tmp_path):
    limits = {"sender_burst": 1, "refusal_delay": "0s"}
    attempt = [b"MAIL FROM:<flood@example.net>", b"RCPT TO:<conduct@example.org>", b"RSET"]
    with (
        Intake(tmp_path, lmtp=False, limits=limits) as intake,
        socket.create_connection(("127.0.0.1", intake.controller.port), timeout=10) as sock,
    ):
        replies = converse(sock, [b"EHLO flood.example.net", *attempt * 10])
        rcpt = replies[3::3]  # the greeting, EHLO, then MAIL, RCPT, RSET each time
        assert rcpt[0].startswith(b"250")  # the burst: one
        assert all(r.startswith(b"451 4.7.1") for r in rcpt[1:10]), rcpt
        sock.sendall(attempt[0] + b"\r\n" + attempt[1] + b"\r\n")
        assert read_reply(sock).startswith(b"250")
        assert read_reply(sock).startswith(b"421 4.7.1")  # the tenth refusal
        assert hung_up(sock)


def test_a_global_flood_at_the_reports_address_still_lets_replies_and_the_list_in(tmp_path):
    with Intake(tmp_path, lmtp=False, limits={"global_burst": 3, "refusal_delay": "0s"}) as intake:
        port = intake.controller.port
        with smtp_from(port, "127.0.0.1") as client:
            for n in range(3):
                sender = f"bot{n}@example.net"
                client.sendmail(sender, ["conduct@example.org"], report(n, sender))
            try:
                client.sendmail("bot9@example.net", ["conduct@example.org"], report(9, "b"))
                raise AssertionError("a fourth report was accepted")
            except smtplib.SMTPRecipientsRefused as refused:
                code, text = refused.recipients["conduct@example.org"]
                assert code == 451 and text.startswith(b"4.7.1")
            client.sendmail("alice@example.org", ["conduct+abcdefghijklmnopqrstuvwx@example.org"],
                            report(10, "alice@example.org"))  # fmt: skip
            client.sendmail("bounces@lists.example.org", ["conduct-committee@lists.example.org"],
                            report(11, "alice@example.org"))  # fmt: skip
        assert len(intake.spooled()) == 5
        spool = open_spool(spool_path(intake.settings))
        notes = spool.execute("SELECT address_class, reason FROM floods").fetchall()
        spool.close()
        assert notes == [("reports", "global")]


def idle(port: int, client: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(client, 0))
    assert read_reply(sock).startswith(b"220")
    return sock


def hung_up(sock: socket.socket) -> bool:
    """True once the server closes the connection (within the socket's timeout)."""
    return any(not sock.recv(1024) for _ in range(100))


def test_slow_and_idle_clients_up_to_the_caps_do_not_keep_a_real_reporter_out(tmp_path):
    limits = {"max_connections": 4, "connections_per_client": 2, "timeout": "1s"}
    with Intake(tmp_path, lmtp=False, limits=limits) as intake:
        port = intake.controller.port
        slow = [idle(port, "127.0.0.1"), idle(port, "127.0.0.1")]
        slow[1].sendall(b"EHLO slow.exam")  # a command it never finishes
        # The same client again: refused at once, never greeted.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as third:
            assert read_reply(third).startswith(b"421 4.7.0 Too many connections from your")
        # Another client is served meanwhile.
        with smtp_from(port, "127.0.0.5") as client:
            client.sendmail("rita@example.net", ["conduct@example.org"], report(1, "rita"))
        # Two more slow clients fill the server's cap: now everyone waits ...
        slow += [idle(port, "127.0.0.3"), idle(port, "127.0.0.4")]
        with socket.create_connection(
            ("127.0.0.1", port), timeout=10, source_address=("127.0.0.5", 0)
        ) as late:
            assert read_reply(late).startswith(b"421 4.7.0 Too many connections;")
        # ... until the idle timeout closes the slow ones (the server hangs up on each) ...
        for sock in slow:
            assert hung_up(sock)
            sock.close()
        # ... and the real reporter is served.
        with smtp_from(port, "127.0.0.5") as client:
            client.sendmail("rita@example.net", ["conduct@example.org"], report(2, "rita"))
        assert len(intake.spooled()) == 2


def test_a_message_sent_slowly_line_by_line_is_not_cut_off_by_the_idle_timeout(tmp_path):
    with Intake(tmp_path, lmtp=False, limits={"timeout": "1s"}) as intake:
        with socket.create_connection(("127.0.0.1", intake.controller.port), timeout=10) as sock:
            replies = converse(sock, [b"EHLO form.example.net", b"MAIL FROM:<rita@example.net>",
                                      b"RCPT TO:<conduct@example.org>", b"DATA"])  # fmt: skip
            assert replies[-1].startswith(b"354")
            lines = report(3, "rita@example.net").split(b"\r\n")
            for line in lines:  # each line well within the timeout, the whole beyond it
                sock.sendall(line + b"\r\n")
                time.sleep(0.3)  # the behaviour under test: a slow client, not a wait
            sock.sendall(b".\r\n")
            assert read_reply(sock).startswith(b"250")
        assert len(intake.spooled()) == 1


# -- casebook serve under a flood -----------------------------------------------------------------

FLOOD = 200
FLOODER = "flood@example.net"
REAL = [f"real{n}@example.net" for n in range(5)]


def test_a_flood_from_one_sender_is_refused_while_other_reporters_are_served(tmp_path, relay):
    port = free_port()
    # The default limits, but refusals answered at once (counts, not timings).
    limits = {"refusal_delay": "0s"}
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, limits=limits)
    settings = load_settings(config)
    process = ServeProcess(config, port)
    process.start()
    accepted: list[str] = []
    refused: list[tuple[int, bytes, int]] = []
    real_replies: dict[str, str] = {}
    lock = threading.Lock()

    def flooder(worker: int, count: int) -> None:
        client = smtp_from(port, "127.0.0.1")
        for i in range(count):
            n = worker * 1000 + i
            try:
                client.sendmail(FLOODER, ["conduct@example.org"], report(n, FLOODER))
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = exc.recipients["conduct@example.org"]
                with lock:
                    refused.append((code, text, worker))
                if code == 421:  # the tenth refusal in a connection closes it: reconnect
                    client = smtp_from(port, "127.0.0.1")
                continue
            with lock:
                accepted.append(f"<burst-{n}@example.net>")
        client.quit()

    def reporter(n: int, sender: str) -> None:
        with smtp_from(port, "127.0.0.2") as client:
            try:
                client.sendmail(sender, ["conduct@example.org"], report(900 + n, sender))
                real_replies[sender] = "250"
            except smtplib.SMTPException as exc:
                real_replies[sender] = repr(exc)

    try:
        threads = [threading.Thread(target=flooder, args=(w, FLOOD // 4)) for w in range(4)]
        threads += [threading.Thread(target=reporter, args=(n, s)) for n, s in enumerate(REAL)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)

        # Bounded: the burst and at most a refill or two got through; the rest was 451 4.7.1.
        assert len(accepted) + len(refused) == FLOOD
        assert settings.limits.sender_burst <= len(accepted) <= settings.limits.sender_burst + 2
        assert all(code in (451, 421) and text.startswith(b"4.7.1") for code, text, _ in refused)
        # Every tenth refusal in a connection closes it (a 421), and the flooder reconnects.
        by_worker = [sum(w == worker for *_, w in refused) for worker in range(4)]
        assert sum(code == 421 for code, *_ in refused) == sum(n // 10 for n in by_worker)
        # Everyone else was accepted and acknowledged.
        assert real_replies == dict.fromkeys(REAL, "250")
        wait_until(lambda: all(relay.to(sender) for sender in REAL), timeout=60,
                   what="an acknowledgement for every other reporter")  # fmt: skip

        # Nothing accepted is lost: every 250 is archived, and the spool is empty.
        db_path = tmp_path / "casebook.db"

        def settled() -> bool:
            spool = sqlite3.connect(tmp_path / "spool" / "spool.db")
            try:
                waiting = spool.execute(
                    "SELECT (SELECT COUNT(*) FROM spooled) + (SELECT COUNT(*) FROM floods)"
                ).fetchone()[0]
            finally:
                spool.close()
            db = sqlite3.connect(db_path)
            try:
                queued = db.execute(  # due now (a folded ack waits for its hour)
                    "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?",
                    [to_text(utc_now())],
                ).fetchone()[0]
            finally:
                db.close()
            return waiting == 0 and queued == 0

        wait_until(settled, timeout=60, what="the spool processed and the outbox sent")
        db = sqlite3.connect(db_path)
        archived = {row[0] for row in db.execute("SELECT message_id FROM messages")}
        assert set(accepted) <= archived
        assert {f"<burst-{900 + n}@example.net>" for n in range(len(REAL))} <= archived
        assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == len(accepted) + 5
        # Exactly one flood alert reached the committee.
        assert db.execute("SELECT COUNT(*) FROM floods").fetchone()[0] == 1
        db.close()
        alerts = {
            m["Message-ID"]
            for m in relay.parsed()
            if "is being refused for now" in str(m["Subject"])
        }
        assert len(alerts) == 1
    finally:
        output = process.stop()
    assert output.count("flood at the reports addresses") == 1
    assert FLOODER not in output  # the log names no address
