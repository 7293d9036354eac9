"""The Executive Council decides with the facts (issue 20, items 11 and 15): the escalation and
the resolution report carry the case's account, the finding, the proposals with their
objections, the reporter's feedback and the actions members took on their own; a decision of
the council says the council decided.

Walked as people meet it: `casebook serve` as a process, every mail over SMTP as the members'
and the reporter's own clients write it, what reached each mailbox judged.
"""

from __future__ import annotations

from tests.service.test_walks_e2e import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    ERIN,
    FRANK,
    REPORT,
    REPORTS,
    RITA,
    apple_mail,
    body,
    gmail,
    outlook,
    reply_address,
    thunderbird,
    walk,  # noqa: F401 (a fixture: `casebook serve` and its sink)
)
from tests.support.mailbuild import sign

COUNCIL = "council@example.org"


def test_the_council_reads_the_case_when_it_is_handed_over_and_when_it_is_resolved(walk):  # noqa: F811
    w = walk
    w.send(w.signed_by_example_net(REPORT.encode()), RITA[1], REPORTS)
    notice = w.expect(ALICE[1], "New report")
    carol_notice = w.expect(CAROL[1], "New report")
    to = reply_address(notice)
    w.send(sign(outlook(ALICE, to, notice, "#unilateral removed him from the chat for a day")),
           ALICE[1], to)  # fmt: skip
    # A command-only mail is answered in the notice it caused (issue 20 §17).
    w.expect(ALICE[1], "Unilateral action to review")
    proposal = (
        "#responsible Dave Jones <dave@example.com>\n#propose private-reprimand\nStatement:\n"
        "Your messages on the users list were hostile and broke our Code of Conduct.\n"
        "End of statement"
    )
    w.send(sign(outlook(ALICE, to, notice, proposal)), ALICE[1], to)
    w.expect(ALICE[1], "Commands applied")
    w.send(sign(apple_mail(CAROL, reply_address(carol_notice), carol_notice,
                           "#object Too mild: he did the same last spring.")),
           CAROL[1], reply_address(carol_notice))  # fmt: skip
    w.quiet()  # her vote is recorded; the case's audience reads it with the next notice
    w.send(sign(outlook(ALICE, to, notice, "#escalate we cannot agree")), ALICE[1], to)

    escalation = w.expect(COUNCIL, "Case handed to the Executive Council")
    text = body(escalation)
    assert "he called me stupid and told me to leave the project" in text  # the account
    assert "Person responsible: Dave Jones <dave@example.com>" in text
    assert "Proposal: private-reprimand (open)" in text
    assert "hostile and broke our Code of Conduct" in text  # the statement
    assert "Objection from carol@example.org: Too mild: he did the same last spring." in text
    assert "removed him from the chat for a day" in text  # what a member did alone
    assert "available on justified request" in text
    w.quiet()
    # Bob is conflicted (the report names "Bobby" as witness): he is not handed the case.
    assert not [m for m in w.inbox(BOB[1]) if "Executive Council" in str(m["Subject"])]

    # The council decides; the reporter's feedback reaches its resolution report.
    council_to = reply_address(escalation)
    w.send(sign(thunderbird(FRANK, council_to, escalation,
                            "#propose private-reprimand\nStatement:\nYour messages were hostile.\n"
                            "End of statement")),
           FRANK[1], council_to)  # fmt: skip
    w.expect(FRANK[1], "Commands applied")
    w.send(sign(outlook(ERIN, council_to, escalation, "#agree")), ERIN[1], council_to)
    w.send(sign(outlook(ERIN, council_to, escalation, "#consult")), ERIN[1], council_to)
    consult = w.expect(RITA[1], "Proposed resolution")
    feedback = "Yes, that is acceptable to me. Please make sure he stops."
    answer = gmail(RITA, reply_address(consult), consult, feedback, "example.net")
    w.send(w.signed_by_example_net(answer), RITA[1], reply_address(consult))
    w.expect(COUNCIL, "More information from the reporter")
    w.quiet()
    w.send(sign(outlook(ERIN, council_to, escalation, "#enact")), ERIN[1], council_to)
    report = body(w.expect(COUNCIL, "Resolution report"))
    assert "The Executive Council has resolved case CoC-2026-001" in report
    assert "Decided by:  the Executive Council" in report
    assert "Please make sure he stops." in report  # her feedback, in her words
    assert "Objection from carol@example.org" in report
    assert "removed him from the chat for a day" in report

    # The council's own decision offers no appeal to the council itself.
    reprimand = body(w.expect(DAVE[1], "A private message"))
    assert "no further" in reprimand and "you can appeal" not in reprimand
    notice = body(w.expect(RITA[1], "Your report has been resolved"))
    assert "no further" in notice and "you can appeal" not in notice
