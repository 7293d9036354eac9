"""The operator's commands as the installed `casebook` runs them: outbox, retry, search."""

from __future__ import annotations

import json
from datetime import timedelta

from archive.record.db import open_archive
from casebook.config import load_settings
from tests.support.base import T0, fixture_bytes, free_port, write_config
from tests.support.helpers import deliver, run_casebook


def test_failed_mail_is_listed_and_sent_again_with_the_same_message_id(config_path, relay):
    cb = ("-c", str(config_path))
    relay.refuse["rita@example.net"] = "550 5.1.1 no such user"
    stored = run_casebook(*cb, "ingest", "--sender", "rita@example.net",
                          stdin=fixture_bytes("plain_report.eml"))  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    assert run_casebook(*cb, "tick").returncode == 0  # ingest never sends
    relay.wait_for(1)  # the new-case notice; the ack was refused
    failed = json.loads(run_casebook(*cb, "outbox", "--failed", "--json").stdout)
    assert [(f["template"], f["state"], f["case"]) for f in failed] == [
        ("reporter/ack", "failed", "CoC-2026-001")
    ]
    item = failed[0]
    assert set(item) == {"id", "case", "template", "audience", "state", "attempts",
                         "next_attempt_at", "last_error", "message_id", "created_at"}  # fmt: skip
    assert item["attempts"] == 1 and item["next_attempt_at"] is None
    assert "550" in item["last_error"]
    text = run_casebook(*cb, "outbox").stdout.decode()
    assert "reporter/ack" in text and "failed" in text and "550 5.1.1" in text
    assert "rita@example.net" not in text.replace(item["last_error"], "")  # no recipient column

    del relay.refuse["rita@example.net"]
    retried = run_casebook(*cb, "outbox", "retry", str(item["id"]))
    assert retried.returncode == 0, retried.stderr
    assert b"queued again" in retried.stdout
    waiting = json.loads(run_casebook(*cb, "outbox", "--json").stdout)
    assert (item["id"], "queued", 0) in [(w["id"], w["state"], w["attempts"]) for w in waiting]
    assert run_casebook(*cb, "tick").returncode == 0
    acks = relay.to("rita@example.net")
    assert [a["Message-ID"] for a in acks] == [item["message_id"]]
    shown = json.loads(run_casebook(*cb, "show", "CoC-2026-001", "--json").stdout)
    requeued = [e for e in shown["events"] if e["action"] == "mail-requeued"]
    assert requeued[0]["actor"] == "operator"
    assert requeued[0]["detail"]["message_id"] == item["message_id"]
    assert shown["state"] == "acknowledged"  # the ack that finally went moved the case on
    # Sent mail is not sent again; nothing failed is left.
    again = run_casebook(*cb, "outbox", "retry", str(item["id"]))
    assert again.returncode == 65 and b"is sent, not failed" in again.stderr
    assert run_casebook(*cb, "outbox", "retry", "--all-failed").stdout == b"no failed mail\n"
    assert run_casebook(*cb, "outbox").stdout == b"nothing waiting or failed\n"
    run_casebook(*cb, "tick")
    assert len(relay.to("rita@example.net")) == 1


def test_retry_all_failed_restarts_the_give_up_clock(tmp_path):
    config = write_config(tmp_path, relay_port=free_port())  # the relay is down throughout
    cb = ("-c", str(config))
    settings = load_settings(config)
    db = open_archive(settings.database)
    deliver(db, settings, "plain_report.eml", now=T0)
    deliver(db, settings, "checklist_report.eml", now=T0, sender="chris@example.net")
    db.execute("UPDATE outbox SET status = 'failed', attempts = 4, last_error = 'gave up'"
               " WHERE template = 'reporter/ack'")  # fmt: skip
    result = run_casebook(*cb, "outbox", "retry", "--all-failed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().count("queued again") == 2
    # Days after the mail was first queued, a relay outage postpones it instead of failing it.
    later = (T0 + timedelta(days=5)).isoformat()
    tick = run_casebook(*cb, "tick", "--now", later)
    assert b"relay" in tick.stderr and b"unreachable" in tick.stderr
    states = {
        row[0] for row in db.execute("SELECT status FROM outbox WHERE template = 'reporter/ack'")
    }
    assert states == {"queued"}


def test_search_dates_messages_by_their_own_date_and_counts_them(config_path, db, settings):
    cb = ("-c", str(config_path))
    for n in range(3):
        dated = {
            "plain-report-1": f"plain-report-{n}",
            "Mon, 2 Mar 2026 10:57:00 +0100": f"Tue, {10 + n} Feb 2026 08:00:00 -0500",
        }
        deliver(db, settings, "plain_report.eml", now=T0 + timedelta(days=30), replace=dated)
    hits = json.loads(run_casebook(*cb, "search", "stupid", "--json", "--limit", "2").stdout)
    assert len(hits) == 2
    assert {h["at"][:16] for h in hits} <= {f"2026-02-{10 + n}T13:00" for n in range(3)}
    assert all(h["archived_at"].startswith("2026-04-01") for h in hits)  # the import date
    text = run_casebook(*cb, "search", "stupid", "--limit", "2").stdout.decode()
    assert "showing 2 of 3" in text and "2026-02-1" in text
    assert "3 found" in run_casebook(*cb, "search", "stupid").stdout.decode()
    bad = run_casebook(*cb, "search", "stupid", "--limit", "0")
    assert bad.returncode == 64 and b"--limit" in bad.stderr
