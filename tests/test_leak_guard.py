"""The outbound leak guard: mail for someone outside the committee that names a reporter, a
witness, a member or an internal note is held until a member releases or drops it.

The canary matrix plants each protected identity in every field of every party-facing
template; the client tests send the committee's commands as Outlook, Gmail and Apple Mail
write them, through the whole pipeline.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.cases import find_case, parties_of
from archive.catalogue import CATALOGUE
from archive.db import open_archive, write_transaction
from archive.dsn import dsn_summary
from archive.leaks import Secret, find_leaks, fold, signed_name, witness_names
from archive.outbox import Audience, queue_mail
from archive.passages import Source, passage_hits
from intake.text import html_to_text
from mailer.send import send_due
from tests.clientmail import client_reply
from tests.committee import BOB, CAROL, Committee, dkim_settings
from tests.conftest import T0
from tests.helpers import deliver, events, outbox
from tests.mailbuild import build, sign

REPORT = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Dave on the users list\r\nMessage-ID: <leak-report@example.net>\r\n\r\n"
    "Names: Dave Jones\r\nWitnesses: Wendy Witnessworth\r\nWhen: yesterday\r\n"
    "Where: the users mailing list\r\n"
    "What happened: he called me stupid in front of everyone and told me to leave the project.\r\n"
    "Ongoing: no\r\n"
)
NOTE = "Dave's employer is also a sponsor, so keep the sponsorship team out of this"
OUTSIDE = sorted(name for name, spec in CATALOGUE.items() if spec.outside)
CANARIES = {
    "reporter name": ("Rita Canaryname", "a reporter's name"),
    "reporter address": ("rita@example.net", "a reporter's address"),
    "witness": ("Wendy Witnessworth", "a witness's name"),
    "member name": ("Carol Member", "a member's name"),
    "member address": ("bob@example.org", "a member's address"),
    "council member": ("Erin Council", "a member's name"),
    "note": (NOTE, "an internal note"),
    "report text": ("he called me stupid in front of everyone", "what a reporter wrote"),
}


@pytest.fixture
def committee(tmp_path):
    settings = dkim_settings(tmp_path)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    deliver(db, settings, REPORT.encode(), now=T0)
    c.say(f"#note\n{NOTE}")
    c.say("#responsible Dave Jones <dave@example.com>")
    yield c
    db.close()


def case_of(c):
    return find_case(c.db, "CoC-2026-001")


def queue(c, name: str, context: dict, *, to: str = "dave@example.com", party=None) -> dict:
    audience = Audience.PARTY if party else Audience.ADDRESS
    with write_transaction(c.db):
        queue_mail(
            c.db,
            now=T0,
            settings=c.settings,
            template=name,
            audience=audience,
            context=context,
            case=case_of(c),
            party=party,
            to_addr=None if party else to,
        )
    return [m for m in outbox(c.db) if m["template"] == name][-1]


def planted(name: str, field: str, canary: str) -> dict:
    """The template's sample values, with `field` (whatever its shape) carrying the canary."""
    context = dict(CATALOGUE[name].sample)
    value = context[field]
    text = f"As discussed: {canary}."
    if isinstance(value, list):
        context[field] = [text]
    elif isinstance(value, dict):
        context[field] = {"detail": text}
    else:
        context[field] = text
    return context


@pytest.mark.parametrize("name", OUTSIDE)
def test_every_field_of_every_party_facing_template_is_guarded(committee, name):
    spec = CATALOGUE[name]
    for kind, (canary, what) in CANARIES.items():
        for field in sorted(spec.fields - spec.signed):
            mail = queue(committee, name, planted(name, field, canary))
            assert mail["status"] == "held", (name, field, kind)
            [notice] = outbox(committee.db, "committee/mail_held")[-1:]
            assert notice["context"]["item"] == mail["id"]
            hits = [(h["what"], h["in"]) for h in notice["context"]["hits"]]
            assert (what, field) in hits
            if kind not in ("note", "report text"):  # a passage is named by its words found
                assert {"what": what, "text": canary, "in": field} in notice["context"]["hits"]
    clean = queue(committee, name, dict(spec.sample))
    assert clean["status"] == "queued"


@pytest.mark.parametrize("name", sorted(n for n in OUTSIDE if CATALOGUE[n].signed))
def test_the_chairs_signature_is_no_leak(committee, name):
    spec = CATALOGUE[name]
    context = {**spec.sample, **{f: "Alice Chair" for f in spec.signed}}
    assert queue(committee, name, context)["status"] == "queued"


def test_the_reporter_may_read_their_own_name_and_witness_but_not_members(committee):
    [reporter] = parties_of(committee.db, case_of(committee), "reporter")
    text = "Rita Canaryname, thank you: Wendy Witnessworth confirmed it (rita@example.net)."
    assert (
        queue(committee, "reporter/message", {"text": text}, party=reporter)["status"] == "queued"
    )
    held = queue(committee, "reporter/message", {"text": "Carol Member will call."}, party=reporter)
    assert held["status"] == "held"
    # The same words to the person responsible are a leak.
    assert queue(committee, "reported/private_reprimand",
                 {**CATALOGUE["reported/private_reprimand"].sample, "statement": text}
                 )["status"] == "held"  # fmt: skip


def test_inside_mail_is_not_guarded(committee):
    context = {"subject": "x", "text": "Rita Canaryname and Carol Member", "author": "Bob"}
    with write_transaction(committee.db):
        queue_mail(
            committee.db,
            now=T0,
            settings=committee.settings,
            template="committee/relay",
            audience=Audience.COMMITTEE,
            case=case_of(committee),
            context=context,
        )
    assert outbox(committee.db, "committee/relay")[-1]["status"] == "queued"


def test_names_match_folded_but_only_as_whole_words(committee):
    sample = CATALOGUE["reported/private_reprimand"].sample
    held = (
        *("RITA  CANARYNAME", "Rita\u00a0Canaryname", "Ríta Canarynáme", "Rita\nCanaryname"),
        *("Canaryname, Rita", "rita.canaryname", "Member,  Carol", "RitaCanaryname"),
        *("Rita\u200bCanaryname", "Cana\u00adryname Rita", "Bobby", "alice@users.example.net"),
    )
    for text in held:
        mail = queue(committee, "reported/private_reprimand", {**sample, "statement": text})
        assert mail["status"] == "held", text
    for text in ("Rita Canarynamesake", "the Carol Membership drive", "bob@example.org.uk"):
        mail = queue(committee, "reported/private_reprimand", {**sample, "statement": text})
        assert mail["status"] == "queued", text


def test_the_reporter_of_a_merged_case_is_protected_from_the_other_reporter(committee):
    other = REPORT.replace(
        "Rita Canaryname <rita@example.net>", "Sam Otherreporter <sam@example.net>"
    )
    other = other.replace("<leak-report@", "<leak-report-2@")
    deliver(committee.db, committee.settings, other.encode(), now=T0, sender="sam@example.net")
    committee.say("#merge CoC-2026-002")
    rita = next(p for p in parties_of(committee.db, case_of(committee), "reporter")
                if p.email == "rita@example.net")  # fmt: skip
    mail = queue(committee, "reporter/message", {"text": "Sam Otherreporter reported it too."},
                 party=rita)  # fmt: skip
    assert mail["status"] == "held"
    assert {"what": "a reporter's name", "text": "Sam Otherreporter", "in": "text"} in (
        outbox(committee.db, "committee/mail_held")[-1]["context"]["hits"]
    )


# The committee's commands, as real clients write them, through the whole pipeline.
CLIENTS = ["outlook_desktop_en.eml", "gmail_web.eml", "apple_mail.eml"]


def client(committee, name: str, new_text: bytes) -> None:
    raw = client_reply(name, committee.notice_id("CoC-2026-001"))
    committee.say("", raw=sign(raw.replace(b"Thank you", new_text + b" Thank you")))


@pytest.mark.parametrize("name", CLIENTS)
def test_a_to_reporter_naming_a_member_is_held_then_released(committee, name):
    client(committee, name, b"Carol Member will phone you tomorrow.")
    [mail] = outbox(committee.db, "reporter/message")
    assert mail["status"] == "held"
    assert ("held", f"mail {mail['id']} (reporter/message) held: see the notice") in (
        committee.lines()
    )
    [notice] = outbox(committee.db, "committee/mail_held")
    assert notice["context"]["hits"] == [
        {"what": "a member's name", "text": "Carol Member", "in": "text"}
    ]
    assert notice["context"]["queued_by"] == "alice@example.org"
    assert "mail-held" in events(committee.db, "CoC-2026-001")

    committee.say(f"#release {mail['id']}", sender=BOB)
    assert committee.lines() == [
        ("done", f"mail {mail['id']} (reporter/message) released: it goes out as it is")
    ]
    [mail] = outbox(committee.db, "reporter/message")
    assert mail["status"] == "queued"
    committee.say(f"#release {mail['id']}", sender=CAROL)  # the same release twice: no change
    assert committee.lines()[0][1].startswith("no change")
    assert events(committee.db, "CoC-2026-001").count("mail-released") == 1


@pytest.mark.parametrize("name", CLIENTS)
def test_a_to_reporter_quoting_the_whole_thread_goes_out_unheld(committee, name):
    """The quote (with the report's canaries) is cut by the reply-text rules; the new text is
    clean, so nothing is held."""
    client(committee, name, b"")
    [mail] = outbox(committee.db, "reporter/message")
    assert mail["status"] == "queued"


def test_a_reprimand_whose_statement_names_the_reporter_is_held_and_dropped(committee):
    committee.say("#violation yes")
    committee.say(
        "#propose private-reprimand\nStatement:\n"
        "Rita Canaryname told us what you wrote. Your messages were hostile.\nEnd of statement"
    )
    committee.say("#agree", sender=BOB)
    committee.say("#agree", sender=CAROL)
    committee.say("#consult")
    committee.say("#enact", now=T0 + timedelta(days=5, minutes=1))
    [reprimand] = outbox(committee.db, "reported/private_reprimand")
    assert reprimand["status"] == "held"
    assert outbox(committee.db, "committee/mail_held")[-1]["context"]["reader"] == (
        "the person responsible"
    )
    committee.say("#drop 999")
    assert committee.lines()[0] == ("refused", "this case has no held mail 999")
    committee.say(f"#drop {reprimand['id']}")
    assert outbox(committee.db, "reported/private_reprimand")[0]["status"] == "dropped"
    assert "mail-dropped" in events(committee.db, "CoC-2026-001")


def test_release_names_only_this_cases_mail(committee):
    other = REPORT.replace("<leak-report@", "<leak-report-3@").replace("Rita", "Tess")
    deliver(committee.db, committee.settings, other.encode(), now=T0, sender="tess@example.net")
    committee.say("#to-reporter\nCarol Member will phone you.", case="CoC-2026-002")
    [mail] = outbox(committee.db, "reporter/message")
    assert mail["status"] == "held"
    committee.say(f"#release {mail['id']}")  # in case 001's thread
    assert committee.lines()[0] == ("refused", f"this case has no held mail {mail['id']}")
    assert outbox(committee.db, "reporter/message")[0]["status"] == "held"


# Issue 18 §3: every passage written inside the case, whoever the reader.
@pytest.fixture
def sending(tmp_path, relay):
    """A committee whose mail goes to a relay sink, so what was sent is archived."""
    settings = dkim_settings(tmp_path, relay_port=relay.port)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    deliver(db, settings, REPORT.encode(), now=T0)
    c.say("#responsible Dave Jones <dave@example.com>")
    send_due(db, settings, T0)
    yield c
    db.close()


def last_hits(c) -> list[tuple[str, str]]:
    [notice] = outbox(c.db, "committee/mail_held")[-1:]
    return [(h["what"], h["in"]) for h in notice["context"]["hits"]]


def test_a_call_summary_and_a_notice_to_members_are_held_from_outsiders(sending):
    c = sending
    c.say("#summary\nWe agreed on the call that the sponsor must not hear about this yet.")
    c.say("#to-party reported\nFor the record: we agreed on the call that the sponsor must not"
          " hear about this yet.")  # fmt: skip
    assert outbox(c.db, "reported/message")[-1]["status"] == "held"
    assert ("a call summary", "text") in last_hits(c)
    # The new-case notice went to the list only: its words are the committee's.
    c.say("#to-reporter\nThanks. (A new report arrived and is case CoC-2026-001.)")
    assert outbox(c.db, "reporter/message")[-1]["status"] == "held"
    assert ("a notice to members", "text") in last_hits(c)


def test_what_someone_wrote_is_theirs_to_read_and_nobody_elses(sending):
    c = sending
    case = find_case(c.db, "CoC-2026-001")
    [dave] = parties_of(c.db, case, "reported")
    said = "I never meant to hurt anyone and I will apologise to her."
    reply_to = f"conduct+{dave.token}@example.org"
    raw = build(sender="Dave Jones <dave@example.com>", to=reply_to, subject="Re: hello",
                body=said, message_id="<dave-said@example.com>")  # fmt: skip
    deliver(c.db, c.settings, raw, now=T0, sender="dave@example.com", to=(reply_to,))
    c.say(f"#to-party reported\nYou wrote: {said} Thank you.")
    assert outbox(c.db, "reported/message")[-1]["status"] == "queued"
    c.say(f"#to-reporter\nHe wrote: {said} We will be in touch.")
    assert outbox(c.db, "reporter/message")[-1]["status"] == "held"
    assert ("a message of the case", "text") in last_hits(c)
    # The reporter reads her own words back; the reported person does not.
    mine = "he called me stupid in front of everyone and told me to leave"
    c.say(f"#to-reporter\nYou told us {mine}. We will be in touch.")
    assert outbox(c.db, "reporter/message")[-1]["status"] == "queued"


def test_a_resolution_the_committee_wrote_goes_out_as_written(sending):
    """What a member wrote to be sent (`#propose`'s statement) is no leak of their own post."""
    c = sending
    c.say("#violation yes")
    c.say("#propose private-reprimand\n"
          "Statement: Your messages on the users list were hostile and broke"
          " our Code of Conduct; please stop.\nEnd of statement")  # fmt: skip
    c.say("#agree", sender=BOB)
    c.say("#agree", sender=CAROL)
    c.say("#consult")
    c.say("#enact", now=T0 + timedelta(days=5, minutes=1))
    [reprimand] = outbox(c.db, "reported/private_reprimand")
    assert reprimand["status"] == "queued"


def test_html_as_text_drops_what_the_reader_does_not_see():
    markup = (
        '<p>Rita<span style="display: none">qx</span> Cana<b>ry</b>name &amp; co<wbr>op.</p>'
        '<div hidden>a</div><p style="visibility:hidden">b</p><p style="font-size:0">c</p>'
        '<p style="color:red;display:none !important">d<p>e</p></p><p>seen</p>'
    )
    assert html_to_text(markup) == "Rita Cana ry name & coop.\nseen"
    assert "qx" in html_to_text(markup, keep_hidden=True)  # the conflict check reads it all
    styled = "<p hidden>x</p>AT&T &lt;b&gt;<style>p{display:none}</style>y"
    assert html_to_text(styled) == "AT&T <b>y"
    # A marked section html.parser refuses: the markup read as it is, the words still parted.
    assert html_to_text("<p hidden>x</p><![bad[ z ]]>Rita<b>Canaryname") == "x\nRita Canaryname"


def test_a_bounce_shows_checked_values_only():
    forged = (
        b"Final-Recipient: rfc822; call Rita Canaryname\nOriginal-Recipient: rfc822;"
        b" <rita@example.net>\nAction: failed now\nAction: Delayed\nStatus: 4.4.7 (Dave says hi)\n"
        b"Diagnostic-Code: smtp; 550 Dave says hi\nX-Postfix-Sender: rfc822; Dave says hi\n"
    )
    assert dsn_summary(forged) == (
        "Final-Recipient: rfc822; rita@example.net\nAction: delayed\nStatus: 4.4.7"
    )
    assert "no delivery-status" in dsn_summary(b"Diagnostic-Code: smtp; call me")


def test_the_name_a_reporter_signs_with_and_witnesses_without_their_remarks():
    for text in ("he told me to leave.\n\nThanks,\nRita Canaryname", "…Rita Canaryname",
                 "he told me to leave. Rita Canaryname", "Best regards, Rita Canaryname.",
                 "he told me to leave.\n-- \nRita Canaryname\nrita@example.net"):  # fmt: skip
        assert signed_name(text) == "Rita Canaryname", text
    for text in ("Ongoing: no", "Kind regards", "Sent from my iPhone", "> Rita Canaryname"):
        assert signed_name(text) is None, text
    assert witness_names("Wendy Witnessname who sat next to me, Walter Otherwitness (the booth"
                         " volunteer) and Also Anne van Berg; wendy witnessworth") == [  # fmt: skip
        "Wendy Witnessname", "Walter Otherwitness", "Also Anne van Berg", "Anne van Berg",
        "wendy witnessworth",
    ]  # fmt: skip


def test_a_members_own_lines_written_as_a_quote_are_still_the_committees(sending):
    """A member's call notes set out as a blockquote ("> her words") are written inside the
    committee: pasted into a #to-party, they are held like any other line of the post."""
    c = sending
    c.say("Notes from my call with Rita today, her words:\n\n> My sister Sandra Sisterly has"
          " screenshots of everything but is afraid Dave will find out where she works.\n\nBob",
          sender=BOB)  # fmt: skip
    c.say("#to-party reported\nWe were told: my sister Sandra Sisterly has screenshots of"
          " everything but is afraid Dave will find out where she works.")  # fmt: skip
    assert outbox(c.db, "reported/message")[-1]["status"] == "held"
    assert ("a deliberation post", "text") in last_hits(c)


def test_a_quote_in_a_members_post_is_still_found_in_the_older_text_it_came_from(sending):
    """What a post quotes belongs to the text it came from: the reporter reads her own words
    quoted back, wherever a member's post quoted them first."""
    c = sending
    mine = "he called me stupid in front of everyone and told me to leave"
    c.say(f"About the report:\n\n> {mine} the project.\n\nI believe her.", sender=BOB)
    c.say(f"#to-reporter\nYou told us {mine}. We will be in touch.")
    assert outbox(c.db, "reporter/message")[-1]["status"] == "queued"


POST = "スポンサー担当者にも相談しましたが、デイブさんの雇用主が大口の支援者です。"


def _hits(text: str, source: Source, readers: frozenset[str] = frozenset({"dave@x.test"})):
    return passage_hits([("text", fold(text))], [source], set(readers), fold)


def test_scripts_without_spaces_are_compared_by_runs_of_characters():
    """13 Han/kana characters in a row of a deliberation post are a passage of it, 12 are not;
    punctuation, spaces and quote marks inside the run do not hide it; Thai by 24 letters."""
    post = Source("a deliberation post", POST)
    thirteen = POST[5:19]  # "担当者にも相談しましたが、デ": its comma is no character of a run
    assert _hits(f"ええ、{thirteen}ですね", post)[0][:2] == (
        "a deliberation post",
        "担当者にも相談しましたかテ",
    )
    assert _hits(f"ええ、{thirteen[:-1]}ですね", post) == []
    assert _hits("| スポンサー担当\n| 者にも、相談しま", post) != []
    assert _hits("スポンサー担当 and 者にも相談しました", post) == []  # another script ends a run
    thai = Source("a note", "ขอบคุณที่แจ้งให้เราทราบเกี่ยวกับเหตุการณ์นี้")
    assert _hits("ขอบคุณที่แจ้งให้เราทราบเกี่ยวกับ", thai) != []
    assert _hits("ขอบคุณที่แจ้งให้เรา", thai) == []


def test_a_sending_commands_body_is_for_its_reader_only():
    """The body of a `#to-reporter` may go to the reporter, not to the reported person; the
    text above the command stays the committee's."""

    def audience(command: str, args: str) -> frozenset[str]:
        return frozenset({"rita@x.test"}) if command == "toreporter" else frozenset()

    told = "your manager Victor Vulnerable saw it and fears retaliation"
    post = Source("a deliberation post", f"Sent now.\n#to-reporter\nRita, {told}.",
                  frozenset({"alice@x.test"}), sends=audience)  # fmt: skip
    assert _hits(told, post, frozenset({"rita@x.test"})) == []
    assert _hits(told, post)[0][0] == "a deliberation post"
    inside = Source("a deliberation post", f"{told}\n#to-reporter\nThanks.", sends=audience)
    assert _hits(told, inside, frozenset({"rita@x.test"}))[0][0] == "a deliberation post"


@pytest.mark.parametrize(
    ("name", "text", "held"),
    [
        ("山田 花子", "山田花子さんから報告がありました", True),
        ("山田 花子", "花子・山田さんから", True),
        ("山田花子", "報告者は山田花子です", True),
        ("李明", "李明さんから", False),  # two characters: too short to hold on
        ("Rita Canaryname", "ritacanarynamex wrote", False),  # Latin names: whole words only
    ],
)
def test_names_in_scripts_without_spaces_are_found_inside_words(name, text, held):
    secret = Secret("a reporter's name", name)
    assert bool(find_leaks({"text": text}, [secret], {"dave@x.test"}, frozenset())) is held
