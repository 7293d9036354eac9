"""One duration grammar with one meaning everywhere (issue 19): `m` is neither minutes nor
months but refused with both spellings, in the commands and in the configuration alike."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from archive.db import open_archive
from archive.durations import AmbiguousUnit, parse_duration
from tests.committee import BOB, CAROL, reported
from tests.conftest import ROOT, T0
from tests.helpers import outbox
from tests.mailbuild import sign, via_list
from tests.test_walks_e2e import BOB as BOB_MEMBER
from tests.test_walks_e2e import (
    DAVE,
    LIST,
    MEDIATION_REPORT,
    REPORTS,
    RITA,
    body,
    outlook,
    walk,  # noqa: F401 (a fixture: `casebook serve` and its sink)
)


@pytest.fixture
def committee(tmp_path, relay):
    yield from reported(tmp_path, relay_port=relay.port)


@pytest.mark.parametrize(
    "text, span",
    [("90s", timedelta(seconds=90)), ("30min", timedelta(minutes=30)), ("24h", timedelta(1)),
     ("7d", timedelta(7)), ("2w", timedelta(14)), ("6mo", timedelta(180)),
     ("1y", timedelta(365)), ("3months", timedelta(90)), ("90 minutes", timedelta(minutes=90)),
     ("30D", timedelta(30))],
)  # fmt: skip
def test_each_unit_has_one_meaning(text, span):
    assert parse_duration(text) == span


@pytest.mark.parametrize("text", ["3m", "3M", " 3 m "])
def test_a_bare_m_is_refused_with_both_spellings(text):
    with pytest.raises(AmbiguousUnit, match="write 3min for minutes or 3mo for months"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["", "d", "3", "3x", "-3d", "3.5d", "3dd", "1" * 7 + "d"])
def test_anything_else_is_refused_with_examples(text):
    with pytest.raises(ValueError, match=r"e\.g\. 90s, 30min"):
        parse_duration(text)


def test_ban_3m_is_answered_with_the_two_spellings_and_nothing_is_banned(committee):
    c = committee
    c.say("#urgent\n#ban dave@example.com 3m chat", sender=BOB)
    status, detail = c.lines()[-1]
    assert status != "ok"
    assert "'3m' is ambiguous: write 3min for minutes or 3mo for months" in detail
    assert not outbox(c.db, "reported/ban_notice")
    c.say("#urgent\n#ban dave@example.com 3mo chat", sender=BOB)  # a refusal undid #urgent
    [notice] = outbox(c.db, "reported/ban_notice")
    assert notice["context"]["duration"] == "90 days"


def test_ban_3m_over_smtp_is_answered_and_dave_gets_nothing(walk):  # noqa: F811
    """As a member meets it: `casebook serve`, the list's copy, the transcript in her inbox."""
    w = walk
    w.send(w.signed_by_example_net(MEDIATION_REPORT.encode()), RITA[1], REPORTS)
    notice = w.expect(LIST, "New report")
    ban = "#urgent\n#ban dave@example.com 3m chat"
    w.send(via_list(sign(outlook(BOB_MEMBER, LIST, notice, ban))), BOB_MEMBER[1], LIST)
    words = " ".join(body(w.expect(BOB_MEMBER[1], "Commands not applied")).split())
    assert "'3m' is ambiguous: write 3min for minutes or 3mo for months" in words
    w.quiet()
    assert w.inbox(DAVE[1]) == []


def test_ban_shorter_than_a_day_is_refused(committee):
    committee.say("#urgent\n#ban dave@example.com 90min chat", sender=BOB)
    assert "less than a day" in committee.lines()[-1][1]
    assert not outbox(committee.db, "reported/ban_notice")


def test_temporary_ban_proposal_with_m_names_both_spellings(committee):
    committee.say(
        "#responsible Dave <dave@example.com>\n#propose temporary-ban 6m chat\n"
        "Statement: Banned.\nEnd of statement"
    )
    detail = committee.lines()[-1][1]
    assert "temporary-ban needs a duration" in detail and "6mo for months" in detail


def test_a_proposal_written_6m_before_the_upgrade_still_bans_for_six_months(committee):
    c = committee
    c.say(
        "#responsible Dave <dave@example.com>\n#propose temporary-ban 30d chat\n"
        "Statement: Banned.\nEnd of statement"
    )
    # As an archive from before the one grammar holds it: `6m` was six months in a ban.
    c.db.execute("UPDATE proposals SET args = '6m chat'")
    c.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm020_months_spelt_mo'")
    c.db = open_archive(c.settings.database)  # the upgraded casebook opens it
    assert c.db.execute("SELECT args FROM proposals").fetchone()[0] == "6mo chat"
    c.say("#agree", sender=BOB)
    c.say("#agree", sender=CAROL)
    c.say("#consult")
    c.say("#enact", now=T0 + timedelta(days=6))
    [notice] = outbox(c.db, "reported/ban_notice")
    assert notice["context"]["duration"] == "180 days"


def test_help_says_how_durations_are_written(committee):
    committee.say("#help")
    assert "6mo" in committee.lines()[-1][1] and "30min" in committee.lines()[-1][1]


def test_durations_are_parsed_in_one_place_only():
    """No other module reads a number-and-unit itself (the two grammars review found)."""
    unit_rule = re.compile(r"\\d\+?\)?\(?\[[a-z]*[dhmswy][a-z]*\]|timedelta\(\*\*\{|UNIT_DAYS")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("archive", "intake", "mailer", "casebook", "webform")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "durations.py" and unit_rule.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
