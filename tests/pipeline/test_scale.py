"""At scale: the faster queries behind `cases` and `search` answer exactly what they did."""

from __future__ import annotations

import json

from archive.record.cases import list_cases
from archive.record.queries import case_summaries, case_summary
from archive.record.search import fts_query, search_messages
from tests.support.base import T0
from tests.support.helpers import deliver, run_casebook


def _reports(db, settings, count: int) -> None:
    for n in range(count):
        deliver(db, settings, "plain_report.eml", now=T0, sender=f"r{n}@example.net",
                replace={"plain-report-1": f"plain-report-{n + 10}",
                         "stupid": "stupid " * (n % 4 + 1)})  # fmt: skip


def test_cases_lists_what_each_case_summary_says(config_path, db, settings):
    _reports(db, settings, 4)
    db.execute("UPDATE cases SET state = 'closed' WHERE ref = 'CoC-2026-002'")
    expected = [case_summary(db, case) for case in list_cases(db)]
    assert case_summaries(db) == expected
    assert case_summaries(db, "closed") == [s for s in expected if s["state"] == "closed"]
    shown = run_casebook("-c", str(config_path), "cases", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == expected


def test_search_pages_the_best_matches_in_rank_order(db, settings):
    _reports(db, settings, 6)
    query = fts_query("stupid")
    everything = [row[0] for row in db.execute(
        "SELECT m.message_id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
        " WHERE messages_fts MATCH ? ORDER BY rank", [query])]  # fmt: skip
    assert len(everything) == 6
    hits, total = search_messages(db, "stupid", limit=4)
    assert total == 6
    assert [h["message_id"] for h in hits] == everything[:4]
    assert all("[stupid]" in h["snippet"] for h in hits)
    assert search_messages(db, "zebra") == ([], 0)


def test_hot_queries_use_indexes(db):
    def plan(sql: str, params: list) -> str:
        return " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params))

    acks = plan("SELECT COUNT(*) FROM outbox WHERE template = ? AND to_addr = ? COLLATE NOCASE"
                " AND created_at > ?", ["reporter/ack", "a@example.net", "2026"])  # fmt: skip
    assert "USING" in acks and "SCAN outbox" not in acks
    arrival = plan("SELECT MIN(received_at) FROM deliveries WHERE message_pk = ?", [1])
    assert "deliveries_message" in arrival
    first = plan("SELECT case_pk, MIN(at) FROM events WHERE action IN (?, ?) GROUP BY case_pk",
                 ["closed", "enacted"])  # fmt: skip
    assert "events_action" in first
