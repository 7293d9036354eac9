"""One bad outbox item never stops the others; internationalised addresses over real SMTP."""

from __future__ import annotations

import pytest

from archive.settings import load_settings
from mailer.transport import RelaySession
from tests.conftest import write_config

IDN_REPORTER = "rité@exämple.net"


def test_a_connection_broken_mid_transaction_does_not_poison_the_next_send(tmp_path, relay):
    settings = load_settings(write_config(tmp_path, relay_port=relay.port))
    raw = b"From: conduct@example.org\r\nSubject: t\r\n\r\nbody\r\n"
    with RelaySession(settings.relay) as session:
        # MAIL FROM is accepted, then the non-ASCII RCPT cannot be written without SMTPUTF8.
        with pytest.raises(UnicodeEncodeError):
            session.send("conduct-bounces@example.org", (IDN_REPORTER,), raw)
        session.send("conduct-bounces@example.org", ("sam@example.net",), raw)
    relay.wait_for(1)
    assert relay.messages[0][1] == ["sam@example.net"]
