"""A person who answers the committee's decision with "I want to appeal" is told how to appeal
(issue 20, item 12; reporting guide: "To appeal a decision of the Code of Conduct Committee,
contact the Executive Council … and they will review the case").

Walked as people meet it: `casebook serve` as a process, every mail over SMTP as the people's
own clients write it, what reached each mailbox judged.
"""

from __future__ import annotations

from tests.service.test_walks_e2e import (
    ALICE,
    CAROL,
    DAVE,
    REPORT,
    REPORTS,
    RITA,
    apple_mail,
    body,
    gmail,
    outlook,
    reply_address,
    walk,  # noqa: F401 (a fixture: `casebook serve` and its sink)
)
from tests.support.mailbuild import sign


def test_the_person_reprimanded_who_wants_to_appeal_is_told_how(walk):  # noqa: F811
    w = walk
    w.send(w.signed_by_example_net(REPORT.encode()), RITA[1], REPORTS)
    notice = w.expect(ALICE[1], "New report")
    carol_notice = w.expect(CAROL[1], "New report")
    to = reply_address(notice)
    proposal = (
        "#responsible Dave Jones <dave@example.com>\n#propose private-reprimand\nStatement:\n"
        "Your messages on the users list were hostile and broke our Code of Conduct.\n"
        "End of statement"
    )
    w.send(sign(outlook(ALICE, to, notice, proposal)), ALICE[1], to)
    w.expect(ALICE[1], "Commands applied")
    w.send(sign(apple_mail(CAROL, reply_address(carol_notice), carol_notice, "#agree")),
           CAROL[1], reply_address(carol_notice))  # fmt: skip
    # Her vote makes the consensus: its preview carries what her mail did (issue 20 §17).
    assert "consensus reached" in body(w.expect(CAROL[1], "What each person will receive"))
    w.send(sign(outlook(ALICE, to, notice, "#consult")), ALICE[1], to)
    consult = w.expect(RITA[1], "Proposed resolution")
    answer = gmail(RITA, reply_address(consult), consult, "Yes, that is fine with me.",
                   "example.net")  # fmt: skip
    w.send(w.signed_by_example_net(answer), RITA[1], reply_address(consult))
    w.quiet()

    # Before the decision is carried out, "appeal" is only a word: an ordinary receipt.
    w.send(sign(outlook(ALICE, to, notice, "#enact")), ALICE[1], to)
    reprimand = w.expect(DAVE[1], "A private message")
    w.quiet()
    dave = reply_address(reprimand)
    w.send(outlook(DAVE, dave, reprimand, "This is unfair. I want to appeal this decision."),
           DAVE[1], dave)  # fmt: skip
    told = w.expect(DAVE[1], "How to appeal")
    text = body(told)
    assert "conduct-appeals@example.org" in text and "CoC-2026-001" in text
    assert "Executive Council" in text and "two weeks" in text
    assert "Rita" not in text and "Alice" not in text  # nothing of the case but its number
    w.quiet()
    assert [m for m in w.inbox(DAVE[1]) if "We received your message" in str(m["Subject"])] == []
    # The committee reads what he wrote, as with any answer.
    assert "I want to appeal" in body(w.expect(ALICE[1], "More information from the person"))

    # Asked again the same day: not told twice.
    w.send(outlook(DAVE, dave, reprimand, "How do I appeal?"), DAVE[1], dave)
    w.expect(ALICE[1], "More information from the person", 2)
    w.quiet()
    assert len([m for m in w.inbox(DAVE[1]) if "How to appeal" in str(m["Subject"])]) == 1

    # Rita appeals (her provider signs her mail): the committee learns an appeal arrived,
    # nothing of what it says; the council has the appeal itself, and no second notice.
    appeal = (
        "From: Rita Canaryname <rita@example.net>\r\nTo: conduct-appeals@example.org\r\n"
        "Subject: Appeal of [CoC-2026-001]\r\nMessage-ID: <rita-appeal@mail.example.net>\r\n\r\n"
        "I think the reprimand was far too mild.\r\n"
    )
    w.send(w.signed_by_example_net(appeal.encode()), RITA[1], "conduct-appeals@example.org")
    arrived = body(w.expect(ALICE[1], "An appeal arrived"))
    assert "CoC-2026-001" in arrived and "too mild" not in arrived
    w.expect("council@example.org", "Appeal about a case")
    w.quiet()
    council = [str(m["Subject"]) for m in w.inbox("council@example.org")]
    assert not [s for s in council if "An appeal arrived" in s], council


def test_before_any_decision_an_appeal_word_gets_the_ordinary_receipt(walk):  # noqa: F811
    w = walk
    w.send(w.signed_by_example_net(REPORT.encode()), RITA[1], REPORTS)
    ack = w.expect(RITA[1], "We received your report")
    follow = gmail(RITA, reply_address(ack), ack, "Can I appeal if I disagree later?",
                   "example.net")  # fmt: skip
    w.send(w.signed_by_example_net(follow), RITA[1], reply_address(ack))
    w.expect(RITA[1], "We received your message")
    w.quiet()
    assert [m for m in w.inbox(RITA[1]) if "How to appeal" in str(m["Subject"])] == []
