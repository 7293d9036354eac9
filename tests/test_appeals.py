"""Appeals: linked, acknowledged without leaking, reminded, decided by the council."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.cases import find_case
from archive.clocks import fire_due
from archive.db import open_archive
from archive.digest import digest_data
from tests.committee import Committee, dkim_settings, reported
from tests.conftest import MEMBERS, T0
from tests.helpers import TRUSTED, deliver, outbox, vouched
from tests.mailbuild import build, sign

APPEALS = "conduct-appeals@example.org"
COUNCIL = MEMBERS.replace(
    'email = "erin@example.org"', 'email = "erin@example.org"\nrole = "chair"'
) + (
    '\n[[council]]\nname = "Frank Council"\nemail = "frank@example.org"\n'
    '\n[[council]]\nname = "Gina Council"\nemail = "gina@example.org"\n'
)


@pytest.fixture
def committee(tmp_path):
    yield from reported(tmp_path, members=COUNCIL, extra=TRUSTED)


def appeal(c, sender="Rita Reporter <rita@example.net>", subject="Appeal [CoC-2026-001]",
           message_id="<appeal1@example.net>"):  # fmt: skip
    raw = build(sender=sender, to=APPEALS, subject=subject, body="I disagree with the outcome.\n",
                message_id=message_id)  # fmt: skip
    address = sender.split("<")[-1].rstrip(">")
    return deliver(c.db, c.settings, vouched(raw, address), now=T0 + timedelta(days=10),
                   sender=address, to=(APPEALS,))  # fmt: skip


def council_says(c, text, sender="Erin Council <erin@example.org>", when=timedelta(days=12)):
    raw = sign(build(sender=sender, to="conduct@example.org",
                     subject="Re: [CoC-2026-001] Appeal about a case", body=text,
                     message_id=f"<ec{abs(hash((text, sender)))}@example.org>"))  # fmt: skip
    address = sender.split("<")[-1].rstrip(">")
    return deliver(c.db, c.settings, raw, now=T0 + when, sender=address)


def test_appeal_from_the_reporter_is_linked_acknowledged_and_sent_to_the_council(committee):
    result = appeal(committee)
    assert (result.kind, result.case_ref) == ("appeal", "CoC-2026-001")
    [ack] = outbox(committee.db, "appellant/appeal_ack")
    assert ack["to_addr"] == "rita@example.net" and ack["context"]["case_ref"] == "CoC-2026-001"
    assert ack["context"]["due"] == "26 March 2026"  # received day 10, decided within 14 days
    [forward] = outbox(committee.db, "council/appeal")
    assert forward["audience"] == "council" and forward["context"]["by_party"] is True


def test_a_stranger_quoting_a_tag_learns_nothing(committee):
    appeal(committee, sender="Nosy <nosy@example.com>", message_id="<nosy@example.com>")
    [ack] = outbox(committee.db, "appellant/appeal_ack_generic")
    assert ack["context"]["case_ref"] is None and ack["to_addr"] == "nosy@example.com"
    assert outbox(committee.db, "appellant/appeal_ack") == []
    row = committee.db.execute(
        "SELECT case_pk FROM outbox WHERE message_id = ?", [ack["message_id"]]
    ).fetchone()
    assert row[0] is None  # no case tag in the subject, not in the case thread


def test_reminders_at_7_and_12_days_and_overdue_leads_the_digest(committee):
    appeal(committee)
    received = T0 + timedelta(days=10)
    fired = fire_due(committee.db, committee.settings, received + timedelta(days=7))
    assert [f.kind for f in fired].count("appeal-reminder") == 1
    fire_due(committee.db, committee.settings, received + timedelta(days=12))
    assert len(outbox(committee.db, "council/appeal_reminder")) == 2
    fire_due(committee.db, committee.settings, received + timedelta(days=14))
    assert outbox(committee.db, "council/appeal_overdue")
    data = digest_data(committee.db, committee.settings, received + timedelta(days=15))
    assert data["appeals"][0]["overdue"] is True


def test_council_chair_decides_and_everyone_is_told(committee):
    appeal(committee)
    council_says(committee, "#appeal overturn\nThe reprimand was too harsh; reconsider.")
    [decision] = outbox(committee.db, "appellant/appeal_decision")
    assert decision["to_addr"] == "rita@example.net"
    assert decision["context"]["decision"] == "overturn"
    assert outbox(committee.db, "committee/appeal_decision")
    assert find_case(committee.db, "CoC-2026-001").state == "deliberating"
    fired = fire_due(committee.db, committee.settings, T0 + timedelta(days=40))
    assert "appeal-reminder" not in [f.kind for f in fired]


def test_without_the_chair_a_quorum_decides(committee):
    appeal(committee)
    council_says(committee, "#appeal uphold\nThe committee acted fairly.",
                 sender="Frank Council <frank@example.org>")  # fmt: skip
    assert outbox(committee.db, "appellant/appeal_decision") == []
    council_says(committee, "#appeal uphold\nAgreed.", sender="Gina Council <gina@example.org>")
    assert outbox(committee.db, "appellant/appeal_decision")[0]["context"]["decision"] == "uphold"


def test_extend_tells_the_appellant(committee):
    appeal(committee)
    council_says(committee, "#appeal extend 2026-04-15")
    [extended] = outbox(committee.db, "appellant/appeal_extended")
    assert extended["context"]["until"] == "2026-04-15"


def test_committee_members_cannot_decide_appeals_nor_council_run_committee_commands(committee):
    appeal(committee)
    committee.say("#appeal uphold\nFine.")  # Alice is a committee member, not on the council
    assert outbox(committee.db, "appellant/appeal_decision") == []
    council_says(committee, "#urgent")
    assert not find_case(committee.db, "CoC-2026-001").urgent


def test_with_no_committee_the_council_acts_as_the_committee(tmp_path, relay):
    council_only = (
        '[[council]]\nname = "Erin Council"\nemail = "erin@example.org"\nrole = "chair"\n'
        '\n[[council]]\nname = "Frank Council"\nemail = "frank@example.org"\n'
    )
    settings = dkim_settings(tmp_path, relay_port=relay.port, members=council_only)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    from mailer.send import send_due

    send_due(db, settings, T0, holder="t", wall_clock=lambda: T0)
    assert relay.to("erin@example.org") and relay.to("frank@example.org")  # one by one
    c.say("#urgent", sender="Erin Council <erin@example.org>")
    assert find_case(db, "CoC-2026-001").urgent
    db.close()


def test_alternates_receive_what_a_wholly_conflicted_council_cannot(tmp_path, relay):
    people = MEMBERS + '\n[[alternates]]\nname = "Olga Ombud"\nemail = "ombud@example.net"\n'
    settings = dkim_settings(tmp_path, relay_port=relay.port, members=people)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    raw = (
        b"From: Rita <rita@example.net>\r\nTo: conduct@example.org\r\nSubject: council\r\n"
        b"Message-ID: <erin2@example.net>\r\n\r\nErin Council was rude to me.\r\n"
    )
    deliver(db, settings, raw, now=T0, sender="rita@example.net")
    c.say("#escalate the council member is involved")
    from mailer.send import send_due

    send_due(db, settings, T0, holder="t", wall_clock=lambda: T0)
    assert relay.to("erin@example.org") == []
    [escalation] = [m for m in relay.to("ombud@example.net") if "Executive Council" in m["Subject"]]
    assert "CoC-2026-001" in escalation["Subject"]
    db.close()


def test_an_unlinked_appeal_is_linked_by_merge(committee):
    result = appeal(committee, sender="Walter Witness <walter@example.com>",
                    subject="I want to appeal", message_id="<unlinked@example.com>")  # fmt: skip
    assert result.case_ref is None
    assert outbox(committee.db, "appellant/appeal_ack_generic")
    committee.say("#merge <unlinked@example.com>", now=T0 + timedelta(days=10))
    row = committee.db.execute("SELECT case_pk FROM appeals").fetchone()
    assert row[0] == find_case(committee.db, "CoC-2026-001").pk
    fired = fire_due(committee.db, committee.settings, T0 + timedelta(days=17, minutes=1))
    assert "appeal-reminder" in [f.kind for f in fired]


def test_token_mode_council_decides_through_their_own_reply_address(tmp_path, relay):
    from mailer.send import send_due

    settings = dkim_settings(tmp_path, relay_port=relay.port, members=COUNCIL,
                             command_auth="token", extra=TRUSTED)  # fmt: skip
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    appeal(c)
    send_due(db, settings, T0 + timedelta(days=10), holder="t",
             wall_clock=lambda: T0 + timedelta(days=10))  # fmt: skip
    [forward] = [m for m in relay.to("erin@example.org") if "Appeal" in m["Subject"]]
    token_address = forward["Reply-To"]
    assert token_address.startswith("conduct+") and relay.to("council@example.org") == []
    raw = build(sender="Erin Council <erin@example.org>", to=token_address,
                subject=f"Re: {forward['Subject']}", body="#appeal uphold\nFair.\n",
                message_id="<erin-token@example.org>")  # fmt: skip
    deliver(db, settings, raw, now=T0 + timedelta(days=11), sender="erin@example.org",
            to=(token_address,))  # fmt: skip
    assert outbox(db, "appellant/appeal_decision")[0]["context"]["decision"] == "uphold"
    db.close()


def test_a_forged_reporter_from_gets_only_the_generic_acknowledgement(committee):
    """From: the reporter, envelope: the attacker. Nothing names the case; nothing changes."""
    raw = build(sender="Rita Reporter <rita@example.net>", to=APPEALS, subject="Appeal",
                body="I appeal.\n", message_id="<forged-appeal@evil.example>")  # fmt: skip
    deliver(committee.db, committee.settings, raw, now=T0 + timedelta(days=10),
            sender="mallory@evil.example", to=(APPEALS,))  # fmt: skip
    assert outbox(committee.db, "appellant/appeal_ack") == []
    [generic] = outbox(committee.db, "appellant/appeal_ack_generic")
    assert generic["to_addr"] == "mallory@evil.example"
    assert generic["context"]["case_ref"] is None
    assert find_case(committee.db, "CoC-2026-001").state != "appealed"


# Issue 9: defects in appeals.


def unlinked(c):
    return appeal(c, sender="Walter Witness <walter@example.com>", subject="I want to appeal",
                  message_id="<unlinked@example.com>")  # fmt: skip


def test_an_unlinked_appeal_has_its_reminders_and_its_two_week_clock(committee):
    unlinked(committee)
    received = T0 + timedelta(days=10)
    fired = fire_due(committee.db, committee.settings, received + timedelta(days=7, minutes=1))
    assert [f.kind for f in fired].count("appeal-reminder") == 1
    fire_due(committee.db, committee.settings, received + timedelta(days=12, minutes=1))
    assert len(outbox(committee.db, "council/appeal_reminder")) == 2
    fire_due(committee.db, committee.settings, received + timedelta(days=14, minutes=1))
    [overdue] = outbox(committee.db, "council/appeal_overdue")
    assert overdue["in_reply_to"] == "<unlinked@example.com>"


def test_the_council_chair_answering_an_unlinked_appeal_decides_it_and_opens_no_case(committee):
    unlinked(committee)
    [notice] = outbox(committee.db, "council/appeal")
    raw = sign(build(sender="Erin Council <erin@example.org>", to="conduct@example.org",
                     subject="Re: Appeal (not linked to a case yet)",
                     body="#appeal uphold\nThe committee's decision stands.\n",
                     message_id="<erin-unlinked@example.org>", in_reply_to=notice["message_id"],
                     references=(notice["message_id"],)))  # fmt: skip
    result = deliver(committee.db, committee.settings, raw, now=T0 + timedelta(days=11),
                     sender="erin@example.org")  # fmt: skip
    assert result.case_ref is None and result.commands == "applied"
    assert committee.db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 1
    assert "erin@example.org" not in find_case(committee.db, "CoC-2026-001").conflicted
    [decision] = outbox(committee.db, "appellant/appeal_decision")
    assert decision["to_addr"] == "walter@example.com"
    assert decision["in_reply_to"] == "<unlinked@example.com>"
    fired = fire_due(committee.db, committee.settings, T0 + timedelta(days=40))
    assert not [f for f in fired if f.kind.startswith("appeal")]


def test_a_strangers_appeal_linked_by_merge_leaves_a_resolved_case_resolved(committee):
    # Test set-up: a case resolved long ago (the door's table has no shortcut to resolved).
    committee.db.execute("UPDATE cases SET state = 'resolved' WHERE ref = 'CoC-2026-001'")
    case = find_case(committee.db, "CoC-2026-001")
    unlinked(committee)
    committee.say("#merge <unlinked@example.com>", now=T0 + timedelta(days=10))
    assert committee.transcript()["applied"]
    assert find_case(committee.db, "CoC-2026-001").state == "resolved"
    assert committee.db.execute("SELECT case_pk FROM appeals").fetchone()[0] == case.pk
    fired = fire_due(committee.db, committee.settings, T0 + timedelta(days=17, minutes=1))
    assert [f.kind for f in fired].count("appeal-reminder") == 1  # moved, not doubled


def test_the_appellants_reply_to_the_acknowledgement_goes_to_the_council(committee, relay):
    from dataclasses import replace

    from mailer.send import send_due

    settings = replace(committee.settings, relay=replace(committee.settings.relay, port=relay.port))
    appeal(committee)
    now = T0 + timedelta(days=10)
    send_due(committee.db, settings, now, holder="t", wall_clock=lambda: now)
    [ack] = [m for m in relay.to("rita@example.net") if "ppeal" in m["Subject"]]
    assert ack["Reply-To"] == APPEALS
    raw = build(sender="Rita Reporter <rita@example.net>", to=APPEALS,
                subject=f"Re: {ack['Subject']}", body="One more thing about my appeal.\n",
                message_id="<rita-more@example.net>",
                in_reply_to=ack["Message-ID"], references=(ack["Message-ID"],))  # fmt: skip
    result = deliver(committee.db, committee.settings, raw, now=now + timedelta(hours=1),
                     sender="rita@example.net", to=(APPEALS,))  # fmt: skip
    assert result.kind == "appeal" and result.case_ref == "CoC-2026-001"
    [more] = outbox(committee.db, "council/appeal_followup")
    assert more["audience"] == "council" and "One more thing" in more["context"]["text"]
    assert committee.db.execute("SELECT COUNT(*) FROM appeals").fetchone()[0] == 1
    followups = [m for m in outbox(committee.db, "committee/followup") if "One more" in str(m)]
    assert followups == [] and len(outbox(committee.db, "appellant/appeal_ack")) == 1


def test_no_resolution_while_an_appeal_is_open(committee):
    c = committee
    c.say(
        "#responsible Dave Jones <dave@example.com>\n#propose hiatus\n"
        "Statement: Take a break.\nEnd of statement\n"
    )
    for who in ("Bob Member <bob@example.org>", "Carol Member <carol@example.org>"):
        c.say("#agree", sender=who)
    c.say("#consult")
    appeal(c)
    c.say("#enact", now=T0 + timedelta(days=11))
    assert c.lines()[0] == (
        "refused",
        "an appeal of this case is open: the council decides it first",
    )
    assert find_case(c.db, "CoC-2026-001").state != "resolved"


def test_no_close_while_an_appeal_is_open(committee):
    """An appeal of an open case is the council's to decide: #close waits for it too."""
    c = committee
    appeal(c)
    c.say("#close dealt with informally", now=T0 + timedelta(days=11))
    assert c.lines()[0] == (
        "refused",
        "an appeal of this case is open: the council decides it first",
    )
    assert find_case(c.db, "CoC-2026-001").state != "closed"
