"""Mediation: voluntary, the candidate mediator and the reporter first, a common mediator, two
weeks (or more, by #mediation extend), a report each party vets, everyone told the decision."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from archive.record.cases import find_case, parties_of
from archive.record.db import open_archive
from archive.workflow.clock_sweep import fire_due
from archive.workflow.mediation import current_mediation
from tests.support.base import T0
from tests.support.committee import BOB, CAROL, Committee, dkim_settings
from tests.support.helpers import deliver, outbox


@pytest.fixture
def committee(tmp_path):
    settings = dkim_settings(tmp_path)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    c.say("#responsible Dave Jones <dave@example.com>")
    yield c
    db.close()


def reply_as(c, role: str, text: str, n: int):
    case = find_case(c.db, "CoC-2026-001")
    party = parties_of(c.db, case, role)[0]
    raw = (
        f"From: {party.email}\r\nTo: conduct+{party.token}@example.org\r\n"
        "Subject: Re: mediation\r\n"
        f"Message-ID: <med{n}@example.net>\r\n\r\n{text}\r\n"
    ).encode()
    return deliver(c.db, c.settings, raw, now=T0 + timedelta(hours=n), sender=party.email,
                   to=(f"conduct+{party.token}@example.org",))  # fmt: skip


def invited(c) -> list[str]:
    rows = c.db.execute(
        "SELECT p.role FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'party/mediation_invitation' ORDER BY o.id"
    )
    return [r[0] for r in rows]


def test_reporter_first_then_reported_then_settled_with_reminders_and_report(committee):
    c = committee
    c.say("#mediation propose Max Mediator <max@example.net>")
    assert find_case(c.db, "CoC-2026-001").state == "mediation"
    assert invited(c) == []  # the candidate mediator is asked first
    assert len(outbox(c.db, "mediator/invitation")) == 1
    reply_as(c, "mediator", "Yes, happy to help.", 0)
    assert invited(c) == ["reporter"]  # the reported person is not asked yet
    reply_as(c, "reporter", "Yes, I am willing to try.", 1)
    assert invited(c) == ["reporter", "reported"]
    reply_as(c, "reported", "yes", 2)
    mediation = current_mediation(c.db, find_case(c.db, "CoC-2026-001"))
    assert mediation.status == "settled"
    assert outbox(c.db, "mediator/brief")
    fired = fire_due(c.db, c.settings, T0 + timedelta(days=8))
    assert "mediation-reminder" in [f.kind for f in fired]
    reminded = {row[0] for row in c.db.execute(
        "SELECT COALESCE(p.role, o.audience) FROM outbox o LEFT JOIN parties p"
        " ON p.id = o.party_pk WHERE o.template IN ('mediator/reminder',"
        " 'committee/mediation_update') AND o.created_at > '2026-03-09'")}  # fmt: skip
    assert reminded == {"mediator", "committee"}  # never the parties
    [reminder] = outbox(c.db, "mediator/reminder")
    assert re.fullmatch(r"\d{1,2} March 2026", reminder["context"]["due"])  # a date, as written
    reply_as(
        c,
        "mediator",
        "#mediation report\nBoth agreed to keep it technical. Recommend no action.",
        200,
    )
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"
    vetting = {row[0] for row in c.db.execute(
        "SELECT p.role FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'party/mediation_report'")}  # fmt: skip
    assert vetting == {"reporter", "reported"}
    later = fire_due(c.db, c.settings, T0 + timedelta(days=31))
    assert "mediation-reminder" not in [f.kind for f in later]  # the report ended the clock


def test_a_decline_ends_it_without_asking_anyone_else(committee):
    c = committee
    c.say("#mediation propose Max <max@example.net>")
    reply_as(c, "mediator", "yes", 0)
    reply_as(c, "reporter", "No, thank you.", 1)
    assert invited(c) == ["reporter"]
    assert sent_to(c, "mediator/not_needed") == ["max@example.net"]
    assert current_mediation(c.db, find_case(c.db, "CoC-2026-001")) is None
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"


def test_a_counter_proposed_mediator_needs_both_to_agree(committee):
    """The reported person proposes Nina: they agreed to her; the reporter is asked, then Nina
    herself; only then is she settled."""
    c = committee
    c.say("#mediation propose Max <max@example.net>")
    reply_as(c, "mediator", "yes", 0)
    reply_as(c, "reporter", "yes", 1)
    reply_as(c, "reported", "Mediator: Nina Neutral <nina@example.net>", 2)
    mediation = current_mediation(c.db, find_case(c.db, "CoC-2026-001"))
    assert (mediation.mediator, mediation.status) == ("nina@example.net", "asking-reporter")
    assert invited(c) == ["reporter", "reported", "reporter"]
    reply_as(c, "reporter", "yes, Nina is fine", 3)
    assert current_mediation(c.db, find_case(c.db, "CoC-2026-001")).status == "asking-mediator"
    assert sent_to(c, "mediator/invitation") == ["max@example.net", "nina@example.net"]
    c.say("#mediation agree mediator", now=T0 + timedelta(hours=4))
    assert current_mediation(c.db, find_case(c.db, "CoC-2026-001")).status == "settled"
    assert sent_to(c, "mediator/brief") == ["nina@example.net"]


def sent_to(c, template: str) -> list[str]:
    rows = c.db.execute(
        "SELECT p.email FROM outbox o JOIN parties p ON p.id = o.party_pk WHERE o.template = ?"
        " ORDER BY o.id",
        [template],
    )
    return [r[0] for r in rows]


def settle(c) -> None:
    c.say("#mediation propose Max Mediator <max@example.net>")
    reply_as(c, "mediator", "Yes, happy to help.", 0)
    reply_as(c, "reporter", "Yes, I am willing to try.", 1)
    reply_as(c, "reported", "yes", 2)


def shown(template: str, context: dict) -> str:
    from mailer.render import make_environment, render_template

    out = render_template(make_environment(), template, {"committee_name": "CoC", **context})
    return f"{out.subject}\n{out.text}"


def test_a_mediators_question_is_not_the_report(committee):
    c = committee
    settle(c)
    reply_as(c, "mediator", "May I have more time? Dave is travelling.", 3)
    assert outbox(c.db, "party/mediation_report") == []
    assert find_case(c.db, "CoC-2026-001").state == "mediation"
    assert "May I have more time?" in outbox(c.db, "committee/followup")[-1]["context"]["text"]
    reply_as(c, "mediator", "Report:\nThey talked and agreed to keep it civil.", 4)
    reports = outbox(c.db, "party/mediation_report")
    assert {r["context"]["report"] for r in reports} == {"They talked and agreed to keep it civil."}
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"


def test_a_reply_the_mediator_titles_as_the_report_is_the_report():
    from archive.workflow.mediation import report_from_mediator

    assert report_from_mediator("All went well.", "Re: Mediation report") == "All went well."
    assert report_from_mediator("#mediation report\nAll went well.", "Re: x") == "All went well."
    assert report_from_mediator("Can we talk first?", "Re: Mediation: the parties agreed") is None


def test_the_brief_names_the_parties_and_both_parties_are_told(committee):
    c = committee
    settle(c)
    [brief] = outbox(c.db, "mediator/brief")
    assert brief["status"] == "queued"  # the leak guard lets the parties' names through
    text = shown("mediator/brief", brief["context"])
    assert "dave@example.com" in text and "rita@example.net" in text
    assert "#mediation report" in text
    told = outbox(c.db, "party/mediation_agreed")
    roles = {row[0] for row in c.db.execute(
        "SELECT p.role FROM outbox o JOIN parties p ON p.id = o.party_pk"
        " WHERE o.template = 'party/mediation_agreed'")}  # fmt: skip
    assert roles == {"reporter", "reported"} and len(told) == 2
    text = shown("party/mediation_agreed", told[0]["context"])
    assert "Both parties have agreed to mediation" in text and "Max Mediator" in text
    assert "16 March 2026" in text


def test_an_overdue_mediation_is_raised_with_the_committee(committee):
    c = committee
    settle(c)
    fire_due(c.db, c.settings, T0 + timedelta(days=14, hours=3))
    updates = [u["context"]["what"] for u in outbox(c.db, "committee/mediation_update")]
    assert any(w.startswith("overdue: no report from the mediator") for w in updates)
    assert not [r for r in outbox(c.db, "mediator/reminder") if "overdue" in str(r["context"])]


def test_a_question_that_starts_with_report_is_not_the_report():
    """Only a marker line is the mark ("Report:", "Report" alone, "#mediation report"): a
    mediator's "Report not ready yet, may I have more time?" goes to the committee only."""
    from archive.workflow.mediation import report_from_mediator

    subject = "Re: [CoC-2026-001] Mediation: due by 9 December 2026"
    for text in (
        "Report not ready yet, sorry: may I have more time?",
        "Report is late. May I have two more days?",
        "Reporting back soon; Dave is travelling.",
    ):
        assert report_from_mediator(text, subject) is None, text
    assert report_from_mediator("Report: They agreed.", subject) == "They agreed."
    assert report_from_mediator("Report\nThey agreed.", subject) == "They agreed."
    assert report_from_mediator("Mediation report:\nThey agreed.", subject) == "They agreed."
    assert report_from_mediator("#mediation report They agreed.", subject) == "They agreed."
    assert report_from_mediator("#Mediation_Report:\nThey agreed.", subject) == "They agreed."


# -- issue 20 item 10: mediation as the manual says ------------------------------------------


def answer(c, role: str, template: str, text: str, hours: float, email: str | None = None):
    """`role`'s reply to the last `template` mail casebook sent them, quoting it as mail
    clients do (In-Reply-To, References, the quote below an attribution line)."""
    case = find_case(c.db, "CoC-2026-001")
    party = next(p for p in parties_of(c.db, case, role) if email is None or p.email == email)
    [sent] = c.db.execute(
        "SELECT message_id, context FROM outbox WHERE template = ? AND party_pk = ?"
        " ORDER BY id DESC LIMIT 1",
        [template, party.pk],
    ).fetchall()
    reply_to = f"conduct+{party.token}@example.org"
    raw = (
        f"From: {party.email}\r\nTo: {reply_to}\r\nSubject: Re: [CoC-2026-001] mediation\r\n"
        f"Message-ID: <answer{hours}@{party.email.split('@')[1]}>\r\n"
        f"In-Reply-To: {sent[0]}\r\nReferences: {sent[0]}\r\n\r\n{text}\r\n\r\n"
        f"On Mon, 2 Mar 2026, the committee <conduct@example.org> wrote:\r\n"
        "> The committee thinks mediation might help with case CoC-2026-001.\r\n"
    ).encode()
    return deliver(c.db, c.settings, raw, now=T0 + timedelta(hours=hours), sender=party.email,
                   to=(reply_to,))  # fmt: skip


def mediation_of(c):
    return current_mediation(c.db, find_case(c.db, "CoC-2026-001"))


def test_the_candidate_mediator_is_asked_first_and_can_decline(committee):
    """Manual: "Find a candidate who can serve as a mediator": nobody else is asked before they
    agree, and their no ends it (the committee may propose another)."""
    c = committee
    c.say("#mediation propose Max Mediator <max@example.net>")
    assert sent_to(c, "mediator/invitation") == ["max@example.net"]
    assert invited(c) == [] and outbox(c.db, "mediator/brief") == []
    answer(c, "mediator", "mediator/invitation", "No, sorry: I am away all of March.", 1)
    assert mediation_of(c) is None and invited(c) == []
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"
    assert outbox(c.db, "mediator/not_needed") == []  # his own no: nothing to tell him
    updates = [u["context"]["what"] for u in outbox(c.db, "committee/mediation_update")]
    assert updates == [
        "the candidate mediator declined; #mediation propose another, if the committee wishes"
    ]
    c.say("#mediation propose Nora Neutral <nora@example.net>", now=T0 + timedelta(hours=2))
    assert sent_to(c, "mediator/invitation") == ["max@example.net", "nora@example.net"]


def test_a_counter_proposal_in_plain_words_is_understood(committee):
    c = committee
    c.say("#mediation propose Max Mediator <max@example.net>")
    answer(c, "mediator", "mediator/invitation", "Yes, happy to.", 1)
    answer(c, "reporter", "party/mediation_invitation",
           "I'd be glad to try, but could it be Nora Neutral instead? nora@neutral.example",
           2)  # fmt: skip
    mediation = mediation_of(c)
    assert (mediation.mediator, mediation.mediator_name) == ("nora@neutral.example",
                                                             "Nora Neutral")  # fmt: skip
    assert mediation.reporter_answer == "agreed" and mediation.status == "asking-reported"
    [dave] = [r for r in outbox(c.db, "party/mediation_invitation")][-1:]
    assert dave["context"]["mediator"] == "Nora Neutral"
    notice = outbox(c.db, "committee/followup")[-1]["context"]["mediation"]
    assert notice["mediator"] == "Nora Neutral <nora@neutral.example>"
    assert sent_to(c, "mediator/not_needed") == ["max@example.net"]  # he agreed: told
    answer(c, "reported", "party/mediation_invitation", "Yes, Nora is fine with me.", 3)
    assert sent_to(c, "mediator/invitation") == ["max@example.net", "nora@neutral.example"]
    answer(c, "mediator", "mediator/invitation", "Yes.", 4, email="nora@neutral.example")
    assert mediation_of(c).status == "settled"
    assert sent_to(c, "mediator/brief") == ["nora@neutral.example"]


def test_an_answer_that_is_neither_yes_no_nor_an_address_is_asked_about(committee):
    c = committee
    c.say("#mediation propose Max Mediator <max@example.net>")
    answer(c, "mediator", "mediator/invitation", "Yes, happy to.", 1)
    answer(c, "reporter", "party/mediation_invitation",
           "Could it be Nora Neutral instead? She knows us both.", 2)  # fmt: skip
    assert mediation_of(c).status == "asking-reporter"  # nothing guessed
    [asked] = outbox(c.db, "party/mediation_unclear")
    assert asked["context"]["someone_else"] is True
    text = shown("party/mediation_unclear", asked["context"])
    assert "name and email address" in text and "Max Mediator" in text
    notice = outbox(c.db, "committee/followup")[-1]["context"]["mediation"]
    assert notice == {"unclear": True, "asked": True}
    answer(c, "reporter", "party/mediation_unclear",
           "Sorry! Nora Neutral <nora@neutral.example>", 3)  # fmt: skip
    assert mediation_of(c).mediator == "nora@neutral.example"
    assert len(outbox(c.db, "party/mediation_unclear")) == 1


def test_the_mediations_deadline_is_extended_by_a_command(committee):
    c = committee
    settle(c)
    c.say("#mediation extend 1w", now=T0 + timedelta(days=10))
    assert "now due by 23 March 2026" in c.lines()[-1][1]
    [to_max] = outbox(c.db, "mediator/extended")
    assert to_max["context"]["due"] == "23 March 2026"
    assert {r["context"]["due"] for r in outbox(c.db, "party/mediation_extended")} == {
        "23 March 2026"
    }
    assert len(outbox(c.db, "party/mediation_extended")) == 2  # the reporter and Dave
    fire_due(c.db, c.settings, T0 + timedelta(days=14, hours=6))  # the old date passes quietly
    assert not [u for u in outbox(c.db, "committee/mediation_update")
                if u["context"]["what"].startswith("overdue")]  # fmt: skip
    fire_due(c.db, c.settings, T0 + timedelta(days=19, hours=6))  # two days before: a reminder
    assert outbox(c.db, "mediator/reminder")[-1]["context"]["due"] == "23 March 2026"
    fire_due(c.db, c.settings, T0 + timedelta(days=21, hours=6))
    overdue = [u["context"]["what"] for u in outbox(c.db, "committee/mediation_update")
               if u["context"]["what"].startswith("overdue")]  # fmt: skip
    assert overdue == ["overdue: no report from the mediator by 23 March 2026"]
    c.say("#mediation extend 2020-01-01", now=T0 + timedelta(days=24))
    assert c.lines()[-1][0] == "refused"


def test_the_report_reaches_the_committee_once(committee):
    """The mediator's report used to reach every member twice: as the mediator's mail and as a
    "report arrived" update carrying the same text."""
    c = committee
    settle(c)
    before = len(outbox(c.db))
    answer(c, "mediator", "mediator/brief", "Report:\nThey met and agreed to keep it civil.", 9)
    to_committee = [m for m in outbox(c.db)[before:] if m["audience"] == "committee"]
    assert [m["template"] for m in to_committee] == ["committee/followup"]
    text = shown("committee/followup", to_committee[0]["context"])
    assert text.startswith("The mediator's report arrived\n")
    assert text.count("agreed to keep it civil") == 1 and "to vet" in text


def test_each_partys_vetting_is_recorded_and_corrections_kept_with_the_report(committee):
    from archive.record.queries import vettings_of

    c = committee
    settle(c)
    answer(c, "mediator", "mediator/brief", "Report:\nThey met and agreed to keep it civil.", 9)
    answer(c, "reporter", "party/mediation_report", "That's right, thank you.", 10)
    first = outbox(c.db, "committee/followup")[-1]["context"]["mediation"]["vetting"]
    assert (first["verdict"], first["all_vetted"]) == ("confirmed", False)
    answer(c, "reported", "party/mediation_report",
           "Mostly right, but I never called the chat hostile: it was tense.", 11)  # fmt: skip
    second = outbox(c.db, "committee/followup")[-1]["context"]
    assert second["mediation"]["vetting"]["all_vetted"] is True
    text = shown("committee/followup", second)
    assert "kept with it as corrections" in text and "Every party has now vetted" in text
    assert "agreed to keep it civil" in text and "it was tense" in text
    [kept] = vettings_of(c.db, find_case(c.db, "CoC-2026-001"))
    assert kept["report"] == "They met and agreed to keep it civil."
    assert [(v["role"], v["verdict"]) for v in kept["vettings"]] == [
        ("reporter", "confirmed"), ("reported", "corrections"),
    ]  # fmt: skip
    assert "it was tense" in kept["vettings"][1]["text"]
    assert "On Mon, 2 Mar 2026" not in kept["vettings"][1]["text"]  # their words, not the quote
    from archive.record.queries import case_detail
    from casebook.commands.show import render_case_text

    shown_case = render_case_text(case_detail(c.db, find_case(c.db, "CoC-2026-001")))
    assert "mediation with max@example.net (reported):" in shown_case
    assert "  vetted by the reporter: confirmed" in shown_case
    assert "  vetted by the reported: corrections\n    Mostly right" in shown_case
    assert find_case(c.db, "CoC-2026-001").state == "deliberating"


def test_after_the_committee_decides_both_parties_and_the_mediator_are_told(committee):
    c = committee
    settle(c)
    answer(c, "mediator", "mediator/brief", "Report:\nThey met and agreed to keep it civil.", 9)
    c.say("#propose no-action\nThe mediation resolved it.", now=T0 + timedelta(days=9))
    c.say("#agree", sender=BOB, now=T0 + timedelta(days=9))
    c.say("#agree", sender=CAROL, now=T0 + timedelta(days=9))
    c.say("#consult", now=T0 + timedelta(days=9))
    c.say("#enact", now=T0 + timedelta(days=16))
    assert find_case(c.db, "CoC-2026-001").state == "resolved"
    assert len(outbox(c.db, "reporter/resolution_notice")) == 1  # the reporter's own notice
    assert sent_to(c, "party/mediation_decided") == ["dave@example.com"]
    [decided] = outbox(c.db, "party/mediation_decided")
    assert "no further action" in shown("party/mediation_decided", decided["context"])
    assert sent_to(c, "mediator/decided") == ["max@example.net"]


def test_a_mediated_case_closed_tells_both_parties_and_the_mediator(committee):
    c = committee
    settle(c)
    answer(c, "mediator", "mediator/brief", "Report:\nThey met and agreed to keep it civil.", 9)
    c.say("#close resolved by the mediation", now=T0 + timedelta(days=10))
    assert sent_to(c, "party/mediation_decided") == ["rita@example.net", "dave@example.com"]
    [first, _] = outbox(c.db, "party/mediation_decided")
    text = shown("party/mediation_decided", first["context"])
    assert "closed the case, with no further action" in text and "resolved by" not in text
    assert sent_to(c, "mediator/decided") == ["max@example.net"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Could it be Nora Neutral instead? nora@neutral.example",
         (None, ("nora@neutral.example", "Nora Neutral"))),
        ("Yes, but I would prefer Nora Neutral <nora@neutral.example>.",
         (None, ("nora@neutral.example", "Nora Neutral"))),
        ("How about nora@neutral.example?", (None, ("nora@neutral.example", None))),
        ("Mediator: Nina <nina@example.net>", (None, ("nina@example.net", "Nina"))),
        ("Yes please.", ("agreed", None)),
        ("No, thank you.", ("declined", None)),
        # An address in a signature, or the party's own, proposes nobody.
        ("Yes, happy to.\nDave Jones | dave@work.example", ("agreed", None)),
        ("Yes, I'd rather do it by mail: rita@example.net", ("agreed", None)),
        ("What does mediation involve?", (None, None)),
    ],
)  # fmt: skip
def test_an_answer_in_plain_words(text, expected):
    from archive.workflow.mediation import answer_from_reply

    assert answer_from_reply(text, frozenset({"max@example.net", "rita@example.net"})) == expected


@pytest.mark.parametrize(
    "text, verdict",
    [
        ("That's right, thank you.", "confirmed"),
        ("Yes.", "confirmed"),
        ("Looks accurate to me. No corrections.", "confirmed"),
        ("No corrections from me.", "confirmed"),
        ("Mostly right, but I never called the thread hostile.", "corrections"),
        ("Yes, except that it was Tuesday, not Monday.", "corrections"),
        ("No, that is not what happened.", "corrections"),
        ("The second paragraph leaves out that I apologised.", "corrections"),
    ],
)  # fmt: skip
def test_a_vetting_is_a_confirmation_only_when_it_corrects_nothing(text, verdict):
    from archive.workflow.mediation import vetting_verdict

    assert vetting_verdict(text) == verdict


def test_a_report_a_member_records_reaches_the_committee_only_in_their_own_post(committee):
    c = committee
    settle(c)
    before = len(outbox(c.db))
    c.say("#mediation report\nThey met and agreed to keep it civil.", now=T0 + timedelta(days=9))
    to_committee = [m["template"] for m in outbox(c.db)[before:] if m["audience"] == "committee"]
    assert "committee/mediation_update" not in to_committee
    assert "sent to the parties to vet" in c.lines()[-1][1]
    assert len(outbox(c.db, "party/mediation_report")) == 2


def test_the_mediator_is_told_of_the_decision_once(committee):
    c = committee
    settle(c)
    answer(c, "mediator", "mediator/brief", "Report:\nThey met and agreed to keep it civil.", 9)
    c.say("#close resolved by the mediation", now=T0 + timedelta(days=10))
    c.say("#reopen", now=T0 + timedelta(days=11))
    c.say("#close no further action after all", now=T0 + timedelta(days=12))
    assert sent_to(c, "mediator/decided") == ["max@example.net"]
    assert len(outbox(c.db, "party/mediation_decided")) == 4  # each decision, to each party


def test_a_case_decided_before_the_report_ends_the_mediation_and_says_so(committee):
    c = committee
    settle(c)
    c.say("#close the parties settled it between themselves", now=T0 + timedelta(days=3))
    decided = outbox(c.db, "party/mediation_decided")
    assert len(decided) == 2
    text = " ".join(shown("party/mediation_decided", decided[0]["context"]).split())
    assert "before the mediation had come to a report" in text and "evaluated" not in text
    [to_max] = outbox(c.db, "mediator/decided")
    text = " ".join(shown("mediator/decided", to_max["context"]).split())
    assert "before the mediation came to a report" in text
    later = fire_due(c.db, c.settings, T0 + timedelta(days=15))
    assert "mediation-reminder" not in [f.kind for f in later]  # its clock stopped


def test_a_yes_to_another_mail_is_no_consent_to_mediation(committee):
    c = committee
    c.say("#mediation propose Max Mediator <max@example.net>")
    answer(c, "mediator", "mediator/invitation", "Yes, happy to.", 1)
    c.say("#to-reporter Was it in the docs sprint chat?", now=T0 + timedelta(hours=2))
    answer(c, "reporter", "reporter/message", "Yes, on Tuesday.", 3)
    assert mediation_of(c).status == "asking-reporter" and mediation_of(c).reporter_answer is None
    answer(c, "reporter", "party/mediation_invitation", "Yes, I will try.", 4)
    assert mediation_of(c).status == "asking-reported"
