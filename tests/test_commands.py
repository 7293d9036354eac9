"""Each command: its effect on the case, its transcript line and its audit entry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.cases import find_case, parties_of
from archive.resolutions import open_proposal, tally
from tests.committee import BOB, CAROL, reported
from tests.conftest import T0
from tests.helpers import events, outbox


@pytest.fixture
def committee(tmp_path):
    yield from reported(tmp_path)


def state(c):
    return find_case(c.db, "CoC-2026-001").state


def test_help_lists_every_command_from_the_modules(committee):
    committee.say("#help")
    [(status, detail)] = committee.lines()
    assert status == "done"
    for keyword in ("#assign", "#propose RESOLUTION", "#enact", "#to-reporter", "#merge"):
        assert keyword in detail


def test_status_shows_and_sets_only_open_states(committee):
    committee.say("#status")
    assert committee.lines() == [("done", "the case is received")]
    committee.say("#status deliberating")
    assert state(committee) == "deliberating"
    committee.say("#status resolved")
    assert committee.lines()[0][0] == "refused"
    assert "only through its own command" in committee.lines()[0][1]
    assert state(committee) == "deliberating"


def test_assign_moves_the_case_to_investigating(committee):
    committee.say("#assign bob@example.org")
    case = find_case(committee.db, "CoC-2026-001")
    assert case.assignee == "bob@example.org" and case.state == "investigating"
    assert committee.lines() == [("done", "assigned to Bob Member")]
    assert "assigned" in events(committee.db, "CoC-2026-001")
    committee.say("#assign mallory@evil.example")
    assert committee.lines()[0][0] == "refused"


def test_recuse_cuts_the_member_off(committee):
    committee.say("#recuse I know the reported person", sender=BOB)
    case = find_case(committee.db, "CoC-2026-001")
    assert case.recused == ("bob@example.org",)
    committee.say("#note bob again", sender=BOB)  # a recused member commands nothing
    assert "commands-refused" in events(committee.db, "CoC-2026-001")
    assert outbox(committee.db, "committee/commands_refused")[0]["to_addr"] == "bob@example.org"


def test_conflict_urgent_and_clear_urgent(committee):
    committee.say("#conflict carol@example.org\n#urgent threats in the chat")
    case = find_case(committee.db, "CoC-2026-001")
    assert case.conflicted == ("carol@example.org",) and case.urgent
    assert outbox(committee.db, "committee/urgent")[-1]["context"]["urgent_reasons"] == [
        "marked urgent by Alice Chair: threats in the chat"
    ]
    committee.say("#clear-urgent")
    assert not find_case(committee.db, "CoC-2026-001").urgent
    assert "urgent-cleared" in events(committee.db, "CoC-2026-001")


def test_note_summary_violation_responsible(committee):
    committee.say("#note Rita prefers mail to calls")
    committee.say("#summary\nCall with Rita on Tuesday: she is safe, wants a private reprimand.")
    committee.say("#violation yes\n#responsible Dave Jones <dave@example.com>")
    rows = committee.db.execute(
        "SELECT action, detail FROM events WHERE action IN ('note', 'call-summary') ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == ["note", "call-summary"]
    assert "wants a private reprimand" in rows[1][1]
    case = find_case(committee.db, "CoC-2026-001")
    assert case.violation == "yes"
    [reported] = parties_of(committee.db, case, "reported")
    assert (reported.name, reported.email) == ("Dave Jones", "dave@example.com")


def test_votes_belong_to_one_proposal_and_a_new_proposal_starts_a_new_tally(committee):
    committee.say("#propose hiatus\nStatement: Please take two weeks off.\nEnd of statement")
    committee.say("#agree", sender=BOB)
    proposal = open_proposal(committee.db, find_case(committee.db, "CoC-2026-001").pk)
    assert tally(committee.db, proposal) == {
        "alice@example.org": "agree",
        "bob@example.org": "agree",
    }
    assert "waiting for 1 member" in committee.lines()[0][1]
    committee.say(
        "#propose private-reprimand\nStatement: Your messages were hostile.\nEnd of statement",
        sender=CAROL,
    )
    proposal = open_proposal(committee.db, find_case(committee.db, "CoC-2026-001").pk)
    assert proposal.resolution == "private-reprimand"
    assert tally(committee.db, proposal) == {"carol@example.org": "agree"}
    committee.say("#object too harsh", sender=BOB)
    committee.say("#abstain")
    assert "consensus" not in committee.lines()[0][1]
    committee.say("#agree", sender=BOB)
    assert "consensus reached" in committee.lines()[0][1]
    assert state(committee) == "resolution-proposed"


def test_propose_checks_the_ladder(committee):
    committee.say("#propose public-shaming")
    assert "unknown resolution" in committee.lines()[0][1]
    committee.say("#propose temporary-ban forever")
    assert "needs a duration" in committee.lines()[0][1]
    committee.say("#propose public-reprimand")
    assert "venue's address" in committee.lines()[0][1]


def test_unknown_command_gets_did_you_mean_and_nothing_runs(committee):
    committee.say("#note first\n#agre")
    lines = committee.lines()
    assert lines[0] == ("not run", "all or none")
    assert lines[1] == ("refused", "unknown command #agre; did you mean #agree?")
    assert "note" not in events(committee.db, "CoC-2026-001")
    assert committee.transcript()["applied"] is False


def test_all_or_none_when_a_later_command_is_refused(committee):
    committee.say("#urgent\n#assign nobody@example.org")
    assert not find_case(committee.db, "CoC-2026-001").urgent
    assert committee.lines()[0] == ("not run", "all or none")


def test_same_message_twice_changes_nothing_twice(committee):
    raw = committee.message("#note only once", message_id="<once@example.org>")
    committee.say("", raw=raw)
    again = committee.say("", raw=raw)
    assert again.duplicate
    notes = [e for e in events(committee.db, "CoC-2026-001") if e == "note"]
    assert notes == ["note"] and len(outbox(committee.db, "committee/command_result")) == 1


def test_consult_requires_consensus_and_reaches_the_reporter(committee):
    committee.say("#consult")
    assert "no open proposal" in committee.lines()[0][1]
    committee.say("#propose private-reprimand\nStatement: Statement.\nEnd of statement")
    committee.say("#consult")
    assert "not agreed" in committee.lines()[0][1]
    committee.say("#agree", sender=BOB)
    committee.say("#agree", sender=CAROL)
    committee.say("#consult")
    assert state(committee) == "reporter-consulted"
    [consult] = outbox(committee.db, "reporter/proposed_resolution")
    assert consult["context"]["resolution"] == "private-reprimand"
    assert "Statement." not in str(consult["context"])  # the statement is for the person


def agreed(committee, resolution="private-reprimand", statement="Your messages were hostile."):
    committee.say("#violation yes\n#responsible Dave Jones <dave@example.com>")
    committee.say(f"#propose {resolution}\nStatement: {statement}\nEnd of statement")
    committee.say("#agree", sender=BOB)
    committee.say("#agree", sender=CAROL)
    committee.say("#consult")


def test_enact_is_the_chairs_and_waits_for_feedback_or_the_wait(committee):
    agreed(committee)
    committee.say("#enact", sender=BOB)
    assert "only the chair" in committee.lines()[0][1]
    committee.say("#enact")
    assert "no feedback from the reporter yet" in committee.lines()[0][1]
    committee.say("#enact", now=T0 + timedelta(days=5, minutes=1))
    assert committee.lines()[0][0] == "done"
    assert state(committee) == "resolved"
    templates = [q["template"] for q in outbox(committee.db)]
    for expected in (
        "reported/private_reprimand",
        "committee/resolution_copy",
        "reporter/resolution_notice",
        "council/resolution_report",
    ):
        assert expected in templates
    reprimand = outbox(committee.db, "reported/private_reprimand")[0]
    assert reprimand["context"]["statement"] == "Your messages were hostile."
    assert "rita" not in str(reprimand["context"]).lower()


def test_reporter_feedback_allows_enact_and_no_contact_is_honoured(committee):
    agreed(committee, "apology-request", "Please apologise.")
    token = parties_of(committee.db, find_case(committee.db, "CoC-2026-001"), "reporter")[0].token
    reply = (
        b"From: Rita Reporter <rita@example.net>\r\nTo: conduct+" + token.encode() +
        b"@example.org\r\nSubject: Re: proposal\r\nMessage-ID: <fb1@example.net>\r\n\r\n"
        b"No. Please do not contact me again.\r\n"
    )  # fmt: skip
    from tests.helpers import deliver

    deliver(committee.db, committee.settings, reply, now=T0,
            to=(f"conduct+{token}@example.org",))  # fmt: skip
    reporter = parties_of(committee.db, find_case(committee.db, "CoC-2026-001"), "reporter")[0]
    assert reporter.no_contact and reporter.consent == "declined"
    assert len(outbox(committee.db, "reporter/no_contact_confirmed")) == 1
    committee.say("#enact")
    assert "needs the reporter's explicit agreement" in committee.lines()[0][1]
    assert "feedback-received" in events(committee.db, "CoC-2026-001")


def test_to_reporter_sends_only_the_body_from_the_committee(committee):
    committee.say("#to-reporter\nThank you, we are looking into it.\n\n-- \nAlice Chair\n")
    [mail] = outbox(committee.db, "reporter/message")
    assert mail["context"]["text"] == "Thank you, we are looking into it."
    assert mail["audience"] == "party"


def test_escalate_close_reopen(committee):
    committee.say("#escalate we deadlocked")
    assert state(committee) == "escalated"
    assert outbox(committee.db, "council/escalation")[0]["audience"] == "council"
    committee.say("#close handled by the council")
    assert state(committee) == "closed"
    committee.say("#reopen")
    assert state(committee) == "investigating"


def test_merge_and_unmerge(committee):
    committee.report("checklist_report.eml", sender="chris@example.net")
    committee.say("#merge CoC-2026-002")
    assert find_case(committee.db, "CoC-2026-002").state == "closed"
    count = committee.db.execute(
        "SELECT COUNT(*) FROM messages WHERE case_pk = (SELECT id FROM cases WHERE ref = ?)",
        ["CoC-2026-001"],
    ).fetchone()[0]
    assert count >= 2
    committee.say("#unmerge CoC-2026-002")
    assert find_case(committee.db, "CoC-2026-002").state == "received"


def test_merge_takes_in_held_mail(committee):
    from tests.helpers import deliver

    stray = (
        b"From: Stranger <stranger@example.com>\r\nTo: conduct@example.org\r\n"
        b"Subject: about [CoC-2026-001]\r\nMessage-ID: <stray@example.com>\r\n\r\nI saw it.\r\n"
    )
    held = deliver(committee.db, committee.settings, stray, now=T0, sender="stranger@example.com")
    assert held.held_reason
    committee.say("#merge <stray@example.com>")
    row = committee.db.execute(
        "SELECT held, case_pk FROM messages WHERE message_id = '<stray@example.com>'"
    ).fetchone()
    assert row[0] == 0 and row[1] is not None


def test_send_template_to_a_party(committee):
    committee.say("#send missing-information to reporter")
    assert outbox(committee.db, "reporter/missing_information")[0]["audience"] == "party"
    committee.say("#send private-reprimand to reported")
    assert "unknown template" in committee.lines()[0][1]


def test_consult_reaches_other_affected_parties_and_records_their_feedback(committee):
    committee.say("#propose private-reprimand\nStatement: Statement.\nEnd of statement")
    committee.say("#agree", sender=BOB)
    committee.say("#agree", sender=CAROL)
    committee.say("#consult wendy@example.net")
    consulted = committee.db.execute(
        "SELECT p.role, p.email FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'reporter/proposed_resolution' ORDER BY p.role"
    ).fetchall()
    assert consulted == [("affected", "wendy@example.net"), ("reporter", "rita@example.net")]
    [wendy] = parties_of(committee.db, find_case(committee.db, "CoC-2026-001"), "affected")
    from tests.helpers import deliver

    reply = (
        f"From: wendy@example.net\r\nTo: conduct+{wendy.token}@example.org\r\nSubject: Re: x\r\n"
        "Message-ID: <wendy-fb@example.net>\r\n\r\nYes, that seems right.\r\n"
    ).encode()
    deliver(committee.db, committee.settings, reply, now=T0, sender="wendy@example.net",
            to=(f"conduct+{wendy.token}@example.org",))  # fmt: skip
    assert "feedback-received" in events(committee.db, "CoC-2026-001")


def _reporter_reply(committee, body: bytes, message_id: bytes) -> None:
    """The reporter answers the proposal from their client, quoting it under their words."""
    from tests.helpers import deliver

    reporter = parties_of(committee.db, find_case(committee.db, "CoC-2026-001"), "reporter")[0]
    quote = (
        b"\r\nOn Mon, 2 Mar 2026 at 12:00, Code of Conduct Committee wrote:\r\n"
        b"> If you decline, or want no further contact, tell us: we will not\r\n"
        b"> contact you again. Do you agree? No answer means we wait.\r\n"
    )
    raw = (
        b"From: Rita Reporter <rita@example.net>\r\nTo: conduct+" + reporter.token.encode()
        + b"@example.org\r\nSubject: Re: proposal\r\nMessage-ID: <" + message_id
        + b"@example.net>\r\n\r\n" + body + b"\r\n" + quote
    )  # fmt: skip
    deliver(committee.db, committee.settings, raw, now=T0,
            to=(f"conduct+{reporter.token}@example.org",))  # fmt: skip


def _reporter(committee):
    return parties_of(committee.db, find_case(committee.db, "CoC-2026-001"), "reporter")[0]


def test_consent_is_read_from_the_reporters_own_words_not_the_quoted_proposal(committee):
    agreed(committee, "apology-request", "Please apologise.")
    _reporter_reply(committee, b"No problem, go ahead.", b"fb-yes")
    reporter = _reporter(committee)
    assert reporter.consent == "agreed" and not reporter.no_contact
    committee.say("#enact")
    assert committee.lines()[0][0] == "done"
    assert outbox(committee.db, "reporter/resolution_notice")  # not silenced


def test_no_further_contact_with_him_is_not_a_wish_to_silence_the_reporter(committee):
    agreed(committee, "apology-request", "Please apologise.")
    _reporter_reply(committee, b"Yes. I want no further contact with him.", b"fb-him")
    reporter = _reporter(committee)
    assert reporter.consent == "agreed" and not reporter.no_contact
    assert outbox(committee.db, "reporter/no_contact_confirmed") == []


def test_an_unclear_answer_is_feedback_and_the_committee_asked_to_confirm(committee):
    agreed(committee, "apology-request", "Please apologise.")
    _reporter_reply(committee, b"I guess, but he should also leave the channel.", b"fb-unclear")
    assert _reporter(committee).consent is None
    notice = outbox(committee.db, "committee/followup")[-1]
    assert notice["context"]["feedback"]["unclear"] is True
    committee.say("#enact")
    assert "needs the reporter's explicit agreement" in committee.lines()[0][1]
