"""When the archive cannot take a message, intake answers 451 (retry), never 250 or 5xx."""

from __future__ import annotations

import smtplib

import pytest
from aiosmtpd.controller import Controller

from intake.smtp import IntakeHandler
from intake.spool import SpoolWriter, open_spool, spool_path
from tests.conftest import fixture_bytes, free_port
from tests.helpers import smtp_send


def test_locked_archive_gets_451_and_the_sender_can_retry(settings):
    spool = SpoolWriter(spool_path(settings))
    spool.start()
    spool.conn.execute("PRAGMA busy_timeout = 50")
    controller = Controller(IntakeHandler(settings, spool), hostname="127.0.0.1", port=free_port())
    controller.start()
    blocker = open_spool(spool_path(settings))
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock too long
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp_send(controller.port, fixture_bytes("plain_report.eml"), "rita@example.net",
                      ["conduct@example.org"])  # fmt: skip
        assert refused.value.smtp_code == 451
        blocker.execute("ROLLBACK")
        assert smtp_send(controller.port, fixture_bytes("plain_report.eml"), "rita@example.net",
                         ["conduct@example.org"]) == {}  # fmt: skip
        count = blocker.execute("SELECT COUNT(*) FROM spooled").fetchone()[0]
        assert count == 1
    finally:
        controller.stop()
        spool.stop()
        blocker.close()
