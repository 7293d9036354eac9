"""STARTTLS both ways, with a certificate made for the test (openssl, loopback only)."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess

import pytest

from archive.record.db import open_archive
from casebook.config import load_settings
from mailer.send import send_due
from tests.support.base import T0, RelaySink, ServeProcess, fixture_bytes, free_port, write_config
from tests.support.helpers import deliver

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_mail_to_the_relay_goes_over_verified_starttls(tmp_path, certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    sink = RelaySink(tls_context=context, require_starttls=True)
    sink.controller.start()
    try:
        config = write_config(tmp_path, relay_port=sink.port)
        config.write_text(config.read_text().replace(
            "timeout = 5\n", f'timeout = 5\nstarttls = true\nca_file = "{cert}"\n'))  # fmt: skip
        settings = load_settings(config)
        db = open_archive(settings.database)
        deliver(db, settings, "plain_report.eml", now=T0)
        assert send_due(db, settings, T0, holder="t", wall_clock=lambda: T0).sent == 2
        # Without trusting that CA the certificate does not verify: nothing is sent in clear.
        (tmp_path / "other").mkdir()
        write_config(tmp_path / "other", relay_port=sink.port)
        text = (tmp_path / "other" / "casebook.toml").read_text()
        (tmp_path / "other" / "casebook.toml").write_text(
            text.replace("timeout = 5\n", "timeout = 5\nstarttls = true\n"))  # fmt: skip
        untrusting = load_settings(tmp_path / "other" / "casebook.toml")
        other = open_archive(untrusting.database)
        deliver(other, untrusting, "plain_report.eml", now=T0)
        report = send_due(other, untrusting, T0, holder="u", wall_clock=lambda: T0)
        assert report.sent == 0 and report.postponed == 2
        assert len(sink.messages) == 2
    finally:
        sink.controller.stop()


def test_intake_offers_starttls(tmp_path, certificate, relay):
    cert, key = certificate
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port)
    config.write_text(config.read_text().replace(
        "lmtp = false", f'lmtp = false\ntls_cert = "{cert}"\ntls_key = "{key}"'))  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.starttls(context=ssl.create_default_context(cafile=str(cert)))
            assert client.sendmail("rita@example.net", ["conduct@example.org"],
                                   fixture_bytes("plain_report.eml")) == {}  # fmt: skip
        relay.wait_for(2)
    finally:
        process.stop()
