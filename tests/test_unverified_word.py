"""Issue 18 §1: a party's word counts only when it is proved to be theirs.

Someone who knows a party's address and the case tag (the person reported knows both) writes
an unsigned mail with From and envelope both naming the party. It changes nothing: it is held
for the committee, marked unverified, and the party is asked at the address the case holds,
with their own reply address, to write again; their answer through it is their word. Driven
over SMTP into casebook's intake, the relay sink's mailboxes showing what each side receives.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.cases import find_case, parties_of
from archive.held import list_held
from intake.process import process_spooled
from intake.spool import open_spool, spool_path
from mailer.send import send_due
from tests.committee import ALICE, BOB, CAROL, LIST
from tests.conftest import T0
from tests.helpers import events, run_casebook, smtp_send
from tests.test_party_auth import REPORTS, Service, config, ids, keys  # noqa: F401

RINA_ADDR = "rina@freemail.example"  # a domain with no key pinned: nothing vouches for it
RINA = f"Rina Reporter <{RINA_ADDR}>"
DAVE_ADDR = "dave@example.com"
REPORT = (
    f"From: {RINA}\r\nTo: {REPORTS}\r\nSubject: Dave on the users list\r\n"
    "Message-ID: <uw-report@freemail.example>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
    "Names: Dave Jones\r\nWhen: yesterday\r\nWhere: the users mailing list\r\n"
    "What happened: he called me stupid.\r\nOngoing: no\r\n"
).encode()


@pytest.fixture
def service(tmp_path, relay, keys):  # noqa: F811
    svc = Service(config(tmp_path, relay, keys, extra='trusted_hosts = ["mx.example.org"]'), relay)
    yield svc
    svc.close()


@pytest.fixture
def notice(service):
    """An unsigned report opens a case (anyone may report): the committee's notice."""
    service.send(REPORT, RINA_ADDR, REPORTS)
    [notice] = service.relay.to(LIST)
    return notice


def mail(sender: str, subject: str, text: str, *, to: str = REPORTS, reply_to=None) -> bytes:
    threading = f"In-Reply-To: {reply_to}\r\n" if reply_to else ""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n{threading}"
        f"Message-ID: <uw-{next(ids)}@freemail.example>\r\n"
        f"Date: Mon, 2 Mar 2026 11:00:00 +0000\r\n\r\n{text}\r\n"
    ).encode()


def forged(service, text: str, sender: str = RINA, envelope: str = RINA_ADDR) -> None:
    """An outsider's unsigned mail with the case tag, From and envelope both the party's."""
    service.send(mail(sender, "Re: [CoC-2026-001] We received your report", text), envelope,
                 REPORTS)  # fmt: skip


def party(service, role: str = "reporter"):
    [found] = parties_of(service.db, find_case(service.db, "CoC-2026-001"), role)
    return found


def confirmations(service, address: str = RINA_ADDR) -> list:
    return [m for m in service.relay.to(address) if "Please confirm" in m["Subject"]]


def answer_through_reply_address(service, asked, text: str, sender: str = RINA) -> None:
    token_address = asked["Reply-To"]
    raw = mail(sender, f"Re: {asked['Subject']}", text, to=token_address,
               reply_to=asked["Message-ID"])  # fmt: skip
    service.send(raw, sender.split("<")[1].rstrip(">"), token_address)


def consult(service, notice) -> None:
    service.member_says(ALICE, "#violation yes\n#responsible Dave <dave@example.com>\n"
                        "#propose apology-request\n"
                        "Statement: Please apologise.\nEnd of statement", notice)  # fmt: skip
    service.member_says(BOB, "#agree", notice)
    service.member_says(CAROL, "#agree", notice)
    service.member_says(ALICE, "#consult", notice)


def test_a_forged_consent_changes_nothing_and_the_real_reporter_is_asked(service, notice):
    consult(service, notice)
    forged(service, "Yes, go ahead, I agree to the apology request.")
    assert party(service).consent is None
    assert "feedback-received" not in events(service.db, "CoC-2026-001")
    [held] = list_held(service.db)
    assert held["case"] == "CoC-2026-001" and held["reason"].startswith("unverified:")
    assert "no DKIM signature of the From domain" in held["reason"]
    [shown] = [m for m in service.relay.to(LIST) if "was held" in m["Subject"]]
    assert "unverified: From names the reporter" in " ".join(shown.get_content().split())
    [asked] = confirmations(service)
    assert asked["Reply-To"] == f"conduct+{party(service).token}@example.org"
    body = asked.get_content()
    assert "could not verify" in body and "apology" not in body and "agree" not in body


def proposals_to(service) -> list:
    return [m for m in service.relay.to(RINA_ADDR) if "Proposed resolution" in m["Subject"]]


def test_a_yes_to_the_confirmation_is_no_consent_to_the_proposal(service, notice):
    """Rita's phone answers "Please confirm a message about your report" with "Yes, that was
    me." (an unproven message of hers, or a forgery in her name, was held): that says who
    wrote, not that Dave may be asked for an apology. The committee is told it is no clear
    answer; her yes to the proposal itself is her consent."""
    consult(service, notice)
    forged(service, "Could you wait until after Friday before you decide?")
    [asked] = confirmations(service)
    assert "answer by replying to that message of ours" in " ".join(asked.get_content().split())
    answer_through_reply_address(
        service, asked, "Yes, that was me.\r\n\r\nSent from my iPhone\r\n\r\n"
        "> On 2 Mar 2026, at 11:00, Code of Conduct Committee <conduct@example.org> wrote:"
    )  # fmt: skip
    assert party(service).consent is None
    assert "feedback-received" in events(service.db, "CoC-2026-001")
    told = [m for m in service.relay.to(LIST) if "More information" in m["Subject"]][-1]
    assert "not a clear yes or no" in " ".join(told.get_content().split())
    [proposal] = proposals_to(service)
    answer_through_reply_address(service, proposal, "Yes, go ahead.")
    assert party(service).consent == "agreed"


def test_one_confirmation_a_day_however_many_forgeries(service, notice):
    for n in range(4):
        forged(service, f"Please add this, number {n}.")
    assert len(confirmations(service)) == 1
    assert len(list_held(service.db)) == 4
    assert events(service.db, "CoC-2026-001").count("unverified-word") == 4


def test_a_forged_no_contact_wish_changes_nothing(service, notice):
    forged(service, "Please do not contact me again.")
    assert not party(service).no_contact
    assert "no-contact-requested" not in events(service.db, "CoC-2026-001")
    assert not any("not contact you" in s for s in service.subjects_to(RINA_ADDR))
    service.member_says(ALICE, "#to-reporter Thank you, we are looking into it.", notice)
    assert any("A message from" in s for s in service.subjects_to(RINA_ADDR))


def test_the_envelope_of_a_stranger_asks_the_address_the_case_holds(service, notice):
    forged(service, "Please do not contact me again.", envelope="mallory@evil.example")
    assert not party(service).no_contact
    assert len(confirmations(service)) == 1
    assert service.relay.to("mallory@evil.example") == []


def test_a_forged_mediation_answer_of_the_reported_person_is_not_theirs(service, notice):
    service.member_says(ALICE, "#responsible Dave <dave@example.com>\n"
                        "#mediation propose Max Mediator <max@example.net>", notice)  # fmt: skip
    [invitation] = [m for m in service.relay.to(RINA_ADDR) if "mediat" in m["Subject"].lower()]
    answer_through_reply_address(service, invitation, "Yes")
    assert mediation_status(service) == "asking-reported"
    forged(service, "Yes", sender=f"Dave <{DAVE_ADDR}>", envelope=DAVE_ADDR)
    assert mediation_status(service) == "asking-reported"
    [asked] = confirmations(service, DAVE_ADDR)
    assert "your case" in asked.get_content()
    answer_through_reply_address(service, asked, "Yes", sender=f"Dave <{DAVE_ADDR}>")
    assert mediation_status(service) == "settled"


def mediation_status(service) -> str:
    return service.db.execute("SELECT status FROM mediations ORDER BY id DESC").fetchone()[0]


def appeals(service) -> list[tuple]:
    return service.db.execute("SELECT case_pk, appellant FROM appeals").fetchall()


def test_a_forged_appeal_is_linked_only_once_the_reporter_confirms(service, notice):
    service.member_says(ALICE, "#close handled informally", notice)
    raw = mail(RINA, "Appeal [CoC-2026-001]", "I appeal the committee's decision.",
               to="conduct-appeals@example.org")  # fmt: skip
    service.send(raw, RINA_ADDR, "conduct-appeals@example.org")
    assert find_case(service.db, "CoC-2026-001").state == "closed"
    assert appeals(service) == [(None, RINA_ADDR)]  # unlinked: the council has it, no case
    subjects = service.subjects_to(RINA_ADDR)
    assert "We received your message" in subjects  # the generic acknowledgement
    assert not any("your appeal" in s for s in subjects)
    [asked] = confirmations(service)
    assert "Executive Council" in asked.get_content() and "I appeal" not in asked.get_content()
    answer_through_reply_address(service, asked, "Yes, I sent it.")
    assert find_case(service.db, "CoC-2026-001").state == "appealed"
    assert appeals(service)[0][0] is not None
    assert "[CoC-2026-001] We received your appeal" in service.subjects_to(RINA_ADDR)
    assert "appeal-confirmed" in events(service.db, "CoC-2026-001")


def forged_appeal(service, text: str = "I appeal the committee's decision.") -> None:
    raw = mail(RINA, "Appeal [CoC-2026-001]", text, to="conduct-appeals@example.org")
    service.send(raw, RINA_ADDR, "conduct-appeals@example.org")


def test_a_yes_to_a_request_about_something_else_links_no_appeal(service, notice):
    """The person reported forges a follow-up (Rina is asked, the daily request spent), then
    appeals in her name: she was never asked about the appeal, and her yes to the request
    about the follow-up is no yes to it (it would block #enact while the council decides)."""
    service.member_says(ALICE, "#close handled informally", notice)
    forged(service, "One more thing about the list.")
    [asked] = confirmations(service)
    assert "Executive Council" not in asked.get_content()  # a request about a follow-up
    for n in range(3):
        forged_appeal(service, f"I appeal, number {n}.")
    assert len(confirmations(service)) == 1  # the daily request was spent
    answer_through_reply_address(service, asked, "Yes, that was me: he did it again.")
    assert "appeal-confirmed" not in events(service.db, "CoC-2026-001")
    assert find_case(service.db, "CoC-2026-001").state == "closed"
    assert [case for case, _ in appeals(service)] == [None, None, None]
    assert not any("your appeal" in s for s in service.subjects_to(RINA_ADDR))


def test_a_yes_links_only_the_appeal_the_request_asked_about(service, notice):
    """Appeals forged after the request (no new request that day) are not linked by its yes."""
    service.member_says(ALICE, "#close handled informally", notice)
    forged_appeal(service, "I appeal the committee's decision.")
    [asked] = confirmations(service)
    assert "Executive Council" in asked.get_content()
    for n in range(2):
        forged_appeal(service, f"I appeal again, number {n}.")
    answer_through_reply_address(service, asked, "Yes, I sent it.")
    assert events(service.db, "CoC-2026-001").count("appeal-confirmed") == 1
    assert sorted(case is not None for case, _ in appeals(service)) == [False, False, True]
    mine = [s for s in service.subjects_to(RINA_ADDR) if "We received your appeal" in s]
    assert len(mine) == 1


def test_a_no_to_the_confirmation_links_nothing(service, notice):
    service.member_says(ALICE, "#close handled informally", notice)
    raw = mail(RINA, "Appeal [CoC-2026-001]", "I appeal.", to="conduct-appeals@example.org")
    service.send(raw, RINA_ADDR, "conduct-appeals@example.org")
    [asked] = confirmations(service)
    answer_through_reply_address(service, asked, "No, that was not me.")
    assert find_case(service.db, "CoC-2026-001").state == "closed"
    assert appeals(service) == [(None, RINA_ADDR)]


def test_a_member_merging_an_unproven_appeal_does_not_make_it_the_reporters(service, notice):
    service.member_says(ALICE, "#close handled informally", notice)
    raw = mail(RINA, "I appeal", "I appeal.", to="conduct-appeals@example.org")
    service.send(raw, RINA_ADDR, "conduct-appeals@example.org")
    [(message_id,)] = service.db.execute(
        "SELECT m.message_id FROM appeals a JOIN messages m ON m.id = a.message_pk"
    ).fetchall()
    service.member_says(ALICE, f"#merge {message_id}", notice)
    assert appeals(service)[0][0] is not None  # linked, as the member asked
    assert find_case(service.db, "CoC-2026-001").state == "closed"  # but on nobody's word


def test_a_witness_forged_follow_up_raises_nothing_until_the_witness_writes(service, notice):
    service.member_says(ALICE, "#to-party witness wendy@witness.example\nWhat did you see?",
                        notice)  # fmt: skip
    forged(service, "Ongoing: yes\nHe threatens her every day.", sender="Wendy <wendy@witness."
           "example>", envelope="wendy@witness.example")  # fmt: skip
    case = find_case(service.db, "CoC-2026-001")
    assert not case.urgent and "followup-received" not in events(service.db, case.ref)
    [asked] = confirmations(service, "wendy@witness.example")
    answer_through_reply_address(service, asked, "Ongoing: yes\nHe threatens her every day.",
                                 sender="Wendy <wendy@witness.example>")  # fmt: skip
    assert find_case(service.db, "CoC-2026-001").urgent
    assert "followup-received" in events(service.db, "CoC-2026-001")


DANA = "dana@events.example"  # a domain with no key pinned (nor a parent's)
DELEGATES = (
    f'[[delegates]]\nname = "Dana Delegate"\nemail = "{DANA}"\nevent = "PyData Berlin 2026"\n'
)


def test_a_delegates_word_needs_the_same_proof(tmp_path, relay, keys):  # noqa: F811
    from tests.conftest import fixture_bytes

    extra = 'trusted_hosts = ["mx.example.org"]\n' + DELEGATES
    svc = Service(config(tmp_path, relay, keys, extra=extra), relay)
    try:
        forward = fixture_bytes("delegate_forward.eml").replace(b"dana@events.example.org",
                                                                DANA.encode())  # fmt: skip
        svc.send(forward, DANA, REPORTS)
        wish = mail(f"Dana Delegate <{DANA}>", "Re: [CoC-2026-001] We received your report",
                    "Please do not contact me again.")  # fmt: skip
        svc.send(wish, DANA, REPORTS)
        assert not party(svc, "delegate").no_contact
        assert len(confirmations(svc, DANA)) == 1
        stamp = b"Authentication-Results: mx.example.org; dkim=pass header.d=events.example\r\n"
        svc.send(stamp + wish.replace(b"<uw-", b"<uw-again-"), DANA, REPORTS)
        assert party(svc, "delegate").no_contact
    finally:
        svc.close()


def test_a_forged_mediator_report_is_not_the_mediators(service, notice):
    max_addr = "max@mediators.example"  # a domain with no key pinned
    service.member_says(ALICE, "#responsible Dave <dave@example.com>\n"
                        f"#mediation propose Max Mediator <{max_addr}>", notice)  # fmt: skip
    [invitation] = [m for m in service.relay.to(RINA_ADDR) if "mediat" in m["Subject"].lower()]
    answer_through_reply_address(service, invitation, "Yes")
    [asked_dave] = [m for m in service.relay.to(DAVE_ADDR) if "mediat" in m["Subject"].lower()]
    answer_through_reply_address(service, asked_dave, "Yes", sender=f"Dave <{DAVE_ADDR}>")
    assert mediation_status(service) == "settled"
    report = mail(f"Max Mediator <{max_addr}>", "Re: [CoC-2026-001] Mediation report",
                  "Report: both agreed to leave it there.")  # fmt: skip
    service.send(report, max_addr, REPORTS)
    assert mediation_status(service) == "settled"
    assert len(confirmations(service, max_addr)) == 1
    stamp = b"Authentication-Results: mx.example.org; dkim=pass header.d=mediators.example\r\n"
    service.send(stamp + report.replace(b"<uw-", b"<uw-stamped-"), max_addr, REPORTS)
    assert mediation_status(service) == "reported"


def test_a_reporter_who_asked_for_no_contact_is_not_asked_to_confirm(service, notice):
    [ack] = service.relay.to(RINA_ADDR)
    answer_through_reply_address(service, ack, "Please do not contact me again.")
    assert party(service).no_contact
    forged(service, "I changed my mind, write to me again.")
    assert confirmations(service) == []
    assert not any("was held" in s for s in service.subjects_to(RINA_ADDR))


def test_a_party_writing_in_anothers_name_through_their_reply_address_is_shown_as_themselves(
    service, notice
):
    """The person reported, given a reply address by #to-party, writes through it with the
    reporter's address in From: it is his word, and the committee's notice says so, never
    "the party (rina@…) wrote again" above "please stop contacting me"."""
    service.member_says(ALICE, f"#to-party {DAVE_ADDR}\nWe would like your account.", notice)
    [to_dave] = service.relay.to(DAVE_ADDR)
    raw = mail(RINA, f"Re: {to_dave['Subject']}", "Please stop contacting me about this.",
               to=to_dave["Reply-To"], reply_to=to_dave["Message-ID"])  # fmt: skip
    service.send(raw, RINA_ADDR, to_dave["Reply-To"])
    [shown] = [m for m in service.relay.to(LIST) if "More information" in m["Subject"]]
    said = " ".join(shown.get_content().split())
    assert f"({DAVE_ADDR}, through their reply address; its From said {RINA_ADDR})" in said
    assert f"({RINA_ADDR})" not in said
    assert not party(service).no_contact  # the reporter's wish was never hers


def test_forged_appeals_in_the_reporters_name_do_not_flood_her_with_acknowledgements(
    service, notice
):
    """Each unproven appeal is acknowledged generically to its envelope sender: the person
    reported, forging the reporter's envelope, would make casebook mail her once per forgery
    (30 an hour past the edge's burst). Acknowledgements stop at `ack_daily_cap` a day per
    address, as for reports; the council still gets every appeal."""
    for n in range(8):
        forged_appeal(service, f"I appeal, number {n}.")
    acks = [s for s in service.subjects_to(RINA_ADDR) if s == "We received your message"]
    assert len(acks) == service.settings.ack_daily_cap
    assert len(appeals(service)) == 8


def test_a_yes_to_a_committee_question_does_not_turn_a_no_into_consent(service, notice):
    """Rita declined the apology request; the committee then asks her, with #to-reporter,
    whether Dave wrote to her again, and her phone answers "Yes, twice on Sunday." That is no
    consent: only an answer to the proposal is (and #consult asks again)."""
    consult(service, notice)
    [proposal] = proposals_to(service)
    answer_through_reply_address(service, proposal, "No, no further contact with him.")
    assert party(service).consent == "declined"
    service.member_says(ALICE, "#to-reporter\nHas he contacted you again since Saturday?", notice)
    [question] = [m for m in service.relay.to(RINA_ADDR) if "A message from" in m["Subject"]]
    answer_through_reply_address(service, question, "Yes, twice on Sunday.\r\n\r\n"
                                 "Sent from my iPhone")  # fmt: skip
    assert party(service).consent == "declined"
    service.member_says(ALICE, "#consult", notice)
    again = proposals_to(service)[-1]
    answer_through_reply_address(service, again, "Yes, go ahead.")
    assert party(service).consent == "agreed"


def test_no_further_contact_in_answer_to_the_proposal_is_about_the_person(service, notice):
    """The proposal's mail says "you may also tell us that you want no further contact with
    the person involved"; Rita's phone answers "No. I'd rather have no further contact." That
    is about Dave, not the committee: she is not cut off from its mail."""
    consult(service, notice)
    [proposal] = proposals_to(service)
    answer_through_reply_address(service, proposal, "No. I'd rather have no further contact."
                                 "\r\n\r\nSent from my iPhone")  # fmt: skip
    assert party(service).consent == "declined"
    assert not party(service).no_contact
    assert not any("not contact you" in s for s in service.subjects_to(RINA_ADDR))
    service.member_says(ALICE, "#to-reporter\nUnderstood, we will not ask him for one.", notice)
    assert any("A message from" in s for s in service.subjects_to(RINA_ADDR))


def test_a_reply_to_the_no_contact_confirmation_lifts_the_wish(service, notice):
    """The mail "We will not contact you again" says "if you change your mind, reply to this
    message". Rita's phone does: she is heard from again, and the committee can write to her."""
    [ack] = [m for m in service.relay.to(RINA_ADDR) if "We received your report" in m["Subject"]]
    answer_through_reply_address(service, ack, "Please do not contact me again.")
    assert party(service).no_contact
    [stop] = [m for m in service.relay.to(RINA_ADDR) if "not contact you" in m["Subject"]]
    words = " ".join(stop.get_content().split())
    assert "reply to this message and we will write to you again" in words
    assert "To appeal a decision later, write to conduct-appeals@example.org" in words
    answer_through_reply_address(service, stop, "Sorry, I changed my mind. Please keep me "
                                 "updated.\r\n\r\nSent from my iPhone")  # fmt: skip
    assert not party(service).no_contact
    assert "no-contact-withdrawn" in events(service.db, "CoC-2026-001")
    service.member_says(ALICE, "#to-reporter\nThank you, we will keep you updated.", notice)
    assert any("A message from" in s for s in service.subjects_to(RINA_ADDR))


def test_a_strangers_appeal_quoting_the_tag_does_not_stop_the_committee(service, notice):
    """Anyone who learnt the case number (the person reported, from an ask-account mail)
    writes to the appeals address quoting it. The council reads it, but it flips nothing:
    the committee still enacts what the reporter agreed to."""
    consult(service, notice)
    [proposal] = proposals_to(service)
    answer_through_reply_address(service, proposal, "Yes, go ahead.")
    raw = mail("Someone <someone@elsewhere.example>", "Appeal [CoC-2026-001]",
               "I appeal this case.", to="conduct-appeals@example.org")  # fmt: skip
    service.send(raw, "someone@elsewhere.example", "conduct-appeals@example.org")
    [(linked, _)] = appeals(service)
    assert linked is not None  # the council has it, linked to the case
    service.member_says(ALICE, "#enact", notice)
    assert find_case(service.db, "CoC-2026-001").state == "resolved"
    assert any("has been resolved" in s for s in service.subjects_to(RINA_ADDR))


def send_at(service, raw: bytes, sender: str, to: str, when) -> None:
    """As `Service.send`, with casebook's clock at `when`."""
    smtp_send(service.intake.port, raw, sender, [to])
    spool = open_spool(spool_path(service.settings))
    try:
        process_spooled(service.db, spool, service.settings, lambda: when)
    finally:
        spool.close()
    send_due(service.db, service.settings, when)


def test_appeals_after_the_days_request_are_asked_about_once_the_day_has_passed(
    service, notice, tmp_path
):
    """Her request of the day went about a forged follow-up; then Rina's own unsigned appeals
    arrive. A day later she gets one request about them (never one per appeal, never twice),
    and her yes to it links them."""
    service.member_says(ALICE, "#close handled informally", notice)
    forged(service, "One more thing about the list.")  # spends the day's request
    forged_appeal(service, "I appeal the committee's decision.")
    forged_appeal(service, "And one more point for my appeal.")
    assert len(confirmations(service)) == 1
    config_path = str(tmp_path / "casebook.toml")
    later = T0 + timedelta(days=1, minutes=1)
    for when in (later, later + timedelta(days=2)):
        tick = run_casebook("-c", config_path, "tick", "--now", when.isoformat())
        assert tick.returncode == 0, tick.stderr
    [_, asked] = confirmations(service)  # one request, once
    assert "Executive Council" in asked.get_content() and "my appeal" not in asked.get_content()
    raw = mail(RINA, f"Re: {asked['Subject']}", "Yes, I sent them.", to=asked["Reply-To"],
               reply_to=asked["Message-ID"])  # fmt: skip
    send_at(service, raw, RINA_ADDR, asked["Reply-To"], later + timedelta(days=2, hours=1))
    assert events(service.db, "CoC-2026-001").count("appeal-confirmed") == 2
    assert find_case(service.db, "CoC-2026-001").state == "appealed"
    assert [case is not None for case, _ in appeals(service)] == [True, True]
