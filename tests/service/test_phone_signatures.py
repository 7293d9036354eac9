"""A member steering a case from a phone in another language: the client's own line ("Von
Outlook für Android gesendet", "Outlook für iOS beziehen", "Verstuurd vanaf mijn iPhone"…)
is a signature, never part of what `#to-reporter` sends the reporter. Driven over SMTP into
casebook's intake; the relay sink's mailbox shows what the reporter reads."""

from __future__ import annotations

import pytest

from tests.service.test_party_auth import REPORTS, Service, config, keys  # noqa: F401
from tests.support.committee import ALICE, LIST

RINA_ADDR = "rina@freemail.example"
REPORT = (
    f"From: Rina Reporter <{RINA_ADDR}>\r\nTo: {REPORTS}\r\nSubject: Dave on the users list\r\n"
    "Message-ID: <ps-report@freemail.example>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
    "Names: Dave Jones\r\nWhat happened: he called me stupid.\r\nOngoing: no\r\n"
).encode()


@pytest.fixture
def service(tmp_path, relay, keys):  # noqa: F811
    svc = Service(config(tmp_path, relay, keys), relay)
    yield svc
    svc.close()


@pytest.mark.parametrize(
    "signature",
    [
        "Von Outlook für Android gesendet",
        "Outlook für iOS beziehen",
        "Obtenir Outlook pour iOS",
        "Obtener Outlook para Android",
        "Envoyé à partir de Outlook pour Android",
        "Verstuurd vanaf mijn iPhone",
    ],
)
def test_a_localized_phone_signature_never_reaches_the_reporter(service, signature):
    service.send(REPORT, RINA_ADDR, REPORTS)
    [notice] = service.relay.to(LIST)
    service.member_says(ALICE, f"#to-reporter\nThank you, we are looking into it.\n\n{signature}",
                        notice)  # fmt: skip
    [sent] = [m for m in service.relay.to(RINA_ADDR) if "A message from" in m["Subject"]]
    body = sent.get_content()
    assert "Thank you, we are looking into it." in body
    assert "Outlook" not in body and "iPhone" not in body
