"""The Executive Council decides an escalated case by mail, under its own rule (issue 9)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.cases import find_case, parties_of, set_conflicted
from archive.clocks import fire_due
from archive.outbox import due_mail
from archive.resolutions import open_proposal
from tests.committee import BOB, CAROL, reported
from tests.conftest import T0
from tests.helpers import deliver, outbox
from tests.test_appeals import COUNCIL

ERIN = "Erin Council <erin@example.org>"  # the council's chair
FRANK = "Frank Council <frank@example.org>"
GINA = "Gina Council <gina@example.org>"
REPORTS = "conduct@example.org"


@pytest.fixture
def committee(tmp_path):
    yield from reported(tmp_path, members=COUNCIL)


def council(c, text, sender=ERIN, days=9):
    """A council member's signed mail in the case's thread, to the reports address."""
    return c.say(text, sender=sender, to=REPORTS, now=T0 + timedelta(days=days))


def deadlock(c):
    c.say(
        "#responsible Dave Jones <dave@example.com>\n#propose hiatus\n"
        "Statement: Take a break.\nEnd of statement\n"
    )
    c.say("#object too harsh", sender=BOB)
    fire_due(c.db, c.settings, T0 + timedelta(days=7, minutes=1))
    assert find_case(c.db, "CoC-2026-001").state == "escalated"


def test_deadlock_to_council_to_resolution_by_mail(committee):
    c = committee
    deadlock(c)
    [told] = outbox(c.db, "reporter/council_has_case")
    assert told["audience"] == "party"
    assert "Dave" not in str(told["context"])  # the reporter hears nothing of the case's facts
    council(
        c,
        "#propose private-reprimand\n"
        "Statement: Please mind the code of conduct.\nEnd of statement\n",
        sender=FRANK,
    )
    assert c.transcript()["applied"], c.lines()
    council(c, "#agree", sender=GINA)  # a quorum of the free council: two of three
    assert "the council agreed" in c.lines()[-1][1]
    assert find_case(c.db, "CoC-2026-001").state == "escalated"
    council(c, "#consult", sender=FRANK)
    assert outbox(c.db, "reporter/proposed_resolution")
    council(c, "#enact", sender=FRANK)
    assert c.lines()[0][0] == "refused"  # the council's chair enacts
    council(c, "#enact", days=15)  # consult_wait (5 days) has passed
    assert c.transcript()["applied"], c.lines()
    case = find_case(c.db, "CoC-2026-001")
    assert case.state == "resolved"
    [reprimand] = outbox(c.db, "reported/private_reprimand")
    assert reprimand["context"]["chair_name"] == "Erin Council"
    assert reprimand["context"]["by_council"] is True  # "Chair, Executive Council"
    [notice] = outbox(c.db, "reporter/resolution_notice")
    assert notice["context"]["by_council"] is True
    assert outbox(c.db, "reporter/resolution_notice")


def test_the_committee_cannot_decide_while_the_council_holds_the_case(committee):
    c = committee
    deadlock(c)
    c.say("#propose no-action", now=T0 + timedelta(days=8))
    assert c.lines()[0] == (
        "refused",
        "the Executive Council has this case; it hands it back with #return",
    )
    c.say("#reopen", now=T0 + timedelta(days=8))
    assert "#return" in c.lines()[0][1]
    c.say("#note the council has it", sender=CAROL, now=T0 + timedelta(days=8))
    assert c.transcript()["applied"]


def test_the_council_chair_decides_alone_and_an_objection_blocks(committee):
    c = committee
    deadlock(c)
    council(c, "#propose no-action\nNo breach found.\n", sender=FRANK)
    council(c, "#object not yet", sender=ERIN)
    council(c, "#agree", sender=GINA)
    assert "waiting" in c.lines()[-1][1] or "agreed" not in c.lines()[-1][1]
    council(c, "#consult", sender=FRANK)
    assert c.lines()[0][0] == "refused"


def test_return_hands_the_case_back_to_the_committee(committee):
    c = committee
    deadlock(c)
    council(c, "#return\nThe committee has not heard the reported person yet.\n")
    assert c.transcript()["applied"], c.lines()
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"
    [back] = outbox(c.db, "committee/returned")
    assert "reported person" in back["context"]["reason"]
    c.say("#propose no-action", now=T0 + timedelta(days=10))
    assert c.transcript()["applied"]


def test_the_weekly_update_runs_on_while_the_council_has_the_case(committee):
    c = committee
    deadlock(c)
    before = len(outbox(c.db, "reporter/update"))
    fire_due(c.db, c.settings, T0 + timedelta(days=14, minutes=2))
    fire_due(c.db, c.settings, T0 + timedelta(days=21, minutes=3))
    assert len(outbox(c.db, "reporter/update")) == before + 2


def test_a_conflicted_council_member_cannot_decide(committee):
    c = committee
    deadlock(c)
    case = find_case(c.db, "CoC-2026-001")
    set_conflicted(c.db, case, ["gina@example.org"], T0)  # as a report naming her would
    council(c, "#propose no-action", sender=GINA)
    assert outbox(c.db, "committee/commands_refused")[-1]["to_addr"] == "gina@example.org"
    assert open_proposal(c.db, case.pk).resolution == "hiatus"
    council(c, "#propose no-action", sender=FRANK)
    council(c, "#agree", sender=ERIN)  # of two free council members, the chair decides
    assert "the council agreed" in c.lines()[-1][1]


def test_those_who_decide_read_the_reporters_feedback(committee):
    """While the council holds the case, what goes to the case's audience (the reporter's
    feedback, held mail) reaches the council too, and is not lost to the committee."""
    from mailer.recipients import resolve_copies

    c = committee
    deadlock(c)
    council(
        c,
        "#propose private-reprimand\n"
        "Statement: Please mind the code of conduct.\nEnd of statement\n",
    )
    council(c, "#consult")
    [reporter] = [p for p in parties_of(c.db, find_case(c.db, "CoC-2026-001"), "reporter")]
    raw = (
        f"From: rita@example.net\r\nTo: conduct+{reporter.token}@example.org\r\n"
        "Subject: Re: proposal\r\nMessage-ID: <fb-council@example.net>\r\n\r\nYes, fine.\r\n"
    ).encode()
    deliver(c.db, c.settings, raw, now=T0 + timedelta(days=10), sender="rita@example.net",
            to=(f"conduct+{reporter.token}@example.org",))  # fmt: skip
    now = T0 + timedelta(days=10)
    [item] = [i for i in due_mail(c.db, now, 1000) if i.template == "committee/followup"]
    to = {address for copy in resolve_copies(c.db, item, c.settings, now) for address in copy.to}
    assert to == {"conduct-committee@lists.example.org", "council@example.org"}
    [item] = [i for i in due_mail(c.db, now, 1000) if i.template == "committee/deadlock"]
    to = {address for copy in resolve_copies(c.db, item, c.settings, now) for address in copy.to}
    assert to == {"conduct-committee@lists.example.org"}  # the council has its own notice
