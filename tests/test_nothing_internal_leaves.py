"""Issue 18 §3: nothing written inside the committee leaves it, whatever the reply reader misses.

`casebook serve` as a real process, members' mail in over SMTP as their list host delivers it,
and what reaches the relay sink judged as its readers would: the reported person never gets a
mail naming the reporter or a witness in any of the forms below, the reporter never gets a
deliberation post pasted into a `#to-reporter`, the committee hears each hold, a member's
attachments stay in the case (the transcript says so), and a forged bounce's free text never
reaches the committee.
"""

from __future__ import annotations

import itertools
import json
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from tests.conftest import RelaySink, ServeProcess, free_port, write_config
from tests.helpers import run_casebook, smtp_send
from tests.mailbuild import build, pinned_keys_toml, sign, via_list
from tests.test_walks_e2e import body, wait_until, words
from tests.test_webform import Site, member_reply, open_report

LIST = "conduct-committee@lists.example.org"
REPORTS = "conduct@example.org"
ALICE = "Alice Chair <alice@example.org>"
BOB = "Bob Member <bob@example.org>"
DAVE = "dave@example.com"
ids = itertools.count(1)

REPORT = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Dave at the sprint\r\nMessage-ID: <internal-1@example.net>\r\n"
    "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
    "Names: Dave Jones <dave@example.com>\r\n"
    "Witnesses: Wendy Witnessname who sat next to me, Walter Otherwitness (the booth"
    " volunteer)\r\nWhen: yesterday\r\nWhere: the sprint\r\n"
    "What happened: he shouted at me in front of the table.\r\nOngoing: no\r\n"
)
# A reporter who writes from a bare address and signs the report.
SIGNED_REPORT = (
    "From: sam@example.net\r\nTo: conduct@example.org\r\nSubject: The chat, again\r\n"
    "Message-ID: <internal-2@example.net>\r\nDate: Mon, 2 Mar 2026 09:30:00 +0000\r\n\r\n"
    "Dave Jones <dave@example.com> mocked my accent in the project chat again yesterday.\r\n"
    "It is ongoing.\r\n\r\n…Sam Signedname\r\n"
)
BOBS_POST = "I think the sponsor liaison should hear about this before anyone writes to Dave again."
CAROL = "Carol Member <carol@example.org>"
HANAKO = "hanako@example.jp"
# A Japanese reporter (CoC-2026-003): her name written the Japanese way, surname first.
JAPANESE_REPORT = (
    "From: =?utf-8?b?5bGx55SwIOiKseWtkA==?= <hanako@example.jp>\r\nTo: conduct@example.org\r\n"
    "Subject: The party\r\nMessage-ID: <internal-3@example.jp>\r\n"
    "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Names: Dave Jones <dave@example.com>\r\n"
    "What happened: 懇親会でデイブさんに何度も容姿についてからかわれ、やめてほしいと言っても"
    "笑って続けられました。\r\nOngoing: no\r\n"
)
# Bob's deliberation in Japanese: six \\w+ words, so no word passage at all.
BOBS_JAPANESE_POST = (
    "スポンサー担当者にも相談しましたが、デイブさんの雇用主が大口の支援者なので、"
    "この件は委員会の外では絶対に話さないでください。"
)


class Service:
    """casebook serve with the members' and the list host's keys pinned, and its relay sink."""

    def __init__(self, directory, relay: RelaySink):
        self.relay = relay
        port = free_port()
        # No wait after #consult: a resolution is enacted in the test that proposes it.
        policy = '\n[policy]\nconsult_wait = "0s"\n'
        self.config = write_config(directory, relay_port=relay.port, intake_port=port,
                                   extra="\n" + pinned_keys_toml() + policy)  # fmt: skip
        self.process = ServeProcess(self.config, port)
        self.port = port

    def send(self, raw: bytes, envelope: str, to: str) -> None:
        assert smtp_send(self.port, raw, envelope, [to]) == {}
        self.quiet()

    def quiet(self) -> None:
        """Until nothing is spooled or queued (the worker did all it can)."""

        def idle() -> bool:
            out = run_casebook("-c", str(self.config), "stats", "--json")
            stats = json.loads(out.stdout)
            return not stats["spooled"] and not stats["outbox"].get("queued")

        wait_until(idle, "the worker to go idle")

    def mail(self, address: str, subject: str = "") -> list[EmailMessage]:
        return [m for m in self.relay.to(address) if subject in str(m["Subject"])]

    def notice(self, ref: str) -> EmailMessage:
        def found() -> list[EmailMessage]:
            return [m for m in self.mail(LIST, f"[{ref}]") if "New report" in m["Subject"]]

        return wait_until(found, f"{ref}'s notice")[0]

    def post(self, ref: str, text: str, *, sender: str = ALICE, raw: bytes | None = None) -> None:
        """A member's signed post in the case's list thread, as the list host delivers it."""
        raw = raw or build(sender=sender, to=LIST, subject=f"Re: [{ref}] New report", body=text,
                           message_id=f"<in{next(ids)}@example.org>",
                           **threaded(self.notice(ref)))  # fmt: skip
        envelope = getaddresses([sender])[0][1]
        self.send(via_list(sign(raw)), envelope, LIST)

    def transcript(self) -> str:
        """The last transcript of commands Alice received."""
        return words(self.mail("alice@example.org", "Commands ")[-1])

    def held_notices(self) -> list[EmailMessage]:
        return self.mail(LIST, "Mail held")


def threaded(notice: EmailMessage) -> dict:
    return {"in_reply_to": notice["Message-ID"], "references": (notice["Message-ID"],)}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One service, two cases: Rita's (CoC-2026-001) and Sam's signed one (CoC-2026-002),
    and Hanako's in Japanese (CoC-2026-003), each with Dave recorded as the person responsible."""
    relay = RelaySink()
    relay.controller.start()
    svc = Service(tmp_path_factory.mktemp("internal"), relay)
    svc.process.start()
    try:
        svc.send(REPORT.encode(), "rita@example.net", REPORTS)
        svc.send(SIGNED_REPORT.encode(), "sam@example.net", REPORTS)
        svc.send(JAPANESE_REPORT.encode(), HANAKO, REPORTS)
        for ref in ("CoC-2026-001", "CoC-2026-002", "CoC-2026-003"):
            svc.post(ref, "#responsible Dave Jones <dave@example.com>")
        yield svc
    finally:
        svc.process.stop()
        relay.controller.stop()


def to_dave_is_held(service: Service, text: str, ref: str = "CoC-2026-001", **options) -> str:
    """A `#to-party reported` carrying `text` is held: Dave receives nothing, the committee
    a notice saying what matched (returned)."""
    dave, held = len(service.mail(DAVE)), len(service.held_notices())
    service.post(ref, f"#to-party reported\n{text}\n", **options)
    assert "reported/message) held" in service.transcript(), service.transcript()
    assert len(service.mail(DAVE)) == dave
    notices = service.held_notices()
    assert len(notices) == held + 1
    return body(notices[-1])


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("Wendy Witnessname says you shouted at the table.", "Wendy Witnessname"),
        ("We spoke to Walter Otherwitness about the table.", "Walter Otherwitness"),
        # Split by default-ignorable characters that are not format characters.
        ("Ri\u034fta Canaryname says you shouted at the table.", "Rita Canaryname"),
        ("Rita Canary\ufe0fname says you shouted at the table.", "Rita Canaryname"),
        ("Rita Cana\u180bryname says you shouted at the table.", "Rita Canaryname"),
        ("Rita\u3164Canaryname says you shouted at the table.", "Rita Canaryname"),
    ],
)
def test_every_name_form_in_mail_to_the_reported_person_is_held(service, text, matched):
    assert matched in to_dave_is_held(service, text)


def test_a_reporter_who_only_signs_the_report_is_protected(service):
    notice = to_dave_is_held(service, "Sam Signedname told us about the chat.", "CoC-2026-002")
    assert "a reporter's name" in notice and "Sam Signedname" in notice


def test_html_only_mail_whose_hidden_text_glues_onto_the_name_is_held(service):
    notice = service.notice("CoC-2026-001")
    html = (
        "<html><body><div>#to-party reported</div><div><br></div><div>Rita Canaryname<span"
        ' style="display:none">qx</span> says you shouted at the table.</div></body></html>'
    )
    headers = [f"From: {ALICE}", f"To: {LIST}", "Subject: Re: [CoC-2026-001] New report",
               f"Message-ID: <html{next(ids)}@example.org>", "Date: Mon, 2 Mar 2026 12:00:00 +0000",
               f"In-Reply-To: {notice['Message-ID']}", f"References: {notice['Message-ID']}",
               "MIME-Version: 1.0", 'Content-Type: text/html; charset="utf-8"']  # fmt: skip
    raw = ("\r\n".join(headers) + "\r\n\r\n" + html).encode()
    assert "Rita Canaryname" in to_dave_is_held(service, "", raw=raw)


def test_the_free_text_of_mediation_propose_is_guarded(service):
    """Only the mediator's own name and address may show; a member named beside them may not."""
    held = len(service.held_notices())
    service.post("CoC-2026-001", "#mediation propose Max Mediator <max@mediators.example>,"
                 " Carol Member's old friend")  # fmt: skip
    assert "the reporter is asked first" in service.transcript(), service.transcript()
    notices = service.held_notices()
    assert len(notices) == held + 1
    assert "Carol Member" in body(notices[-1]) and "party/mediation_invitation" in body(notices[-1])
    assert not service.mail("rita@example.net", "mediation")


def test_an_uncut_quote_of_a_deliberation_post_never_reaches_the_reporter(service):
    service.post("CoC-2026-002", BOBS_POST, sender=BOB)
    before, held = len(service.mail("sam@example.net")), len(service.held_notices())
    # Bob's words pasted in, in a shape no reply reader cuts: the guard catches them anyway.
    service.post("CoC-2026-002", "#to-reporter\nWe are on it. As one of us put it this morning,"
                 f' "{BOBS_POST}" Please bear with us.')  # fmt: skip
    assert "reporter/message) held" in service.transcript()
    assert len(service.mail("sam@example.net")) == before
    [notice] = service.held_notices()[held:]
    assert "a deliberation post" in body(notice)


def test_a_to_reporter_quoting_the_reporters_own_words_goes_out(service):
    """A reporter may read what they wrote; only the member's new words and their own go."""
    before = len(service.mail("sam@example.net"))
    service.post("CoC-2026-002", "#to-reporter\nYou wrote that he mocked my accent in the"
                 " project chat again yesterday. We are looking into it.")  # fmt: skip
    [mail] = service.mail("sam@example.net")[before:]
    assert "mocked my accent in the project chat again" in words(mail)


def test_attachments_of_a_to_reporter_are_not_sent_and_the_transcript_says_so(service):
    notice = service.notice("CoC-2026-001")
    message = EmailMessage()
    for name, value in (("From", ALICE), ("To", LIST), ("Subject", "Re: [CoC-2026-001] New report"),
                        ("Message-ID", f"<att{next(ids)}@example.org>"),
                        ("Date", "Mon, 2 Mar 2026 12:00:00 +0000"),
                        ("In-Reply-To", notice["Message-ID"]),
                        ("References", notice["Message-ID"])):  # fmt: skip
        message[name] = value
    message.set_content("#to-reporter\nThank you. We have started looking into it.\n")
    message.add_attachment(b"%PDF-1.4 internal minutes", maintype="application",
                           subtype="pdf", filename="minutes.pdf")  # fmt: skip
    before = len(service.mail("rita@example.net"))
    service.post("CoC-2026-001", "", raw=message.as_bytes().replace(b"\n", b"\r\n"))
    assert "its 1 attachment was not sent" in service.transcript(), service.transcript()
    [mail] = service.mail("rita@example.net")[before:]
    assert "started looking into it" in words(mail)
    assert not list(mail.iter_attachments()) and b"minutes" not in mail.as_bytes()


def test_a_forged_bounces_free_text_never_reaches_the_committee(service):
    [(bounce_to, _, _, _)] = [m for m in service.relay.messages if m[1] == ["rita@example.net"]][:1]
    key = bounce_to.split("+", 1)[1].split("@", 1)[0]
    forged = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: conduct-bounces+{key}@example.org\r\nSubject: Undelivered Mail\r\n"
        "Message-ID: <forged-dsn@mx.example.net>\r\nDate: Mon, 2 Mar 2026 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nCall 555-0100 about the report.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; rita@example.net\r\nAction: failed\r\n"
        "Status: 5.1.1 (call 555-0100)\r\n"
        "Diagnostic-Code: smtp; 550 Dave says: call 555-0100 and drop the case now\r\n--b--\r\n"
    )
    service.send(forged.encode(), "", f"conduct-bounces+{key}@example.org")
    [notice] = service.mail(LIST, "bounced")
    text = body(notice)
    assert "Final-Recipient: rfc822; rita@example.net" in text
    assert "Action: failed" in text and "Status: 5.1.1" in text
    assert "555-0100" not in text and "Diagnostic" not in text and "drop the case" not in text


def test_an_anonymous_reporter_reads_their_own_words_and_the_reported_person_does_not(
    tmp_path, relay
):
    site = Site(tmp_path, relay)
    site.start()
    try:
        account = "Dave Jones shouted at me in the chat on Friday night in front of everyone."
        ref, page = open_report(site, account=account)
        member_reply(site, ref, "#to-reporter\nYou told us that he shouted at me in the chat on"
                     " Friday night in front of everyone. Which channel was it?")  # fmt: skip
        assert "in front of everyone" in site.page_showing(page, "Which channel")
        member_reply(site, ref, "#responsible Dave Jones <dave@example.com>")
        member_reply(site, ref, "#to-party reported\nWe were told you shouted at me in the chat"
                     " on Friday night in front of everyone.")  # fmt: skip
        held = site.wait(lambda: [m for m in relay.parsed() if "Mail held" in m["Subject"]],
                         "the committee's notice of held mail")[0]  # fmt: skip
        assert "a message of the case" in body(held)
        assert relay.to(DAVE) == []
    finally:
        site.service.stop()


def test_a_to_reporter_body_pasted_to_the_reported_person_is_held(service):
    """Issue 18 §3, R2: what a member wrote to the reporter is the reporter's to read, not
    anyone's: pasted into a `#to-party` in a quote shape no reader cuts, it is held."""
    before = len(service.mail("rita@example.net"))
    told = ("Rita, thank you for telling us on the phone that your manager Victor Vulnerable saw"
            " it and fears retaliation from Dave.")  # fmt: skip
    service.post("CoC-2026-001", f"#to-reporter\n{told}")
    [mail] = service.mail("rita@example.net")[before:]
    assert "Victor Vulnerable saw it" in words(mail)
    lines = ("Rita, thank you for telling us on the phone",
             "that your manager Victor Vulnerable saw it and", "fears retaliation.")  # fmt: skip
    quoted = "\n".join(f"| {line}" for line in lines)
    notice = to_dave_is_held(service, f"We hear that:\n{quoted}\nIs that so?")
    assert "a deliberation post (rita thank you for telling us on)" in notice


def test_a_to_reporter_quoting_her_earlier_to_reporter_back_goes_out(service):
    before = len(service.mail("sam@example.net"))
    first = "We will speak with the chat moderators this week and write to you again on Friday."
    service.post("CoC-2026-002", f"#to-reporter\n{first}")
    service.post("CoC-2026-002", f"#to-reporter\nAs we wrote on Monday:\n| {first}\nDone now.")
    assert "reporter/message) held" not in service.transcript()
    assert [first in words(m) for m in service.mail("sam@example.net")[before:]] == [True, True]


def test_an_enacted_statement_still_reaches_the_person_responsible(service):
    """The statement under `#propose` is written for those the resolution goes to; the notices
    to members that repeat it (the vote, the copy) do not make it the committee's."""
    statement = ("Your messages in the project chat mocked a contributor's accent and broke our"
                 " Code of Conduct; please stop.")  # fmt: skip
    before = len(service.mail(DAVE))
    service.post(
        "CoC-2026-002",
        f"#violation yes\n#propose private-reprimand\nStatement: {statement}\nEnd of statement",
    )
    for member in (BOB, CAROL):
        service.post("CoC-2026-002", "#agree", sender=member)
    service.post("CoC-2026-002", "#consult")
    service.post("CoC-2026-002", "#enact")
    assert "enacted private-reprimand" in service.transcript(), service.transcript()
    [reprimand] = service.mail(DAVE)[before:]
    assert "mocked a contributor's accent and broke our Code of Conduct" in words(reprimand)


def test_a_japanese_deliberation_pasted_into_to_party_is_held(service):
    """Issue 18 §3, R3: Japanese is compared by runs of characters, not of words."""
    service.post("CoC-2026-003", BOBS_JAPANESE_POST, sender=BOB)
    pasted = "デイブさん、この件は委員会の外では絶対に話さないでください。以上です。"
    assert "a deliberation post" in to_dave_is_held(service, pasted, "CoC-2026-003")


def test_a_japanese_reporters_name_written_without_a_space_is_held(service):
    notice = to_dave_is_held(service, "山田花子さんから報告がありました。", "CoC-2026-003")
    assert "a reporter's name" in notice and "山田 花子" in notice


def test_a_japanese_to_reporter_quoting_her_own_report_goes_out(service):
    before = len(service.mail(HANAKO))
    quote = "「懇親会でデイブさんに何度も容姿についてからかわれ」"
    service.post("CoC-2026-003", f"#to-reporter\n山田様、ご報告ありがとうございます。\n{quote}"
                 "たとのこと、調査を始めました。")  # fmt: skip
    assert "reporter/message) held" not in service.transcript()
    [mail] = service.mail(HANAKO)[before:]
    assert "容姿についてからかわれ" in body(mail)
