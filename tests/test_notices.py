"""What the notices of a resolution say to their readers (issue 9, item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.db import open_archive
from mailer.send import send_due
from tests.committee import BOB, CAROL, Committee, dkim_settings
from tests.conftest import T0


@pytest.fixture
def c(tmp_path, relay):
    settings = dkim_settings(tmp_path, relay_port=relay.port)
    db = open_archive(settings.database)
    committee = Committee(db, settings)
    committee.report()
    committee.relay = relay
    yield committee
    db.close()


def mail(c: Committee, to: str, now=T0) -> list:
    send_due(c.db, c.settings, now)
    return c.relay.to(to)


def text_of(message) -> str:
    return message.get_content().replace("\r\n", "\n")


def enact(c: Committee, proposal: str, statement: str = "Please step back.") -> None:
    c.say(
        f"#responsible Dave Jones <dave@example.com>\n#propose {proposal}\n"
        "Statement: {statement}\nEnd of statement"
    )
    c.say("#agree", sender=BOB)
    c.say("#agree", sender=CAROL)
    c.say("#consult")
    c.say("#enact", now=T0 + timedelta(days=6))
    assert c.lines()[0][0] == "done", c.lines()


def test_core_teams_ban_notice_says_who_and_until_when(c):
    enact(c, "temporary-ban 30d chat,lists")
    [core] = mail(c, "core@example.org", T0 + timedelta(days=6))
    text = text_of(core)
    assert "Banned:   Dave Jones <dave@example.com>" in text
    assert "30 days, until 7 April 2026" in text  # enacted 8 March + 30 days
    assert "30d" not in text
    [notice] = c.relay.to("dave@example.com")
    assert "for 30 days, until 7 April 2026." in text_of(notice)
    # Lifting it tells the core team whose ban to lift.
    c.say("#reopen\n#unban dave@example.com", now=T0 + timedelta(days=7))
    [_, unban] = mail(c, "core@example.org", T0 + timedelta(days=7))
    assert "The ban of dave@example.com from chat,lists" in text_of(unban)


def test_a_cooling_off_period_is_stated_as_days_and_a_date(c):
    enact(c, "cooling-off 14d")
    [notice] = mail(c, "dave@example.com", T0 + timedelta(days=6))
    text = " ".join(text_of(notice).split())
    assert "of 14 days, until 22 March 2026," in text and "14d" not in text


def test_a_one_member_ban_says_so_and_is_signed_by_that_member(c):
    c.say("#urgent\n#ban dave@example.com 30d chat", sender=BOB)
    assert c.lines()[1][0] == "done"
    [notice] = mail(c, "dave@example.com")
    text = text_of(notice)
    assert "Committee has decided" not in text and "Chair," not in text
    assert "acting at once because the" in text and "Bob Member\nMember," in text
    assert "for 30 days, until 1 April 2026." in text
    [core] = c.relay.to("core@example.org")
    assert "Bob Member, a member of the Code of Conduct Committee" in text_of(core)
    assert "Banned:   dave@example.com" in text_of(core)
    from tests.helpers import outbox

    [review] = outbox(c.db, "committee/unilateral")
    assert review["context"]["action"] == (
        "banned dave@example.com from chat for 30 days, until 1 April 2026"
    )


def test_a_public_statement_carries_no_case_tag(c):
    enact(c, "public-reprimand users@lists.example.org", "Personal attacks are not acceptable.")
    [statement] = mail(c, "users@lists.example.org", T0 + timedelta(days=6))
    assert "CoC-" not in str(statement["Subject"])
    assert statement["Subject"] == "A statement from the Code of Conduct Committee"


def test_the_reporters_resolution_notice_says_what_was_done(c):
    enact(c, "private-reprimand")
    notices = [m for m in mail(c, "rita@example.net", T0 + timedelta(days=6))
               if "resolved" in str(m["Subject"])]  # fmt: skip
    assert "the person responsible received a private reprimand" in notices[0].get_content()


def test_durations_in_mail_are_never_timedelta_text(c):
    c.say(
        "#responsible Dave <dave@example.com>\n#propose hiatus\n"
        "Statement: Take a break.\nEnd of statement"
    )
    c.say("#agree", sender=BOB)
    c.say("#agree", sender=CAROL)
    c.say("#consult")
    c.say("#enact")  # too early: the refusal names consult_wait
    assert "5 days after #consult" in c.lines()[0][1]
    from archive.clocks import fire_due

    fire_due(c.db, c.settings, T0 + timedelta(days=6, hours=1))
    sent = mail(c, "alice@example.org", T0 + timedelta(days=6, hours=1))
    texts = [m.get_content() for m in sent] + [m.get_content() for m in c.relay.parsed()]
    assert not [t for t in texts if "0:00:00" in t]
    assert any("in 1 day the reporter" in " ".join(t.split()) for t in texts)
