"""Big messages (issue 18 §6): a message of many thousand parts keeps only its first
`max_parts` split out (the raw bytes keep everything, the committee is told what was not),
and no acknowledgement waits behind a big message."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
from pathlib import Path

from archive.record.db import open_archive
from intake.lanes import (
    BIG,
    BIG_MESSAGE,
    SMALL,
    answered_ids,
    lane_due,
    message_id_of,
    waits_for_big,
)
from intake.parts import keep_first_parts
from intake.process import process_spooled
from intake.smtp import read_data
from intake.spool import Arrival, count_spooled, open_spool, spool_arrivals, spool_path
from tests.support.base import T0, ServeProcess, free_port, write_config
from tests.support.helpers import deliver, outbox, run_casebook, smtp_send
from tests.support.waiting import wait_until

REPORTS = "conduct@example.org"
LIST = "conduct-committee@lists.example.org"


def many_parts(parts: int, n: int = 0, extra: str = "") -> bytes:
    """A report of `parts` one-line parts (the first one the report's text)."""
    head = (
        f"From: Big Sender <big{n}@example.net>\r\nTo: {REPORTS}\r\nSubject: Many parts {n}\r\n"
        f"Message-ID: <big-{n}@example.net>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n{extra}"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B0UND"\r\n\r\n'
    )
    body = ["--B0UND\r\nContent-Type: text/plain\r\n\r\nSomeone insulted me on the list.\r\n"]
    body += [
        f"--B0UND\r\nContent-Type: text/plain\r\nContent-Disposition: attachment;"
        f' filename="p{i}.txt"\r\n\r\nline {i:07d} of the log\r\n'
        for i in range(1, parts)
    ]
    return (head + "".join(body) + "--B0UND--\r\n").encode()


def small_report(n: int, extra: str = "") -> bytes:
    return (
        f"From: Small Sender <small{n}@example.net>\r\nTo: {REPORTS}\r\nSubject: Report {n}\r\n"
        f"Message-ID: <small-{n}@example.net>\r\n{extra}\r\nSomeone was rude to me.\r\n"
    ).encode()


# -- the parts cap ----------------------------------------------------------------------------


def test_only_the_first_parts_are_split_out_and_the_rest_counted():
    raw = many_parts(1000)
    trimmed = keep_first_parts(raw, 300)
    assert trimmed.left_out == 700
    parsed = email.message_from_bytes(trimmed.raw, policy=email.policy.compat32)
    assert len(parsed.get_payload()) == 300 and not parsed.defects
    assert keep_first_parts(raw, 1000) == keep_first_parts(raw, 5000)  # nothing to cut
    assert keep_first_parts(raw, 1000).raw == raw


def test_parts_of_nested_and_forwarded_messages_count_too():
    inner = many_parts(50).split(b"\r\n\r\n", 1)[1]
    raw = (
        b'From: a@example.net\r\nContent-Type: multipart/mixed; boundary="OUT"\r\n\r\n'
        b"--OUT\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--OUT\r\nContent-Type: message/rfc822\r\n\r\n"
        b'Subject: fwd\r\nContent-Type: multipart/mixed; boundary="B0UND"\r\n\r\n'
        + inner
        + b"\r\n--OUT\r\nContent-Type: text/plain\r\n\r\ntail\r\n--OUT--\r\n"
    )
    trimmed = keep_first_parts(raw, 12)  # hello, the forward, its first 10 parts
    assert trimmed.left_out == 40 + 1  # the forward's other parts, and the tail
    parsed = email.message_from_bytes(trimmed.raw, policy=email.policy.compat32)
    forwarded = parsed.get_payload()[1].get_payload()[0]
    assert len(forwarded.get_payload()) == 10 and not parsed.defects


def test_a_many_part_report_keeps_its_bytes_and_the_committee_is_told(db, settings):
    raw = many_parts(2000)
    result = deliver(db, settings, raw, now=T0, sender="big0@example.net")
    assert result.case_ref == "CoC-2026-001"
    stored = db.execute("SELECT raw, defects FROM messages WHERE id = ?", [result.message_pk])
    kept, defects = stored.fetchone()
    assert kept == raw  # everything, in the raw bytes
    assert any("1700 MIME part(s) beyond the first 300" in d for d in json.loads(defects))
    attachments = db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0]
    assert attachments == 299  # the first part is the report's text
    [notice] = outbox(db, "committee/new_case")
    assert notice["context"]["parts_left_out"] == 1700


def test_a_message_of_many_lines_is_read_in_pieces_not_line_by_line():
    """The edge read DATA one line at a time: 220,000 awaits for such a message, while the
    other sessions (reporters) waited for their turn of the loop."""
    body = b"".join(b"line %d of the log\r\n" % i for i in range(100_000))

    async def scenario() -> tuple[bytes | None, int]:
        reader = asyncio.StreamReader(limit=64 * 1024)  # as the SMTP server's
        reader.feed_data(body + b".\r\n")
        reader.feed_eof()
        reads: list[int] = []
        content = await read_data(reader, 10**8, lambda: reads.append(1))
        return content, len(reads)

    content, reads = asyncio.run(scenario())
    assert content == body and reads < 100


# -- the lanes --------------------------------------------------------------------------------


def test_a_small_reply_waits_only_for_a_big_message_it_answers_that_came_before_it():
    big = {"<big-0@example.net>": 5}
    answer = small_report(1, "In-Reply-To:\r\n <big-0@example.net>\r\n")
    assert answered_ids(answer) == {"<big-0@example.net>"}
    assert message_id_of(many_parts(3)) == "<big-0@example.net>"
    assert waits_for_big(9, answer, big)
    assert not waits_for_big(3, answer, big)  # it came first: never a wait for each other
    assert not waits_for_big(9, small_report(2), big)


def test_each_lane_takes_its_own_and_order_holds_where_it_matters(settings):
    spool = open_spool(spool_path(settings))
    answer = small_report(2, "References: <big-0@example.net>\r\n")
    raws = [small_report(1), many_parts(BIG_MESSAGE // 60), answer, small_report(3)]
    ids = spool_arrivals(spool, [Arrival(r, "x@example.net", (REPORTS,), "smtp", T0) for r in raws])
    assert lane_due(spool, SMALL, T0, 10) == [ids[0], ids[3]]  # the answer waits
    assert lane_due(spool, BIG, T0) == []  # report 1 came before it
    spool.execute("DELETE FROM spooled WHERE id = ?", [ids[0]])
    assert lane_due(spool, BIG, T0) == [ids[1]]
    spool.execute("DELETE FROM spooled WHERE id = ?", [ids[1]])
    assert lane_due(spool, SMALL, T0, 10) == [ids[2], ids[3]]


def test_the_lanes_together_process_everything_once(db, settings):
    spool = open_spool(spool_path(settings))
    raws = [many_parts(BIG_MESSAGE // 60, n) for n in range(2)] + [
        small_report(n) for n in range(3)
    ]
    spool_arrivals(spool, [Arrival(r, "x@example.net", (REPORTS,), "smtp", T0) for r in raws])
    small = process_spooled(db, spool, settings, lambda: T0, lane=SMALL)
    big = [r for _ in range(3) for r in process_spooled(db, spool, settings, lambda: T0, lane=BIG)]
    assert len(small) == 3 and len(big) == 2 and count_spooled(spool) == 0
    assert db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 5


def worker_of(serve: ServeProcess) -> int:
    """The pid of `casebook serve`'s worker process (its only child)."""
    pid = serve.proc.pid
    [child] = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(child)


def test_no_acknowledgement_waits_behind_big_messages(tmp_path, relay):
    """Through `casebook serve`: five big reports of 25,000 parts, then a small report, all in
    the spool when the worker turns to them (it is paused while they arrive, so the test does
    not depend on how fast anything runs); the small one's acknowledgement reaches the relay
    before the big ones are all done. In arrival order, it was the last."""
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          max_message_size=30 * 1024 * 1024)  # fmt: skip
    serve = ServeProcess(config, port)
    serve.start()
    try:
        worker = worker_of(serve)
        os.kill(worker, signal.SIGSTOP)
        try:
            for n in range(5):
                sent = smtp_send(port, many_parts(25_000, n), f"big{n}@example.net", [REPORTS])
                assert sent == {}
            assert smtp_send(port, small_report(0), "small0@example.net", [REPORTS]) == {}
        finally:
            os.kill(worker, signal.SIGCONT)

        def acks() -> list[str]:
            return [rcpts[0] for _, rcpts, raw, _ in relay.messages if b"We received" in raw]

        def notices() -> list:
            return [m for m in relay.to(LIST) if "Many parts" in m.get_body().get_content()]

        wait_until(lambda: len(acks()) == 6, "six acknowledgements", 120)
        order = acks()
        assert order.index("small0@example.net") < order.index("big4@example.net"), order
        wait_until(lambda: len(notices()) == 5, "the committee's five notices")
        assert "Not split out: 24700 more MIME part(s)" in notices()[0].get_body().get_content()
        stats = json.loads(run_casebook("-c", str(config), "stats", "--json").stdout)
        assert stats["spooled"] == 0
    finally:
        serve.stop()
    assert "Traceback" not in serve.output()
    db = open_archive(tmp_path / "casebook.db")
    assert db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0] == 5 * 299
    db.close()
