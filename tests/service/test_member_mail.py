"""Issue 20 §17: a member is not buried. Whole cases walked through `casebook serve` by five
members (votes, notes, #status, #help, a proposal, the reporter consulted, the resolution
enacted), counting every mail each member receives.

Before the fold (main at 0bb83ee) this walk gave each member 46 or 47 mails for three cases:
one "Commands from X: applied" to each of the four others per command-only mail, and a
transcript per mail. Now routine outcomes fold into one mail per case per hour or into the
case's next notice, queries are answered privately, and a consensus reaches everyone at once
in its preview: 15 each, the five notices of each case.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.service.test_walks_e2e import Walk, body, quoted, reply_address
from tests.support.base import MEMBERS, ServeProcess, write_config
from tests.support.mailbuild import build

MEMBERS5 = MEMBERS + (
    '\n[[members]]\nname = "Dan Member"\nemail = "dan@example.org"\nrole = "member"\n'
    '\n[[members]]\nname = "Eve Member"\nemail = "eve@example.org"\nrole = "member"\n'
)
ALICE, BOB, CAROL, DAN, EVE = (f"{n}@example.org" for n in ("alice", "bob", "carol", "dan", "eve"))
NAMES = {ALICE: "Alice Chair", BOB: "Bob Member", CAROL: "Carol Member", DAN: "Dan Member",
         EVE: "Eve Member"}  # fmt: skip
MEMBERS_ALL = tuple(NAMES)
RITA = "rita@example.net"
# Each member's mail for the three cases of this walk on main at 0bb83ee (before the fold),
# not counting the answer to their own #help or #status.
BEFORE = {ALICE: 47, BOB: 47, CAROL: 46, DAN: 46, EVE: 47}
# And with the fold: the five notices of a case (the new report, the proposal, the preview at
# consensus, the reporter's answer, the copy of the resolution), which carry what members'
# command-only mails did: 15 each.
counter = iter(range(1, 10_000))


class Members(Walk):
    """The walk's service in token mode: members command through their own reply addresses
    (with the default flood limits: their mail is proved theirs, issue 20 §18)."""

    def __init__(self, tmp_path, relay):
        super().__init__(tmp_path, relay, members=MEMBERS5)
        self.config = write_config(tmp_path, relay_port=relay.port, intake_port=self.port,
                                   members=MEMBERS5, command_auth="token")  # fmt: skip
        self.process = ServeProcess(self.config, self.port)
        self.database = tmp_path / "casebook.db"

    def settled(self) -> None:
        """Everything sent is taken in and every mail due now has left (folded mail waits)."""
        self.quiet()

    def reply(self, address: str, original, text: str) -> None:
        """`address` answers `original` (quoting it, as mail clients do) at its reply address."""
        to = reply_address(original)
        raw = build(sender=f"{NAMES.get(address, 'Rita Canaryname')} <{address}>", to=to,
                    subject=f"Re: {original['Subject']}", body=f"{text}\n\n{quoted(original)}\n",
                    message_id=f"<mm{next(counter)}@{address.split('@')[1]}>",
                    in_reply_to=original["Message-ID"],
                    references=(original["Message-ID"],))  # fmt: skip
        self.send(raw, address, to)
        self.settled()


@pytest.fixture
def members(tmp_path, relay):
    w = Members(tmp_path, relay)
    w.process.start()
    yield w
    w.process.stop()


def report(n: int) -> bytes:
    return (
        f"From: Rita Canaryname <{RITA}>\r\nTo: conduct@example.org\r\n"
        f"Subject: Trouble number {n}\r\nMessage-ID: <mm-report-{n}@example.net>\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n"
        f"Names: Dave Jones <dave{n}@example.com>\r\nWhen: yesterday\r\n"
        "Where: the users mailing list\r\n"
        "What happened: he called me stupid and told me to leave the project.\r\nOngoing: no\r\n"
    ).encode()


def answers_query(message) -> bool:
    return str(message["Subject"]).endswith("Commands applied") and bool(
        re.search(r"^> #(help|status)$", body(message), re.M)
    )


def walk_case(w: Members, n: int) -> None:
    """One whole case: notes, a query, votes by every member, consult, enact."""
    ref = f"CoC-2026-{n:03d}"
    w.send(report(n), RITA, "conduct@example.org")
    notice = {m: w.expect(m, f"[{ref}] New report") for m in MEMBERS_ALL}
    w.settled()
    w.reply(ALICE, notice[ALICE], f"#responsible Dave Jones <dave{n}@example.com>")
    w.reply(ALICE, notice[ALICE], "#violation yes")  # the finding, before a resolution
    statement = "Your messages on the users list were hostile and broke our Code of Conduct."
    w.reply(ALICE, notice[ALICE], f"#propose private-reprimand\nStatement: {statement}\n"
            "End of statement")  # fmt: skip
    w.reply(BOB, notice[BOB], "#note I read the whole thread; it matches the report.")
    if n == 1:  # a member asks for the commands once, another where a case stands
        w.reply(CAROL, notice[CAROL], "#help")
        w.reply(DAN, notice[DAN], "#status")
    w.reply(CAROL, notice[CAROL], "#note The list archive confirms it.")
    for member in (BOB, CAROL, DAN):
        w.reply(member, notice[member], "#agree")
    before = len(w.inbox(ALICE))
    w.reply(EVE, notice[EVE], "#agree")
    # The chair must act on a consensus: it reaches her at once, not at the hour's end.
    told = [m for m in w.inbox(ALICE)[before:] if "consensus reached" in body(m)]
    assert told, [str(m["Subject"]) for m in w.inbox(ALICE)[before:]]
    w.reply(ALICE, notice[ALICE], "#consult")
    consult = w.expect(RITA, f"[{ref}] Proposed resolution")
    w.reply(RITA, consult, "Yes, that is acceptable to me.")
    w.expect(ALICE, f"[{ref}] More information from the reporter")
    w.reply(ALICE, notice[ALICE], "#enact")
    w.expect(f"dave{n}@example.com", "private message")
    w.settled()
    # Nothing is lost: what each member did reaches the others (in the case's other mail).
    text = "\n".join(body(m) for m in w.inbox(BOB) if ref in str(m["Subject"]))
    for line in ("I read the whole thread", "The list archive confirms it", "consensus reached",
                 "the proposal was sent to 1 party", "enacted private-reprimand",
                 f"======== To: Dave Jones <dave{n}@example.com>"):  # fmt: skip
        assert line in text, line
    if n == 1:  # queries are the asker's: Carol's #help reached her alone
        assert "list the commands" in "\n".join(body(m) for m in w.inbox(CAROL))
        assert "> #help" not in text and "> #status" not in text


def test_a_member_gets_a_third_of_the_mail_for_the_same_cases(members):
    w = members
    start = datetime.now(UTC)
    for n in (1, 2, 3):
        walk_case(w, n)
    w.tick(start + timedelta(hours=1, minutes=5))  # what was folded for the hour's end goes
    w.settled()
    # Mail a member asked for (the answer to their own #help or #status) does not bury them.
    counts = {m: len([x for x in w.inbox(m) if not answers_query(x)]) for m in MEMBERS_ALL}
    print("mail per member:", counts, "before:", BEFORE)
    for member in (ALICE, BOB):
        print(member, Counter(str(m["Subject"]).split("] ", 1)[-1] for m in w.inbox(member)))
    for member, count in counts.items():
        assert count * 3 <= BEFORE[member], (member, count, BEFORE[member])
