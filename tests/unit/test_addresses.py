"""Strict From parsing (CVE-2023-27043 forms) and routing by envelope recipient."""

from __future__ import annotations

import pytest

from archive.record.models import RouteKind
from intake.addresses import parse_from, route_message, route_recipient


@pytest.mark.parametrize(
    "value, address, name",
    [
        ("alice@example.org", "alice@example.org", None),
        ("Alice Chair <alice@example.org>", "alice@example.org", "Alice Chair"),
        ('"Chair, Alice" <Alice@Example.org>', "alice@example.org", "Chair, Alice"),
        ("=?utf-8?q?Ren=C3=A9?= <rene@example.net>", "rene@example.net", "René"),
    ],
)
def test_plain_from_forms_are_accepted(value, address, name):
    mailbox = parse_from([value])
    assert (mailbox.address, mailbox.name, mailbox.problem) == (address, name, None)


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["alice@example.org", "mallory@evil.example"],
        ["alice@example.org, mallory@evil.example"],
        # CVE-2023-27043: specials in the local part make email.utils pick the wrong domain.
        ['"alice@example.org"@evil.example'],
        ["alice@example.org@evil.example"],
        ["Alice <alice@example.org> (comment)"],
        ["alice@example.org (Alice)"],
        ["not an address"],
        ["<>"],
        ["Alice <alice@example.org>, <mallory@evil.example>"],
    ],
)
def test_ambiguous_from_forms_are_unknown(values):
    mailbox = parse_from(values)
    assert mailbox.address is None
    assert mailbox.problem


@pytest.mark.parametrize(
    "value",
    [
        "friends: alice@example.org;",
        "friends:alice@example.org;",
        "friends: Alice Chair <alice@example.org>;",
        "undisclosed-recipients:;",
        "a: alice@example.org",
        "Alice Chair <alice@example.org>;",
    ],
)
def test_group_syntax_is_no_mailbox(value):
    """A group (RFC 5322 §3.4) lists mailboxes: never read as the one it lists."""
    mailbox = parse_from([value])
    assert mailbox.address is None
    assert mailbox.problem in ("group syntax in From", "ambiguous From")


def test_a_quoted_colon_in_a_display_name_is_still_one_mailbox():
    assert parse_from(['"Chair: Alice" <alice@example.org>']).address == "alice@example.org"


def test_a_report_sent_to_a_reply_address_too_is_marked_as_sent_to_the_reports_address(
    settings,
):
    both = route_message(("conduct+aaaaaaaaaaaaaaaaaaaaaaaa@example.org", "conduct@example.org"),
                         settings)  # fmt: skip
    assert (both.kind, both.reports) == (RouteKind.REPLY, True)
    alone = route_message(("conduct+aaaaaaaaaaaaaaaaaaaaaaaa@example.org",), settings)
    assert (alone.kind, alone.reports) == (RouteKind.REPLY, False)


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?alice=40example=2Eorg?= <mallory@evil.example>",
        '"alice@example.org" <mallory@evil.example>',
        "=?utf-8?b?PGFsaWNlQGV4YW1wbGUub3JnPg==?= <mallory@evil.example>",
    ],
)
def test_display_name_spelling_an_address_is_unknown(value):
    mailbox = parse_from([value])
    assert mailbox.address is None
    assert mailbox.problem == "display name spells an address"


def test_routes(settings):
    assert route_recipient("conduct@example.org", settings).kind is RouteKind.REPORT
    assert route_recipient("Conduct@Example.ORG", settings).kind is RouteKind.REPORT
    reply = route_recipient("conduct+anything@example.org", settings)
    assert reply.kind is RouteKind.REPLY and reply.token == "anything"
    assert route_recipient("conduct-bounces+cb-x@example.org", settings).kind is RouteKind.BOUNCE
    assert route_recipient("conduct-committee@lists.example.org", settings).kind is RouteKind.LIST
    assert route_recipient("conduct-appeals@example.org", settings).kind is RouteKind.APPEAL
    assert route_recipient("someone@example.org", settings).kind is RouteKind.UNKNOWN
    assert route_recipient("conduct@other.example", settings).kind is RouteKind.UNKNOWN
