"""What reaches each mailbox when the council finishes a case alone, when a member answers
casebook's own reminder, and when a statement is proposed (issue 20, items 4-6).

Each walk runs the real pipeline (spool → archive → outbox → a real SMTP relay sink), with
replies built as mail clients write them (quoting the mail they answer, DKIM-signed by the
member's domain), and judges the mail as its recipient reads it.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from archive.record.cases import find_case
from archive.record.db import open_archive
from archive.workflow.clock_sweep import fire_due
from mailer.send import send_due
from tests.pipeline.test_appeals import COUNCIL
from tests.support.base import T0
from tests.support.committee import ALICE, BOB, CAROL, LIST, Committee, dkim_settings
from tests.support.helpers import deliver
from tests.support.mailbuild import build, sign, via_list

ERIN = "Erin Council <erin@example.org>"  # the council's chair
FRANK = "Frank Council <frank@example.org>"
GINA = "Gina Council <gina@example.org>"
DAVE = "dave@example.com"
RITA = "rita@example.net"
FORGED_WORDING = "someone may be using your address"
ids = itertools.count(1)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",)) or message
    return part.get_content().replace("\r\n", "\n")


def words(message: EmailMessage) -> str:
    return " ".join(text_of(message).split())


def address(person: str) -> str:
    return person.split("<")[-1].rstrip(">")


class Walk:
    """The pipeline, its relay sink, and the clock the test moves."""

    def __init__(self, db, settings, relay):
        self.db, self.settings, self.relay = db, settings, relay
        self.committee = Committee(db, settings)
        self.now = T0
        self.seen: dict[str, int] = {}

    def at(self, delta: timedelta) -> None:
        """Time passes (cron's `casebook tick`): clocks fire, mail leaves."""
        self.now = T0 + delta
        fire_due(self.db, self.settings, self.now)
        self.sweep()

    def sweep(self) -> None:
        send_due(self.db, self.settings, self.now, holder="t", wall_clock=lambda: self.now)

    def inbox(self, who: str) -> list[EmailMessage]:
        return self.relay.to(address(who))

    def new_mail(self, who: str) -> list[EmailMessage]:
        mail = self.inbox(who)
        start = self.seen.get(who, 0)
        self.seen[who] = len(mail)
        return mail[start:]

    def last(self, who: str, subject: str) -> EmailMessage:
        hits = [m for m in self.inbox(who) if subject in str(m["Subject"])]
        assert hits, (subject, [str(m["Subject"]) for m in self.inbox(who)])
        return hits[-1]

    def reply(self, sender: str, original: EmailMessage, text: str, *, to: str | None = None):
        """`sender` answers `original` from their mail client: to its Reply-To (or From), the
        text on top, the original quoted below; their domain signs it."""
        to = to or getaddresses([str(original["Reply-To"] or original["From"])])[0][1]
        quote = "\n".join(f"> {line}".rstrip() for line in text_of(original).splitlines())
        raw = build(
            sender=sender,
            to=to,
            subject=f"Re: {original['Subject']}",
            body=f"{text}\n\nOn Mon, 2 Mar 2026 at 10:00, casebook wrote:\n{quote}\n",
            message_id=f"<words{next(ids)}@example.org>",
            in_reply_to=original["Message-ID"],
            references=(original["Message-ID"],),
        )
        raw = sign(raw)
        if to == LIST:
            raw = via_list(raw)
        result = deliver(self.db, self.settings, raw, now=self.now, sender=address(sender),
                         to=(to,))  # fmt: skip
        self.sweep()
        return result


def walk_over(tmp_path, relay, **values):
    settings = dkim_settings(tmp_path, relay_port=relay.port, **values)
    db = open_archive(settings.database)
    w = Walk(db, settings, relay)
    w.committee.report()
    w.sweep()
    return w


@pytest.fixture
def council_walk(tmp_path, relay):
    w = walk_over(tmp_path, relay, members=COUNCIL)
    yield w
    w.db.close()


def deadlock_without_responsible(w: Walk) -> EmailMessage:
    """The committee deadlocks before anyone recorded who is responsible; a week on the case
    is the council's. Returns the council's escalation notice."""
    notice = w.last(LIST, "New report")
    w.reply(ALICE, notice, "#propose hiatus\nStatement:\nTake a break.\nEnd of statement")
    w.reply(BOB, notice, "#object too harsh")
    w.at(timedelta(days=7, minutes=1))
    assert find_case(w.db, "CoC-2026-001").state == "escalated"
    return w.last("council@example.org", "Case handed to the Executive Council")


# -- item 4: the Executive Council finishes a case it holds on its own -----------------------


def test_the_council_records_who_is_responsible_and_finishes_the_case(council_walk):
    """Manual: a deadlock turns the matter over to the Executive Council "for resolution". The
    committee never recorded the person responsible: the council does, and enacts."""
    w = council_walk
    escalation = deadlock_without_responsible(w)
    w.at(timedelta(days=8))
    w.reply(FRANK, escalation, "#status\n#help")
    status = w.last(FRANK, "Commands applied")
    assert "the case is escalated" in text_of(status)
    w.reply(
        FRANK,
        escalation,
        "#responsible Dave Jones <dave@example.com>\n#violation yes\n"
        "#propose private-reprimand\nStatement:\nYour messages on the users list were hostile."
        "\nEnd of statement",
    )
    transcript = text_of(w.last(FRANK, "Commands applied"))
    assert "recorded as responsible: Dave Jones <dave@example.com>" in transcript
    assert "finding recorded: violation yes" in transcript
    w.reply(ERIN, escalation, "#agree\n#consult")
    # Those who decide read Dave's mail first, as he will read it.
    preview = previews_in(w.last("council@example.org", "Agreed: private-reprimand"))
    w.at(timedelta(days=14))  # consult_wait has passed
    w.reply(ERIN, escalation, "#enact")
    assert "enacted private-reprimand" in text_of(w.last(ERIN, "Commands applied"))
    [reprimand] = w.inbox(DAVE)
    assert "Your messages on the users list were hostile." in text_of(reprimand)
    assert preview["Dave Jones <dave@example.com>"] == (
        f"Subject: {reprimand['Subject']}\n\n{text_of(reprimand).rstrip()}"
    )
    assert text_of(reprimand).rstrip().endswith("Erin Council\nChair, Executive Council")
    assert find_case(w.db, "CoC-2026-001").state == "resolved"
    for member in (ERIN, FRANK, GINA):
        for mail in w.inbox(member):
            assert mail["Subject"] != "Commands not applied", member
            assert FORGED_WORDING not in text_of(mail), member


def test_a_keyword_the_council_does_not_use_is_answered_in_its_transcript(council_walk):
    """A council member's refusal says what the council may do; never that someone may be
    using their address."""
    w = council_walk
    escalation = deadlock_without_responsible(w)
    w.at(timedelta(days=8))
    w.reply(GINA, escalation, "#assign Alice Chair\n#note I will read the record")
    refused = w.last(GINA, "Commands not applied")
    text = text_of(refused)
    assert "[CoC-2026-001]" in str(refused["Subject"])
    assert "the Executive Council does not use #assign" in words(refused)
    assert "#responsible" in text and "#return" in text
    assert FORGED_WORDING not in text
    assert not [m for m in w.inbox(GINA) if FORGED_WORDING in text_of(m)]


def test_a_council_member_in_a_case_the_committee_has_is_told_so(council_walk):
    w = council_walk
    notice = w.last(LIST, "New report")
    # Erin is sent the case only when it is hers; she answers a forwarded notice.
    w.reply(ERIN, notice, "#note I saw this on the list", to="conduct@example.org")
    refused = w.last(ERIN, "Commands not applied")
    assert "the committee has this case" in words(refused)
    assert FORGED_WORDING not in text_of(refused)


# -- item 5: the 20-hour unilateral reminder is answered where it says ----------------------


@pytest.mark.parametrize("mode", ["dkim", "token"])
def test_a_member_answers_the_unilateral_reminder_where_it_says(tmp_path, relay, mode):
    """Manual: a member who acts alone in an emergency reports it to the committee within 24
    hours. casebook reminds them at 20 hours; their answer to that reminder is recorded."""
    w = walk_over(tmp_path, relay, command_auth=mode)
    if mode == "dkim":  # the committee's list carries the case; Bob answers on it
        w.reply(BOB, w.last(LIST, "New report"), "#urgent he threatened her", to=LIST)
    else:  # Bob's own copy, with his reply address
        w.reply(BOB, w.last(BOB, "New report"), "#urgent he threatened her")
    # A command-only mail to his reply address is answered in the notice it caused (issue 20
    # §17: the urgent notice carries what his commands did); on the list, by a transcript.
    answered = "Commands applied" if mode == "dkim" else "URGENT report"
    assert "the case is urgent" in text_of(w.last(BOB, answered))
    w.new_mail(BOB)
    w.at(timedelta(hours=20, minutes=1))
    [reminder] = [m for m in w.new_mail(BOB) if "Reminder" in str(m["Subject"])]
    reply_to = getaddresses([str(reminder["Reply-To"])])[0][1]
    assert reply_to.startswith("conduct+"), reminder["Reply-To"]  # Bob's own reply address
    assert "Reply to this message" in words(reminder)
    w.at(timedelta(hours=21))
    w.reply(BOB, reminder, "#unilateral Removed his account from the chat and called the venue.")
    # His answer only commands, to his reply address: it is answered in the notice it caused
    # (on the list when the case goes there), which the whole audience reads (issue 20 §17).
    answer = w.last(LIST if mode == "dkim" else BOB, "nilateral")
    assert "recorded and put on the committee's review list" in text_of(answer)
    everyone = [m for who in (ALICE, BOB, CAROL, LIST) for m in w.inbox(who)]
    assert not [m for m in everyone if "was held" in str(m["Subject"])]
    assert not [m for m in everyone if FORGED_WORDING in text_of(m)]
    unilateral = w.last(LIST if mode == "dkim" else ALICE, "nilateral")
    assert "Removed his account from the chat" in text_of(unilateral)
    w.db.close()


# -- item 6: words meant for colleagues never reach the reported person -----------------------


@pytest.fixture
def committee_walk(tmp_path, relay):
    w = walk_over(tmp_path, relay)
    yield w
    w.db.close()


PROPOSAL = (
    "#responsible Dave Jones <dave@example.com>\n#propose private-reprimand\nStatement:\n"
    "Your messages on the users list were hostile and broke our Code of Conduct.\n"
    "Please keep discussions technical and kind.\nEnd of statement\n\n"
    "Thanks all, let's discuss Monday. I'm not sure he will take it well."
)


def previews_in(message: EmailMessage, step: str = "#enact") -> dict[str, str]:
    """The mails a committee notice previews (those sent at `step`), by recipient: the
    subject line and the text."""
    found = {}
    for block in text_of(message).split("======== To: ")[1:]:
        heading, _, rest = block.partition("\n")
        to, _, at = heading.partition(" (at ")
        if at.rstrip(")") in ("", step):
            found[to] = rest.split(f"======== end of the mail to {to}")[0].strip()
    return found


def test_the_statement_is_only_what_is_marked_and_the_committee_reads_each_mail_first(
    committee_walk,
):
    """Manual: the committee contacts the reported person with the resolution; the proposer's
    word to colleagues is not part of it. Before #enact, the committee reads each outside
    person's mail exactly as it will be sent."""
    w = committee_walk
    notice = w.last(LIST, "New report")
    w.reply(ALICE, notice, PROPOSAL, to=LIST)
    transcript = text_of(w.last(ALICE, "Commands applied"))
    assert "proposal #1: private-reprimand" in transcript
    said = " ".join(transcript.split())
    assert 'its statement: 2 line(s), from "Your messages on the users list …"' in said
    w.reply(BOB, notice, "#agree", to=LIST)
    w.reply(CAROL, notice, "#agree", to=LIST)
    # At consensus the case's audience reads what Dave and Rita will receive.
    preview = w.last(LIST, "Agreed: private-reprimand")
    shown = previews_in(preview)
    dave = shown["Dave Jones <dave@example.com>"]
    assert dave.startswith(
        "Subject: [CoC-2026-001] A private message from the Code of Conduct Committee"
    )
    assert "Please keep discussions technical and kind." in dave
    assert "discuss Monday" not in dave and "take it well" not in dave
    [rita] = [text for to, text in shown.items() if RITA in to]
    assert "Subject: [CoC-2026-001] Your report has been resolved" in rita
    assert "Next: #consult the reporter" in words(preview)
    [asked] = previews_in(preview, "#consult").values()  # what #consult will ask Rita
    assert "Subject: [CoC-2026-001] Proposed resolution" in asked
    assert len([m for m in w.inbox(LIST) if "Agreed:" in str(m["Subject"])]) == 1
    w.reply(ALICE, notice, "#consult", to=LIST)
    [consult] = w.inbox(RITA)[-1:]
    assert asked == f"Subject: {consult['Subject']}\n\n{text_of(consult).rstrip()}"
    w.at(timedelta(days=6))  # consult_wait has passed without an answer
    w.reply(ALICE, notice, "#enact", to=LIST)
    enacted = w.last(ALICE, "Commands applied")
    assert "enacted private-reprimand" in text_of(enacted)
    in_transcript = previews_in(enacted)
    # What reached each mailbox is what the committee read.
    [reprimand] = w.inbox(DAVE)
    text = text_of(reprimand)
    assert "Please keep discussions technical and kind." in text
    assert "discuss Monday" not in text and "take it well" not in text
    assert "Thanks all" not in reprimand.as_string()
    for shown_text in (dave, in_transcript["Dave Jones <dave@example.com>"]):
        assert shown_text == f"Subject: {reprimand['Subject']}\n\n{text.rstrip()}"
    [notice_to_rita] = [m for m in w.inbox(RITA) if "resolved" in str(m["Subject"])]
    [rita_shown] = [text for to, text in in_transcript.items() if RITA in to]
    assert (
        rita_shown == f"Subject: {notice_to_rita['Subject']}\n\n{text_of(notice_to_rita).rstrip()}"
    )


def test_unmarked_words_below_propose_never_go_out(committee_walk):
    """Text below #propose with no statement marked is refused with how to mark it, never
    guessed at; a statement with no end line likewise."""
    w = committee_walk
    notice = w.last(LIST, "New report")
    w.reply(ALICE, notice, "#responsible Dave Jones <dave@example.com>", to=LIST)
    w.reply(ALICE, notice, "#propose private-reprimand\nYou were hostile.\n\nThanks all!",
            to=LIST)  # fmt: skip
    refused = w.last(ALICE, "Commands not applied")
    assert "nothing below #propose is marked as the statement" in words(refused)
    assert "a line 'Statement:' before what they will read and a line 'End of statement'" in (
        words(refused)
    )
    w.reply(ALICE, notice, "#propose hiatus\nStatement: Please take a break.\n\nThanks all!",
            to=LIST)  # fmt: skip
    assert "no line 'End of statement'" in words(w.last(ALICE, "Commands not applied"))
    w.reply(ALICE, notice, "#propose no-action\nI doubt there is more to do here. Thoughts?",
            to=LIST)  # fmt: skip
    assert "proposal #1: no-action" in text_of(w.last(ALICE, "Commands applied"))
    assert w.inbox(DAVE) == []


def test_a_ban_enacted_on_a_date_is_previewed_as_it_will_leave(committee_walk):
    """`#enact DATE`: the transcript shows the ban notices to Dave and the core team as they
    will be sent that day (its end counted from then), and that is what leaves."""
    w = committee_walk
    notice = w.last(LIST, "New report")
    w.reply(ALICE, notice, "#responsible Dave Jones <dave@example.com>\n"
            "#propose temporary-ban 30d chat\nStatement: You threatened a contributor.\n"
            "End of statement\n\nBob, can you check the chat logs first?", to=LIST)  # fmt: skip
    w.reply(BOB, notice, "#agree", to=LIST)
    w.reply(CAROL, notice, "#agree", to=LIST)
    w.reply(ALICE, notice, "#consult", to=LIST)
    w.at(timedelta(days=6))
    w.reply(ALICE, notice, "#enact 2026-03-20", to=LIST)
    transcript = w.last(ALICE, "Commands applied")
    shown = previews_in(transcript)
    assert "until 19 April 2026" in " ".join(shown["Dave Jones <dave@example.com>"].split())
    core = [text for to, text in shown.items() if "core" in to]
    assert core and "Dave Jones <dave@example.com>" in core[0]
    assert w.inbox(DAVE) == []
    w.at(timedelta(days=18, hours=1))  # 09:00 on 20 March in the committee's zone has passed
    [ban] = w.inbox(DAVE)
    assert "check the chat logs" not in ban.as_string()
    assert shown["Dave Jones <dave@example.com>"] == (
        f"Subject: {ban['Subject']}\n\n{text_of(ban).rstrip()}"
    )


def test_an_unsigned_answer_to_the_reminder_is_not_called_a_forgery(tmp_path, relay):
    """DKIM mode: Bob's provider did not sign his answer. It came from him to his own reply
    address, answering casebook's reminder: he is told what to fix, never that someone may
    be using his address."""
    w = walk_over(tmp_path, relay)
    w.reply(BOB, w.last(LIST, "New report"), "#urgent he threatened her", to=LIST)
    w.at(timedelta(hours=20, minutes=1))
    reminder = w.last(BOB, "Reminder")
    w.at(timedelta(hours=21))
    to = getaddresses([str(reminder["Reply-To"])])[0][1]
    raw = build(sender=BOB, to=to, subject=f"Re: {reminder['Subject']}",
                body="#unilateral Removed his account from the chat.\n",
                message_id="<unsigned-answer@example.org>", in_reply_to=reminder["Message-ID"],
                references=(reminder["Message-ID"],))  # fmt: skip
    deliver(w.db, w.settings, raw, now=w.now, sender="bob@example.org", to=(to,))
    w.sweep()
    refused = w.last(BOB, "Commands not applied")
    assert "DKIM signing on" in words(refused)
    assert FORGED_WORDING not in text_of(refused)
    w.db.close()


COUNCIL_EXAMPLES = {
    "responsible": "#responsible Dave Jones <dave@example.com>",
    "violation": "#violation yes",
    "propose": "#propose no-action",
    "agree": "#agree",
    "object": "#object not yet",
    "abstain": "#abstain",
    "consult": "#consult",
    "enact": "#enact",
    "release": "#release 99",
    "drop": "#drop 99",
    "to-reporter": "#to-reporter\nThe council has your report.",
    "to-party": "#to-party reported\nPlease tell us your side.",
    "send": "#send followup-received to reporter",
    "note": "#note read the record",
    "summary": "#summary\nCalled Rita.",
    "status": "#status",
    "timeline": "#timeline 2026-04-01",
    "help": "#help",
    "return": "#return\nThe committee should hear Dave first.",
}


def test_every_keyword_the_docs_give_the_council_is_the_councils(council_walk):
    """Each keyword the committee pages list for the council in a case it holds runs as the
    council's (it may still be refused for the case's own reasons), never as a stranger's."""
    from archive.workflow.council import COUNCIL_KEYWORDS
    from tests.support.base import ROOT

    page = (ROOT / "docs/committee/running-a-case.md").read_text()
    section = page.split("## When the Executive Council has the case")[1].split("\n## ")[0]
    said = section.split("Its non-conflicted members then")[1].split("under the council's rule")
    listed = set(re.findall(r"`#([a-z-]+)", said[0]))
    assert listed == set(COUNCIL_KEYWORDS) == set(COUNCIL_EXAMPLES)
    w = council_walk
    escalation = deadlock_without_responsible(w)
    w.at(timedelta(days=8))
    w.new_mail(FRANK)
    for keyword, line in COUNCIL_EXAMPLES.items():
        w.reply(FRANK, escalation, line)
        [result] = [m for m in w.new_mail(FRANK) if "Commands" in str(m["Subject"])]
        assert "does not use" not in words(result), keyword
        assert FORGED_WORDING not in text_of(result), keyword
        assert "[CoC-2026-001]" in str(result["Subject"]), keyword
