"""Party authentication over SMTP (issue 8, "Nothing leaked"): a party's word counts only from
their reply address, or with From and envelope agreeing and DKIM holding where the domain
signs; the list address takes deliberations only through the list host; a removed member's
reply address is dead.

Every message goes in through casebook's own SMTP protocol on a loopback port, is processed
from the spool, and what casebook sends goes to a real relay sink: the tests look at what the
committee, the reporter or the attacker receive, and at what the case records.
"""

from __future__ import annotations

import base64
import itertools
import subprocess
from pathlib import Path

import dkim
import pytest

from archive.cases import find_case, parties_of
from archive.db import open_archive
from archive.held import list_held
from casebook.config import load_settings
from intake.process import process_spooled
from intake.spool import SpoolWriter, open_spool, spool_path
from mailer.send import send_due
from tests.committee import ALICE, BOB, CAROL, LIST
from tests.conftest import MEMBERS, T0, write_config
from tests.helpers import events, smtp_send
from tests.mailbuild import build, pinned_keys_toml, sign, via_list
from tests.test_smtp_lines import IntakeController

REPORTS = "conduct@example.org"
RITA = "Rita Reporter <rita@example.net>"
ids = itertools.count(1)


def make_key(directory: Path, name: str) -> tuple[bytes, str]:
    """A fresh RSA key pair: the private key (PEM) and the TXT record DNS would serve."""
    key = directory / f"{name}.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "1024"],
                   check=True, capture_output=True)  # fmt: skip
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout  # fmt: skip
    return key.read_bytes(), f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[bytes, str]]:
    """example.net's real key (pinned, so it is known to sign) and a key nobody published."""
    directory = tmp_path_factory.mktemp("keys")
    return {name: make_key(directory, name) for name in ("example.net", "forger")}


def signed_by(raw: bytes, key: bytes, domain: str = "example.net", selector=b"s1") -> bytes:
    include = [b"from", b"to", b"subject", b"message-id", b"date", b"in-reply-to", b"references"]
    include = [h for h in include if h + b":" in raw.lower()]
    return dkim.sign(raw, selector, domain.encode(), key, include_headers=include) + raw


class Service:
    """casebook's SMTP intake, spool, processing and mailer, with a relay sink behind it."""

    def __init__(self, settings, relay):
        self.settings, self.relay = settings, relay
        self.db = open_archive(settings.database)
        self.spool = SpoolWriter(spool_path(settings))
        self.intake = IntakeController(settings, self.spool)
        self.spool.start()
        self.intake.start()

    def close(self) -> None:
        self.intake.stop()
        self.spool.stop()
        self.db.close()

    def send(self, raw: bytes, sender: str, to: str) -> None:
        """Over SMTP, then processed and whatever it queued sent, as `serve` would."""
        smtp_send(self.intake.port, raw, sender, [to])
        spool = open_spool(spool_path(self.settings))
        try:
            process_spooled(self.db, spool, self.settings, lambda: T0)
        finally:
            spool.close()
        send_due(self.db, self.settings, T0)

    def subjects_to(self, address: str) -> list[str]:
        return [m["Subject"] for m in self.relay.to(address)]

    def member_says(self, sender: str, text: str, notice) -> None:
        """A member's signed post, as the list host distributes it."""
        raw = build(sender=sender, to=LIST, subject=f"Re: {notice['Subject']}", body=text,
                    message_id=f"<pa{next(ids)}@example.org>", in_reply_to=notice["Message-ID"],
                    references=(notice["Message-ID"],))  # fmt: skip
        self.send(via_list(sign(raw)), sender.split("<")[1].rstrip(">"), LIST)


def config(tmp_path, relay, keys, *, extra: str = "", **values):
    pinned = f'"s1._domainkey.example.net" = "{keys["example.net"][1]}"\n'
    return load_settings(write_config(
        tmp_path, relay_port=relay.port, extra=extra + "\n" + pinned_keys_toml() + pinned, **values
    ))  # fmt: skip


@pytest.fixture
def service(tmp_path, relay, keys):
    svc = Service(config(tmp_path, relay, keys, extra='trusted_hosts = ["mx.example.org"]'), relay)
    yield svc
    svc.close()


REPORT = (
    f"From: {RITA}\r\nTo: {REPORTS}\r\nSubject: Dave on the users list\r\n"
    "Message-ID: <pa-report@example.net>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
    "Names: Dave Jones\r\nWhen: yesterday\r\nWhere: the users mailing list\r\n"
    "What happened: he called me stupid.\r\nOngoing: no\r\n"
).encode()


@pytest.fixture
def consulted(service, keys):
    """A case whose agreed proposal went to the reporter for her feedback."""
    service.send(signed_by(REPORT, keys["example.net"][0]), "rita@example.net", REPORTS)
    [notice] = service.relay.to(LIST)
    service.member_says(ALICE, "#violation yes\n#responsible Dave <dave@example.com>\n"
                        "#propose private-reprimand\n"
                        "Statement: Please stay civil.\nEnd of statement", notice)  # fmt: skip
    service.member_says(BOB, "#agree", notice)
    service.member_says(CAROL, "#agree", notice)
    service.member_says(ALICE, "#consult", notice)
    [proposal] = [m for m in service.relay.to("rita@example.net") if "Proposed" in m["Subject"]]
    return proposal


def answer(proposal, text: str, n: int) -> bytes:
    """Rita's answer, sent to the reports address with the case tag (not her reply address)."""
    return (
        f"From: {RITA}\r\nTo: {REPORTS}\r\nSubject: Re: {proposal['Subject']}\r\n"
        f"Message-ID: <pa-answer-{n}@example.net>\r\nDate: Mon, 2 Mar 2026 11:00:00 +0000\r\n"
        f"In-Reply-To: {proposal['Message-ID']}\r\n\r\n{text}\r\n"
    ).encode()


def consent(service) -> str | None:
    [reporter] = parties_of(service.db, find_case(service.db, "CoC-2026-001"), "reporter")
    return reporter.consent


def test_a_forged_yes_with_a_failing_signature_of_the_signing_domain_is_held(
    service, consulted, keys
):
    """From and envelope both say Rita, but example.net's signature does not verify."""
    forged = signed_by(answer(consulted, "Yes, go ahead.", 1), keys["forger"][0])
    before = len(service.relay.to("rita@example.net"))
    service.send(forged, "rita@example.net", REPORTS)
    assert consent(service) is None
    assert "feedback-received" not in events(service.db, "CoC-2026-001")
    [held] = [h for h in list_held(service.db) if h["message_id"] == "<pa-answer-1@example.net>"]
    assert held["case"] == "CoC-2026-001" and "does not verify" in held["reason"]
    committee = service.subjects_to(LIST)
    assert not any("More information from the reporter" in s for s in committee)
    assert any("held" in s.lower() for s in committee)
    [asked] = service.relay.to("rita@example.net")[before:]  # only the real Rita's confirmation
    assert "could not verify" in asked.get_content() and "Yes, go ahead" not in str(asked)


def test_an_unsigned_yes_from_a_domain_known_to_sign_is_held(service, consulted):
    service.send(answer(consulted, "Yes, go ahead.", 2), "rita@example.net", REPORTS)
    assert consent(service) is None
    [held] = [h for h in list_held(service.db) if h["message_id"] == "<pa-answer-2@example.net>"]
    assert "no DKIM signature of the From domain" in held["reason"]


def test_a_yes_with_a_valid_aligned_signature_is_counted(service, consulted, keys):
    real = signed_by(answer(consulted, "Yes, go ahead.", 3), keys["example.net"][0])
    service.send(real, "rita@example.net", REPORTS)
    assert consent(service) == "agreed"
    assert any("More information from the reporter" in s for s in service.subjects_to(LIST))


def test_a_valid_signature_does_not_excuse_a_different_envelope(service, consulted, keys):
    real = signed_by(answer(consulted, "Yes, go ahead.", 4), keys["example.net"][0])
    service.send(real, "mallory@evil.example", REPORTS)
    assert consent(service) is None


def test_the_trusted_receiving_hosts_dkim_result_counts(service, consulted, keys):
    """A signature casebook cannot check (its selector is not pinned; offline, no DNS): only
    the topmost Authentication-Results of a host in `trusted_hosts` can vouch for it."""
    unknown = keys["forger"][0]
    untrusted = b"Authentication-Results: evil.example; dkim=pass header.d=example.net\r\n"
    service.send(untrusted + signed_by(answer(consulted, "Yes.", 5), unknown, selector=b"s2"),
                 "rita@example.net", REPORTS)  # fmt: skip
    assert consent(service) is None
    trusted = b"Authentication-Results: mx.example.org; dkim=pass header.d=example.net\r\n"
    service.send(trusted + signed_by(answer(consulted, "Yes.", 6), unknown, selector=b"s2"),
                 "rita@example.net", REPORTS)  # fmt: skip
    assert consent(service) == "agreed"


def test_a_trusted_hosts_dkim_fail_is_not_overruled_by_the_envelope(service, consulted):
    failed = b"Authentication-Results: mx.example.org; dkim=fail header.d=example.net\r\n"
    service.send(failed + answer(consulted, "Yes.", 7), "rita@example.net", REPORTS)
    assert consent(service) is None


def test_no_further_contact_needs_the_same_proof(service, keys):
    service.send(signed_by(REPORT, keys["example.net"][0]), "rita@example.net", REPORTS)
    wish = (
        f"From: {RITA}\r\nTo: {REPORTS}\r\nSubject: Re: [CoC-2026-001] We received your report\r\n"
        "Message-ID: <pa-nocontact@example.net>\r\nDate: Mon, 2 Mar 2026 11:00:00 +0000\r\n\r\n"
        "Please do not contact me again.\r\n"
    ).encode()
    service.send(signed_by(wish, keys["forger"][0]), "rita@example.net", REPORTS)
    [reporter] = parties_of(service.db, find_case(service.db, "CoC-2026-001"), "reporter")
    assert not reporter.no_contact
    assert not any("contact" in s.lower() for s in service.subjects_to("rita@example.net")[1:])


def stranger_post(notice, sender: str = "Mallory <mallory@evil.example>") -> bytes:
    return build(sender=sender, to=LIST, subject=f"Re: {notice['Subject']}",
                 body="Alice, I think we should drop this case.",
                 message_id=f"<pa-stranger{next(ids)}@evil.example>",
                 in_reply_to=notice["Message-ID"], references=(notice["Message-ID"],))  # fmt: skip


@pytest.mark.parametrize("sender", ["Mallory <mallory@evil.example>", ALICE])
def test_mail_to_the_list_address_not_through_the_list_host_is_held(service, sender):
    service.send(REPORT, "rita@example.net", REPORTS)
    [notice] = service.relay.to(LIST)
    service.send(stranger_post(notice, sender), "mallory@evil.example", LIST)
    assert "deliberation-posted" not in events(service.db, "CoC-2026-001")
    [held] = list_held(service.db)
    assert held["kind"] == "list-held" and held["case"] == "CoC-2026-001"
    assert "not through the list host lists.example.org" in held["reason"]
    assert service.relay.to("mallory@evil.example") == []


def test_a_list_host_signature_over_a_stranger_forgery_must_still_verify(service):
    service.send(REPORT, "rita@example.net", REPORTS)
    [notice] = service.relay.to(LIST)
    tampered = via_list(stranger_post(notice)).replace(b"drop this case", b"close this case")
    service.send(tampered, "mallory@evil.example", LIST)
    assert "deliberation-posted" not in events(service.db, "CoC-2026-001")


def test_the_list_hosts_copy_is_a_deliberation(service):
    service.send(REPORT, "rita@example.net", REPORTS)
    [notice] = service.relay.to(LIST)
    service.member_says(BOB, "#note I know the list's history here.", notice)
    timeline = events(service.db, "CoC-2026-001")
    assert "deliberation-posted" in timeline and "note" in timeline
    transcript = service.relay.to("bob@example.org")[-1]
    assert "were applied" in transcript.get_content()
    assert list_held(service.db) == []


def test_a_removed_members_reply_address_is_dead(tmp_path, relay, keys):
    first = Service(config(tmp_path, relay, keys, command_auth="token"), relay)
    first.send(REPORT, "rita@example.net", REPORTS)
    token = first.db.execute(
        "SELECT token FROM parties WHERE email = 'bob@example.org'"
    ).fetchone()[0]
    first.close()
    without_bob = MEMBERS.replace(
        '[[members]]\nname = "Bob Member"\nemail = "bob@example.org"\naliases = ["Bobby"]\n'
        'role = "member"\n',
        "",
    )
    assert "bob@example.org" not in without_bob
    service = Service(config(tmp_path, relay, keys, command_auth="token", members=without_bob),
                      relay)  # fmt: skip
    try:
        before = len(relay.messages)
        raw = build(sender=BOB, to=f"conduct+{token}@example.org",
                    subject="Re: [CoC-2026-001] New report", body="#close no violation\n",
                    message_id="<pa-removed@example.org>")  # fmt: skip
        service.send(raw, "bob@example.org", f"conduct+{token}@example.org")
        assert find_case(service.db, "CoC-2026-001").state != "closed"
        [held] = list_held(service.db)
        assert "no longer on the committee" in held["reason"]
        sent = relay.parsed()[before:]
        assert sent and {m["Subject"] for m in sent} == {
            "[CoC-2026-001] A message for this case was held"
        }  # to the members still serving, and never relayed "via casebook"
        assert not any("bob@example.org" in str(m["To"]) for m in sent)
    finally:
        service.close()


@pytest.mark.parametrize("signer, linked", [("forger", False), ("example.net", True)])
def test_an_appeal_is_linked_to_the_case_only_with_the_partys_proof(service, keys, signer, linked):
    service.send(signed_by(REPORT, keys["example.net"][0]), "rita@example.net", REPORTS)
    appeal = (
        f"From: {RITA}\r\nTo: conduct-appeals@example.org\r\nSubject: I appeal\r\n"
        "Message-ID: <pa-appeal@example.net>\r\nDate: Mon, 2 Mar 2026 11:00:00 +0000\r\n\r\n"
        "I appeal the committee's decision on my report.\r\n"
    ).encode()
    service.send(
        signed_by(appeal, keys[signer][0]), "rita@example.net", "conduct-appeals@example.org"
    )
    subjects = service.subjects_to("rita@example.net")
    assert ("[CoC-2026-001] We received your appeal" in subjects) is linked
    assert ("We received your message" in subjects) is not linked
    assert ("appeal-received" in events(service.db, "CoC-2026-001")) is linked


@pytest.mark.parametrize(
    "stamp, counts",
    [
        ("mx.example.org; dmarc=pass header.from=example.net", True),
        (
            "mx.example.org; spf=pass smtp.mailfrom=example.net;dmarc=pass header.from=example.net",
            True,
        ),
        ("evil.example; dmarc=pass header.from=example.net", False),  # not a trusted host
        ("mx.example.org; dmarc=pass header.from=evil.example", False),  # another From domain
        ("mx.example.org; dmarc=fail header.from=example.net", False),
    ],
)
def test_a_trusted_hosts_dmarc_pass_for_the_from_domain_counts(service, tmp_path, stamp, counts):
    """Rita at a domain with no key pinned: nothing but the trusted stamp can prove her word."""
    report = REPORT.replace(b"rita@example.net", b"rita@freemail.example")
    service.send(report, "rita@freemail.example", REPORTS)
    wish = (
        f"From: Rita <rita@freemail.example>\r\nTo: {REPORTS}\r\n"
        "Subject: Re: [CoC-2026-001] We received your report\r\n"
        "Message-ID: <pa-dmarc@example.net>\r\n\r\nPlease do not contact me again.\r\n"
    ).encode()
    stamp = stamp.replace("example.net", "freemail.example")
    service.send(f"Authentication-Results: {stamp}\r\n".encode() + wish,
                 "rita@freemail.example", REPORTS)  # fmt: skip
    [reporter] = parties_of(service.db, find_case(service.db, "CoC-2026-001"), "reporter")
    assert bool(reporter.no_contact) is counts
