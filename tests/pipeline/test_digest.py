"""The council's weekly digest: once a week, DST-safe, anonymised, conflicts respected."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from html import unescape

from archive.record.cases import find_case, record_event
from archive.record.db import open_archive, write_transaction
from archive.record.models import CaseState
from archive.summaries.digest import digest_data, digest_slot, send_digest_if_due
from archive.workflow.bans import add_ban
from archive.workflow.clock_sweep import fire_due
from casebook.config import load_settings
from mailer.render import make_environment, render_template
from mailer.send import send_due
from tests.support.base import MEMBERS, T0, write_config
from tests.support.helpers import deliver, events, force_state, outbox, run_casebook

TWO_COUNCIL = MEMBERS + '\n[[council]]\nname = "Frank Council"\nemail = "frank@example.org"\n'


def settings_for(tmp_path, relay_port=1, **values):
    extra = values.pop("digest", "")
    config = write_config(tmp_path, relay_port=relay_port, **values)
    if extra:
        config.write_text(config.read_text() + "\n[digest]\n" + extra)
    return load_settings(config)


def sweep_day(db, settings, day_utc: datetime, step=timedelta(minutes=10)) -> int:
    queued, now = 0, day_utc
    while now < day_utc + timedelta(days=1):
        queued += send_digest_if_due(db, settings, now)
        now += step
    return queued


def test_default_slot_is_monday_0900_in_the_committee_zone(tmp_path):
    settings = settings_for(tmp_path)  # Europe/Berlin
    # Wednesday 2026-03-04: the slot is Monday 2026-03-02 09:00 CET = 08:00 UTC.
    assert digest_slot(settings, datetime(2026, 3, 4, 12, tzinfo=UTC)) == datetime(
        2026, 3, 2, 8, tzinfo=UTC
    )
    # In summer time it is 07:00 UTC.
    assert digest_slot(settings, datetime(2026, 6, 10, tzinfo=UTC)) == datetime(
        2026, 6, 8, 7, tzinfo=UTC
    )


def test_sent_once_a_week_however_often_the_sweep_runs(tmp_path):
    settings = settings_for(tmp_path)
    db = open_archive(settings.database)
    assert send_digest_if_due(db, settings, T0) == 0  # first run: only remembers "since"
    week = T0 + timedelta(days=7)
    assert sweep_day(db, settings, week.replace(hour=0)) == 1
    assert sweep_day(db, settings, week.replace(hour=0) + timedelta(days=1)) == 0
    assert len(outbox(db, "council/digest")) == 1


def test_a_digest_missed_for_weeks_is_sent_once(tmp_path):
    settings = settings_for(tmp_path)
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, T0)
    back = T0 + timedelta(weeks=3, days=2)
    assert send_digest_if_due(db, settings, back) == 1
    assert send_digest_if_due(db, settings, back + timedelta(hours=1)) == 0
    assert len(outbox(db, "council/digest")) == 1


def test_dst_spring_forward_and_fall_back_at_0230_berlin(tmp_path):
    """02:30 does not exist on 2026-03-29 and happens twice on 2026-10-25 (both Sundays)."""
    settings = settings_for(tmp_path, digest='weekday = "sunday"\ntime = "02:30"\n')
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, datetime(2026, 3, 22, 12, tzinfo=UTC))  # installed
    assert sweep_day(db, settings, datetime(2026, 3, 28, 12, tzinfo=UTC)) == 1
    assert sweep_day(db, settings, datetime(2026, 3, 29, 12, tzinfo=UTC)) == 0
    assert send_digest_if_due(db, settings, datetime(2026, 10, 24, tzinfo=UTC)) == 1  # missed
    assert sweep_day(db, settings, datetime(2026, 10, 24, 12, tzinfo=UTC)) == 1
    assert sweep_day(db, settings, datetime(2026, 10, 25, 12, tzinfo=UTC)) == 0
    slots = [row[0] for row in db.execute("SELECT slot FROM digests ORDER BY slot")]
    # Spring forward: 02:30 does not exist, the digest goes at 03:30 CEST (01:30 UTC).
    # Fall back: 02:30 happens twice, the digest goes once, at the first (00:30 UTC).
    assert slots[0] == "2026-03-29T01:30:00.000000+00:00"
    assert slots[-1] == "2026-10-25T00:30:00.000000+00:00"


def test_digest_is_anonymised(tmp_path, relay):
    settings = settings_for(tmp_path, relay_port=relay.port)
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, T0 - timedelta(days=1))
    raw = (
        b"From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
        b"Subject: Dave Canaryjones was rude\r\nMessage-ID: <canary@example.net>\r\n\r\n"
        b"Names: Dave Canaryjones\r\nWhen: yesterday\r\n"
    )
    deliver(db, settings, raw, now=T0)
    assert send_digest_if_due(db, settings, T0 + timedelta(days=7)) == 1
    send_due(db, settings, T0 + timedelta(days=7), holder="t",
             wall_clock=lambda: T0 + timedelta(days=7))  # fmt: skip
    [digest] = relay.to("council@example.org")
    text = digest.as_string()
    assert "CoC-2026-001" in digest.get_body(("plain",)).get_content()
    assert "Canary" not in text and "rita@" not in text
    html = digest.get_body(("html",)).get_content()
    assert "<svg" not in html and 'bgcolor="#4a7ab5"' in html


def test_conflicted_council_member_gets_a_digest_without_the_case(tmp_path, relay):
    """Regression: Erin was told "(1 case(s) you are conflicted in are left out…)" and the
    chart still counted the case; her copy now neither shows nor mentions nor counts it."""
    settings = settings_for(tmp_path, relay_port=relay.port, members=TWO_COUNCIL)
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, T0 - timedelta(days=1))
    raw = (
        b"From: Rita <rita@example.net>\r\nTo: conduct@example.org\r\nSubject: council\r\n"
        b"Message-ID: <erin@example.net>\r\n\r\nErin Council was rude to me at the sprint.\r\n"
    )
    deliver(db, settings, raw, now=T0)
    deliver(db, settings, "checklist_report.eml", now=T0, sender="chris@example.net")
    assert send_digest_if_due(db, settings, T0 + timedelta(days=7)) == 2
    send_due(db, settings, T0 + timedelta(days=7), holder="t",
             wall_clock=lambda: T0 + timedelta(days=7))  # fmt: skip
    [erin_mail] = relay.to("erin@example.org")
    [frank_mail] = relay.to("frank@example.org")
    for part in ("plain", "html"):
        erin = erin_mail.get_body((part,)).get_content()
        frank = frank_mail.get_body((part,)).get_content()
        assert "CoC-2026-001" not in erin and "CoC-2026-002" in erin
        assert "conflicted" not in erin.lower() and "left out" not in erin
        assert "CoC-2026-001" in frank and "CoC-2026-002" in frank
        assert chart_counts(erin, part) == [0] * 6 + [1, 0]
        assert chart_counts(frank, part) == [0] * 6 + [2, 0]
    erin_text = erin_mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "OPEN CASES (1)" in erin_text and "Opened (1): CoC-2026-002" in erin_text
    assert "of 1 (" in erin_text and "of 2 (" not in erin_text  # promises count her cases only
    assert relay.to("council@example.org") == []


def chart_counts(body: str, part: str) -> list[int]:
    body = body.replace("\r\n", "\n")
    if part == "plain":
        return [int(n) for n in re.findall(r"^  \d{4}-\d\d-\d\d  #* (\d+)$", body, re.M)]
    return [int(n) for n in re.findall(r"<td>&nbsp;(\d+)</td>", body)]


# A week of casework, built straight in the archive: NOW is Monday 2026-03-09 10:00 UTC.
NOW = T0 + timedelta(days=7)


def week_of_cases(tmp_path, old_cases: int = 0):
    """A: resolved (hiatus); B: overdue, banned unilaterally; C: escalated; D: never
    acknowledged; E: new; then `old_cases` older open cases whose clocks have all fired."""
    settings = settings_for(tmp_path)
    db = open_archive(settings.database)
    send_digest_if_due(db, settings, T0 - timedelta(days=30))
    refs = {}
    for name, opened in (("A", T0 - timedelta(days=3)), ("B", T0 - timedelta(days=2)),
                         ("C", T0 + timedelta(days=1)), ("D", T0 + timedelta(days=2)),
                         ("E", NOW - timedelta(hours=12))):  # fmt: skip
        refs[name] = report(db, settings, opened, name)
        if name in "ABC":
            acknowledge(db, refs[name], opened + timedelta(hours=1))
    a, b, c = (find_case(db, refs[n]) for n in "ABC")
    with write_transaction(db):
        event(db, a, T0 + timedelta(days=3), "enacted", {"resolution": "hiatus"})
        force_state(db, a, CaseState.RESOLVED, T0 + timedelta(days=3))
        event(db, b, T0 + timedelta(days=3), "unilateral-action", {"action": "banned"})
        add_ban(db, b, who="Dave Canary", email="dave@example.com", spaces="chat",
                duration=None, now=T0 + timedelta(days=3), decided_by="bob@example.org",
                unilateral=True)  # fmt: skip
        event(db, c, T0 + timedelta(days=4), "escalated", {"reason": None})
        force_state(db, c, CaseState.ESCALATED, T0 + timedelta(days=4))
    for n in range(old_cases):
        report(db, settings, T0 - timedelta(days=8 + n), f"old{n}")
    fire_due(db, settings, NOW)
    return db, settings, refs


def report(db, settings, when, name) -> str:
    raw = (
        f"From: Rita <rita-{name}@example.net>\r\nTo: conduct@example.org\r\n"
        f"Subject: report {name}\r\nMessage-ID: <{name}@example.net>\r\n\r\n"
        "Someone was rude to me on the users list.\r\n"
    ).encode()
    return deliver(db, settings, raw, now=when, sender=f"rita-{name}@example.net").case_ref


def acknowledge(db, ref, when) -> None:
    """What the mailer records when the acknowledgement has gone."""
    case = find_case(db, ref)
    with write_transaction(db):
        force_state(db, case, CaseState.ACKNOWLEDGED, when)
        event(db, case, when, "state-changed", {"from": "received", "to": "acknowledged"})
        db.execute("UPDATE deadlines SET cancelled_at = ? WHERE case_pk = ? AND kind = ?",
                   [when.isoformat(), case.pk, "ack-watchdog"])  # fmt: skip


def event(db, case, when, action, detail) -> None:
    record_event(db, case, now=when, actor="test", action=action, detail=detail)


def rendered_digest(db, settings, now=NOW, reader=None):
    context = {**digest_data(db, settings, now, reader=reader), "committee_name": "CoC"}
    return render_template(make_environment(), "council/digest", context)


def test_attention_first_then_promises_then_open_cases(tmp_path):
    db, settings, refs = week_of_cases(tmp_path)
    digest = rendered_digest(db, settings)
    text = digest.text
    order = ["NEEDS YOUR ATTENTION (3)", "PROMISES KEPT", "OPEN CASES", "THIS WEEK",
             "Bans starting", "CASES OPENED PER WEEK"]  # fmt: skip
    assert [text.index(h) for h in order] == sorted(text.index(h) for h in order)
    attention = text[: text.index("PROMISES KEPT")]
    assert f"Escalated to the council: {refs['C']} since 2026-03-06" in attention
    assert f"Acknowledgement overdue: {refs['D']} since 2026-03-05" in attention
    assert f"Unilateral action awaiting review: {refs['B']} (2026-03-05)" in attention
    assert refs["E"] not in attention and refs["A"] not in attention
    html = digest.html
    ids = ["attention", "promises", "open", "week", "bans", "chart"]
    assert [html.index(f'id="{i}"') for i in ids] == sorted(html.index(f'id="{i}"') for i in ids)


def test_promises_for_the_week_and_the_quarter(tmp_path):
    db, settings, refs = week_of_cases(tmp_path)
    text = rendered_digest(db, settings).text
    # This week: C acknowledged within the hour, D never, E is still within its 24 hours.
    # The quarter adds A and B, both acknowledged in time.
    assert ("Reports acknowledged within 24 hours: 1 of 2 (50%), 1 still within time"
            " | 3 of 4 (75%), 1 still within time") in text  # fmt: skip
    # A was resolved on day 6; B's one-week update went out late (the sweep ran on day 9).
    assert ("Reports resolved or the reporter updated within 7 days: 0 of 0 (n/a),"
            " 3 still within time | 1 of 2 (50%), 3 still within time") in text  # fmt: skip
    assert "Appeals decided within 14 days: 0 of 0 (n/a) | 0 of 0 (n/a)" in text
    assert "PROMISES KEPT (this week | 2026 Q1 so far)" in text


def test_html_has_resolution_types_escalations_and_bans(tmp_path):
    """Regression: the HTML part lacked resolution types, which cases resolved or escalated,
    and the bans."""
    db, settings, refs = week_of_cases(tmp_path)
    html = rendered_digest(db, settings).html
    assert f"{refs['A']} (hiatus, 2026-03-05)" in html
    assert f"Escalated (1)</th><td>{refs['C']} (2026-03-06)" in html
    assert (f'<td style="white-space: nowrap">{refs["B"]}</td>'
            "<td>chat</td><td>2026-03-05</td><td>permanent</td>"
            "<td>active, unilateral</td>") in html  # fmt: skip
    assert "Dave" not in html and "dave@" not in html and "rita" not in html


def test_no_open_case_has_an_empty_next_deadline(tmp_path):
    """Regression: 45 of 53 overdue rows had an empty "next deadline" once every clock of
    theirs had fired; each row now says what is overdue and since when."""
    db, settings, refs = week_of_cases(tmp_path, old_cases=12)
    data = digest_data(db, settings, NOW)
    assert len(data["open"]) == 16
    for case in data["open"]:
        assert case["overdue"] or case["next_deadline"], case
        for item in case["overdue"]:
            assert item["what"] and re.fullmatch(r"\d{4}-\d\d-\d\d", item["since"]), case
    text = rendered_digest(db, settings).text
    rows = re.findall(r"^  (CoC-\S+)  .*\n((?:      .*\n)+)", text, re.M)
    assert len(rows) == 16 and all(detail.strip() for _, detail in rows)
    b = next(detail for ref, detail in rows if ref == refs["B"])
    assert "resolution overdue since 2026-03-07" in b and "next: ban review 2027-03-05" in b
    d = next(detail for ref, detail in rows if ref == refs["D"])
    assert "acknowledgement overdue since 2026-03-05" in d
    e = next(detail for ref, detail in rows if ref == refs["E"])
    assert "next: timeline request to the committee 2026-03-14" in e


FACT = re.compile(
    r"CoC-\d{4}-\d{3}|\d{4}-\d\d-\d\d|\d+ of \d+ \((?:\d+%|n/a)\)|\d+ still within time"
    r"|overdue since|OVERDUE|URGENT|[a-z]+ \(\d+\)|\b(?:hiatus|no type|closed|permanent|unilateral"
    r"|received|acknowledged|investigating|escalated|appealed|deliberating|resolved)\b",
    re.I,
)


def facts_of(body: str) -> Counter:
    return Counter(fact.lower() for fact in FACT.findall(body))


def html_text(html: str) -> str:
    body = html[html.index("<body") :]
    return unescape(re.sub(r"<[^>]+>", " ", body))


def test_text_and_html_carry_the_same_facts(tmp_path):
    db, settings, refs = week_of_cases(tmp_path, old_cases=3)
    with write_transaction(db):
        db.execute("UPDATE cases SET urgent = 1 WHERE ref = ?", [refs["B"]])
    digest = rendered_digest(db, settings)
    text_facts, html_facts = facts_of(digest.text), facts_of(html_text(digest.html))
    assert text_facts == html_facts
    assert text_facts["hiatus"] == 1 and text_facts["urgent"] == 1
    assert text_facts[refs["A"].lower()] >= 1
    assert chart_counts(digest.text, "plain") == chart_counts(digest.html, "html")
    assert sum(chart_counts(digest.text, "plain")) == 8


def test_digest_html_on_the_command_line(tmp_path):
    """Regression: `casebook digest` could not show the HTML part."""
    db, settings, refs = week_of_cases(tmp_path)
    db.close()
    config = tmp_path / "casebook.toml"
    printed = run_casebook("-c", str(config), "digest", "--html", "--now", "2026-03-09T11:00")
    assert printed.returncode == 0, printed.stderr
    html = printed.stdout.decode()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert f"{refs['A']} (hiatus, 2026-03-05)" in html and "Subject:" not in html


def test_a_report_that_may_not_be_answered_owes_no_acknowledgement(tmp_path):
    """A report sent as bulk mail is a case, but RFC 3834 forbids acknowledging it: it is
    neither an overdue acknowledgement nor a broken promise."""
    db, settings, refs = week_of_cases(tmp_path)
    raw = (
        b"From: Monitor <monitor@example.net>\r\nTo: conduct@example.org\r\n"
        b"Precedence: bulk\r\nSubject: abuse alert\r\n"
        b"Message-ID: <auto@example.net>\r\n\r\nSomeone posted abuse in the chat.\r\n"
    )
    ref = deliver(db, settings, raw, now=T0 + timedelta(days=3), sender="monitor@example.net")
    assert "acknowledgement-suppressed" in events(db, ref.case_ref)
    data = digest_data(db, settings, NOW)
    assert ref.case_ref not in [u["ref"] for u in data["unacknowledged"]]
    assert data["promises"][0]["week"] == {"met": 1, "due": 2, "share": "50%", "running": 1}
    [row] = [c for c in data["open"] if c["ref"] == ref.case_ref]
    assert row["next_deadline"] and not row["overdue"]
