"""Every crash the fuzz harness found, kept: an input in tests/fixtures/fuzz/ named by scenario.

Each is fixed and tested here as what a user gets: a case, an acknowledgement, or one failed
item that stops no other mail.
"""

from __future__ import annotations

import pytest

from intake.parse import parse_message
from mailer.send import send_due
from tests.support.base import FIXTURES, T0
from tests.support.helpers import deliver, outbox

FUZZ_FIXTURES = FIXTURES / "fuzz"


def _parse(settings, name: str):
    raw = (FUZZ_FIXTURES / name).read_bytes()
    return parse_message(
        raw, envelope_from="rita@example.net", envelope_to=("conduct@example.org",),
        settings=settings, loop_id="fuzzloop",
    )  # fmt: skip


def _archived(db, settings, name: str) -> tuple:
    result = deliver(db, settings, f"fuzz/{name}", now=T0)
    failed = db.execute("SELECT error FROM deliveries WHERE status = 'failed'").fetchall()
    assert failed == []
    row = db.execute("SELECT kind, body_text FROM messages WHERE id = ?", [result.message_pk])
    return result, row.fetchone()


@pytest.mark.parametrize(
    "name",
    [
        "alternative_boundary_never_appears.eml",
        "alternative_boundary_never_appears_idna_charset.eml",  # the unsplit body is not decoded
    ],
)
def test_alternative_whose_boundary_never_appears_is_a_report(db, settings, name):
    msg = _parse(settings, name)
    assert msg.commands.commands == ()
    result, (kind, _) = _archived(db, settings, name)
    assert kind == "report" and result.case_ref == "CoC-2026-001"


def test_from_with_broken_encoded_word_keeps_the_address(db, settings):
    msg = _parse(settings, "from_broken_encoded_word.eml")
    assert msg.from_addr == "x@example.net" and msg.from_name == "=?utf-8?b?A?="
    _, (kind, body) = _archived(db, settings, "from_broken_encoded_word.eml")
    assert kind == "report" and "Dave Jones insulted me" in body


@pytest.mark.parametrize(
    "name",
    ["nul_in_charset.eml", "nul_in_charset_8bit_body.eml", "idna_charset.eml"],
)
def test_a_charset_python_cannot_decode_with_reads_as_utf8(db, settings, name):
    assert "Dave Jones insulted me" in _parse(settings, name).text
    _, (kind, body) = _archived(db, settings, name)
    assert kind == "report" and "Dave Jones insulted me" in body


def test_an_ack_to_an_envelope_sender_without_domain_fails_alone(db, settings, relay):
    """The ack cannot be composed (Python's header parser raises IndexError on `rita@`); it
    used to escape send_due, so no later mail left, on this sweep or any other."""
    deliver(db, settings, "fuzz/envelope_sender_without_domain.eml", now=T0, sender="rita@")
    report = send_due(db, settings, T0)
    assert report.failed == 1 and report.sent >= 1
    assert [m["Subject"] for m in relay.to("conduct-committee@lists.example.org")] == [
        "[CoC-2026-001] New report"
    ]
    ack = outbox(db, "reporter/ack")[0]
    assert ack["status"] == "failed"
