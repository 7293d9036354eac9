"""Nothing lost, whatever arrives: malformed mail, reused Message-IDs, failing processing."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from archive.record.db import open_archive
from archive.record.queries import archive_stats
from intake import process
from intake.process import process_spooled
from intake.spool import Arrival, count_spooled, open_spool, spool_arrivals, spool_path
from tests.support.base import ROOT, T0, fixture_bytes
from tests.support.committee import dkim_settings
from tests.support.helpers import deliver, outbox
from tests.support.mailbuild import via_list

MALFORMED = {
    "broken_encoded_word_from.eml": "bea@example.net",
    "multipart_without_boundary.eml": "nora@example.net",
    "nul_in_charset.eml": "nils@example.net",
}


@pytest.mark.parametrize("fixture", sorted(MALFORMED))
def test_malformed_report_becomes_an_acknowledged_case(db, settings, fixture):
    sender = MALFORMED[fixture]
    result = deliver(db, settings, fixture, now=T0, sender=sender)
    assert (result.kind, result.case_ref) == ("report", "CoC-2026-001")
    [ack] = outbox(db, "reporter/ack")
    assert ack["to_addr"] == sender
    text = db.execute("SELECT body_text FROM messages WHERE id = ?", [result.message_pk]).fetchone()
    assert "rude" in text[0] or "insult" in text[0] or "mocked" in text[0]


def test_header_less_messages_are_each_their_own_report(db, settings):
    first = deliver(db, settings, "headerless_report_1.eml", now=T0, sender="h1@example.net")
    second = deliver(db, settings, "headerless_report_2.eml", now=T0, sender="h2@example.net")
    assert not second.duplicate
    assert (first.case_ref, second.case_ref) == ("CoC-2026-001", "CoC-2026-002")
    assert sorted(a["to_addr"] for a in outbox(db, "reporter/ack")) == [
        "h1@example.net",
        "h2@example.net",
    ]


def test_a_different_report_reusing_a_message_id_is_kept_as_a_new_message(db, settings):
    first = deliver(db, settings, "reused_id_first.eml", now=T0, sender="form@example.net")
    second = deliver(db, settings, "reused_id_second.eml", now=T0, sender="form@example.net")
    assert not second.duplicate and second.message_pk != first.message_pk
    assert second.case_ref == "CoC-2026-002"
    row = db.execute(
        "SELECT message_id, claimed_id, defects, body_text FROM messages WHERE id = ?",
        [second.message_pk],
    ).fetchone()
    assert row[1] == "<form-submission@example.net>" and row[0] != row[1]
    assert any("already used by a different message" in d for d in json.loads(row[2]))
    assert "followed to my hotel" in row[3]
    # A second delivery of that second report is still recognised as a copy of it.
    again = deliver(
        db,
        settings,
        b"Received: from mx2.example.org\r\n" + fixture_bytes("reused_id_second.eml"),
        now=T0,
        sender="form@example.net",
    )
    assert again.duplicate and again.message_pk == second.message_pk


def test_a_list_copy_with_subject_prefix_and_footer_is_the_same_message(db, settings):
    first = deliver(db, settings, "plain_report.eml", now=T0)
    raw = fixture_bytes("plain_report.eml").replace(
        b"Subject: Problem", b"Subject: [conduct] Problem"
    )
    raw += b"\n_______________________________________________\nconduct mailing list\n"
    copy = deliver(db, settings, b"Received: from lists.example.org\n" + raw, now=T0)
    assert copy.duplicate and copy.message_pk == first.message_pk
    assert archive_stats(db)["messages"] == 1


def _spool(settings, *raws: bytes) -> None:
    spool = open_spool(spool_path(settings))
    arrivals = [Arrival(raw, f"s{n}@example.net", ("conduct@example.org",), "smtp", T0)
                for n, raw in enumerate(raws)]  # fmt: skip
    spool_arrivals(spool, arrivals)
    spool.close()


def _report(n: int, body: str) -> bytes:
    return (
        f"From: s{n}@example.net\r\nTo: conduct@example.org\r\nSubject: Report {n}\r\n"
        f"Message-ID: <poison-test-{n}@example.net>\r\n\r\n{body}\r\n"
    ).encode()


def test_a_message_whose_processing_keeps_failing_is_quarantined_and_others_flow(
    db, settings, config_path, monkeypatch
):
    real_ingest = process.ingest_message

    def ingest(db_, msg, *args, **kwargs):  # a fault in processing this one message only
        if "POISON" in msg.text:
            raise RuntimeError("simulated processing fault")
        return real_ingest(db_, msg, *args, **kwargs)

    monkeypatch.setattr(process, "ingest_message", ingest)
    _spool(settings, _report(0, "Rude words."), _report(1, "POISON"), _report(2, "Mean posts."))
    spool = open_spool(spool_path(settings))
    results = process_spooled(db, spool, settings, lambda: T0)
    assert [r.case_ref for r in results] == ["CoC-2026-001", "CoC-2026-002"]
    assert count_spooled(spool) == 1  # kept for a retry, not dropped
    # Not retried before its time; retried at 1 and then 2 minutes; quarantined at the third.
    assert process_spooled(db, spool, settings, lambda: T0 + timedelta(seconds=30)) == []
    assert process_spooled(db, spool, settings, lambda: T0 + timedelta(minutes=1)) == []
    assert count_spooled(spool) == 1
    [quarantined] = process_spooled(db, spool, settings, lambda: T0 + timedelta(minutes=3))
    assert quarantined.kind == "quarantined" and count_spooled(spool) == 0
    raw = db.execute("SELECT raw FROM messages WHERE id = ?", [quarantined.message_pk]).fetchone()
    assert raw[0] == _report(1, "POISON")
    assert archive_stats(db)["quarantined"] == 1
    [notice] = outbox(db, "committee/quarantined")
    assert notice["audience"] == "committee"
    assert notice["context"]["items"][0]["archive_id"] == quarantined.message_pk
    # `casebook held` shows it with its reason, as an operator runs it.
    listing = subprocess.run(
        [sys.executable, "-m", "casebook.cli", "-c", str(config_path), "held", "--json"],
        cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    [held] = json.loads(listing.stdout)
    assert held["kind"] == "quarantined" and "simulated processing fault" in held["reason"]


def test_tick_drains_a_backlog_beyond_one_batch_and_never_spins_on_a_failing_message(
    db, settings, monkeypatch
):
    from casebook.tick import run_tick

    real_ingest = process.ingest_message

    def ingest(db_, msg, *args, **kwargs):
        if "POISON" in msg.text:
            raise RuntimeError("simulated processing fault")
        return real_ingest(db_, msg, *args, **kwargs)

    monkeypatch.setattr(process, "ingest_message", ingest)
    _spool(settings, *[_report(n, "POISON" if n == 7 else "Rude.") for n in range(520)])
    summary, _ = run_tick(settings, T0)  # returns: the failing message waits for its retry
    assert summary.startswith("processed 519 message(s)")
    assert archive_stats(db)["cases"] == {"acknowledged": 519}  # every ack sent, not 200
    spool = open_spool(spool_path(settings))
    assert count_spooled(spool) == 1 and count_spooled(spool, T0) == 0


def test_a_report_whose_list_copy_came_first_still_becomes_a_case(tmp_path):
    """The reporter Cc'd the committee list, and the list's copy reached casebook first."""
    settings = dkim_settings(tmp_path)  # the list host's key pinned
    db = open_archive(settings.database)
    raw = (
        b"From: Erik <erik@example.net>\r\nTo: conduct@example.org\r\n"
        b"Cc: conduct-committee@lists.example.org\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
        b"Subject: Shouting in the chat\r\nMessage-ID: <listfirst@example.net>\r\n\r\n"
        b"Someone shouted at me in the chat.\r\n"
    )
    list_copy = (
        raw.replace(b"Subject: ", b"Subject: [conduct-committee] ").replace(
            b"\r\n\r\n", b"\r\nList-Id: <conduct-committee.lists.example.org>\r\n\r\n"
        )
        + b"_______________________________________________\r\nconduct-committee mailing list\r\n"
    )
    first = deliver(db, settings, via_list(list_copy), now=T0, sender="bounces@lists.example.org",
                    to=("conduct-committee@lists.example.org",))  # fmt: skip
    assert first.kind == "list"
    direct = deliver(db, settings, raw, now=T0, sender="erik@example.net")
    assert (direct.kind, direct.case_ref) == ("report", "CoC-2026-001")
    assert [a["to_addr"] for a in outbox(db, "reporter/ack")] == ["erik@example.net"]
    again = deliver(
        db, settings, b"Received: from mx2\r\n" + raw, now=T0, sender="erik@example.net"
    )
    assert again.duplicate and again.case_ref == "CoC-2026-001"
    db.close()


def test_an_internationalised_reporter_keeps_their_address(db, settings):
    raw = "From: Rité <rité@exämple.net>\r\nTo: conduct@example.org\r\nSubject: Report\r\n"
    raw += "Message-ID: <idn-1@exämple.net>\r\n\r\nSomeone mocked my name.\r\n"
    result = deliver(db, settings, raw.encode(), now=T0, sender="rité@exämple.net")
    reporter = db.execute("SELECT email FROM parties WHERE role = 'reporter'").fetchone()[0]
    assert result.case_ref == "CoC-2026-001" and reporter == "rité@exämple.net"
