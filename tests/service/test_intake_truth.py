"""What intake makes of a message's addresses, as a user meets it through `casebook serve`.

- Mail to the reports address is a report whatever else it was sent to: a stale or unknown
  `conduct+…` address beside it never holds it.
- A From in group syntax (`friends: alice@example.org;`) is no mailbox: it never speaks for
  the member it lists.
- A member's naive out-of-office responder (no Auto-Submitted, no Precedence) never starts a
  relay loop: its replies are archived in the case, relayed to nobody, answered by nobody;
  through the list, such an answer is no deliberation either.
"""

from __future__ import annotations

import itertools
import json
from email.message import EmailMessage

import pytest

from tests.support.base import ServeProcess, free_port, write_config
from tests.support.committee import reported
from tests.support.exchange import idle
from tests.support.helpers import events, run_casebook, smtp_send
from tests.support.mailbuild import build, pinned_keys_toml, sign
from tests.support.waiting import wait_until

REPORTS = "conduct@example.org"
RITA = ("Rita Reporter", "rita@example.net")
ids = itertools.count(1)


class Service:
    """`casebook serve` as a process, its relay sink, and waiting until it has done all."""

    def __init__(self, tmp_path, relay, **values):
        self.relay = relay
        self.port = free_port()
        self.config = write_config(tmp_path, relay_port=relay.port, intake_port=self.port,
                                   extra="\n" + pinned_keys_toml(), **values)  # fmt: skip
        self.process = ServeProcess(self.config, self.port)
        self.process.start()

    def send(self, raw: bytes, envelope: str, to: list[str]) -> None:
        assert smtp_send(self.port, raw, envelope, to) == {}
        self.quiet()

    def quiet(self, timeout: float = 30) -> None:
        """Until nothing is spooled or queued: all that mail caused has been sent."""
        wait_until(lambda: idle(self.config), "casebook to go quiet", timeout,
                   detail=self.process.output)  # fmt: skip

    def cli(self, *args: str) -> str:
        done = run_casebook("-c", str(self.config), *args)
        assert done.returncode == 0, done.stderr
        return done.stdout.decode()

    def show(self, ref: str) -> dict:
        return json.loads(self.cli("show", ref, "--json"))

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def service(tmp_path, relay):
    running = Service(tmp_path, relay)
    yield running
    running.stop()


def report(subject: str = "Problem on the users list", sender=RITA) -> bytes:
    return (
        f"From: {sender[0]} <{sender[1]}>\r\nTo: {REPORTS}\r\nSubject: {subject}\r\n"
        f"Message-ID: <report-{next(ids)}@example.net>\r\n\r\n"
        "Dave Jones called me stupid on the users list yesterday.\r\n"
    ).encode()


def test_a_report_also_sent_to_a_stale_reply_address_opens_a_case(service, relay):
    stale = "conduct+aaaaaaaaaaaaaaaaaaaaaaaa@example.org"  # a reply address nobody holds
    service.send(report(), RITA[1], [REPORTS, stale])
    [ack] = relay.to(RITA[1])
    assert "We received your report" in str(ack["Subject"])
    assert "[CoC-2026-001]" in str(ack["Subject"])
    assert json.loads(service.cli("held", "--json")) == []
    case = service.show("CoC-2026-001")
    assert case["state"] == "acknowledged" and [m["kind"] for m in case["messages"]][0] == "report"


def test_a_from_in_group_syntax_never_speaks_for_the_member_it_lists(service, relay):
    service.send(report(), RITA[1], [REPORTS])
    group = build(sender="friends: alice@example.org;", to=REPORTS,
                  subject="Re: [CoC-2026-001] New report", body="#note\nThe group says so.",
                  message_id=f"<group-{next(ids)}@example.org>")  # fmt: skip
    service.send(sign(group), "alice@example.org", [REPORTS])
    case = service.show("CoC-2026-001")
    assert "note-added" not in [e["action"] for e in case["events"]]
    assert not [e for e in case["events"] if e["action"] == "commands-applied"]
    assert not [m for m in relay.parsed() if "Commands" in str(m["Subject"])]
    [held] = json.loads(service.cli("held", "--json"))
    assert held["case"] == "CoC-2026-001" and held["from"] is None


OFFICE = """
[[members]]
name = "Alice Chair"
email = "alice@example.org"
role = "chair"

[[members]]
name = "Bob Member"
email = "bob@example.org"
role = "member"

[[members]]
name = "Carol Member"
email = "carol@example.org"
role = "member"

[[members]]
name = "Dan Member"
email = "dan@example.org"
role = "member"

[[members]]
name = "Eve Member"
email = "eve@example.org"
role = "member"

[[members]]
name = "Fay Member"
email = "fay@example.org"
role = "member"
"""
# How each away member's mailbox answers whatever reaches it: no Auto-Submitted, no
# Precedence, no X-Autoreply; some not even In-Reply-To.
RESPONDERS = {
    "alice@example.org": ("Out of Office: {subject}", "I am out of the office.", False),
    "carol@example.org": ("Automatic reply: {subject}", "I am away this week.", True),
    "dan@example.org": ("Abwesenheitsnotiz: {subject}", "Ich bin nicht im Büro.", False),
    "eve@example.org": ("Réponse automatique : {subject}", "Je suis absente.", False),
    "fay@example.org": ("Re: {subject}", "Away until Monday. Your message:\n\n{body}", False),
}


def naive_reply(address: str, original: EmailMessage) -> bytes:
    """The away member's mailbox answers `original` at its Reply-To, as it came."""
    subject, text, threads = RESPONDERS[address]
    part = original.get_body(("plain",)) or original
    body = text.format(body=part.get_content())
    reply = EmailMessage()
    reply["From"] = f"{address.split('@')[0].title()} Member <{address}>"
    reply["To"] = str(original["Reply-To"] or original["From"])
    reply["Subject"] = subject.format(subject=original["Subject"])
    reply["Message-ID"] = f"<away-{next(ids)}@example.org>"
    if threads:
        reply["In-Reply-To"] = original["Message-ID"]
    reply.set_content(body)
    return bytes(reply)


def test_naive_out_of_office_replies_die_after_one_round(tmp_path, relay):
    service = Service(tmp_path, relay, command_auth="token", members=OFFICE)
    try:
        service.send(report(), RITA[1], [REPORTS])
        [notice] = relay.to("bob@example.org")
        bob = build(sender="Bob Member <bob@example.org>", to=str(notice["Reply-To"]),
                    subject=f"Re: {notice['Subject']}", body="Shall we talk to Dave first?",
                    message_id="<bob-1@example.org>", in_reply_to=notice["Message-ID"],
                    references=(notice["Message-ID"],))  # fmt: skip
        service.send(bob, "bob@example.org", [str(notice["Reply-To"])])
        answered: set[str] = set()
        sizes = [len(relay.messages)]
        for _ in range(3):  # each round, every away mailbox answers each new mail once
            for address in RESPONDERS:
                for mail in relay.to(address):
                    if mail["Message-ID"] in answered:
                        continue
                    answered.add(mail["Message-ID"])
                    reply = naive_reply(address, mail)
                    assert smtp_send(service.port, reply, address, [str(mail["Reply-To"])]) == {}
            service.quiet()
            sizes.append(len(relay.messages))
        # Round one answered the new-case notice and Bob's relayed mail; nothing it sent came
        # back to anyone, so the later rounds found nothing new to answer.
        extra = [(m[1], m[2][:2000]) for m in relay.messages[sizes[0] :]]
        assert sizes[1] == sizes[2] == sizes[3] == sizes[0], extra
        case = service.show("CoC-2026-001")
        kinds = [m["kind"] for m in case["messages"] if m["direction"] == "in"]
        assert kinds.count("autoreply") == len(answered) == 10, kinds
        assert kinds.count("deliberation") == 1  # Bob's, relayed once
    finally:
        service.stop()


@pytest.fixture
def committee(tmp_path):
    yield from reported(tmp_path)


def test_an_out_of_office_answer_through_the_list_is_no_deliberation(committee):
    result = committee.say("I am out of the office until Monday.", signed=False,
                           subject="Out of Office: Re: [CoC-2026-001] New report")  # fmt: skip
    assert (result.kind, result.case_ref) == ("autoreply", "CoC-2026-001")
    assert events(committee.db, "CoC-2026-001")[-1] == "automatic-reply-received"
