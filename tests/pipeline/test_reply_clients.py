"""Each mail client's real reply: commands and their body come only from the new text."""

from __future__ import annotations

import pytest

from intake.parse import parse_message
from tests.support.clientmail import CLIENTS, client_reply, leaked

# fixture → (the commands found, a sentence of the member's new text for the reporter)
EXPECTED = {
    "outlook_desktop_en.eml": (["to-reporter"], "We are looking into it and will write again"),
    "outlook_desktop_de.eml": (["to-reporter"], "Wir kümmern uns darum"),
    "outlook_original_message.eml": (["to-reporter"], "we have started looking into"),
    "outlook_web_en.eml": (["to-reporter"], "We are looking into it."),
    "outlook_web_de.eml": (["to-reporter"], "Wir kümmern uns darum."),
    "outlook_web_html_only.eml": (["to-reporter"], "We are looking into it."),
    "gmail_web.eml": (["to-reporter"], "We are reviewing your report"),
    "gmail_mobile_wrapped.eml": (["to-reporter"], "we will get back to you by Friday"),
    "gmail_html_only.eml": (["to-reporter"], "We are reviewing your report"),
    "apple_mail.eml": (["to-reporter"], "and we will write to you again before the end"),
    "ios_mail.eml": (["to-reporter"], "we received your report and are on it"),
    "thunderbird_flowed.eml": (
        ["responsible", "to-reporter"],
        "We have identified the person and are talking to them this week.",
    ),
    "k9_fairemail.eml": (["to-reporter"], "wir haben Ihre Meldung erhalten"),
    "mutt.eml": (["to-reporter"], "We have your report and will be in touch"),
    "yahoo.eml": (["to-reporter"], "We received your report and will answer"),
}


def parse(name: str, settings):
    return parse_message(
        client_reply(name),
        envelope_from="alice@example.org",
        envelope_to=("conduct-committee@lists.example.org",),
        settings=settings,
        loop_id="test-loop",
    )


def test_every_client_fixture_has_an_expectation():
    assert sorted(p.name for p in CLIENTS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_commands_and_body_come_from_the_new_text_only(name, settings):
    keywords, sentence = EXPECTED[name]
    msg = parse(name, settings)
    assert [c.keyword for c in msg.commands.commands] == keywords
    assert sentence in msg.commands.body
    assert leaked(msg.commands.body) == []
    assert leaked(msg.authored) == []
    assert sentence in " ".join(msg.authored.split())


def test_a_flowed_responsible_line_keeps_its_address(settings):
    msg = parse("thunderbird_flowed.eml", settings)
    responsible = msg.commands.commands[0]
    assert responsible.args == (
        "Dave Jones of the Users Mailing List Moderation Team <dave.jones@example.com>"
    )
