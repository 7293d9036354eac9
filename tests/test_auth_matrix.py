"""Who may command (SPEC §5): the authentication matrix. Only the first row applies."""

from __future__ import annotations

import pytest

from archive.cases import find_case
from archive.db import open_archive
from tests.committee import ALICE, Committee, dkim_settings
from tests.conftest import T0
from tests.helpers import deliver, events, outbox
from tests.mailbuild import build, sign


@pytest.fixture
def committee(tmp_path):
    settings = dkim_settings(tmp_path)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()  # CoC-2026-001
    c.report("checklist_report.eml", sender="chris@example.net")  # CoC-2026-002
    yield c
    db.close()


def urgent(c, ref="CoC-2026-001") -> bool:
    return find_case(c.db, ref).urgent


def refused(c, ref="CoC-2026-001") -> str:
    row = c.db.execute(
        "SELECT json_extract(e.detail, '$.reason') FROM events e JOIN cases c ON c.id = e.case_pk"
        " WHERE c.ref = ? AND e.action = 'commands-refused' ORDER BY e.id DESC LIMIT 1",
        [ref],
    ).fetchone()
    return row[0] if row else ""


def test_signed_member_applies(committee):
    committee.say("#urgent")
    assert urgent(committee)
    assert committee.transcript()["applied"] is True


def test_unsigned_mail_with_a_member_from_is_refused(committee):
    committee.say("#urgent", signed=False)
    assert not urgent(committee)
    assert refused(committee) == "not authenticated: no DKIM signature aligned with the From domain"
    notice = outbox(committee.db, "committee/commands_refused")
    assert notice[0]["to_addr"] == "alice@example.org"
    assert notice[0]["context"] == {"token_mode": False}


def test_bad_signature_is_refused(committee):
    raw = committee.message("#urgent").replace(b"#urgent", b"#urgent\r\n#enact")
    committee.say("", raw=raw)
    assert not urgent(committee)
    assert "does not verify" in refused(committee) or "body hash" in refused(committee)


def test_valid_signature_from_a_non_member_of_the_same_domain_is_refused(committee):
    committee.say("#urgent", sender="Mallory <mallory@example.org>")
    assert not urgent(committee)
    assert refused(committee) == "the sender is not a member of the committee"


def test_l_tag_tail_is_not_covered(committee):
    notice = committee.notice_id("CoC-2026-001")
    raw = build(
        sender=ALICE,
        subject="Re: [CoC-2026-001] New report",
        body="\n",
        message_id="<ltag@example.org>",
        in_reply_to=notice,
        references=(notice,),
    )
    signed = sign(raw, length=True)
    # The member's empty reply was signed with l=; someone adds commands after the signed
    # length. The signature still verifies, but what follows l= is nobody's word.
    assert b" l=" in signed or b";l=" in signed.replace(b" ", b"")
    committee.say("", raw=signed + b"#urgent\r\n")
    assert not urgent(committee)
    assert (
        refused(committee) == "not authenticated: DKIM signature covers only part of the body (l=)"
    )


def test_signature_must_cover_subject_and_threading(committee):
    raw = committee.message("#urgent", signed=False)
    committee.say("", raw=sign(raw, headers=(b"from", b"message-id")))
    assert not urgent(committee)
    assert "does not cover" in refused(committee)


def test_replay_into_another_case_is_refused(committee):
    """A signed #urgent for case 1, re-addressed to case 2 (new tag, same signature)."""
    original = committee.message("#urgent", message_id="<replay@example.org>", signed=True)
    replayed = original.replace(b"[CoC-2026-001]", b"[CoC-2026-002]").replace(
        committee.notice_id("CoC-2026-001").encode(), committee.notice_id("CoC-2026-002").encode()
    )
    committee.say("", raw=replayed)
    assert not urgent(committee, "CoC-2026-002")
    assert refused(committee, "CoC-2026-002").startswith("not authenticated")


def test_duplicate_delivery_applies_once(committee):
    raw = committee.message("#note once", message_id="<dup@example.org>")
    committee.say("", raw=raw)
    committee.say("", raw=b"Received: from list-host\r\n" + raw)
    assert events(committee.db, "CoC-2026-001").count("note") == 1


@pytest.mark.parametrize(
    "sender",
    [
        '"alice@example.org"@evil.example',
        "alice@example.org@evil.example",
        "Alice <alice@example.org> (mallory@evil.example)",
        "=?utf-8?q?alice=40example=2Eorg?= <mallory@evil.example>",
        "alice@example.org, mallory@evil.example",
    ],
)
def test_ambiguous_from_forms_are_refused(committee, sender):
    committee.say("#urgent", sender=sender, envelope="mallory@evil.example")
    assert not urgent(committee)


def test_two_from_headers_are_refused(committee):
    raw = committee.message("#urgent", extra_headers=("From: Mallory <mallory@evil.example>",))
    committee.say("", raw=raw)
    assert not urgent(committee)


def test_sender_differing_from_from_is_refused(committee):
    raw = committee.message("#urgent", extra_headers=("Sender: mallory@evil.example",))
    committee.say("", raw=raw)
    assert not urgent(committee)
    assert refused(committee) == "Sender differs from From"


def test_conflicted_member_is_refused_and_told_nothing_about_the_case(committee):
    committee.say("#conflict bob@example.org")
    committee.say("#urgent", sender="Bob Member <bob@example.org>")
    assert not urgent(committee)
    assert refused(committee) == "the sender is conflicted or recused in this case"
    [notice] = [
        q for q in outbox(committee.db, "committee/commands_refused")
        if q["to_addr"] == "bob@example.org"
    ]  # fmt: skip
    # His own signed mail: not told someone may be using his address, nor anything of the case
    assert notice["context"] == {"token_mode": False, "proven": "signed"}
    case_pk = committee.db.execute(
        "SELECT case_pk FROM outbox WHERE message_id = ?", [notice["message_id"]]
    ).fetchone()[0]
    assert case_pk is None  # not in the case thread, no case tag


def test_recused_member_is_refused(committee):
    committee.say("#recuse", sender="Carol Member <carol@example.org>")
    committee.say("#urgent", sender="Carol Member <carol@example.org>")
    assert not urgent(committee)


def test_commands_only_in_quoted_text_or_html_do_not_apply(committee):
    committee.say("I agree with Alice.\n\nOn Mon, Alice wrote:\n> #urgent\n")
    notice = committee.notice_id("CoC-2026-001")
    html = sign(
        (
            f"From: {ALICE}\r\nTo: conduct-committee@lists.example.org\r\n"
            f"Subject: Re: [CoC-2026-001] New report\r\nMessage-ID: <html@example.org>\r\n"
            f"In-Reply-To: {notice}\r\nReferences: {notice}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html\r\n\r\n<p>I agree with Alice.</p>"
            '<div class="gmail_quote"><blockquote>#urgent</blockquote></div>\r\n'
        ).encode()
    )
    committee.say("", raw=html)
    assert not urgent(committee)
    assert outbox(committee.db, "committee/command_result") == []


def test_token_mode_counts_only_the_members_own_reply_address(tmp_path):
    settings = dkim_settings(tmp_path, command_auth="token")
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    from archive.sending import member_party

    case = find_case(db, "CoC-2026-001")
    alice = member_party(db, case, "alice@example.org", "Alice Chair", T0)
    bob = member_party(db, case, "bob@example.org", "Bob Member", T0)
    raw = c.message("#urgent", signed=False)
    c.say("", raw=raw)  # to the list: no token, nothing applies
    assert not find_case(db, "CoC-2026-001").urgent
    c.say("", raw=c.message("#urgent", signed=False), to=f"conduct+{bob.token}@example.org")
    assert not find_case(db, "CoC-2026-001").urgent  # Alice's From on Bob's token
    text = "#urgent\n\nHe is posting threats in the chat."  # not command-only: relayed
    c.say("", raw=c.message(text, signed=False), to=f"conduct+{alice.token}@example.org")
    assert find_case(db, "CoC-2026-001").urgent
    relay = outbox(db, "committee/relay")
    assert relay and relay[-1]["exclude"] == "alice@example.org"
    assert relay[-1]["from_name"] == "Alice Chair via casebook"
    assert "exclude" not in relay[-1]["context"]  # delivery data, not a field to show
    db.close()


def test_insecure_from_only_trusts_from_and_still_checks_membership(tmp_path):
    settings = dkim_settings(tmp_path, extra="insecure_from_only = true")
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    c.say("#urgent", signed=False, sender="Mallory <mallory@example.org>")
    assert not find_case(db, "CoC-2026-001").urgent
    c.say("#urgent", signed=False)
    assert find_case(db, "CoC-2026-001").urgent
    db.close()


def test_a_report_with_commands_from_a_stranger_is_just_a_report(committee):
    raw = (
        b"From: Stranger <s@example.com>\r\nTo: conduct@example.org\r\nSubject: hi\r\n"
        b"Message-ID: <stranger-cmd@example.com>\r\n\r\n#enact\r\nSomeone was rude.\r\n"
    )
    result = deliver(committee.db, committee.settings, raw, now=T0, sender="s@example.com")
    assert result.kind == "report" and outbox(committee.db, "committee/command_result") == []


def arc_sealed_by_list(c, text: str) -> bytes:
    """The member's signed post after the list host checked it, rewrote it and sealed it."""
    import dkim

    from tests.mailbuild import KEYS

    signed = c.message(text)
    checked = b"Authentication-Results: lists.example.org; dkim=pass header.d=example.org\r\n"
    rewritten = (checked + signed).replace(
        b"Subject: Re: [CoC-2026-001]", b"Subject: [conduct] Re: [CoC-2026-001]"
    ) + b"\r\n-- \r\nconduct-committee mailing list\r\n"
    seal = dkim.arc_sign(
        rewritten,
        b"test",
        b"lists.example.org",
        (KEYS / "lists.example.org.key").read_bytes(),
        b"lists.example.org",
        include_headers=[b"from", b"to", b"subject", b"message-id", b"in-reply-to"],
        timestamp="1772452800",
    )
    return b"".join(seal) + rewritten


def test_arc_from_the_trusted_list_host_is_accepted_when_the_list_rewrote_the_message(tmp_path):
    settings = dkim_settings(tmp_path, extra='trusted_hosts = ["lists.example.org"]')
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    c.say("", raw=arc_sealed_by_list(c, "#urgent"))
    assert find_case(db, "CoC-2026-001").urgent
    db.close()


def test_arc_is_not_enough_without_a_trusted_list_host(committee):
    committee.say("", raw=arc_sealed_by_list(committee, "#urgent"))
    assert not urgent(committee)
    assert refused(committee).startswith("not authenticated: DKIM signature")
