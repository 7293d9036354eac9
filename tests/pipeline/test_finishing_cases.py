"""Issue 20 §1–3: every case can be finished, and nobody is told what did not happen.

Each test walks a case as its people meet casebook: mail in over SMTP to casebook's intake,
members answering the notices they received (to their own reply address, DKIM-signed by their
domain), parties answering through the reply address their mail carries, time moved by the
sweep cron runs (`casebook tick --now`), and every step judged by what reached each mailbox
of the relay sink: the reporter, the person reported, the member the case is about, the other
members and the Executive Council.

1. A case about a committee member is carried out: the member is the person responsible, kept
   out of everything else; a case about the chair is enacted and signed by the next member.
   No notice says `#enact` is possible when it is not.
2. "No further contact" is told apart: with the person reported (the manual's apology clause)
   the reporter still hears from the committee; a bare wish is asked about, never a cut-off.
3. A resolution's mail the leak guard holds: nothing is reported as done until it is released;
   `#drop` leaves the case where the chair can act again.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from archive.record.cases import find_case, parties_of
from archive.record.db import open_archive
from archive.record.timestamps import from_text, to_text
from archive.workflow.consent import contact_meant, no_contact_wish
from casebook.config import load_settings
from casebook.tick import run_tick
from intake.process import process_spooled
from intake.spool import SpoolWriter, open_spool, spool_path
from mailer.send import send_due
from tests.pipeline.test_appeals import COUNCIL as WITH_COUNCIL
from tests.service.test_smtp_lines import IntakeController
from tests.service.test_webform import Site, member_reply, open_report
from tests.support.base import MEMBERS as MEMBERS_TOML
from tests.support.base import T0, write_config
from tests.support.helpers import events, outbox, smtp_send
from tests.support.mailbuild import build, pinned_keys_toml, sign, via_list
from tests.support.waiting import wait_until

REPORTS = "conduct@example.org"
LIST = "conduct-committee@lists.example.org"
COUNCIL = "council@example.org"
ALICE = ("Alice Chair", "alice@example.org")
BOB = ("Bob Member", "bob@example.org")
CAROL = ("Carol Member", "carol@example.org")
PAULA = ("Paula Pointer", "paula@example.net")
RITA = ("Rita Reporter", "rita@example.net")
DAVE = ("Dave Jones", "dave@example.com")
ERIN = ("Erin Council", "erin@example.org")  # the council's chair (WITH_COUNCIL)
FRANK = ("Frank Council", "frank@example.org")
GINA = ("Gina Council", "gina@example.org")
VENUE = "users@lists.example.org"
MEMBERS = (ALICE[1], BOB[1], CAROL[1])
ids = itertools.count(1)


class Desk:
    """casebook's SMTP intake, its processing and its mailer over one archive, the relay
    sink's mailboxes, and a clock the test moves as cron's `casebook tick --now` would."""

    def __init__(self, tmp_path, relay, members: str = MEMBERS_TOML):
        config = write_config(tmp_path, relay_port=relay.port, members=members,
                              extra="\n" + pinned_keys_toml())  # fmt: skip
        self.settings, self.relay, self.now = load_settings(config), relay, T0
        self.db = open_archive(self.settings.database)
        self.spool = SpoolWriter(spool_path(self.settings))
        self.intake = IntakeController(self.settings, self.spool)
        self.spool.start()
        self.intake.start()
        self.seen: dict[str, int] = {}

    def close(self) -> None:
        self.intake.stop()
        self.spool.stop()
        self.db.close()

    def send(self, raw: bytes, envelope: str, to: str) -> None:
        """Over SMTP; then processed, and what it queued sent, as `serve` does at once."""
        smtp_send(self.intake.port, raw, envelope, [to])
        spool = open_spool(spool_path(self.settings))
        try:
            process_spooled(self.db, spool, self.settings, lambda: self.now)
        finally:
            spool.close()
        send_due(self.db, self.settings, self.now)

    def days_pass(self, days: float) -> None:
        """Time passes with casebook running: cron's sweep runs a minute after each deadline
        comes due (never late, so nothing is caught up after a downtime), and at the end."""
        end = self.now + timedelta(days=days)
        while True:
            row = self.db.execute(
                "SELECT MIN(due_at) FROM deadlines WHERE fired_at IS NULL"
                " AND cancelled_at IS NULL AND due_at > ?",
                [to_text(self.now)],
            ).fetchone()
            due = from_text(row[0]) + timedelta(minutes=1) if row[0] else end
            if due >= end:
                break
            self.now = due
            run_tick(self.settings, self.now)
        self.now = end
        run_tick(self.settings, self.now)

    # -- people --------------------------------------------------------------------------------
    def report(self, who: tuple[str, str], subject: str, text: str) -> None:
        raw = build(sender=f"{who[0]} <{who[1]}>", to=REPORTS, subject=subject, body=text,
                    message_id=f"<report{next(ids)}@example.net>")  # fmt: skip
        self.send(raw, who[1], REPORTS)

    def reply(self, who: tuple[str, str], to_mail: EmailMessage, text: str, *, signed=False):
        """`who` answers `to_mail` from their client: their words, then the quoted mail, to
        the address the mail says to answer (a member's domain signs their mail; the list
        host signs what it distributes)."""
        address = reply_address(to_mail)
        quoted = "\n".join("> " + line for line in body(to_mail).splitlines())
        raw = build(sender=f"{who[0]} <{who[1]}>", to=address,
                    subject=f"Re: {to_mail['Subject']}",
                    body=f"{text}\n\nOn Mon, 2 Mar 2026 at 12:00, {to_mail['From']} wrote:\n"
                         f"{quoted}\n",
                    message_id=f"<reply{next(ids)}@{who[1].split('@')[1]}>",
                    in_reply_to=to_mail["Message-ID"],
                    references=(to_mail["Message-ID"],))  # fmt: skip
        raw = sign(raw) if signed else raw
        self.send(via_list(raw) if address == LIST else raw, who[1], address)

    def member(self, who: tuple[str, str], text: str, notice: str = "New report") -> str:
        """A member answers the case's notice they received (their own, or the list's when
        nobody is conflicted); the transcript they get back."""
        notice = self.last(who[1], notice)
        before = len(self.inbox(who[1]))
        newest = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
        self.reply(who, notice, text, signed=True)
        answers = [m for m in self.inbox(who[1])[before:] if "Commands" in m["Subject"]]
        if answers:
            return words(answers[-1])
        # A command-only mail's routine outcome waits for the case's next notice or the hour's
        # end (issue 20 §17): its lines as that mail will carry them.
        entries = [
            entry
            for row in outbox(self.db)
            if row["id"] > newest or row["template"].endswith("outcome")
            for entry in [*row["context"].get("items", []), *row["context"].get("folded", [])]
        ]
        assert entries, f"no transcript for {who[0]}"
        return " ".join(f"{r['line']} {r['detail']}" for r in entries[-1]["results"])

    # -- mailboxes -------------------------------------------------------------------------------
    def inbox(self, address: str) -> list[EmailMessage]:
        return self.relay.to(address)

    def new_mail(self, address: str) -> list[EmailMessage]:
        """What `address` received since the last look."""
        mail = self.inbox(address)
        start = self.seen.get(address, 0)
        self.seen[address] = len(mail)
        return mail[start:]

    def last(self, address: str, subject: str) -> EmailMessage:
        """The latest mail `address` received with `subject` (a member: by the list too)."""
        mail = self.inbox(address) + (self.inbox(LIST) if address in MEMBERS else [])
        found = [m for m in mail if subject in str(m["Subject"])]
        assert found, f"{address} received no {subject!r}: {self.subjects(address)}"
        return found[-1]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.inbox(address)]

    def state(self, ref: str = "CoC-2026-001") -> str:
        return find_case(self.db, ref).state


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",)) or message
    return part.get_content().replace("\r\n", "\n")


def words(message: EmailMessage) -> str:
    return " ".join(body(message).split())


def reply_address(message: EmailMessage) -> str:
    return getaddresses([str(message["Reply-To"] or message["From"])])[0][1]


def marked(statement: str) -> str:
    """A #propose statement as the committee marks it: only this part leaves the committee."""
    return f"Statement:\n{statement}\nEnd of statement"


@pytest.fixture
def desk(tmp_path, relay):
    d = Desk(tmp_path, relay)
    yield d
    d.close()


ABOUT_BOB = (
    "Bob Member was dismissive and rude to me in the review of my pull request on Thursday.\n"
    "I do not feel comfortable with him seeing this report.\n"
)
REPRIMAND = (
    "#violation yes\n#responsible Bob Member <bob@example.org>\n#propose private-reprimand\n"
    "Statement:\nYour review comments on a newcomer's pull request were dismissive and broke our"
    " Code of Conduct.\nEnd of statement\nThanks, Carol, for the background."
)


def test_a_case_about_a_committee_member_is_carried_out(desk):
    """Manual: "If a Code of Conduct report involves a member of the Executive Council or Code
    of Conduct Committee, that member will not participate"; the committee still decides
    "who are the responsible party(ies)" and carries the resolution out. Bob is reported: he
    is the person responsible, receives the reprimand and nothing else of the case."""
    desk.report(PAULA, "About a committee member", ABOUT_BOB)
    assert find_case(desk.db, "CoC-2026-001").conflicted == ("bob@example.org",)
    desk.last(PAULA[1], "We received your report")
    said = desk.member(ALICE, REPRIMAND)
    assert "recorded as responsible: Bob Member <bob@example.org>" in said
    assert "Bob Member is already kept out of this case" in said
    assert "proposal #1: private-reprimand" in said
    assert "consensus reached" in desk.member(CAROL, "#agree")
    desk.member(ALICE, "#consult")
    proposal = desk.last(PAULA[1], "Proposed resolution")
    assert "private reprimand" in words(proposal)

    # Paula does not answer; the feedback wait ends, and the notice tells the truth.
    desk.days_pass(5.1)
    for member in (ALICE[1], CAROL[1]):
        over = desk.last(member, "feedback period is over")
        assert "The chair may now #enact it." in words(over)
    said = desk.member(ALICE, "#enact")
    assert "enacted private-reprimand: reported/private_reprimand to 1 person(s)" in said

    # Bob, the person responsible: the reprimand, signed by the chair, with his reply address.
    [reprimand] = desk.inbox(BOB[1])
    assert reprimand["Subject"] == (
        "[CoC-2026-001] A private message from the Code of Conduct Committee"
    )
    assert "dismissive and broke our Code of Conduct" in words(reprimand)
    assert body(reprimand).rstrip().endswith("Alice Chair\nChair, Code of Conduct Committee")
    assert "Paula" not in reprimand.as_string() and "Carol" not in reprimand.as_string()
    # Paula is told it was done; the council gets its report; the free members their copy.
    notice = desk.last(PAULA[1], "Your report has been resolved")
    assert "the person responsible received a private reprimand" in words(notice)
    desk.last(COUNCIL, "Resolution report")
    for member in (ALICE[1], CAROL[1]):
        desk.last(member, "Copy: private-reprimand sent")
    assert desk.state() == "resolved"

    # Bob answers the reprimand: the free members read it as the person responsible's word.
    desk.reply(BOB, reprimand, "I am sorry, I did not mean to put anyone off.", signed=True)
    answer = desk.last(ALICE[1], "More information from the person responsible")
    assert "I did not mean to put anyone off" in body(answer)
    assert desk.subjects(BOB[1])[1:] == ["[CoC-2026-001] We received your message"]
    assert not [s for s in desk.subjects(CAROL[1]) + desk.subjects(ALICE[1]) if "not applied" in s]

    # Who received what, in the end: each mail once, nothing promised that did not happen.
    assert desk.subjects(PAULA[1]) == [
        "[CoC-2026-001] We received your report",
        "[CoC-2026-001] Proposed resolution of your report",
        "[CoC-2026-001] Your report has been resolved",
    ]
    assert desk.subjects(COUNCIL) == ["[CoC-2026-001] Resolution report"]
    assert desk.inbox(LIST) == []  # a member is conflicted: never the list
    for mail in desk.inbox(PAULA[1]):  # (the council's report names whom it concerns)
        assert "Bob" not in mail.as_string() and "Carol" not in mail.as_string()


def test_a_case_about_the_chair_is_enacted_and_signed_by_the_next_member(desk):
    """The chair is the person reported: she takes no part, so the next free member enacts
    and signs (never she, nor a refusal nobody can get past); the notices say who. Bob names
    her by her name alone: a member's name is their configured address."""
    desk.report(PAULA, "About the chair", "Alice Chair shouted at me in the community call.\n")
    assert find_case(desk.db, "CoC-2026-001").conflicted == ("alice@example.org",)
    desk.member(BOB, "#responsible Alice Chair\n#propose hiatus\n"
                     + marked("Please take two weeks away from the community calls."))  # fmt: skip
    desk.member(CAROL, "#agree")
    desk.member(BOB, "#consult")
    desk.days_pass(5.1)
    over = desk.last(CAROL[1], "feedback period is over")
    assert "Bob Member, for the chair (who takes no part in this case), may now #enact it" in (
        words(over)
    )
    said = desk.member(CAROL, "#enact")
    assert "only Bob Member enacts here, for the chair, who takes no part in this case" in said
    assert "enacted hiatus" in desk.member(BOB, "#enact")
    assert desk.state() == "resolved"
    [hiatus] = desk.inbox(ALICE[1])  # the chair receives only the resolution's mail to her
    assert "two weeks away" in words(hiatus)
    assert body(hiatus).rstrip().endswith("Bob Member\nChair, Code of Conduct Committee")
    desk.last(PAULA[1], "Your report has been resolved")


def test_the_end_of_the_feedback_wait_never_offers_an_enactment_that_would_be_refused(desk):
    """The chair was told "The chair may now #enact it" while #enact would refuse (nobody
    responsible recorded): the notice says what is missing instead. A member named
    responsible who was not yet kept out is conflicted at once, and told nothing more."""
    desk.report(RITA, "Problem on the users list", "Dave Jones called me stupid yesterday.\n")
    desk.member(ALICE, "#propose private-reprimand\n" + marked("Your messages were hostile."))
    desk.member(BOB, "#agree")
    desk.member(CAROL, "#agree")
    desk.member(ALICE, "#consult")
    said = desk.member(ALICE, "#enact")  # never "possible once they answer": it would not be
    assert "no responsible person with an address" in said and "possible once" not in said
    desk.days_pass(5.1)
    over = words(desk.last(ALICE[1], "feedback period is over"))
    assert "may now #enact" not in over
    assert "It cannot be enacted yet: no responsible person with an address" in over
    assert "no responsible person" in desk.member(ALICE, "#enact")

    # It turns out Carol wrote the messages: naming her keeps her out of the case at once.
    before = len(desk.inbox(CAROL[1]))
    said = desk.member(ALICE, "#responsible Carol Member <carol@example.org>")
    assert "Carol Member is conflicted: they take no part in the case" in said
    assert "carol@example.org" in find_case(desk.db, "CoC-2026-001").conflicted
    assert "conflict-recorded" in events(desk.db, "CoC-2026-001")
    desk.member(ALICE, "#enact")
    assert desk.state() == "resolved"
    [reprimand] = desk.inbox(CAROL[1])[before:]  # not the transcript's echo, nor the copy
    assert "Your messages were hostile." in words(reprimand)


def test_a_case_about_the_councils_chair_goes_to_the_council_and_is_carried_out(tmp_path, relay):
    """The council's chair is reported; the committee deadlocks and hands the case to the
    council, which decides it without her: its next free member enacts and signs, she gets
    only the resolution, and the council's report reaches the other council members."""
    desk = Desk(tmp_path, relay, members=WITH_COUNCIL)
    try:
        desk.report(
            PAULA,
            "About a council member",
            "Erin Council mocked my talk proposal in the council's public channel.\n",
        )
        assert find_case(desk.db, "CoC-2026-001").conflicted == ("erin@example.org",)
        desk.member(ALICE, "#violation yes\n#responsible Erin Council <erin@example.org>\n"
                           "#propose private-reprimand\n" + marked("Mocking a proposal in"
                           " public broke our Code of Conduct."))  # fmt: skip
        desk.member(BOB, "#object too mild")
        desk.member(ALICE, "#escalate we are deadlocked")
        escalation = desk.last(FRANK[1], "Case handed to the Executive Council")
        to_gina = desk.last(GINA[1], "Case handed to the Executive Council")
        assert desk.inbox(ERIN[1]) == []
        desk.reply(FRANK, escalation, "#propose private-reprimand\n" + marked("Mocking a"
                   " proposal in public broke our Code of Conduct."), signed=True)  # fmt: skip
        desk.reply(GINA, to_gina, "#agree", signed=True)
        desk.reply(FRANK, escalation, "#consult", signed=True)
        desk.reply(PAULA, desk.last(PAULA[1], "Proposed resolution"), "Yes, thank you.")
        desk.reply(GINA, to_gina, "#enact", signed=True)
        assert "only Frank Council enacts here" in words(desk.inbox(GINA[1])[-1])
        desk.reply(FRANK, escalation, "#enact", signed=True)
        assert "enacted private-reprimand" in words(desk.inbox(FRANK[1])[-1])
        [reprimand] = desk.inbox(ERIN[1])  # nothing of the case but the resolution
        assert "The Executive Council has looked into your recent conduct" in words(reprimand)
        assert body(reprimand).rstrip().endswith("Frank Council\nChair, Executive Council")
        for member in (FRANK[1], GINA[1]):
            desk.last(member, "Resolution report")
        assert desk.inbox(COUNCIL) == []  # the council's address would reach Erin
        notice = desk.last(PAULA[1], "Your report has been resolved")
        assert "Executive Council" in words(notice)
        assert desk.state() == "resolved"
    finally:
        desk.close()


def consulted_on(desk, resolution: str, statement: str, who=RITA) -> EmailMessage:
    desk.report(who, "Problem on the users list",
                "Dave Jones called me stupid on the users list yesterday.\n")  # fmt: skip
    desk.member(ALICE, f"#violation yes\n#responsible Dave Jones <dave@example.com>\n"
                       f"#propose {resolution}\n" + marked(statement))  # fmt: skip
    desk.member(BOB, "#agree")
    desk.member(CAROL, "#agree")
    desk.member(ALICE, "#consult")
    return desk.last(who[1], "Proposed resolution")


def reporter(desk):
    [party] = parties_of(desk.db, find_case(desk.db, "CoC-2026-001"), "reporter")
    return party


def test_no_further_contact_with_him_keeps_the_reporter_informed(desk):
    """Manual, on an apology: the reporter "may at their discretion refuse further contact
    with the violator". Rita says so in answer to a private reprimand's proposal: she is not
    cut off from the committee; it is told what she asked; she hears the resolution."""
    proposal = consulted_on(desk, "private-reprimand", "Your messages were hostile.")
    desk.new_mail(RITA[1])
    desk.reply(RITA, proposal, "Yes, that is fine. But I do not want any further contact with him.")
    assert not reporter(desk).no_contact
    assert "no-contact-with-reported" in events(desk.db, "CoC-2026-001")
    told = words(desk.last(ALICE[1], "More information from the reporter"))
    assert "They want no further contact with the person they reported" in told
    assert "They still receive the committee's mail." in told
    assert [s for s in desk.subjects(RITA[1]) if "not contact you" in s] == []
    desk.member(ALICE, "#enact")
    notice = desk.last(RITA[1], "Your report has been resolved")
    assert "private reprimand" in words(notice)
    assert "the last message" not in words(notice)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("No further contact with him.", "reported"),
        ("Yes, that is fine. But I do not want any further contact with him.", "reported"),
        ("He should never contact me again.", "reported"),
        ("Tell him to stop contacting me.", "reported"),
        ("Please make sure he does not e-mail me.", "reported"),
        ("I don't want him to contact me", "reported"),
        ("I do not want to be contacted by him.", "reported"),
        ("I don't want to hear from him again", "reported"),
        ("No further contact with Dave Jones, please", "reported"),
        ("Thank you, but I want no further contact with him.", "reported"),
        ("Please do not contact me again.", "committee"),
        ("Please stop e-mailing me about this.", "committee"),
        ("No more emails please", "committee"),
        ("I do not want to be contacted again.", "committee"),
        ("I don't want to hear from you again", "committee"),
        ("I want no further contact with you or him", "committee"),
        ("No further contact.", "unclear"),
        ("Yes. But I don't want any further contact.", "unclear"),
        ("Thank you, glad to hear from you.", None),
        ("No, I had contact with him at the sprint.", None),
        ("I want him to contact me.", None),
    ],
)
def test_whom_a_no_contact_wish_is_about(text, meant):
    assert no_contact_wish(text) == meant
    if meant == "unclear":  # in answer to an apology request, whose mail offers it so
        assert no_contact_wish(text, invited=True) == "reported"


@pytest.mark.parametrize(
    ("answer", "meant"),
    [("The person I reported.", "reported"), ("him", "reported"), ("I meant her", "reported"),
     ("Stop.", "committee"), ("Both, please.", "committee"), ("the committee", "committee"),
     ("Please stop writing to me", "committee"), ("Not sure, sorry", None),
     ("You know, he wrote to me again.", None), ("Both of them were rude.", None)],
)  # fmt: skip
def test_the_answer_to_whom_did_you_mean(answer, meant):
    assert contact_meant(answer) == meant


def test_a_bare_no_further_contact_is_asked_about_never_a_cut_off(desk):
    """ "No further contact." says no one: Rita is asked which she means, keeps receiving the
    committee's mail, and is cut off only when she says so ("stop")."""
    desk.report(RITA, "Problem on the users list", "Dave Jones called me stupid yesterday.\n")
    ack = desk.last(RITA[1], "We received your report")
    desk.new_mail(RITA[1])
    desk.reply(RITA, ack, "No further contact.")
    assert not reporter(desk).no_contact
    [asked] = [m for m in desk.new_mail(RITA[1]) if "with whom" in str(m["Subject"])]
    text = words(asked)
    assert 'reply "the person"' in text and 'reply "stop"' in text
    assert "Until you answer, nothing changes" in text
    told = words(desk.last(ALICE[1], "More information from the reporter"))
    assert "casebook asked them whether they mean the person they reported" in told

    # She means Dave: recorded; the committee can still write to her.
    desk.reply(RITA, asked, "The person I reported.")
    assert not reporter(desk).no_contact
    assert "no-contact-with-reported" in events(desk.db, "CoC-2026-001")
    assert "want no further contact with the person they reported" in words(
        desk.last(ALICE[1], "More information from the reporter"))  # fmt: skip
    desk.member(ALICE, "#to-reporter\nUnderstood: we will not ask him to contact you.")
    assert any("A message from" in str(m["Subject"]) for m in desk.new_mail(RITA[1]))

    # Later she wants no mail at all, and says so plainly: honoured, confirmed once.
    desk.days_pass(1.1)
    desk.reply(RITA, asked, "Stop.")
    assert reporter(desk).no_contact
    assert [str(m["Subject"]) for m in desk.new_mail(RITA[1])] == [
        "[CoC-2026-001] We will not contact you again"
    ]


PUBLIC_REPRIMAND = (
    "#violation yes\n#responsible Dave Jones <dave@example.com>\n"
    f"#propose public-reprimand {VENUE}\nStatement:\n"
    "Dave Jones called Rita Reporter stupid on this list. That broke our Code of Conduct.\n"
    "End of statement"
)


def test_a_held_public_reprimand_is_reported_only_once_it_leaves(desk):
    """Manual: "the committee chair will deliver that reprimand in the same venue"; the
    reporter and the council hear it was done. Its statement names the reporter, so the leak
    guard holds it: until a member releases it, nothing says it was delivered and the case is
    not resolved; `#drop` calls the enactment off and the chair can enact again."""
    desk.report(RITA, "Problem on the users list", "Dave Jones called me stupid yesterday.\n")
    desk.member(ALICE, PUBLIC_REPRIMAND)
    desk.member(BOB, "#agree")
    desk.member(CAROL, "#agree")
    desk.member(ALICE, "#consult")
    proposal = desk.last(RITA[1], "Proposed resolution")
    desk.reply(RITA, proposal, "Yes, please do.")
    for address in (RITA[1], COUNCIL, VENUE, ALICE[1], BOB[1]):
        desk.new_mail(address)

    said = desk.member(ALICE, "#enact")
    assert "not enacted yet: the public-reprimand's mail is held by the leak guard" in said
    assert "enacted public-reprimand" not in said and "notice to the reporter" not in said
    assert "The case is now enacting." in said
    held = desk.last(BOB[1], "Mail held: it names someone the committee protects")
    assert "nothing of the resolution has been sent" in words(held)
    number = re.search(r"#release (\d+)", body(held)).group(1)
    assert desk.new_mail(VENUE) == []
    assert [m for m in desk.new_mail(RITA[1]) if "resolved" in str(m["Subject"])] == []
    assert desk.new_mail(COUNCIL) == []
    assert desk.state() == "enacting"

    # A member drops it: nothing of it leaves, and the case is back where the chair can act.
    said = desk.member(BOB, f"#drop {number}")
    assert "the resolution was not carried out" in said and "back to reporter-consulted" in said
    assert desk.state() == "reporter-consulted"
    desk.days_pass(0.1)
    assert desk.new_mail(VENUE) == [] and desk.new_mail(COUNCIL) == []
    assert [m for m in desk.new_mail(RITA[1]) if "resolved" in str(m["Subject"])] == []

    # The chair enacts again; held again; this time a member releases it (the name is the
    # reporter's own wish to be named, say): then, and only then, everyone is told.
    assert "held by the leak guard" in desk.member(ALICE, "#enact")
    held = desk.last(BOB[1], "Mail held")
    number = re.search(r"#release (\d+)", body(held)).group(1)
    said = desk.member(BOB, f"#release {number}")
    assert "enacted public-reprimand" in said and "resolution notice to the reporter" in said
    desk.days_pass(0.01)
    [statement] = desk.new_mail(VENUE)
    assert "broke our Code of Conduct" in words(statement)
    notice = desk.last(RITA[1], "Your report has been resolved")
    assert "reprimanded publicly" in words(notice)
    desk.last(COUNCIL, "Resolution report")
    assert desk.state() == "resolved"
    assert events(desk.db, "CoC-2026-001").count("enacted") == 1
    # Each told once, and only of what happened: one statement, one notice, one report.
    assert statement["Subject"] == "A statement from the Code of Conduct Committee"
    assert [s for s in desk.subjects(RITA[1]) if "resolved" in s] == [
        "[CoC-2026-001] Your report has been resolved"
    ]
    assert desk.subjects(COUNCIL) == ["[CoC-2026-001] Resolution report"]
    assert desk.inbox(DAVE[1]) == []  # a public reprimand goes to the venue


def test_a_resolution_to_two_people_leaves_whole_or_not_at_all(desk):
    """Dave and Carol (a member) both broke the Code of Conduct; the statement names them both.
    Carol may read her own name, Dave may not read a member's: his reprimand is held, and
    Carol's, which the guard let through, waits with it. Releasing hers alone sends nothing;
    releasing his sends both, and only then are the reporter and the council told."""
    desk.report(RITA, "Problem on the users list", "Dave Jones called me stupid yesterday.\n")
    desk.member(ALICE, "#violation yes\n#responsible Dave Jones <dave@example.com>\n"
                       "#responsible Carol Member <carol@example.org>\n"
                       "#propose private-reprimand\n"
                       + marked("Dave Jones and Carol Member were hostile in the thread.")
                )  # fmt: skip
    desk.member(BOB, "#agree")
    desk.member(ALICE, "#consult")
    desk.reply(RITA, desk.last(RITA[1], "Proposed resolution"), "Yes, go ahead.")
    carol_before = len(desk.inbox(CAROL[1]))
    said = desk.member(ALICE, "#enact")
    assert "not enacted yet" in said and "held by the leak guard, nothing sent" in said
    assert said.count("(leak guard) held") == 1  # the notice's one, not the mail waiting
    held = desk.last(BOB[1], "Mail held")
    assert "It is a resolution's mail: nothing of the resolution has been sent" in words(held)
    number = int(re.search(r"#release (\d+)", body(held)).group(1))
    desk.days_pass(0.01)
    assert desk.inbox(DAVE[1]) == [] and desk.inbox(CAROL[1])[carol_before:] == []
    waiting = desk.db.execute(
        "SELECT id FROM outbox WHERE template = 'reported/private_reprimand' AND id != ?",
        [number],
    ).fetchone()[0]
    said = desk.member(BOB, f"#release {waiting}")
    assert f"not sent: it waits with the resolution's held mail {number}" in said
    desk.days_pass(0.01)
    assert desk.inbox(DAVE[1]) == [] and desk.inbox(CAROL[1])[carol_before:] == []
    assert desk.state() == "enacting"
    assert "enacted private-reprimand" in desk.member(BOB, f"#release {number}")
    desk.days_pass(0.01)
    [to_dave] = desk.inbox(DAVE[1])
    [to_carol] = desk.inbox(CAROL[1])[carol_before:]
    assert "were hostile in the thread" in words(to_dave) and words(to_carol) == words(to_dave)
    desk.last(RITA[1], "Your report has been resolved")
    desk.last(COUNCIL, "Resolution report")
    assert desk.state() == "resolved"


def test_a_called_off_enactments_held_mail_never_goes_alone(desk):
    """The statement of a held public reprimand is wrong; instead of dropping it, a member
    proposes a corrected one. The first one's held mail is then no resolution of the case:
    releasing it sends nothing."""
    desk.report(RITA, "Problem on the users list", "Dave Jones called me stupid yesterday.\n")
    desk.member(ALICE, PUBLIC_REPRIMAND)
    desk.member(BOB, "#agree")
    desk.member(CAROL, "#agree")
    desk.member(ALICE, "#consult")
    desk.reply(RITA, desk.last(RITA[1], "Proposed resolution"), "Yes, please do.")
    assert "held by the leak guard" in desk.member(ALICE, "#enact")
    number = re.search(r"#release (\d+)", body(desk.last(BOB[1], "Mail held"))).group(1)
    corrected = "A member of this list was told to leave. That broke our Code of Conduct."
    desk.member(BOB, f"#propose public-reprimand {VENUE}\n" + marked(corrected))
    said = desk.member(CAROL, f"#release {number}")
    assert "not sent: it is the mail of an enactment that was called off" in said
    desk.days_pass(0.01)
    assert desk.inbox(VENUE) == []
    assert desk.state() == "resolution-proposed"


def test_the_reporters_update_never_promises_a_day_that_has_passed(desk):
    """The committee projected a resolution by 5 March, then handed the case to the council;
    the reporter's weekly update on 9 March must not say "we expect to by 5 March 2026"."""
    desk.report(RITA, "Problem on the users list", "Dave Jones called me stupid yesterday.\n")
    desk.member(ALICE, "#timeline 2026-03-05")
    desk.member(ALICE, "#escalate we cannot agree")
    desk.last(RITA[1], "Your report is now with the Executive Council")
    desk.days_pass(7.1)
    update = words(desk.last(RITA[1], "An update on your report"))
    assert "5 March 2026" not in update
    assert "we expect to by 23 March 2026" in update  # the default projection from 9 March


def test_a_form_reporter_answers_the_question_on_their_follow_up_page(tmp_path, relay):
    """A web-form reporter without an address reads the question on their follow-up page and
    answers with the page's form (which threads nothing): the answer is read as theirs."""
    site = Site(tmp_path, relay)
    site.start()
    try:
        ref, page = open_report(site)
        site.post(page, {"csrf_token": site.token(page), "text": "No further contact."})
        site.page_showing(page, "with whom")
        site.post(page, {"csrf_token": site.token(page), "text": "The person I reported."})

        def recorded():
            with site.db() as db:
                return db.execute(
                    "SELECT 1 FROM events e JOIN cases c ON c.id = e.case_pk WHERE c.ref = ?"
                    " AND e.action = 'no-contact-with-reported'", [ref]
                ).fetchone()  # fmt: skip

        wait_until(recorded, "the wish about the person reported", timeout=10)
        member_reply(site, ref, "#to-reporter\nUnderstood: we will not ask him to write to you.")
        site.page_showing(page, "we will not ask him to write to you")
    finally:
        site.service.stop()


def test_the_council_releases_its_own_held_resolution(tmp_path, relay):
    """The council decides a case it holds; its statement names the reporter, so the leak
    guard holds the reprimand. The case stays the council's, so a council member can release
    it; only then are the reporter and the council told and the case resolved."""
    desk = Desk(tmp_path, relay, members=WITH_COUNCIL)
    try:
        desk.report(RITA, "Problem on the users list", "Dave Jones called me stupid yesterday.\n")
        desk.member(ALICE, "#escalate we cannot agree")
        to_frank = to_erin = desk.last(COUNCIL, "Case handed to the Executive Council")
        desk.reply(FRANK, to_frank, "#responsible Dave Jones <dave@example.com>\n"
                   "#propose private-reprimand\n" + marked("You called Rita Reporter stupid."),
                   signed=True)  # fmt: skip
        desk.reply(ERIN, to_erin, "#agree\n#consult", signed=True)
        desk.reply(RITA, desk.last(RITA[1], "Proposed resolution"), "Yes, go ahead.")
        desk.reply(ERIN, to_erin, "#enact", signed=True)
        said = words(desk.inbox(ERIN[1])[-1])
        assert "not enacted yet" in said and "The case is now escalated." in said
        held = desk.last(COUNCIL, "Mail held")  # the council reads the case's mail
        number = re.search(r"#release (\d+)", body(held)).group(1)
        assert desk.inbox(DAVE[1]) == [] and desk.state() == "escalated"
        assert [s for s in desk.subjects(RITA[1]) if "resolved" in s] == []
        desk.reply(FRANK, to_frank, f"#release {number}", signed=True)
        assert "enacted private-reprimand" in words(desk.inbox(FRANK[1])[-1])
        desk.days_pass(0.01)
        [reprimand] = desk.inbox(DAVE[1])
        assert "You called Rita Reporter stupid." in words(reprimand)
        assert body(reprimand).rstrip().endswith("Erin Council\nChair, Executive Council")
        desk.last(RITA[1], "Your report has been resolved")
        assert desk.state() == "resolved"
    finally:
        desk.close()
