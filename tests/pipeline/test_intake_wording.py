"""Reports worded as the reporting guide words them, follow-ups, and what the notice claims."""

from __future__ import annotations

from datetime import timedelta

from archive.record.cases import find_case, parties_of
from archive.record.db import open_archive
from casebook.config import load_settings
from mailer.render import make_environment, render_template
from tests.pipeline.test_forwards import DELEGATES
from tests.support.base import T0, write_config
from tests.support.helpers import deliver, outbox


def report(subject: str, body: str, *, n: int = 1, headers: str = "") -> bytes:
    return (
        f"From: Rita Reporter <rita@example.net>\r\nTo: conduct@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <wording-{n}@example.net>\r\n{headers}"
        "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\n" + body.replace("\n", "\r\n")
    ).encode()


def shown(template: str, context: dict) -> str:
    out = render_template(make_environment(), template, context)
    return f"{out.subject}\n{out.text}"


GUIDE_WORDED = """\
Your contact info: rita@example.net
Names (real, nicknames, or pseudonyms) of any individuals involved: Dave Jones
If there were other witnesses besides you: Bobby Tables
When and where the incident occurred: 3 March, on the users mailing list
Your account of what occurred: he called me names in a thread about packaging.
Any extra context you believe exists for the incident: we disagreed last year
If you believe this incident is ongoing: no
Any other information you believe we should have: none
"""


def test_the_guides_own_checklist_wording_is_parsed_and_not_urgent(db, settings):
    result = deliver(db, settings, report("Report", GUIDE_WORDED), now=T0)
    case = find_case(db, result.case_ref)
    assert not case.urgent
    assert case.fields["ongoing"] == "no"
    assert case.fields["names"] == "Dave Jones"
    assert case.fields["witnesses"] == "Bobby Tables"
    assert case.fields["account"] == "he called me names in a thread about packaging."
    assert outbox(db, "committee/urgent") == []
    text = shown("committee/new_case", outbox(db, "committee/new_case")[0]["context"])
    assert "Ongoing:      no" in text and "When:         3 March" in text


def followup(db, settings, body: str, n: int):
    token = parties_of(db, find_case(db, "CoC-2026-001"), "reporter")[0].token
    raw = report("Re: We received your report", body, n=n + 10)
    return deliver(db, settings, raw, now=T0 + timedelta(hours=n),
                   to=(f"conduct+{token}@example.org",))  # fmt: skip


def test_a_single_labelled_line_in_a_followup_counts_and_raises_the_alert(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0)
    assert not find_case(db, "CoC-2026-001").urgent
    followup(db, settings, "Sorry, I forgot to say.\nOngoing: yes", 1)
    case = find_case(db, "CoC-2026-001")
    assert case.urgent and case.fields["ongoing"] == "yes"
    [alert] = outbox(db, "committee/urgent")
    text = shown("committee/urgent", alert["context"])
    assert "A follow-up from rita@example.net in case CoC-2026-001 makes it urgent" in text


def test_danger_words_in_a_followup_raise_the_urgent_alert(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0)
    followup(db, settings, "He has now threatened me in private messages.", 1)
    assert find_case(db, "CoC-2026-001").urgent
    [alert] = outbox(db, "committee/urgent")
    assert "mentions “threatened”" in shown("committee/urgent", alert["context"])
    followup(db, settings, "He threatened me again.", 2)  # already urgent: one alert
    assert len(outbox(db, "committee/urgent")) == 1


def test_a_quoted_outlook_sent_line_is_not_when_it_happened(db, settings):
    body = (
        "Dave was rude to me in the chat, see his mail below.\n\n"
        "________________________________\nFrom: Dave Jones <dave@example.com>\n"
        "Sent: Monday, March 2, 2026 9:14 AM\nTo: Rita Reporter\nSubject: your patch\n\n"
        "Nobody wants your patches.\n"
    )
    result = deliver(db, settings, report("Rude mail", body), now=T0)
    assert find_case(db, result.case_ref).fields["when"] is None


def test_the_new_case_notice_says_when_no_acknowledgement_went_out(db, settings):
    raw = report("Report", "Dave was rude to me.", headers="Precedence: bulk\r\n")
    deliver(db, settings, raw, now=T0)
    assert outbox(db, "reporter/ack") == []
    text = shown("committee/new_case", outbox(db, "committee/new_case")[0]["context"])
    assert "has been sent an\nacknowledgement" not in text
    assert "No\nacknowledgement was sent" in text


def test_the_new_case_notice_says_a_delegates_reporter_was_not_contacted(tmp_path):
    settings = load_settings(write_config(tmp_path, extra=DELEGATES))
    db = open_archive(settings.database)
    deliver(db, settings, "delegate_forward.eml", now=T0, sender="dana@events.example.org")
    assert [a["to_addr"] for a in outbox(db, "reporter/ack")] == ["dana@events.example.org"]
    text = shown("committee/new_case", outbox(db, "committee/new_case")[0]["context"])
    assert "The reporter has been sent" not in text
    assert "the original reporter has not been contacted" in text
    db.close()


def test_a_delegates_reply_to_the_acknowledgement_is_the_delegates_word(tmp_path):
    """The acknowledgement goes to the delegate with the delegate's own reply address, so the
    delegate asking for no more mail (or answering #consult) is not taken as the reporter's."""
    settings = load_settings(write_config(tmp_path, extra=DELEGATES))
    db = open_archive(settings.database)
    deliver(db, settings, "delegate_forward.eml", now=T0, sender="dana@events.example.org")
    [ack] = outbox(db, "reporter/ack")
    case = find_case(db, "CoC-2026-001")
    by_pk = {p.pk: p for p in parties_of(db, case)}
    party_pk = db.execute("SELECT party_pk FROM outbox WHERE id = ?", [ack["id"]]).fetchone()[0]
    token = by_pk[party_pk].token  # the reply address the acknowledgement carries
    reply = (
        "From: Dana Delegate <dana@events.example.org>\r\n"
        f"To: conduct+{token}@example.org\r\nSubject: Re: your report\r\n"
        f"Message-ID: <dana-reply@events.example.org>\r\nIn-Reply-To: {ack['message_id']}\r\n\r\n"
        "Please don't contact me again about this.\r\n"
    ).encode()
    deliver(db, settings, reply, now=T0 + timedelta(hours=1), sender="dana@events.example.org",
            to=(f"conduct+{token}@example.org",))  # fmt: skip
    wishes = {p.role: p.no_contact for p in parties_of(db, case)}
    assert wishes == {"reporter": 0, "delegate": 1}
    db.close()
