"""What the sender keeps of each copy it sends, as the committee finds it afterwards: every
copy archived and searchable with `casebook search` once its chunk ends (also after a crash
between the two), an archive from before this indexing keeps its copies searchable, a template
an operator adds is used from the next chunk, and a case's pending clocks come from an index."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import timedelta

from sqlite_utils import Database

import mailer.send
from archive.record.db import open_archive
from archive.record.schema import migrations
from mailer.send import send_due
from tests.support.base import T0
from tests.support.helpers import deliver, run_casebook

ACK_WORDS = "received your report"  # the acknowledgement's own words, not the report's


def send(db, settings, now=T0):
    return send_due(db, settings, now, holder="test", wall_clock=lambda: now)


def search(config_path, words: str) -> list[dict]:
    result = run_casebook("-c", str(config_path), "search", words, "--json")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def sent_acks(hits: list[dict]) -> list[dict]:
    return [hit for hit in hits if hit["kind"] == "reporter/ack"]


def test_a_sent_acknowledgement_is_found_by_search(config_path, db, settings, relay):
    deliver(db, settings, "plain_report.eml", now=T0)
    assert sent_acks(search(config_path, ACK_WORDS)) == []  # queued, not sent
    assert send(db, settings).sent == 2
    relay.wait_for(2)
    [hit] = sent_acks(search(config_path, ACK_WORDS))
    assert hit["case"] == "CoC-2026-001" and hit["direction"] == "out"


def test_copies_recorded_before_a_crash_are_indexed_by_the_next_chunk(
    config_path, db, settings, relay, monkeypatch
):
    deliver(db, settings, "plain_report.eml", now=T0)
    # The sender dies after recording its copies but before indexing them.
    with monkeypatch.context() as patched:
        patched.setattr(mailer.send, "index_sent_copies", lambda db: 0)
        assert send(db, settings).sent == 2
    assert sent_acks(search(config_path, ACK_WORDS)) == []
    assert db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'out'").fetchone()[0] == 2
    # The next chunk has nothing to send, and indexes what the last one left.
    report = send(db, settings)
    assert report.sent == 0
    assert len(sent_acks(search(config_path, ACK_WORDS))) == 1
    # Indexed once: another chunk adds nothing twice.
    send(db, settings)
    assert len(sent_acks(search(config_path, ACK_WORDS))) == 1


def test_an_archive_from_before_keeps_its_sent_copies_searchable_once(settings, config_path):
    # A copy the old sender archived was indexed by the old trigger as it was inserted.
    old = Database(sqlite3.connect(settings.database))
    migrations.apply(old, stop_before="m018_outgoing_search")
    old.execute(
        "INSERT INTO messages (message_id, direction, kind, from_addr, to_addrs, subject,"
        " body_text, sha256, raw, archived_at)"
        " VALUES ('<old-copy@example.org>', 'out', 'reporter/ack', 'conduct@example.org',"
        " '[]', 'We received your report', 'Sent before the upgrade: quokka', '', x'', ?)",
        [T0.isoformat()],
    )
    old.conn.commit()
    old.close()
    db = open_archive(settings.database)  # migrated here
    assert [h["message_id"] for h in search(config_path, "quokka")] == ["<old-copy@example.org>"]
    send(db, settings)  # nothing to send; the old copy is not indexed a second time
    assert [h["message_id"] for h in search(config_path, "quokka")] == ["<old-copy@example.org>"]
    db.close()


def test_an_html_template_added_while_serving_is_used_from_the_next_chunk(
    db, settings, relay, tmp_path
):
    site = tmp_path / "site-templates"
    (site / "reporter").mkdir(parents=True)
    settings = dataclasses.replace(settings, templates_override=site)
    deliver(db, settings, "plain_report.eml", now=T0)
    send(db, settings)
    relay.wait_for(2)
    [first] = relay.to("rita@example.net")
    assert not first.is_multipart()  # no HTML version yet
    (site / "reporter" / "ack.html").write_text(
        "Subject: ignored\n<p>We received your report, {{ case_ref }}.</p>\n"
    )
    deliver(db, settings, "plain_report.eml", now=T0, sender="sam@example.net",
            replace={"rita@example.net": "sam@example.net",
                     "plain-report-1": "plain-report-2"})  # fmt: skip
    send(db, settings)
    relay.wait_for(4)
    [second] = relay.to("sam@example.net")
    html = second.get_body(preferencelist=("html",))
    assert html is not None and "CoC-2026-002" in html.get_content()


def test_a_cases_pending_clocks_are_read_from_an_index(db):
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM deadlines WHERE case_pk = 5"
        " AND fired_at IS NULL AND cancelled_at IS NULL AND kind IN ('ack-watchdog')"
    ).fetchall()
    assert any("deadlines_case" in row[-1] for row in plan), plan


def test_a_report_folded_in_while_the_sender_works_still_reaches_the_reporter(
    db, settings, relay, monkeypatch
):
    # Past the daily cap, a sender's further reports share one acknowledgement. One more
    # report folded in after the sender has read that acknowledgement from the outbox (it
    # reads a chunk at a time) must not be lost when the older version is sent.
    def report(n, at):
        replace = {"plain-report-1": f"cap-{n}"}
        deliver(db, settings, "plain_report.eml", now=at, replace=replace)

    for n in range(6):  # the cap is 5: the sixth report is folded
        report(n, T0)
    send(db, settings)
    later = T0 + timedelta(hours=2)
    read_by_the_sender = mailer.send.due_mail(db, later, 50)
    assert [i.context["case_refs"] for i in read_by_the_sender] == [["CoC-2026-006"]]
    report(6, later)  # folded into the same queued acknowledgement, while it is being sent
    with monkeypatch.context() as patched:
        patched.setattr(mailer.send, "due_mail", lambda *args: read_by_the_sender)
        send(db, settings, later)
    send(db, settings, later)
    relay.wait_for(5 + 2 + 7)  # 5 acks, the folded one twice, 7 new-case notices to the list
    texts = [m.get_body(("plain",)).get_content() for m in relay.to("rita@example.net")]
    folded = [text for text in texts if "CoC-2026-006" in text]
    assert len(folded) == 2  # the version read before the fold, then the whole list again
    assert "CoC-2026-007" not in folded[0] and "CoC-2026-007" in folded[1]
