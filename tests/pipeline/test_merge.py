"""#merge and #unmerge: reporters stay separate people, nothing leaks, nothing runs twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.record.cases import find_case
from archive.record.db import open_archive
from archive.workflow.clock_sweep import fire_due
from tests.support.base import T0
from tests.support.committee import BOB, CAROL, Committee, dkim_settings
from tests.support.helpers import outbox


@pytest.fixture
def two_cases(tmp_path):
    settings = dkim_settings(tmp_path)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()  # CoC-2026-001, Rita
    c.report("checklist_report.eml", sender="chris@example.net")  # CoC-2026-002
    yield c
    db.close()


def _pending(c, ref: str) -> list[str]:
    rows = c.db.execute(
        "SELECT d.kind FROM deadlines d JOIN cases c ON c.id = d.case_pk WHERE c.ref = ?"
        " AND d.fired_at IS NULL AND d.cancelled_at IS NULL",
        [ref],
    )
    return sorted(row[0] for row in rows)


def test_to_reporter_after_a_merge_reaches_only_the_reporter_it_was_written_to(two_cases):
    c = two_cases
    c.say("#merge CoC-2026-002")
    c.say("#to-reporter\nDear Rita, thank you for reporting this.", message_id="<to-rita@x>")
    assert [_recipient(c, q) for q in outbox(c.db, "reporter/message")] == ["rita@example.net"]
    c.say("#to-reporter CoC-2026-002\nDear Chris, your report is being handled with another.")
    assert [_recipient(c, q) for q in outbox(c.db, "reporter/message")] == [
        "rita@example.net",
        "chris@example.net",
    ]


def _recipient(c, queued: dict) -> str:
    row = c.db.execute(
        "SELECT p.email FROM outbox o JOIN parties p ON p.id = o.party_pk WHERE o.message_id = ?",
        [queued["message_id"]],
    ).fetchone()
    return row[0]


def test_a_merge_unites_recusals_stops_the_merged_clocks_and_is_reversible(two_cases):
    c = two_cases
    c.say("#recuse", sender=BOB, case="CoC-2026-002")
    assert _pending(c, "CoC-2026-002")  # its week-one update is pending
    c.say("#merge CoC-2026-002")
    assert "bob@example.org" in find_case(c.db, "CoC-2026-001").excluded()
    assert _pending(c, "CoC-2026-002") == []
    fire_due(c.db, c.settings, T0 + timedelta(days=8))
    # One update, to case 1's own reporter: none under a number Chris never saw.
    assert [_recipient(c, q) for q in outbox(c.db, "reporter/update")] == ["rita@example.net"]
    c.say("#merge CoC-2026-002")  # twice: nothing more happens
    assert c.lines()[0] == ("done", "CoC-2026-002 is already part of this case")
    assert c.db.execute("SELECT COUNT(*) FROM events WHERE action = 'merged'").fetchone()[0] == 1
    c.say("#unmerge CoC-2026-002")
    assert find_case(c.db, "CoC-2026-002").state == "received"
    c.say("#unmerge CoC-2026-002")
    assert c.lines()[0][0] == "refused"


def test_a_merge_transcript_never_confirms_a_case_its_reader_is_kept_out_of(two_cases):
    c = two_cases
    c.say("#conflict carol@example.org", case="CoC-2026-002")
    c.say("#merge CoC-2026-002", sender=CAROL)
    conflicted = c.lines()[0][1]
    c.say("#merge CoC-2026-999", sender=CAROL)
    missing = c.lines()[0][1]
    assert conflicted.replace("002", "NNN") == missing.replace("999", "NNN")
