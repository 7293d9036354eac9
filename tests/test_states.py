"""One door for state (`move_case`): the table, the audit log, the clocks, and after downtime."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from archive.cases import find_case
from archive.clocks import HANDLERS, fire_due
from archive.models import CaseState
from archive.reporting import quarter_period, report_data
from archive.states import DONE_STATES, TRANSITIONS, StateError, check_move, is_done
from tests.committee import BOB, CAROL, reported
from tests.conftest import T0
from tests.helpers import TRUSTED, outbox
from tests.test_appeals import COUNCIL, appeal
from tests.test_mediation import reply_as

ROOT = Path(__file__).resolve().parent.parent
REF = "CoC-2026-001"
DAY = timedelta(days=1)


@pytest.fixture
def committee(tmp_path):
    yield from reported(tmp_path, members=COUNCIL, extra=TRUSTED)


def moves(c, ref: str = REF) -> list[tuple[str, str, str]]:
    """The case's state-changed events: (from, to, reason)."""
    rows = c.db.execute(
        "SELECT e.detail FROM events e JOIN cases c ON c.id = e.case_pk WHERE c.ref = ?"
        " AND e.action = 'state-changed' ORDER BY e.id",
        [ref],
    )
    return [(d["from"], d["to"], d["reason"]) for d in (json.loads(r[0]) for r in rows)]


def pending(c, kind: str, ref: str = REF) -> list[str]:
    rows = c.db.execute(
        "SELECT d.due_at FROM deadlines d JOIN cases c ON c.id = d.case_pk WHERE c.ref = ?"
        " AND d.kind = ? AND d.fired_at IS NULL AND d.cancelled_at IS NULL",
        [ref, kind],
    )
    return [r[0] for r in rows]


def agreed_and_consulted(c, now=T0):
    c.say(
        "#responsible Dave <dave@example.com>\n#propose private-reprimand\n"
        "Statement: Stop it.\nEnd of statement",
        now=now,
    )
    c.say("#agree", sender=BOB, now=now)
    c.say("#agree", sender=CAROL, now=now)
    c.say("#consult", now=now)


# -- the door --------------------------------------------------------------------------------

STATE_WRITE = re.compile(r"UPDATE\s+cases\s+SET\s+(?:[^;\"']*,\s*)?state\s*=", re.I)


def test_nothing_but_the_door_writes_cases_state():
    offenders = []
    for folder in ("archive", "intake", "mailer", "casebook"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            rel = path.relative_to(ROOT).as_posix()
            if rel != "archive/lifecycle.py" and (
                STATE_WRITE.search(text) or re.search(r"\bset_state\(", text)
            ):
                offenders.append(rel)
    assert offenders == []
    assert STATE_WRITE.search((ROOT / "archive/lifecycle.py").read_text())


def test_done_is_defined_once():
    assert {CaseState.RESOLVED, CaseState.CLOSED} == DONE_STATES
    assert is_done("closed") and not is_done("escalated")
    for path in sorted((ROOT / "archive").rglob("*.py")):
        text = path.read_text()
        # A second spelling of "done" would be a tuple or set of these two states.
        assert not re.search(r"""[({]\s*["']resolved["'],\s*["']closed["']""", text), path
        assert not re.search(r"""[({]\s*["']closed["'],\s*["']resolved["']""", text), path


def test_the_table_refuses_moves_past_the_gates():
    with pytest.raises(StateError):
        check_move("received", "resolved")
    with pytest.raises(StateError):
        check_move("deliberating", "enacting")
    assert CaseState.INVESTIGATING in TRANSITIONS[CaseState.CLOSED]  # #reopen
    assert CaseState.APPEALED in TRANSITIONS[CaseState.RESOLVED]


def test_every_deadline_kind_has_one_registered_handler():
    assert set(HANDLERS) >= {
        "ack-watchdog", "timeline-request", "reporter-update", "deadlock", "unilateral-reminder",
        "consult-wait", "send", "enact", "ban-expiry", "ban-review", "appeal-reminder",
        "appeal-due", "mediation-reminder",
    }  # fmt: skip


def test_clocks_import_no_command_module():
    """The sweep and the commands share `archive.enactment`; no cycle, no function imports."""
    for name in ("clocks", "enactment", "clockwork", "report_clocks", "deliberation"):
        text = (ROOT / "archive" / f"{name}.py").read_text()
        assert "archive.commands" not in text, name
        assert not re.search(r"^[ \t]+(from|import) archive", text, re.M), name


# -- every change goes through it, with an audit entry ---------------------------------------


def test_mediation_writes_state_changed_both_ways(committee):
    c = committee
    c.say("#responsible Dave Jones <dave@example.com>")
    c.say("#mediation propose Max Mediator <max@example.net>")
    reply_as(c, "reporter", "No, thank you.", 1)
    assert moves(c)[-2:] == [
        ("received", "mediation", "mediation proposed"),
        ("mediation", "deliberating", "mediation declined"),
    ]


def test_merge_unmerge_deadlock_and_appeal_write_state_changed(committee):
    c = committee
    c.report("checklist_report.eml", sender="chris@example.net")
    c.say("#merge CoC-2026-002")
    assert moves(c, "CoC-2026-002") == [("received", "closed", f"merged into {REF}")]
    c.say("#unmerge CoC-2026-002", now=T0 + timedelta(hours=1))
    assert moves(c, "CoC-2026-002")[-1] == ("closed", "received", f"unmerged from {REF}")
    c.say("#propose hiatus\nStatement: Take a break.\nEnd of statement")
    c.say("#object too soon", sender=BOB)
    fire_due(c.db, c.settings, T0 + 7 * DAY)
    assert moves(c)[-1] == ("resolution-proposed", "escalated", "deadlock")


def test_an_appeal_of_a_closed_case_moves_it_and_the_report_times_come_from_the_door(
    committee,
):
    c = committee
    c.say("#close handled informally", now=T0 + 2 * DAY)
    appeal(c)
    assert moves(c)[-2:] == [
        ("received", "closed", "#close"),
        ("closed", "appealed", "appeal"),
    ]
    report = report_data(c.db, quarter_period("2026Q1", c.settings))
    assert report["median_days_to_resolve"] == 2.0


# -- already as asked: no change -------------------------------------------------------------


def test_commands_that_find_the_case_as_asked_answer_no_change(committee):
    c = committee
    c.say("#urgent")
    c.say("#urgent\n#status investigating\n#status investigating", sender=BOB)
    assert [s for s, _ in c.lines()] == ["done", "done", "done"]
    assert c.lines()[0][1] == "no change: the case is already urgent"
    assert c.lines()[2][1] == "no change: the case is already investigating"
    c.say("#close done\n#close done")
    assert c.lines()[1] == ("done", "no change: the case is already closed")
    c.say("#reopen\n#reopen")
    assert c.lines()[1] == ("done", "no change: the case is open (investigating)")
    c.say("#escalate stuck\n#escalate stuck")
    assert c.lines()[1][0] == "done" and c.lines()[1][1].startswith("no change")
    assert len(outbox(c.db, "council/escalation")) == 1
    assert len(outbox(c.db, "committee/urgent")) == 1


# -- #enact DATE and #status -----------------------------------------------------------------


def test_enact_date_twice_keeps_the_second_date(committee):
    c = committee
    agreed_and_consulted(c)
    c.say("#enact 2026-03-20", now=T0 + 6 * DAY)
    c.say("#enact 2026-03-25", now=T0 + 7 * DAY)
    assert "moved to 2026-03-25" in c.lines()[0][1]
    assert pending(c, "enact") == ["2026-03-25T08:00:00.000000+00:00"]
    fire_due(c.db, c.settings, T0.replace(day=21))
    assert outbox(c.db, "reported/private_reprimand") == []
    fire_due(c.db, c.settings, T0.replace(day=25, hour=8))
    assert len(outbox(c.db, "reported/private_reprimand")) == 1
    assert find_case(c.db, REF).state == "resolved"


def test_status_does_not_leave_enacting_while_an_enactment_is_scheduled(committee):
    c = committee
    agreed_and_consulted(c)
    c.say("#enact 2026-03-20", now=T0 + 6 * DAY)
    c.say("#status deliberating", now=T0 + 7 * DAY)
    [(status, why)] = c.lines()
    assert status == "refused" and "scheduled to be enacted at 2026-03-20" in why
    assert find_case(c.db, REF).state == "enacting"
    # A new proposal leaves enacting through the door, which stops the scheduled enactment.
    c.say("#propose hiatus\nStatement: A break instead.\nEnd of statement", now=T0 + 7 * DAY)
    assert pending(c, "enact") == []
    fire_due(c.db, c.settings, T0.replace(day=21))
    assert outbox(c.db, "reported/private_reprimand") == []


# -- after downtime --------------------------------------------------------------------------


def test_three_weeks_down_one_summary_per_case_stale_reminders_skipped_enactment_held(committee):
    c = committee
    c.report("checklist_report.eml", sender="chris@example.net")  # a second case
    agreed_and_consulted(c)
    c.say("#enact 2026-03-20", now=T0 + 6 * DAY)  # 08:00 UTC on the 20th
    appeal(c)  # an appeal on 2026-03-12: reminders on the 19th and 24th, due on the 26th
    back = T0.replace(day=20, hour=8) + timedelta(hours=373)
    fired = fire_due(c.db, c.settings, back)
    by_kind = {(f.case_ref, f.kind): f.outcome for f in fired}
    assert by_kind[(REF, "enact")] == "held"
    assert by_kind[(REF, "appeal-due")] == "fired"
    assert [f.outcome for f in fired if f.kind == "appeal-reminder"] == ["stale", "stale"]
    assert by_kind[(REF, "timeline-request")] == "stale"
    # One summary per case instead of a mail per deadline; nothing stale was sent.
    summaries = outbox(c.db, "committee/catch_up")
    assert sorted(s["context"]["case_ref"] for s in summaries) == [REF, "CoC-2026-002"]
    assert outbox(c.db, "council/appeal_reminder") == []
    assert len(outbox(c.db, "council/appeal_overdue")) == 1
    [ours] = [s["context"] for s in summaries if s["context"]["case_ref"] == REF]
    assert [h["kind"] for h in ours["held"]] == ["enact"]
    assert ours["held"][0]["hours_late"] == 373.0 and ours["hold_after"] == "24 hours"
    assert {s["kind"] for s in ours["skipped"]} == {"appeal-reminder", "timeline-request"}
    # The enactment waits for the committee: nothing went out, the case is still enacting.
    assert outbox(c.db, "reported/private_reprimand") == []
    assert find_case(c.db, REF).state == "enacting"
    c.say("#enact", now=back + timedelta(hours=1))  # the appeal is open: the council first
    assert c.lines()[0] == (
        "refused",
        "an appeal of this case is open: the council decides it first",
    )


def test_an_enactment_held_after_downtime_goes_with_enact_again(committee):
    c = committee
    agreed_and_consulted(c)
    c.say("#enact 2026-03-20", now=T0 + 6 * DAY)
    back = T0.replace(day=20, hour=8) + timedelta(hours=373)
    fired = fire_due(c.db, c.settings, back)
    assert {(f.case_ref, f.kind): f.outcome for f in fired}[(REF, "enact")] == "held"
    assert outbox(c.db, "reported/private_reprimand") == []
    c.say("#enact", now=back + timedelta(hours=1))
    assert c.lines()[0][0] == "done"
    assert len(outbox(c.db, "reported/private_reprimand")) == 1
    assert find_case(c.db, REF).state == "resolved"
    assert fire_due(c.db, c.settings, back + 2 * DAY) == []


def test_a_scheduled_enactment_a_little_late_still_goes(committee):
    c = committee
    agreed_and_consulted(c)
    c.say("#enact 2026-03-20", now=T0 + 6 * DAY)
    fired = fire_due(c.db, c.settings, T0.replace(day=20, hour=8) + timedelta(hours=5))
    assert [f.outcome for f in fired if f.kind == "enact"] == ["fired"]
    assert len(outbox(c.db, "reported/private_reprimand")) == 1
    [summary] = outbox(c.db, "committee/catch_up")
    assert "enact" in {f["kind"] for f in summary["context"]["fired"]}


# -- the tables of docs/committee/states-and-clocks.md ------------------------------------------


def _section(title: str) -> str:
    text = (ROOT / "docs" / "committee" / "states-and-clocks.md").read_text()
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_state_table_is_the_code_table():
    rows = {}
    for line in _section("States").splitlines():
        if match := re.match(r"^\| `([a-z-]+)` \| (.*) \|$", line):
            listed = re.sub(r"\(.*\)", "", match.group(2))  # the #unmerge note
            rows[match.group(1)] = set(re.findall(r"`([a-z-]+)`", listed))
    assert rows == {s.value: {t.value for t in TRANSITIONS[s]} for s in CaseState}


def test_readme_clock_table_names_every_registered_kind():
    table = _section("Clocks")
    named = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            named |= set(re.findall(r"`([a-z-]+)`", line.split(" | ")[0]))
    assert named == set(HANDLERS)
