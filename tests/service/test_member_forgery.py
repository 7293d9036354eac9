"""Issue 18 §2: mail that names a member but did not come from them is held; `#merge` takes
only a message held in its own case (or in none), and never says whom a message names.

Over SMTP into casebook's intake; what members receive is read from the relay sink.
"""

from __future__ import annotations

import pytest

from archive.arrivals.held import list_held
from archive.record.cases import find_case
from tests.service.test_party_auth import REPORT, REPORTS, Service, config, ids, keys  # noqa: F401
from tests.support.committee import ALICE, BOB, LIST
from tests.support.helpers import events
from tests.support.mailbuild import build, sign

MEMBERS = ("alice@example.org", "bob@example.org", "carol@example.org")


@pytest.fixture(params=["token", "dkim"])
def service(request, tmp_path, relay, keys):  # noqa: F811
    svc = Service(config(tmp_path, relay, keys, command_auth=request.param), relay)
    svc.send(REPORT, "rita@example.net", REPORTS)
    yield svc
    svc.close()


def as_alice(subject: str, text: str) -> bytes:
    return build(sender=ALICE, to=REPORTS, subject=subject, body=text,
                 message_id=f"<mf{next(ids)}@example.org>")  # fmt: skip


def test_unproven_mail_in_a_members_name_at_the_reports_address_is_held(service):
    service.send(as_alice("Re: [CoC-2026-001] New report", "Drop it, this is nothing.\n"),
                 "alice@example.org", REPORTS)  # fmt: skip
    assert "deliberation-posted" not in events(service.db, "CoC-2026-001")
    [held] = list_held(service.db)
    assert held["case"] == "CoC-2026-001" and "From names a member" in held["reason"]
    told = [a for a in (*MEMBERS, LIST) if any("was held" in s for s in service.subjects_to(a))]
    assert told  # the committee hears of it (the list, or each member in token mode)


def test_a_members_signed_mail_at_the_reports_address_is_still_deliberation(tmp_path, relay,
                                                                            keys):  # fmt: skip  # noqa: F811
    svc = Service(config(tmp_path, relay, keys), relay)
    try:
        svc.send(REPORT, "rita@example.net", REPORTS)
        svc.send(sign(as_alice("Re: [CoC-2026-001] New report", "#note seen\n")),
                 "alice@example.org", REPORTS)  # fmt: skip
        assert "deliberation-posted" in events(svc.db, "CoC-2026-001")
        assert list_held(svc.db) == []
    finally:
        svc.close()


@pytest.fixture
def listed(tmp_path, relay, keys):  # noqa: F811
    """DKIM mode, the list as the committee's audience: Rita's case and its notice."""
    svc = Service(config(tmp_path, relay, keys), relay)
    svc.send(REPORT, "rita@example.net", REPORTS)
    [notice] = svc.relay.to(LIST)
    yield svc, notice
    svc.close()


def test_a_conflicted_members_post_is_never_the_cases_deliberation(listed):
    service, notice = listed
    service.member_says(ALICE, "#conflict bob@example.org", notice)
    service.member_says(BOB, "I think Rita exaggerates; let us close it.", notice)
    timeline = events(service.db, "CoC-2026-001")
    assert timeline.count("deliberation-posted") == 1  # Alice's only
    [held] = list_held(service.db)
    assert "conflicted or recused" in held["reason"]


def stranger(subject: str, text: str, message_id: str) -> bytes:
    return build(sender="Sam <sam@example.net>", to=REPORTS, subject=subject, body=text,
                 message_id=message_id)  # fmt: skip


def test_merge_never_takes_a_message_held_in_another_case(listed):
    service, notice = listed
    second = REPORT.replace(b"<pa-report@example.net>", b"<pa-report2@example.net>")
    service.send(second.replace(b"Dave on the users list", b"Eve at the sprint"),
                 "rita@example.net", REPORTS)  # fmt: skip
    service.send(stranger("Re: [CoC-2026-002] more", "I saw it.", "<sam-2@example.net>"),
                 "sam@example.net", REPORTS)  # fmt: skip
    assert [h["case"] for h in list_held(service.db)] == ["CoC-2026-002"]
    service.member_says(ALICE, "#merge <sam-2@example.net>", notice)
    transcript = service.relay.to("alice@example.org")[-1].get_content()
    assert "no held message or unlinked appeal <sam-2@example.net>" in transcript
    assert [h["case"] for h in list_held(service.db)] == ["CoC-2026-002"]


def test_merge_says_nothing_of_whom_the_message_names(listed):
    service, notice = listed
    service.send(stranger("[CoC-2026-777] seen", "It was Bob Member who shouted.",
                          "<sam-bob@example.net>"), "sam@example.net", REPORTS)  # fmt: skip
    service.member_says(BOB, "#merge <sam-bob@example.net>", notice)
    transcript = service.relay.to("bob@example.org")[-1].get_content()
    assert "is now part of the case" in transcript
    assert "bob@example.org" not in transcript and "conflicted" not in transcript
    assert "bob@example.org" in find_case(service.db, "CoC-2026-001").conflicted


def test_a_forgery_in_a_members_name_that_names_another_member_is_not_shown(listed):
    service, _ = listed
    text = "Bob Member was the one who shouted, I saw it.\n"
    service.send(as_alice("Re: [CoC-2026-001] New report", text), "alice@example.org", REPORTS)
    [shown] = [m for m in service.relay.to(LIST) if "was held" in m["Subject"]]
    body = shown.get_content()
    assert "shouted" not in body and "not shown: it names someone" in " ".join(body.split())


def test_unproven_mail_in_a_council_members_name_at_the_appeals_address_is_held(listed):
    service, _ = listed
    raw = build(sender="Erin Council <erin@example.org>", to="conduct-appeals@example.org",
                subject="Re: [CoC-2026-001] Appeal about a case", body="#status closed\n",
                message_id="<mf-erin@example.org>")  # fmt: skip
    service.send(raw, "erin@example.org", "conduct-appeals@example.org")
    assert "deliberation-posted" not in events(service.db, "CoC-2026-001")
    [held] = list_held(service.db)
    assert held["case"] == "CoC-2026-001" and "From names a member" in held["reason"]
