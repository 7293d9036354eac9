"""A message reusing another's Message-ID is never stuck in the spool (issue 18 §8): it is
archived as the distinct message it is, and when processing fails for whatever reason, its
quarantine cannot fail the same way and the committee is told."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from archive.arrivals import held
from archive.arrivals.held import list_held
from archive.record.db import open_archive
from intake import process
from intake.process import process_spooled
from intake.spool import Arrival, count_spooled, open_spool, spool_arrivals, spool_path
from tests.support.base import T0, fixture_bytes
from tests.support.helpers import deliver, outbox, run_casebook, smtp_send
from tests.support.waiting import wait_until

REPORTS = "conduct@example.org"
LIST = "conduct-committee@lists.example.org"
FIRST = fixture_bytes("plain_report.eml")  # Message-ID <plain-report-1@example.net>
# Another message under the same Message-ID: a different report from another reporter.
OTHER = (
    FIRST.replace(b"Rita Reporter <rita@example.net>", b"Olga Other <olga@example.net>")
    .replace(b"Return-Path: <rita@example.net>", b"Return-Path: <olga@example.net>")
    .replace(b"Dave Jones called me stupid", b"Eve Smith shouted at me")
)


def test_a_reused_id_sent_to_the_list_then_to_the_reports_address_becomes_a_case(serve, relay):
    config = str(serve.config)
    smtp_send(serve.port, FIRST, "rita@example.net", [REPORTS])
    wait_until(lambda: relay.to("rita@example.net"), "the first report's acknowledgement")
    assert smtp_send(serve.port, OTHER, "olga@example.net", [LIST]) == {}  # 250
    assert smtp_send(serve.port, OTHER, "olga@example.net", [REPORTS]) == {}  # 250
    [ack] = wait_until(lambda: relay.to("olga@example.net"), "the second report's ack", 20)
    assert "We received your report" in str(ack["Subject"])

    def drained():
        stats = json.loads(run_casebook("-c", config, "stats", "--json").stdout)
        return not stats["spooled"]

    wait_until(drained, "the spool to drain")
    shown = json.loads(run_casebook("-c", config, "show", "CoC-2026-002", "--json").stdout)
    assert "Eve Smith shouted at me" in json.dumps(shown)
    # The committee is told of the new case, and the list-held copy is kept (held) as well.

    def notices() -> bool:
        return len([m for m in relay.to(LIST) if "New report" in str(m["Subject"])]) == 2

    wait_until(notices, "the committee's notice of each report")
    held = json.loads(run_casebook("-c", config, "held", "--json").stdout)
    assert [h["kind"] for h in held] == ["list-held"]
    assert "Traceback" not in serve.output() and "IntegrityError" not in serve.output()


def test_quarantine_succeeds_when_the_id_it_would_take_is_taken(db, settings, monkeypatch):
    """The old quarantine stored the message under the derived ID that had just failed."""
    deliver(db, settings, FIRST, now=T0)
    listed = deliver(db, settings, OTHER, now=T0, sender="olga@example.net", to=(LIST,))
    assert listed.kind == "list-held"
    real_ingest = process.ingest_message

    def ingest(db_, msg, *args, **kwargs):  # fails as the reused ID's insert failed
        if "Eve Smith" in msg.text:
            raise sqlite3.IntegrityError("UNIQUE constraint failed: messages.message_id")
        return real_ingest(db_, msg, *args, **kwargs)

    monkeypatch.setattr(process, "ingest_message", ingest)
    spool = open_spool(spool_path(settings))
    spool_arrivals(spool, [Arrival(OTHER, "olga@example.net", (REPORTS,), "smtp", T0)])
    for minutes in (0, 1, 3):
        results = process_spooled(db, spool, settings, lambda m=minutes: T0 + timedelta(minutes=m))
    [quarantined] = results
    assert quarantined.kind == "quarantined" and count_spooled(spool) == 0
    raw = db.execute("SELECT raw FROM messages WHERE id = ?", [quarantined.message_pk]).fetchone()
    assert raw[0] == OTHER
    assert [h["kind"] for h in list_held(db)] == ["list-held", "quarantined"]
    [notice] = outbox(db, "committee/quarantined")
    assert notice["context"]["items"][0]["archive_id"] == quarantined.message_pk


def test_the_same_bytes_quarantined_three_times_are_all_kept(settings, monkeypatch):
    """Each quarantine has its own key: the old one derived the third copy's ID as the
    second's and failed."""
    db = open_archive(settings.database)
    monkeypatch.setattr(process, "MAX_ATTEMPTS", 1)
    monkeypatch.setattr(process, "ingest_message", _always_failing)
    spool = open_spool(spool_path(settings))
    arrivals = [Arrival(FIRST, "rita@example.net", (REPORTS,), "smtp", T0)] * 3
    spool_arrivals(spool, arrivals)
    results = process_spooled(db, spool, settings, lambda: T0)
    assert [r.kind for r in results] == ["quarantined"] * 3
    assert count_spooled(spool) == 0
    db.close()


def _always_failing(*args, **kwargs):
    raise RuntimeError("simulated processing fault")


def test_a_quarantine_whose_plain_reading_cannot_be_stored_keeps_the_bytes(
    db, settings, monkeypatch
):
    """Whatever fails: even storing the plain reading of the message; its bytes still go in,
    and the committee is told."""
    real_store = held.store_message

    def store(db_, msg, *args, **kwargs):
        if kwargs.get("kind") == "quarantined" and msg.text:
            raise ValueError("simulated: the plain reading cannot be stored")
        return real_store(db_, msg, *args, **kwargs)

    monkeypatch.setattr(held, "store_message", store)
    monkeypatch.setattr(process, "MAX_ATTEMPTS", 1)
    monkeypatch.setattr(process, "ingest_message", _always_failing)
    spool = open_spool(spool_path(settings))
    spool_arrivals(spool, [Arrival(FIRST, "rita@example.net", (REPORTS,), "smtp", T0)])
    [result] = process_spooled(db, spool, settings, lambda: T0)
    assert result.kind == "quarantined" and count_spooled(spool) == 0
    raw, defects = db.execute(
        "SELECT raw, defects FROM messages WHERE id = ?", [result.message_pk]
    ).fetchone()
    assert raw == FIRST
    assert any("quarantined by its bytes alone" in d for d in json.loads(defects))
    [notice] = outbox(db, "committee/quarantined")
    assert notice["context"]["items"][0]["archive_id"] == result.message_pk
