"""Report fields as a committee reads them (issue 20, item 19): names are people, not places;
witnesses written in free text are found; `#send missing-information` asks only for what the
case still lacks."""

from __future__ import annotations

import pytest

from intake.fields import extract_report_fields
from tests.conftest import ServeProcess, free_port, write_config
from tests.helpers import smtp_send
from tests.mailbuild import pinned_keys_toml, sign
from tests.test_walks_e2e import (
    ALICE,
    LIST,
    REPORTS,
    RITA,
    body,
    outlook,
    reply_address,
    wait_until,
)

FREE_TEXT = (
    "Hi, yesterday on the Jupyter Discourse Dave Jones called me stupid in front of Bob Smith "
    "and @carol_w.\nMaria Lopez saw it too. It happened in Project Chat as well."
)


def test_a_place_is_a_where_and_the_people_who_saw_it_are_witnesses():
    fields = extract_report_fields(FREE_TEXT, sender="rita@example.net")
    assert fields.names == "Dave Jones"  # not "Jupyter Discourse", not "Project Chat"
    assert fields.witnesses == "Bob Smith, @carol_w, Maria Lopez"
    assert fields.where == "Jupyter Discourse"


@pytest.mark.parametrize(
    ("text", "names", "witnesses"),
    [
        ("Dave Jones was rude to me at the sprint. Anna Berg was there.", "Dave Jones",
         "Anna Berg"),
        ("I was harassed by Victor Vance on Jupyter Zulip last week.", "Victor Vance", None),
        ("Yesterday Dave Jones insulted me. Nobody else saw it.", "Dave Jones", None),
        ("Dear Committee, at the Community Call Dave Jones mocked my accent.", "Dave Jones", None),
        ("It was witnessed by Ann Lee and Tom Wu. Dave Jones then left.", "Dave Jones",
         "Ann Lee, Tom Wu"),
    ],
)  # fmt: skip
def test_free_text_people_and_witnesses(text, names, witnesses):
    fields = extract_report_fields(text, sender="rita@example.net")
    assert (fields.names, fields.witnesses) == (names, witnesses)


def test_labelled_witnesses_are_kept_as_written():
    text = "Names: Dave Jones\nWitnesses: Bobby\nWhat happened: he saw it coming. Ann Lee saw it."
    assert extract_report_fields(text, sender=None).witnesses == "Bobby"


PARTLY = (
    "From: Rita Canaryname <rita@example.net>\r\nTo: conduct@example.org\r\n"
    "Subject: Rude review\r\nMessage-ID: <fields-1@mail.example.net>\r\n\r\n"
    "Names: Dave Jones <dave@example.com>\r\nWhen: yesterday\r\nWhere: a code review\r\n"
    "What happened: he mocked my patch in front of everyone.\r\n"
)


def test_send_missing_information_asks_only_for_what_the_case_lacks(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          extra="\n" + pinned_keys_toml())  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    try:
        assert smtp_send(port, PARTLY.encode(), RITA[1], [REPORTS]) == {}
        notice = wait_until(lambda: [m for m in relay.to(LIST) if "New report" in m["Subject"]],
                            "the new-case notice")[0]  # fmt: skip
        to = reply_address(notice)
        ask = "#send missing-information to reporter"
        assert smtp_send(port, sign(outlook(ALICE, to, notice, ask)), ALICE[1], [to]) == {}
        [mail] = wait_until(
            lambda: [m for m in relay.to(RITA[1]) if "tell us more" in str(m["Subject"])],
            "the question to the reporter",
        )
        text = body(mail)
        assert "Ongoing: (yes or no)" in text and "Links:" in text
        for answered in ("Names:", "When:", "Where:", "What happened:"):
            assert answered not in text, text
    finally:
        process.stop()
