"""Whole cases walked as the people in them meet casebook: `casebook serve` as a real process,
mail in over SMTP as real clients write it, time moved with `casebook tick --now`, and every
step judged by what lands in the relay sink (who receives what, with what words).

1. Deadlock → the Executive Council → resolution, with a conflicted member kept out.
2. Mediation, with a mediator who first asks for more time.

At each step an attacker tries too: a forged reply from the reporter's address (not through
her reply address, unsigned where her domain signs) and a stranger quoting the case tag.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from zoneinfo import ZoneInfo

import dkim
import pytest

from archive.clock import to_text
from tests.conftest import ServeProcess, free_port, write_config
from tests.helpers import run_casebook, smtp_send
from tests.mailbuild import SIGNED, pinned_keys_toml, sign, via_list
from tests.test_appeals import COUNCIL

LIST = "conduct-committee@lists.example.org"
REPORTS = "conduct@example.org"
ALICE = ("Alice Chair", "alice@example.org")
BOB = ("Bob Member", "bob@example.org")
CAROL = ("Carol Member", "carol@example.org")
ERIN = ("Erin Council", "erin@example.org")  # the council's chair
FRANK = ("Frank Council", "frank@example.org")
GINA = ("Gina Council", "gina@example.org")
RITA = ("Rita Canaryname", "rita@example.net")  # the reporter; example.net signs its mail
DAVE = ("Dave Jones", "dave@example.com")  # the reported person
MAX = ("Max Mediator", "max@mediators.example")
MALLORY = ("Mallory Stranger", "mallory@evil.example")
MEMBER_NAMES = ("Alice", "Bob", "Carol", "Erin", "Frank", "Gina")
MEMBER_ADDRESSES = tuple(a for _, a in (ALICE, BOB, CAROL, ERIN, FRANK, GINA))
INSIDE = {*MEMBER_ADDRESSES, LIST, "council@example.org"}
ids = itertools.count(1)


def wait_until(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def body(message: EmailMessage) -> str:
    """What the reader sees: the text part (casebook's mail is text/plain)."""
    part = message.get_body(("plain",)) or message
    return part.get_content().replace("\r\n", "\n")


def words(message: EmailMessage) -> str:
    """The text as one line of words, so a sentence is found however it is wrapped."""
    return " ".join(body(message).split())


def example_net_key(directory: Path) -> tuple[bytes, str]:
    """A DKIM key for the reporter's domain (her provider signs all her mail, as Gmail does)."""
    key = directory / "example.net.key"
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return key.read_bytes(), base64.b64encode(der).decode()


class Walk:
    """The service, its relay sink, and the people writing to it."""

    def __init__(self, tmp_path: Path, relay, *, members: str = COUNCIL):
        self.relay = relay
        self.port = free_port()
        self.net_key, public = example_net_key(tmp_path)
        pinned = pinned_keys_toml() + (
            f'"test._domainkey.example.net" = "v=DKIM1; k=rsa; p={public}"\n'
        )
        self.config = write_config(tmp_path, relay_port=relay.port, intake_port=self.port,
                                   members=members, extra="\n" + pinned)  # fmt: skip
        self.process = ServeProcess(self.config, self.port)
        self.seen: dict[str, int] = {}

    # -- what lands ---------------------------------------------------------------------------
    def inbox(self, address: str) -> list[EmailMessage]:
        return self.relay.to(address)

    def new_mail(self, address: str) -> list[EmailMessage]:
        """Mail `address` received since the last look (the person reads their inbox)."""
        mail = self.inbox(address)
        start = self.seen.get(address, 0)
        self.seen[address] = len(mail)
        return mail[start:]

    def expect(self, address: str, subject: str, count: int = 1) -> EmailMessage:
        """Wait until `address` has received `count` mails whose subject holds `subject`."""

        def found():
            hits = [m for m in self.inbox(address) if subject in str(m["Subject"])]
            return hits if len(hits) >= count else None

        return wait_until(found, f"{subject!r} to {address}")[count - 1]

    def quiet(self) -> None:
        """Until the worker has done all it can: nothing spooled, nothing queued. (Mail is in
        the spool before intake answers 250, and leaves it in the same commit that queues what
        it causes, so there is no gap between the two.)"""
        wait_until(self.idle, "the worker to go idle")

    def idle(self) -> bool:
        """Nothing spooled and no mail due: mail folded to wait (for the hour's end, or the
        case's next notice) is not the worker's to send yet."""
        if self.stats()["spooled"]:
            return False
        now = to_text(datetime.now(UTC))
        with sqlite3.connect(self.config.parent / "casebook.db") as db:
            due = db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'queued'"
                             " AND next_attempt_at <= ?", [now])  # fmt: skip
            return due.fetchone()[0] == 0

    def stats(self) -> dict:
        return json.loads(run_casebook("-c", str(self.config), "stats", "--json").stdout)

    def hour_passes(self) -> None:
        """Every mail sent is taken in; then the sweep an hour on sends what was folded to wait
        for the hour's end (held notices past the first for a case)."""
        wait_until(lambda: not self.stats()["spooled"], "the worker to take in all mail")
        self.tick(datetime.now(UTC) + timedelta(hours=1, minutes=1))

    def show(self, ref: str) -> dict:
        out = run_casebook("-c", str(self.config), "show", ref, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def tick(self, when: datetime) -> str:
        """Time passes: one sweep at `when` (as cron's `casebook tick` would run it)."""
        out = run_casebook("-c", str(self.config), "-v", "tick", "--now", when.isoformat())
        assert out.returncode == 0, out.stderr
        return out.stdout.decode() + out.stderr.decode()

    # -- what people send ---------------------------------------------------------------------
    def send(self, raw: bytes, envelope: str, to: str) -> None:
        assert smtp_send(self.port, raw, envelope, [to]) == {}

    def signed_by_example_net(self, raw: bytes) -> bytes:
        """As the reporter's provider sends her mail: DKIM-signed, d=example.net."""
        include = [h for h in SIGNED if h == b"from" or h.decode() + ":" in raw.decode().lower()]
        return dkim.sign(raw, b"test", b"example.net", self.net_key, include_headers=include) + raw


def headers(sender, to, subject, message_id, in_reply_to=None, date=None, extra=()):
    name, address = sender
    lines = [
        f"From: {name} <{address}>",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {date or 'Mon, 2 Mar 2026 12:00:00 +0000'}",
        f"Message-ID: {message_id}",
    ]
    if in_reply_to is not None:
        lines += [f"In-Reply-To: {in_reply_to['Message-ID']}",
                  f"References: {in_reply_to['Message-ID']}"]  # fmt: skip
    return lines + list(extra)


def reply_subject(original: EmailMessage, prefix: str = "Re: ") -> str:
    return prefix + str(original["Subject"])


def quoted(original: EmailMessage, prefix: str = "> ") -> str:
    lines = body(original).splitlines()
    return "\n".join(prefix + line if line else prefix.rstrip() for line in lines)


def outlook(sender, to, original: EmailMessage, text: str) -> bytes:
    """Outlook for Windows, plain text: no `>`, a From:/Sent:/To:/Subject: block."""
    block = (
        f"From: {original['From']} \nSent: Monday, March 2, 2026 10:00 AM\n"
        f"To: {sender[0]} <{sender[1]}>\nSubject: {original['Subject']}\n\n{body(original)}"
    )
    lines = headers(sender, to, reply_subject(original, "RE: "), f"<ol{next(ids)}@example.org>",
                    original, extra=("X-Mailer: Microsoft Outlook 16.0", "MIME-Version: 1.0",
                                     'Content-Type: text/plain; charset="utf-8"',
                                     "Content-Transfer-Encoding: 8bit"))  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n" + f"{text}\n\n{block}".replace("\n", "\r\n")).encode()


def gmail(sender, to, original: EmailMessage, text: str, domain: str) -> bytes:
    """Gmail web: multipart/alternative, `On … wrote:` wrapped inside the address, and the
    HTML part's `gmail_quote`."""
    boundary = "000000000000a1b2c3d4e5f6" + f"{next(ids):04d}"
    name, address = original["From"].addresses[0].display_name, original["From"].addresses[0]
    attribution = f"On Mon, 2 Mar 2026 at 10:00, {name} <\n{address.addr_spec}> wrote:"
    html_text = "".join(f"<div>{line or '<br>'}</div>" for line in text.splitlines())
    html_quote = "<br>".join(body(original).splitlines())
    plain = f"{text}\n\n{attribution}\n\n{quoted(original)}\n"
    html = (
        f'<div dir="ltr">{html_text}</div><br><div class="gmail_quote gmail_quote_container">'
        f'<div dir="ltr" class="gmail_attr">On Mon, 2 Mar 2026 at 10:00, {name} &lt;'
        f"{address.addr_spec}&gt; wrote:<br></div>"
        f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid'
        f' rgb(204,204,204);padding-left:1ex">{html_quote}</blockquote></div>'
    )
    lines = headers(sender, to, reply_subject(original), f"<CAgm{next(ids)}@mail.{domain}>",
                    original, extra=("MIME-Version: 1.0", "Content-Type: multipart/alternative;"
                                     f' boundary="{boundary}"'))  # fmt: skip
    mime = (
        f'--{boundary}\nContent-Type: text/plain; charset="UTF-8"\n\n{plain}\n'
        f'--{boundary}\nContent-Type: text/html; charset="UTF-8"\n\n{html}\n\n--{boundary}--\n'
    )
    return ("\r\n".join(lines) + "\r\n\r\n" + mime.replace("\n", "\r\n")).encode()


def apple_mail(sender, to, original: EmailMessage, text: str) -> bytes:
    """Apple Mail: format=flowed; delsp=yes, `On …, at …, X wrote:` and a `>` quote."""
    who = original["From"].addresses[0].display_name or original["From"].addresses[0].addr_spec
    plain = f"{text}\n\n> On 2 Mar 2026, at 10:00, {who} wrote:\n> \n{quoted(original)}\n"
    lines = headers(sender, to, reply_subject(original), f"<AP{next(ids)}@example.org>", original,
                    extra=("X-Mailer: Apple Mail (2.3774.300.61.1.2)", "MIME-Version: 1.0",
                           "Content-Type: text/plain; charset=us-ascii; format=flowed; delsp=yes",
                           "Content-Transfer-Encoding: 7bit"))  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n" + plain.replace("\n", "\r\n")).encode()


def thunderbird(sender, to, original: EmailMessage, text: str) -> bytes:
    """Thunderbird: format=flowed, long lines soft-wrapped (a trailing space), `> ` quote."""
    wrapped = []
    for line in text.splitlines():
        while len(line) > 72 and " " in line[:72]:
            cut = line.rfind(" ", 0, 72)
            wrapped.append(line[: cut + 1])  # the space stays: a soft break
            line = line[cut + 1 :]
        wrapped.append(line)
    who = original["From"].addresses[0]
    plain = "\n".join(wrapped) + (
        f"\n\nOn 02.03.26 10:00, {who.display_name} wrote:\n{quoted(original)}\n"
    )
    lines = headers(sender, to, reply_subject(original), f"<tb{next(ids)}@example.org>", original,
                    extra=("User-Agent: Mozilla Thunderbird", "MIME-Version: 1.0",
                           "Content-Type: text/plain; charset=UTF-8; format=flowed",
                           "Content-Transfer-Encoding: 8bit"))  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n" + plain.replace("\n", "\r\n")).encode()


def outlook_html_only(sender, to, original: EmailMessage, text: str) -> bytes:
    """Outlook, HTML only: `appendonsend`, `<hr>` and the `divRplyFwdMsg` header block."""
    new = "".join(f"<div>{line or '<br>'}</div>" for line in text.splitlines())
    quote = "<br>".join(body(original).splitlines())
    html = (
        '<html><body><div dir="ltr">' + new + '</div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg"'
        f' dir="ltr"><b>From:</b> {original["From"]}<br><b>Sent:</b> Monday, March 2, 2026'
        f" 10:00 AM<br><b>Subject:</b> {original['Subject']}</div><div>{quote}</div>"
        "</body></html>"
    )
    lines = headers(sender, to, reply_subject(original, "RE: "), f"<ow{next(ids)}@example.org>",
                    original, extra=("MIME-Version: 1.0",
                                     'Content-Type: text/html; charset="utf-8"'))  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n" + html).encode()


def reply_address(message: EmailMessage) -> str:
    return getaddresses([str(message["Reply-To"] or message["From"])])[0][1]


@pytest.fixture
def walk(tmp_path, relay):
    w = Walk(tmp_path, relay)
    w.process.start()
    yield w
    w.process.stop()


REPORT = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Dave on the users list\r\nMessage-ID: <walk-report@mail.example.net>\r\n"
    "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n"
    "Names: Dave Jones <dave@example.com>\r\nWitnesses: Bobby\r\nWhen: yesterday\r\n"
    "Where: the users mailing list\r\n"
    "What happened: he called me stupid and told me to leave the project.\r\nOngoing: no\r\n"
)


def names_in(text: str) -> list[str]:
    """Members' and council members' names or addresses found in `text`."""
    found = [n for n in MEMBER_NAMES if re.search(rf"\b{n}\b", text)]
    return found + [a for a in MEMBER_ADDRESSES if a in text]


def assert_nothing_leaked(w: Walk, *, signed_by: str | None = None) -> None:
    """Outside the committee and the council: no member's name but the signature of the
    resolution's mail, no reporter's identity except to herself, nothing about the witness."""
    for _, rcpts, raw, _ in list(w.relay.messages):
        outside = [r for r in rcpts if r not in INSIDE]
        if not outside:
            continue
        text = raw.decode(errors="replace")
        if signed_by:
            text = text.replace(signed_by, "")
        assert names_in(text) == [], (rcpts, names_in(text))
        assert "Bobby" not in text, rcpts
        if RITA[1] not in rcpts:
            assert "Canaryname" not in text and RITA[1] not in text, rcpts


def test_deadlock_to_council_to_resolution(walk):
    """Manual: "If the group cannot reach consensus and deadlocks for over a week, the group
    will turn the matter over to the Executive Council for resolution"; "Once a resolution is
    agreed upon, but before it is enacted, the committee will contact the original reporter";
    a member involved "will not participate in the investigation or any decisions"."""
    w = walk
    start = datetime.now(UTC)

    # Rita reports; Bob ("Bobby") is her witness, so he is conflicted and kept out.
    w.send(w.signed_by_example_net(REPORT.encode()), RITA[1], REPORTS)
    ack = w.expect(RITA[1], "We received your report")
    assert ack["Subject"] == "[CoC-2026-001] We received your report"
    alice_notice = w.expect(ALICE[1], "New report")
    carol_notice = w.expect(CAROL[1], "New report")
    conflict = w.expect(ALICE[1], "Conflict of interest")
    assert "Bob Member <bob@example.org>: listed as a witness" in body(conflict)
    for notice in (alice_notice, carol_notice):
        assert reply_address(notice).startswith("conduct+")  # one by one, not the list
        assert "he called me stupid" in body(notice)
    w.quiet()
    assert w.inbox(LIST) == []

    # The chair proposes from Outlook; Carol objects from Apple Mail.
    proposal = (
        "#responsible Dave Jones <dave@example.com>\n#propose private-reprimand\nStatement:\n"
        "Your messages on the users list were hostile and broke our Code of Conduct.\n"
        "Please keep discussions technical and kind.\nEnd of statement"
    )
    w.send(sign(outlook(ALICE, reply_address(alice_notice), alice_notice, proposal)), ALICE[1],
           reply_address(alice_notice))  # fmt: skip
    transcript = body(w.expect(ALICE[1], "Commands applied"))
    assert "proposal #1: private-reprimand" in transcript
    assert "Code of Conduct Committee <conduct@example.org>" not in transcript  # no quote
    relayed = w.expect(CAROL[1], "New report", 2)  # Alice's mail, "via casebook"
    assert str(relayed["From"]).startswith("Alice Chair via casebook")
    w.send(sign(apple_mail(CAROL, reply_address(carol_notice), carol_notice,
                           "#object\nI think a hiatus is needed.")), CAROL[1],
           reply_address(carol_notice))  # fmt: skip
    assert "1 agree, 1 object" in body(w.expect(CAROL[1], "Commands applied"))
    w.quiet()

    # A week passes without consensus (cron runs `casebook tick`): the council has the case.
    w.tick(start + timedelta(days=6, minutes=1))
    w.tick(start + timedelta(days=7, minutes=2))
    for member in (ALICE[1], CAROL[1]):
        w.expect(member, "No consensus: handed to the Executive Council")
    escalation = w.expect("council@example.org", "Case handed to the Executive Council")
    text = body(escalation)
    assert "private-reprimand" in text and "1 agree, 1 object" in text
    # It tells the council how to decide by mail.
    assert "#propose RESOLUTION" in text and "#return REASON" in text and "#enact" in text
    told = w.expect(RITA[1], "Your report is now with the Executive Council")
    assert "the council will decide it" in body(told)
    assert names_in(body(told)) == []
    w.quiet()

    # The council decides by mail: Frank proposes (Thunderbird), Erin, its chair, agrees
    # (Outlook, HTML only) and consults the reporter.
    to = reply_address(escalation)
    assert to == REPORTS
    w.send(sign(thunderbird(FRANK, to, escalation,
                            "#propose private-reprimand\n"
                            "Statement: Your messages on the users list were"
                            " hostile and broke our Code of Conduct. Please keep discussions"
                            " technical and kind.\nEnd of statement")), FRANK[1], to)  # fmt: skip
    assert "proposal #2: private-reprimand (the council's" in body(
        w.expect(FRANK[1], "Commands applied"))  # fmt: skip
    w.send(sign(outlook_html_only(ERIN, to, escalation, "#agree\nThanks Frank.")), ERIN[1], to)
    assert "the council agreed" in body(w.expect(ERIN[1], "Commands applied"))
    w.send(sign(outlook(ERIN, to, escalation, "#consult")), ERIN[1], to)
    assert "sent to 1 party" in body(w.expect(ERIN[1], "Commands applied", 2))
    consult = w.expect(RITA[1], "Proposed resolution")
    text = words(consult)
    assert "private reprimand" in text
    # Who decides, as she was told.
    assert "The Executive Council, which now has your report, has agreed" in text
    assert names_in(text) == []
    w.quiet()

    # An attacker writes as Rita (her address in From and envelope, but unsigned although her
    # domain signs, and not to her reply address); a stranger quotes the case tag.
    forged = "\r\n".join(headers(RITA, REPORTS, reply_subject(consult), "<forged@evil.example>",
                                   consult))  # fmt: skip
    w.send((forged + "\r\n\r\nNo. Do nothing, and tell me who objected.\r\n").encode(),
           RITA[1], REPORTS)  # fmt: skip
    nosy = "\r\n".join(headers(MALLORY, REPORTS, "Re: [CoC-2026-001] Proposed resolution",
                                 "<nosy@evil.example>"))  # fmt: skip
    w.send((nosy + "\r\n\r\nWho reported Dave? What did you decide?\r\n").encode(),
           MALLORY[1], REPORTS)  # fmt: skip
    w.expect(ALICE[1], "A message for this case was held")
    w.hour_passes()  # the second held in that hour is folded into one notice at its end
    w.expect(ALICE[1], "[CoC-2026-001] 1 more message(s) for this case were held")
    w.quiet()
    assert w.inbox(MALLORY[1]) == []
    # Rita (never the forger's words) is asked to confirm, through her reply address.
    *_, read, asked = w.new_mail(RITA[1])
    assert read["Subject"] == consult["Subject"]
    assert asked["Subject"] == "[CoC-2026-001] Please confirm a message about your report"
    assert "Do nothing" not in body(asked) and reply_address(asked).startswith("conduct+")

    # Rita answers from Gmail, to her reply address.
    answer = gmail(RITA, reply_address(consult), consult,
                   "Yes, that is acceptable to me. Thank you.", "example.net")  # fmt: skip
    w.send(w.signed_by_example_net(answer), RITA[1], reply_address(consult))
    # Those who decide read her answer before they act.
    feedback = w.expect("council@example.org", "More information from the reporter")
    assert "Yes, that is acceptable to me." in body(feedback)
    assert "Do nothing" not in body(feedback)
    w.quiet()

    w.send(sign(outlook(ERIN, to, escalation, "#enact")), ERIN[1], to)
    assert "enacted private-reprimand" in body(w.expect(ERIN[1], "Commands applied", 3))
    [reprimand] = [m for m in w.new_mail(DAVE[1])]
    text = body(reprimand)
    assert reprimand["Subject"] == (
        "[CoC-2026-001] A private message from the Code of Conduct Committee"
    )
    assert "The Executive Council has looked into your recent conduct" in words(reprimand)
    assert "hostile and broke our Code of Conduct" in text
    assert text.rstrip().endswith("Erin Council\nChair, Executive Council"), text
    assert reprimand["Auto-Submitted"] == "no"
    assert reply_address(reprimand).startswith("conduct+")  # his answer threads into the case
    notice = w.expect(RITA[1], "Your report has been resolved")
    text = body(notice)
    assert "private reprimand" in text and "Executive Council" in text
    assert names_in(text) == [] and "Dave" not in text
    w.expect("council@example.org", "Resolution report")
    for member in (ALICE[1], CAROL[1]):
        copy = w.expect(member, "Copy: private-reprimand sent")
        assert "signed by Erin Council" in body(copy)
    w.quiet()

    # Dave answers the reprimand from Outlook and asks who complained: the committee reads it
    # (the case is resolved, so no longer the council's); he hears only that it arrived.
    w.send(outlook(DAVE, reply_address(reprimand), reprimand, "Who complained about me?"),
           DAVE[1], reply_address(reprimand))  # fmt: skip
    answer = w.expect(ALICE[1], "More information from the person responsible")
    assert "Who complained about me?" in body(answer)
    received = w.expect(DAVE[1], "We received your message")
    assert "Canaryname" not in received.as_string()
    # Bob, kept out, tries his own way in: a signed command to the reports address.
    bob = "\r\n".join(
        headers(
            BOB,
            REPORTS,
            "Re: [CoC-2026-001] New report",
            "<bob1@example.org>",
            extra=("MIME-Version: 1.0", "Content-Type: text/plain"),
        )
    )
    w.send(sign((bob + "\r\n\r\n#status\r\n#note what is this about?\r\n").encode()), BOB[1],
           REPORTS)  # fmt: skip
    w.hour_passes()  # held (Bob is conflicted): the hour's held notices fold into one
    w.quiet()

    # Who received what, in the end.
    for mail in w.inbox(BOB[1]):  # the conflicted member: nothing of the case
        assert mail["Subject"] == "Commands not applied", mail["Subject"]
        text = mail.as_string()
        assert "Dave" not in text and "Rita" not in text and "reprimand" not in text
        assert "escalated" not in text and "resolved" not in text
    assert len(w.inbox(BOB[1])) == 1
    assert w.inbox(MALLORY[1]) == []
    assert len(w.inbox(DAVE[1])) == 2
    assert_nothing_leaked(w, signed_by="Erin Council")
    shown = w.show("CoC-2026-001")
    assert shown["state"] == "resolved"
    actions = [e["action"] for e in shown["events"]]
    assert actions.count("feedback-received") == 1  # the forged "No" counted for nothing
    bobs = [e["action"] for e in shown["events"] if e["actor"] == BOB[1]]
    assert bobs == ["commands-refused"]  # held, never the case's deliberation (issue 18 §2)
    assert "message-held" in actions
    assert "escalated" in [e["detail"].get("to") for e in shown["events"]]


def ios_mail(sender, to, original: EmailMessage, text: str) -> bytes:
    """iOS Mail: the new text, "Sent from my iPhone", then "> On …, X wrote:" and the quote."""
    who = original["From"].addresses[0]
    plain = (
        f"{text}\n\nSent from my iPhone\n\n> On 2 Mar 2026, at 10:00, {who.display_name}"
        f" <{who.addr_spec}> wrote:\n>\n{quoted(original)}\n"
    )
    lines = headers(sender, to, reply_subject(original), f"<ios{next(ids)}@example.com>",
                    original, extra=("X-Mailer: iPhone Mail (22D72)", "MIME-Version: 1.0",
                                     "Content-Type: text/plain; charset=utf-8",
                                     "Content-Transfer-Encoding: 8bit"))  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n" + plain.replace("\n", "\r\n")).encode()


MEDIATION_REPORT = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Trouble with Dave in the docs sprint\r\n"
    "Message-ID: <walk-mediation@mail.example.net>\r\n"
    "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n"
    "Names: Dave Jones <dave@example.com>\r\nWhen: last week\r\nWhere: the docs sprint chat\r\n"
    "What happened: we argued about the style guide and both of us said things we regret.\r\n"
    "Ongoing: no\r\n"
)


def test_mediation_with_a_mediator_who_first_asks_for_more_time(walk):
    """Manual: mediation is voluntary, the reporter is asked first, the mediator settled by
    common agreement, "ideally within two weeks"; "Upon completion, the mediator will provide a
    report (vetted by all parties to the process) to the Committee"."""
    w = walk
    start = datetime.now(UTC)
    w.send(w.signed_by_example_net(MEDIATION_REPORT.encode()), RITA[1], REPORTS)
    w.expect(RITA[1], "We received your report")
    notice = w.expect(LIST, "New report")  # nobody conflicted: the committee's list
    w.quiet()

    def on_list(sender, text, count):
        w.send(via_list(sign(outlook(sender, LIST, notice, text))), sender[1], LIST)
        return body(w.expect(sender[1], "Commands applied", count))

    propose = (
        "#responsible Dave Jones <dave@example.com>\n"
        "#mediation propose Max Mediator <max@mediators.example>"
    )
    transcript = on_list(ALICE, propose, 1)
    assert "The case is now mediation" in transcript
    # The reporter is asked first; the reported person only once she agreed.
    invitation = w.expect(RITA[1], "Would you consider mediation?")
    assert "Max Mediator" in body(invitation) and "entirely your choice" in body(invitation)
    w.quiet()
    assert w.inbox(DAVE[1]) == [] and w.inbox(MAX[1]) == []
    w.send(w.signed_by_example_net(ios_mail(RITA, reply_address(invitation), invitation,
                                            "Yes, I am willing to try.")),
           RITA[1], reply_address(invitation))  # fmt: skip
    dave_invitation = w.expect(DAVE[1], "Would you consider mediation?")
    assert names_in(body(dave_invitation)) == [] and "Canaryname" not in body(dave_invitation)
    w.quiet()
    assert w.inbox(MAX[1]) == []
    w.send(outlook(DAVE, reply_address(dave_invitation), dave_invitation, "Yes, OK."),
           DAVE[1], reply_address(dave_invitation))  # fmt: skip

    # Both agreed: the mediator's brief names the parties; both parties are told.
    answer = w.expect(LIST, "More information from the person responsible")
    assert "The person responsible in case CoC-2026-001 (dave@example.com)" in body(answer)
    brief = w.expect(MAX[1], "Mediation: the parties have agreed")
    text = body(brief)
    assert "Rita Canaryname <rita@example.net>" in text and "Dave Jones <dave@example.com>" in text
    assert '"#mediation report"' in text and "Report:" in text
    assert reply_address(brief).startswith("conduct+")
    # Mail gives dates in the committee's zone (the walk's config: Europe/Berlin), which is
    # already the next day from 23:00 UTC in winter.
    due = (start + timedelta(days=14)).astimezone(ZoneInfo("Europe/Berlin")).strftime("%-d %B %Y")
    assert due in text
    for party in (RITA[1], DAVE[1]):
        agreed = w.expect(party, "Mediation is agreed")
        assert "Max Mediator" in body(agreed) and due in words(agreed)
    w.expect(LIST, "both parties agreed on the mediator")
    w.quiet()
    for party in (RITA[1], DAVE[1]):
        w.new_mail(party)  # what they have seen so far

    # The mediator first asks for more time (Apple Mail): the committee's, nobody else's.
    w.send(apple_mail(MAX, reply_address(brief), brief,
                      "May I have more time? Dave is travelling until next week, and I would"
                      " like to speak to both of them together."),
           MAX[1], reply_address(brief))  # fmt: skip
    asked = w.expect(LIST, "More information from the mediator")
    assert "May I have more time?" in body(asked)
    w.quiet()
    assert w.new_mail(RITA[1]) == [] and w.new_mail(DAVE[1]) == []
    assert w.show("CoC-2026-001")["state"] == "mediation"

    # A week on (cron's tick): the mediator and the committee are reminded, never the parties.
    w.tick(start + timedelta(days=6, minutes=1))
    w.tick(start + timedelta(days=7, minutes=1))
    reminder = w.expect(MAX[1], "Mediation: due by")
    assert due in words(reminder)
    w.expect(LIST, f"Mediation: the mediation is due by {due}")
    w.quiet()
    assert [m["Subject"] for m in w.new_mail(RITA[1])] == [
        "[CoC-2026-001] An update on your report"  # the one-week update, nothing of mediation
    ]
    assert w.new_mail(DAVE[1]) == []

    # Forgers: the mediator's address with another envelope; a stranger with the case tag.
    forged = "\r\n".join(headers(MAX, REPORTS, "Re: [CoC-2026-001] Mediation report",
                                   "<forged-report@evil.example>"))  # fmt: skip
    w.send((forged + "\r\n\r\nReport:\r\nThe reporter made it all up.\r\n").encode(),
           MALLORY[1], REPORTS)  # fmt: skip
    nosy = "\r\n".join(headers(MALLORY, REPORTS, "[CoC-2026-001] Mediation report",
                                 "<nosy-report@evil.example>"))  # fmt: skip
    w.send((nosy + "\r\n\r\n#mediation report\r\nAll fine, close it.\r\n").encode(),
           MALLORY[1], REPORTS)  # fmt: skip
    w.expect(LIST, "A message for this case was held")
    w.hour_passes()  # the second held in that hour is folded into one notice at its end
    w.expect(LIST, "[CoC-2026-001] 1 more message(s) for this case were held")
    w.quiet()
    assert w.new_mail(RITA[1]) == [] and w.new_mail(DAVE[1]) == [] and w.inbox(MALLORY[1]) == []
    assert w.show("CoC-2026-001")["state"] == "mediation"

    # The real report, marked as the brief asks (Thunderbird, format=flowed).
    w.send(thunderbird(MAX, reply_address(reminder), reminder,
                       "Report:\nRita Canaryname and Dave Jones met by video call. Both regret"
                       " the tone of the style guide thread and agreed to review each other's"
                       " pull requests with care.\nRecommendation: no further action."),
           MAX[1], reply_address(reminder))  # fmt: skip
    arrived = w.expect(LIST, "the mediator's report arrived")
    assert "agreed to review each other's pull requests" in words(arrived)
    vet = w.expect(RITA[1], "The mediator's report, for you to check")
    text = words(vet)
    assert "agreed to review each other's pull requests with care." in text
    assert "May I have more time" not in text and "On 02.03.26" not in text
    assert "Recommendation: no further action." in body(vet)
    # The report names the reporter: the leak guard holds the reported person's copy until
    # the committee looks, and a member releases it.
    held = w.expect(LIST, "Mail held: it names someone the committee protects")
    number = re.search(r"#release (\d+)", body(held)).group(1)
    w.quiet()
    assert w.new_mail(DAVE[1]) == []
    on_list(CAROL, f"#release {number}", 1)
    vet = w.expect(DAVE[1], "The mediator's report, for you to check")
    assert "agreed to review each other's pull requests with care." in words(vet)
    w.quiet()

    # Back with the committee, to evaluate and decide.
    shown = w.show("CoC-2026-001")
    assert shown["state"] == "deliberating"
    assert [e["detail"].get("to") for e in shown["events"] if e["action"] == "state-changed"][
        -1
    ] == "deliberating"
    for party in (RITA[1], DAVE[1]):
        subjects = [str(m["Subject"]) for m in w.inbox(party)]
        assert not any("May I have more time" in m.as_string() for m in w.inbox(party))
        assert subjects.count("[CoC-2026-001] The mediator's report, for you to check") == 1
    assert w.inbox(MALLORY[1]) == []
    for _, rcpts, raw, _ in list(w.relay.messages):
        if set(rcpts) & {RITA[1], DAVE[1], MAX[1]}:
            assert names_in(raw.decode(errors="replace")) == [], rcpts
